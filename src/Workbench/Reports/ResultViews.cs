using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Adapters;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Training;

namespace Workbench.Reports;

/// <summary>
/// The view of each library result type: what a notebook shows for it as text/html and text/plain. The notebook
/// integration (the package's extension.dib) registers one .NET Interactive formatter per entry, so a new result type
/// renders everywhere by one line here.
/// </summary>
public static class ResultViews
{
    public static IReadOnlyDictionary<Type, Func<object, IHtmlRenderable>> ByType { get; } = new Dictionary<Type, Func<object, IHtmlRenderable>>
    {
        [typeof(Table)] = value => (Table)value,
        [typeof(Chart)] = value => (Chart)value,
        [typeof(FewShotResult)] = value => new FewShotView((FewShotResult)value),
        [typeof(TrainingSummary)] = value => Fields(((TrainingSummary)value).ToJson()),
        [typeof(AdapterParameterCount)] = value => Parameters((AdapterParameterCount)value),
        [typeof(ParameterLayout)] = value => Parameters((ParameterLayout)value),
    };

    /// <summary>The view of <paramref name="value"/>, or null when its type has none.</summary>
    public static IHtmlRenderable? For(object? value) =>
        value is not null && ByType.TryGetValue(value.GetType(), out var view) ? view(value) : null;

    /// <summary>A two-column table of a JSON object's fields (numbers stay numbers, so they align right).</summary>
    public static Table Fields(JsonObject fields)
    {
        var table = new Table("field", "value");
        foreach (var (key, value) in fields)
            table.AddRow(key, value?.GetValueKind() switch
            {
                JsonValueKind.Number => double.Parse(value.ToJsonString(), CultureInfo.InvariantCulture),
                JsonValueKind.String => value.GetValue<string>(),
                _ => value?.ToJsonString(),
            });
        return table;
    }

    private static Table Parameters(AdapterParameterCount count) => new Table("", "parameters")
        .AddRow("trainable", count.Trainable).AddRow("all", count.Total).AddRow("base", count.Base)
        .AddRow("trainable %", count.Percent).AddRow("adapted layers", count.TargetedLayers.Count);

    private static Table Parameters(ParameterLayout layout)
    {
        var table = new Table("component", "parameters");
        foreach (var (group, count) in layout.CountsByGroup) table.AddRow(group.ToString(), count);
        return table.AddRow("total", layout.TotalParameters);
    }
}
