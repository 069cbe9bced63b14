using System.Text.Json;

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
        JsonDocument doc;
        try { doc = JsonDocument.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new DataFormatException(new DataIssue(path, (int)(e.LineNumber ?? 0) + 1, $"malformed JSON: {e.Message}")); }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new TaskDefinitionException(path, $"expected a JSON object, found {root.ValueKind}");
            foreach (var p in root.EnumerateObject())
                if (!Known.Contains(p.Name)) throw new TaskDefinitionException(path, $"unknown field '{p.Name}' (known: {string.Join(", ", Known)})");

            string Str(string name, bool allowEmpty = false)
            {
                var v = Get(name, JsonValueKind.String);
                string s = v.GetString()!;
                if (!allowEmpty && s.Length == 0) throw new TaskDefinitionException(path, $"field '{name}' must not be empty");
                return s;
            }
            long Int(string name, long min, long max)
            {
                var v = Get(name, JsonValueKind.Number);
                if (!v.TryGetInt64(out long x) || x < min || x > max)
                    throw new TaskDefinitionException(path, $"field '{name}' must be an integer in [{min}, {max}], got {v.GetRawText()}");
                return x;
            }
            JsonElement Get(string name, params JsonValueKind[] kinds)
            {
                if (!root.TryGetProperty(name, out var v)) throw new TaskDefinitionException(path, $"missing required field '{name}'");
                if (!kinds.Contains(v.ValueKind))
                    throw new TaskDefinitionException(path, $"field '{name}' must be {(kinds[0] == JsonValueKind.True ? "a boolean" : "a " + kinds[0].ToString().ToLowerInvariant())}, found {v.ValueKind}");
                return v;
            }
            List<(string Key, string Value)> StringMap(string name)
            {
                var list = new List<(string, string)>();
                foreach (var p in Get(name, JsonValueKind.Object).EnumerateObject())
                {
                    if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString()!.Length == 0)
                        throw new TaskDefinitionException(path, $"'{name}.{p.Name}' must be a non-empty string, found {p.Value.ValueKind}");
                    list.Add((p.Name, p.Value.GetString()!));
                }
                if (list.Count == 0) throw new TaskDefinitionException(path, $"field '{name}' must not be empty");
                return list;
            }

            if (Str("format") != "tsv") throw new TaskDefinitionException(path, $"field 'format' must be \"tsv\" (the only format supported), got \"{Str("format")}\"");
            var header = Get("header", JsonValueKind.True, JsonValueKind.False);
            if (!header.GetBoolean()) throw new TaskDefinitionException(path, "field 'header' must be true: the TSV's header names the columns");

            var choices = StringMap("verbalizer").Select(kv => new LabelChoice(kv.Key, kv.Value)).ToList();
            if (choices.Select(c => c.Verbalizer).Distinct().Count() != choices.Count)
                throw new TaskDefinitionException(path, "field 'verbalizer' maps two labels to the same word");

            var prompts = new List<(string, TemplateFormat)>();
            foreach (var (name, text) in StringMap("prompts"))
            {
                TemplateFormat f;
                try { f = TemplateFormat.Parse(text); }
                catch (FormatException e) { throw new TaskDefinitionException(path, $"prompt '{name}': {e.Message}"); }
                if (f.HasSplit || f.Fields.Count != 1 || f.Fields[0] != "text")
                    throw new TaskDefinitionException(path, $"prompt '{name}' must contain exactly the placeholder {{text}}, found {(f.Fields.Count == 0 ? "none" : string.Join(", ", f.Fields.Select(x => "{" + x + "}")))}");
                prompts.Add((name, f));
            }

            string cleaning = Str("cleaning");
            if (cleaning is not ("hangul" or "none")) throw new TaskDefinitionException(path, $"field 'cleaning' must be \"hangul\" or \"none\", got \"{cleaning}\"");
            string lengthOf = Str("shot_length_of");
            if (lengthOf is not ("raw" or "clean")) throw new TaskDefinitionException(path, $"field 'shot_length_of' must be \"raw\" or \"clean\", got \"{lengthOf}\"");

            string dir = Path.GetDirectoryName(Path.GetFullPath(path))!;
            bool sampleAll = root.TryGetProperty("test_sample_size", out var ts) && ts.ValueKind == JsonValueKind.Null;
            return new FewShotTask
            {
                Name = Str("name"),
                SourceFile = path,
                TrainPath = Path.GetFullPath(Path.Combine(dir, Str("train"))),
                TestPath = Path.GetFullPath(Path.Combine(dir, Str("test"))),
                IdColumn = Str("id_column"),
                TextColumn = Str("text_column"),
                LabelColumn = Str("label_column"),
                Choices = choices,
                Prompts = prompts,
                CleanHangul = cleaning == "hangul",
                TargetDelimiter = Str("target_delimiter", allowEmpty: true),
                ShotTerminator = Str("shot_terminator", allowEmpty: true),
                ShotSeparator = Str("shot_separator", allowEmpty: true),
                NumShots = (int)Int("num_shots", 0, 1000),
                ShotMaxTokens = (int)Int("shot_max_tokens", 1, int.MaxValue),
                ShotLengthOf = lengthOf == "raw" ? ShotLengthOf.Raw : ShotLengthOf.Clean,
                ShotSeed = (ulong)Int("shot_seed", 0, long.MaxValue),
                TestSampleSize = sampleAll ? null : (int)Int("test_sample_size", 1, int.MaxValue),
                TestSeed = (uint)Int("test_seed", 0, uint.MaxValue),
            };
        }
    }
}
