using System.Text;
using Workbench.Tokenizers;

namespace Workbench.Data.FewShot;

/// <summary>
/// The NSMC few-shot seed protocol (Beomi/KoAlpaca <c>nsmc_polyglot_and_koalpaca_by_few_shot.ipynb</c>), step
/// for step:
/// <list type="number">
/// <item>read train and test TSVs, dropping empty documents (<c>dropna()</c>);</item>
/// <item>shot pool = training documents with <c>len(tokenizer(document).input_ids) ≤ 25</c>, counted on the
///   raw document with the tokenizer's default special tokens (<c>shot_length_of: "raw"</c>; "clean" counts
///   the cleaned text instead);</item>
/// <item>shots: Python <c>random.seed(1234)</c>, then for each test item in turn <c>random.sample(pool, 10)</c>;</item>
/// <item>test items: pandas <c>test.sample(500, random_state=1234)</c> (the whole file when it has ≤ 500 rows),
///   in the sampled order; item i gets the i-th shot draw;</item>
/// <item>context: for each shot <c>prompt(clean(text)) + " " + verbaliser + "\n"</c>, concatenated (separator
///   ""), then <c>prompt(clean(test text))</c>: byte for byte
///   <c>"문장: {s₁}\n감정: 긍정\n문장: {s₂}\n감정: 부정\n…문장: {t}\n감정:"</c> for prompt 1.</item>
/// </list>
/// Both generators are reimplemented exactly (<see cref="PythonRandom"/>, <see cref="NumpyRandomState"/>), so with
/// the same tokenizer the items and shots are the seed's own; with any tokenizer they are the same every run.
/// Documents that clean to nothing but spaces are kept, as in the seed.
/// </summary>
public sealed class FewShotSampler
{
    public FewShotTask Task { get; }
    public IReadOnlyList<LabeledDocument> Pool { get; }
    public IReadOnlyList<FewShotDraw> Draws { get; }
    public IReadOnlyList<int> TrainEmptyLines { get; }
    public IReadOnlyList<int> TestEmptyLines { get; }

    FewShotSampler(FewShotTask task, IReadOnlyList<LabeledDocument> pool, IReadOnlyList<FewShotDraw> draws,
        IReadOnlyList<int> trainEmpty, IReadOnlyList<int> testEmpty)
    {
        Task = task; Pool = pool; Draws = draws; TrainEmptyLines = trainEmpty; TestEmptyLines = testEmpty;
    }

    public static FewShotSampler Create(FewShotTask task, ITokenizer tokenizer)
    {
        var train = TsvDocuments.Read(task.TrainPath, task.IdColumn, task.TextColumn, task.LabelColumn);
        var test = TsvDocuments.Read(task.TestPath, task.IdColumn, task.TextColumn, task.LabelColumn);
        foreach (var d in train.Documents.Concat(test.Documents)) task.VerbalizerOf(d);   // every label must have a verbaliser

        var pool = SelectPool(task, tokenizer, train.Documents);
        var testIndices = SampleTest(task, test.Documents.Count);
        if (task.NumShots > pool.Count)
            throw new InvalidOperationException(
                $"task '{task.Name}': only {pool.Count} training documents in {task.TrainPath} have ≤ {task.ShotMaxTokens} tokens; {task.NumShots} shots are needed");
        var rng = new PythonRandom(task.ShotSeed);
        var draws = testIndices.Select(i => new FewShotDraw(test.Documents[i], rng.Sample(pool, task.NumShots))).ToList();
        return new FewShotSampler(task, pool, draws, train.EmptyLines, test.EmptyLines);
    }

    /// <summary>Training documents short enough to be shots, in file order.</summary>
    public static List<LabeledDocument> SelectPool(FewShotTask task, ITokenizer tokenizer, IEnumerable<LabeledDocument> train)
        => train.Where(d => tokenizer.Encode(task.ShotLengthOf == ShotLengthOf.Raw ? d.Text : task.Clean(d.Text), addSpecialTokens: true).Length
                            <= task.ShotMaxTokens).ToList();

    /// <summary>Indices of the test documents used, in order: a pandas-style sample, or all of them.</summary>
    public static int[] SampleTest(FewShotTask task, int testCount)
        => task.TestSampleSize is int n && n < testCount
            ? new NumpyRandomState(task.TestSeed).ChoiceWithoutReplacement(testCount, n)
            : Enumerable.Range(0, testCount).ToArray();

    /// <summary>The items rendered with the named prompt; every prompt sees the same draws.</summary>
    public List<FewShotItem> Render(string promptName)
    {
        var prompt = Task.Prompt(promptName);
        var choices = Task.Choices.Select(c => c.Verbalizer).ToList();
        return Draws.Select((d, i) => new FewShotItem(i, d.Test, d.Shots, Context(Task, prompt, d), choices,
            choices.IndexOf(Task.VerbalizerOf(d.Test)), Task.TargetDelimiter)).ToList();
    }

    /// <summary>shot₁ + sep + … + shotₖ + sep + prompt(test), each shot = prompt(clean(text)) + delimiter + verbaliser + terminator.</summary>
    public static string Context(FewShotTask task, TemplateFormat prompt, FewShotDraw draw)
    {
        var sb = new StringBuilder();
        foreach (var shot in draw.Shots)
        {
            sb.Append(Render(task, prompt, shot)).Append(task.TargetDelimiter).Append(task.VerbalizerOf(shot)).Append(task.ShotTerminator);
            sb.Append(task.ShotSeparator);
        }
        return sb.Append(Render(task, prompt, draw.Test)).ToString();
    }

    static string Render(FewShotTask task, TemplateFormat prompt, LabeledDocument doc)
    {
        string text = task.Clean(doc.Text);
        return prompt.Render(_ => text);
    }
}
