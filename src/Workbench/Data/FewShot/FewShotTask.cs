using System.Text.Json;
using System.Text.Json.Nodes;
using Workbench.Formats;

namespace Workbench.Data.FewShot;

/// <summary>Which text the shot-length limit counts: the raw document (the seed) or the cleaned one.</summary>
public enum ShotLengthOf { Raw, Clean }

/// <summary>A label value and the word that stands for it in prompts (its verbaliser), e.g. "1" → "긍정".</summary>
public sealed record LabelChoice(string Label, string Verbalizer);

/// <summary>A bad task definition file; the message starts with the file name.</summary>
public sealed class TaskDefinitionException(string file, string message) : Exception($"{file}: {message}");

/// <summary>
/// A few-shot classification task, defined as data (see <c>data/tasks/nsmc.json</c>). Data paths are relative
/// to the task file's folder. Each shot is rendered as
/// <c>prompt(clean(text)) + target_delimiter + verbaliser + shot_terminator</c>; the context is the shots and
/// then the test item's prompt, joined with <c>shot_separator</c>.
/// </summary>
public sealed record FewShotTask
{
    public required string Name { get; init; }
    public required string SourceFile { get; init; }
    public required string TrainPath { get; init; }
    public required string TestPath { get; init; }
    public required string IdColumn { get; init; }
    public required string TextColumn { get; init; }
    public required string LabelColumn { get; init; }
    /// <summary>In file order; the order of the choices offered to the scorer.</summary>
    public required IReadOnlyList<LabelChoice> Choices { get; init; }
    /// <summary>Named prompts with one <c>{text}</c> placeholder, in file order.</summary>
    public required IReadOnlyList<(string Name, TemplateFormat Format)> Prompts { get; init; }
    public required bool CleanHangul { get; init; }
    public required string TargetDelimiter { get; init; }
    public required string ShotTerminator { get; init; }
    public required string ShotSeparator { get; init; }
    public required int NumShots { get; init; }
    public required int ShotMaxTokens { get; init; }
    public required ShotLengthOf ShotLengthOf { get; init; }
    public required ulong ShotSeed { get; init; }
    /// <summary>Test items drawn (pandas <c>sample(n, random_state=TestSeed)</c>); null = the whole test file in order.</summary>
    public required int? TestSampleSize { get; init; }
    public required uint TestSeed { get; init; }

    static readonly string[] Known =
    [
        "name", "description", "source", "train", "test", "format", "header", "id_column", "text_column", "label_column",
        "verbalizer", "cleaning", "prompts", "target_delimiter", "shot_terminator", "shot_separator", "num_shots",
        "shot_max_tokens", "shot_length_of", "shot_seed", "test_sample_size", "test_seed",
    ];

    /// <summary>The task's cleaning applied to a document's text.</summary>
    public string Clean(string text) => CleanHangul ? HangulCleaner.Clean(text) : text;

    /// <summary>The same task on other data files (e.g. the full NSMC instead of the samples).</summary>
    public FewShotTask WithData(string trainPath, string testPath) => this with { TrainPath = trainPath, TestPath = testPath };

    public TemplateFormat Prompt(string name) => Prompts.FirstOrDefault(p => p.Name == name).Format
        ?? throw new ArgumentException($"task '{Name}' has no prompt '{name}' (prompts: {string.Join(", ", Prompts.Select(p => p.Name))})");

    public string VerbalizerOf(LabeledDocument doc) => Choices.FirstOrDefault(c => c.Label == doc.Label)?.Verbalizer
        ?? throw new DataFormatException(new DataIssue(doc.Source, doc.Line,
            $"label '{doc.Label}' has no verbaliser in task '{Name}' (labels: {string.Join(", ", Choices.Select(c => c.Label))})"));

    /// <summary>A task .json path as given, or a name looked up as data/tasks/NAME.json above the working folder or the app.</summary>
    public static string Resolve(string task)
    {
        if (File.Exists(task)) return task;
        if (task.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) throw new FileNotFoundException($"{task}: no such task file", task);
        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, "data", "tasks", task + ".json");
                if (File.Exists(candidate)) return candidate;
            }
        throw new FileNotFoundException($"task '{task}': no data/tasks/{task}.json above {Directory.GetCurrentDirectory()} or {AppContext.BaseDirectory}");
    }

    public static FewShotTask Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"task file not found: {path}", path);
        JsonNode? node;
        try { node = JsonNode.Parse(TextFile.ReadAll(path)); }
        catch (JsonException e) { throw new DataFormatException(new DataIssue(path, (int)(e.LineNumber ?? 0) + 1, $"malformed JSON: {e.Message}")); }
        if (node is not JsonObject root) throw new TaskDefinitionException(path, $"expected a JSON object, found {node?.GetValueKind() ?? JsonValueKind.Null}");
        var f = new JsonFields(root, path, (file, field, problem) => new TaskDefinitionException(file, JsonFields.Describe(field, problem)));
        foreach (var name in f.Names)
            if (!Known.Contains(name)) throw new TaskDefinitionException(path, $"unknown field '{name}' (known: {string.Join(", ", Known)})");

        static string Str(JsonFields f, string name, bool allowEmpty = false)
        {
            string s = f.String(name) ?? throw f.Missing(name);
            return allowEmpty || s.Length > 0 ? s : throw f.Error(name, "must not be empty");
        }
        long Int(string name, long min, long max)
        {
            long x = f.Long(name) ?? throw f.Missing(name);
            return x >= min && x <= max ? x : throw f.Error(name, $"must be an integer in [{min}, {max}], got {x}");
        }
        // A non-empty object of non-empty strings, in file order.
        List<(string Key, string Value)> StringMap(string name)
        {
            var map = f.Object(name) ?? throw f.Missing(name);
            var list = map.Names.Select(key => (key, Str(map, key))).ToList();
            return list.Count > 0 ? list : throw f.Error(name, "must not be empty");
        }

        string format = Str(f, "format");
        if (format != "tsv") throw f.Error("format", $"must be \"tsv\" (the only format supported), got \"{format}\"");
        if (!(f.Bool("header") ?? throw f.Missing("header"))) throw f.Error("header", "must be true: the TSV's header names the columns");

        var choices = StringMap("verbalizer").Select(kv => new LabelChoice(kv.Key, kv.Value)).ToList();
        if (choices.Select(c => c.Verbalizer).Distinct().Count() != choices.Count)
            throw f.Error("verbalizer", "maps two labels to the same word");

        var prompts = new List<(string, TemplateFormat)>();
        foreach (var (name, text) in StringMap("prompts"))
        {
            TemplateFormat t;
            try { t = TemplateFormat.Parse(text); }
            catch (FormatException e) { throw f.Error($"prompts.{name}", e.Message); }
            if (t.HasSplit || t.Fields.Count != 1 || t.Fields[0] != "text")
                throw f.Error($"prompts.{name}", $"must contain exactly the placeholder {{text}}, found {(t.Fields.Count == 0 ? "none" : string.Join(", ", t.Fields.Select(x => "{" + x + "}")))}");
            prompts.Add((name, t));
        }

        string cleaning = Str(f, "cleaning");
        if (cleaning is not ("hangul" or "none")) throw f.Error("cleaning", $"must be \"hangul\" or \"none\", got \"{cleaning}\"");
        string lengthOf = Str(f, "shot_length_of");
        if (lengthOf is not ("raw" or "clean")) throw f.Error("shot_length_of", $"must be \"raw\" or \"clean\", got \"{lengthOf}\"");

        string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
        bool sampleAll = f.Names.Contains("test_sample_size") && !f.Has("test_sample_size");   // present and null
        return new FewShotTask
        {
            Name = Str(f, "name"),
            SourceFile = path,
            TrainPath = Path.GetFullPath(Path.Combine(dir, Str(f, "train"))),
            TestPath = Path.GetFullPath(Path.Combine(dir, Str(f, "test"))),
            IdColumn = Str(f, "id_column"),
            TextColumn = Str(f, "text_column"),
            LabelColumn = Str(f, "label_column"),
            Choices = choices,
            Prompts = prompts,
            CleanHangul = cleaning == "hangul",
            TargetDelimiter = Str(f, "target_delimiter", allowEmpty: true),
            ShotTerminator = Str(f, "shot_terminator", allowEmpty: true),
            ShotSeparator = Str(f, "shot_separator", allowEmpty: true),
            NumShots = (int)Int("num_shots", 0, 1000),
            ShotMaxTokens = (int)Int("shot_max_tokens", 1, int.MaxValue),
            ShotLengthOf = lengthOf == "raw" ? ShotLengthOf.Raw : ShotLengthOf.Clean,
            ShotSeed = (ulong)Int("shot_seed", 0, long.MaxValue),
            TestSampleSize = sampleAll ? null : (int)Int("test_sample_size", 1, int.MaxValue),
            TestSeed = (uint)Int("test_seed", 0, uint.MaxValue),
        };
    }
}
