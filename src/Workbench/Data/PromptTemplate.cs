namespace Workbench.Data;

/// <summary>
/// A named prompt template: one or more <see cref="TemplateFormat"/> variants tried in order. A variant is used
/// when every field it names is present and non-empty; the last variant is the fallback and only needs its
/// fields present (empty allowed). Stanford Alpaca's two prompts are the case this exists for: the "with
/// input" prompt when <c>input</c> is non-empty, else the "no input" prompt (as in Alpaca's <c>train.py</c>).
/// Every variant must contain the split marker <c>{|}</c>.
/// </summary>
public sealed class PromptTemplate
{
    public string Name { get; }
    public IReadOnlyList<TemplateFormat> Variants { get; }
    /// <summary>Required = the fallback variant's fields; optional = fields only the other variants use.</summary>
    public RecordSchema Schema { get; }

    public PromptTemplate(string name, params string[] variants)
    {
        if (variants.Length == 0) throw new ArgumentException($"template '{name}' has no format string");
        Name = name;
        Variants = variants.Select(TemplateFormat.Parse).ToList();
        foreach (var v in Variants)
            if (!v.HasSplit)
                throw new FormatException($"template '{name}': \"{v.Source}\" needs the split marker {TemplateFormat.SplitMarker} between prompt and completion");
        var required = Variants[^1].Fields.ToList();
        var optional = Variants.SelectMany(v => v.Fields).Distinct().Except(required).ToList();
        Schema = new RecordSchema(required, optional);
    }

    public PromptPair Apply(InstructionRecord record)
    {
        for (int i = 0; i < Variants.Count; i++)
        {
            var v = Variants[i];
            bool last = i == Variants.Count - 1;
            if (v.Fields.All(f => record.Fields.TryGetValue(f, out var s) && (last || s.Length > 0)))
            {
                var (prompt, completion) = v.RenderSplit(f => record.Fields[f]);
                return new PromptPair(prompt, completion);
            }
        }
        var missing = Variants[^1].Fields.Where(f => !record.Has(f));
        throw new DataFormatException(new DataIssue(record.Source, record.Line,
            $"template '{Name}' needs field(s) {string.Join(", ", missing.Select(m => $"'{m}'"))}"));
    }

    public override string ToString() => Name;
}
