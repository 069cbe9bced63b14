using System.Text.Json;
using Workbench.Data;
using Workbench.Data.FewShot;
using Workbench.Tests.Support;

namespace Workbench.Tests.Data;

/// <summary>
/// The NSMC few-shot protocol against tests/fixtures/fewshot/nsmc_seed.json, written by make_fewshot.py, which
/// replays the seed notebook in Python (random, numpy, re) on the committed NSMC samples with the byte tokenizer.
/// </summary>
public class FewShotTests
{
    static readonly JsonElement Seed = JsonDocument.Parse(File.ReadAllText(Fixtures.PathOf("fewshot/nsmc_seed.json"))).RootElement;
    static readonly Lazy<FewShotSampler> Nsmc = new(() => FewShotSampler.Create(FewShotTask.Load(TaskPath), new ByteTokenizer()));
    static string TaskPath => RepoPaths.Data("tasks/nsmc.json");

    static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();
    static ulong[] ULongs(JsonElement e) => e.EnumerateArray().Select(x => x.GetUInt64()).ToArray();
    static JsonElement N(string name) => Seed.GetProperty("nsmc").GetProperty(name);
    static JsonElement G(string name) => Seed.GetProperty("generators").GetProperty(name);

    [Fact]
    public void MersenneTwisterMatchesPythonAndNumpy()
    {
        var py = new PythonRandom(1234);
        Assert.Equal(ULongs(G("python_getrandbits32_seed1234")), Enumerable.Range(0, 5).Select(_ => (ulong)py.GetRandBits(32)));
        var big = new PythonRandom((1UL << 40) + 5);
        Assert.Equal(ULongs(G("python_getrandbits32_seed2pow40plus5")), Enumerable.Range(0, 3).Select(_ => (ulong)big.GetRandBits(32)));
        var np = MersenneTwister.FromSeed(1234);
        Assert.Equal(ULongs(G("numpy_randint_2pow32_seed1234")), Enumerable.Range(0, 5).Select(_ => (ulong)np.NextUInt32()));
    }

    [Fact]
    public void PythonSampleMatchesBothBranches()
    {
        var large = new PythonRandom(1234);
        var population = Enumerable.Range(0, 100000).ToArray();
        foreach (var expected in G("python_sample_range100000_k10_seed1234").EnumerateArray())
            Assert.Equal(Ints(expected), large.Sample(population, 10));
        var small = new PythonRandom(7);
        foreach (var expected in G("python_sample_range30_k10_seed7").EnumerateArray())
            Assert.Equal(Ints(expected), small.Sample(Enumerable.Range(0, 30).ToArray(), 10));
    }

    [Fact]
    public void NumpyPermutationMatches()
    {
        Assert.Equal(Ints(G("numpy_permutation_600_seed1234")), new NumpyRandomState(1234).Permutation(600));
        // the seed's 500 test positions in the full NSMC test set (49,997 non-empty rows)
        Assert.Equal(Ints(G("numpy_choice_49997_500_seed1234")), new NumpyRandomState(1234).ChoiceWithoutReplacement(49997, 500));
    }

    [Fact]
    public void CleaningMatchesPythonRegexOnTrickyStrings()
    {
        foreach (var c in Seed.GetProperty("cleaning").EnumerateArray())
        {
            string input = c[0].GetString()!, expected = c[1].GetString()!;
            Assert.Equal(expected, HangulCleaner.Clean(input));
        }
        Assert.Equal("아 더빙 진짜", HangulCleaner.Clean("아 더빙.. 진짜!!"));
        Assert.Equal("\u001C", HangulCleaner.Clean("\u001C"));   // Python's \s, not .NET's
        Assert.Equal("", HangulCleaner.Clean("😀ᄀ"));           // astral emoji and conjoining jamo dropped
    }

    [Fact]
    public void TaskFileLoads()
    {
        var t = FewShotTask.Load(TaskPath);
        Assert.Equal("nsmc", t.Name);
        Assert.Equal([new LabelChoice("1", "긍정"), new LabelChoice("0", "부정")], t.Choices);
        Assert.Equal(["prompt1", "prompt2"], t.Prompts.Select(p => p.Name));
        Assert.Equal((10, 25, ShotLengthOf.Raw, 1234UL, 500, 1234U), (t.NumShots, t.ShotMaxTokens, t.ShotLengthOf, t.ShotSeed, t.TestSampleSize, t.TestSeed));
        Assert.Equal(RepoPaths.Data("nsmc/ratings_train_2000.txt"), t.TrainPath);
    }

    [Fact]
    public void EmptyDocumentsAreSkipped()
    {
        var s = Nsmc.Value;
        Assert.Equal(5, s.TrainEmptyLines.Count);
        Assert.Equal(3, s.TestEmptyLines.Count);
        var test = TsvDocuments.Read(s.Task.TestPath, "id", "document", "label");
        Assert.Equal(597, test.Documents.Count);
        Assert.Equal(test.EmptyLines, s.TestEmptyLines);
        Assert.DoesNotContain(s.Draws, d => d.Test.Text.Length == 0 || d.Shots.Any(x => x.Text.Length == 0));
    }

    [Fact]
    public void ShotPoolIsTrainingDocumentsOfAtMost25Tokens()
    {
        var s = Nsmc.Value;
        Assert.Equal(Ints(N("pool_lines")), s.Pool.Select(d => d.Line));
        var tok = new ByteTokenizer();
        Assert.All(s.Pool, d => Assert.True(tok.Encode(d.Text).Length <= 25));
        var train = TsvDocuments.Read(s.Task.TrainPath, "id", "document", "label").Documents;
        Assert.Equal(train.Count(d => tok.Encode(d.Text).Length <= 25), s.Pool.Count);
    }

    [Fact]
    public void TestItemsAndShotsAreTheSeedsDraws()
    {
        var s = Nsmc.Value;
        Assert.Equal(500, s.Draws.Count);
        Assert.Equal(Ints(N("test_lines")), s.Draws.Select(d => d.Test.Line));
        var shots = N("shot_lines").EnumerateArray().ToList();
        for (int i = 0; i < 500; i++) Assert.Equal(Ints(shots[i]), s.Draws[i].Shots.Select(d => d.Line));
    }

    [Fact]
    public void PromptTextIsByteForByteTheSeeds()
    {
        var s = Nsmc.Value;
        var p1 = s.Render("prompt1");
        var p2 = s.Render("prompt2");
        var e1 = N("contexts_prompt1_first5").EnumerateArray().Select(x => x.GetString()).ToList();
        var e2 = N("contexts_prompt2_first5").EnumerateArray().Select(x => x.GetString()).ToList();
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal(e1[i], p1[i].Context);
            Assert.Equal(e2[i], p2[i].Context);
        }
        Assert.Equal(Ints(N("context_lengths_prompt1")), p1.Select(x => x.Context.Length));
        Assert.Equal(N("gold").EnumerateArray().Select(x => x.GetString()), p1.Select(x => x.Gold));

        // the layout spelled out for item 0
        var item = p1[0];
        string expected = string.Concat(item.Shots.Select(d => $"문장: {HangulCleaner.Clean(d.Text)}\n감정: {(d.Label == "1" ? "긍정" : "부정")}\n"))
                          + $"문장: {HangulCleaner.Clean(item.Test.Text)}\n감정:";
        Assert.Equal(expected, item.Context);
        Assert.StartsWith("다음 문장은 긍정일까요 부정일까요?\n", p2[0].Context);
        Assert.EndsWith($"\n{HangulCleaner.Clean(item.Test.Text)}\n정답:", p2[0].Context);
    }

    [Fact]
    public void LogLikelihoodRequestsUseASpaceDelimiter()
    {
        var item = Nsmc.Value.Render("prompt1")[0];
        Assert.Equal([" 긍정", " 부정"], item.Continuations);
        Assert.Equal([(item.Context, " 긍정"), (item.Context, " 부정")], item.Requests);
        Assert.Equal(item.Test.Label == "1" ? 0 : 1, item.GoldIndex);
    }

    [Fact]
    public void SeededSamplingIsReproducibleAndSeedDependent()
    {
        var task = FewShotTask.Load(TaskPath);
        var tok = new ByteTokenizer();
        var a = FewShotSampler.Create(task, tok);
        var b = FewShotSampler.Create(task, tok);
        Assert.Equal(a.Render("prompt1").Select(x => x.Context), b.Render("prompt1").Select(x => x.Context));
        var otherShots = FewShotSampler.Create(task with { ShotSeed = 1235 }, tok);
        Assert.Equal(a.Draws.Select(d => d.Test.Line), otherShots.Draws.Select(d => d.Test.Line));
        Assert.NotEqual(a.Draws.SelectMany(d => d.Shots).Select(x => x.Line), otherShots.Draws.SelectMany(d => d.Shots).Select(x => x.Line));
        var otherTest = FewShotSampler.Create(task with { TestSeed = 1235 }, tok);
        Assert.NotEqual(a.Draws.Select(d => d.Test.Line), otherTest.Draws.Select(d => d.Test.Line));
        var all = FewShotSampler.Create(task with { TestSampleSize = null }, tok);
        Assert.Equal(597, all.Draws.Count);
        Assert.True(all.Draws.Select(d => d.Test.Line).SequenceEqual(all.Draws.Select(d => d.Test.Line).Order()));
    }

    static string WriteTask(Action<Dictionary<string, object?>> edit)
    {
        var json = JsonSerializer.Deserialize<Dictionary<string, object?>>(File.ReadAllText(TaskPath))!;
        edit(json);
        string path = Path.Combine(Path.GetDirectoryName(TaskPath)!, $"bad-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, JsonSerializer.Serialize(json));
        return path;
    }

    [Theory]
    [InlineData("num_shot", "unknown field 'num_shot'")]
    [InlineData("-prompts", "field 'prompts': is required but missing")]
    [InlineData("num_shots=\"ten\"", "field 'num_shots': expected an integer, found \"ten\"")]
    [InlineData("num_shots=-1", "field 'num_shots': must be an integer in [0, 1000], got -1")]
    [InlineData("prompts={\"p\":\"문장: {sentence}\\n감정:\"}", "field 'prompts.p': must contain exactly the placeholder {text}, found {sentence}")]
    [InlineData("verbalizer={\"1\":\"긍정\",\"0\":\"긍정\"}", "maps two labels to the same word")]
    [InlineData("format=\"csv\"", "field 'format': must be \"tsv\"")]
    [InlineData("header=false", "field 'header': must be true")]
    [InlineData("shot_length_of=\"words\"", "field 'shot_length_of': must be \"raw\" or \"clean\"")]
    public void BadTaskFilesGiveClearErrors(string change, string message)
    {
        string path = WriteTask(j =>
        {
            if (change.StartsWith('-')) { j.Remove(change[1..]); return; }
            int eq = change.IndexOf('=');
            if (eq < 0) { j[change] = 10; return; }
            j[change[..eq]] = JsonSerializer.Deserialize<JsonElement>(change[(eq + 1)..]);
        });
        try
        {
            var e = Assert.Throws<TaskDefinitionException>(() => FewShotTask.Load(path));
            Assert.StartsWith(path + ": ", e.Message);
            Assert.Contains(message, e.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void MalformedTaskJsonNamesTheLine()
    {
        using var f = new TempFile("{\n  \"name\": \"x\",\n  \"train\" \"a.txt\"\n}", ".json");
        var e = Assert.Throws<DataFormatException>(() => FewShotTask.Load(f.Path));
        Assert.Equal(3, e.Issue.Line);
    }

    [Fact]
    public void DataProblemsNameTheFile()
    {
        var task = FewShotTask.Load(TaskPath);
        var missing = task.WithData("/nonexistent/train.txt", task.TestPath);
        Assert.Contains("/nonexistent/train.txt", Assert.Throws<FileNotFoundException>(() => FewShotSampler.Create(missing, new ByteTokenizer())).Message);

        using var badLabel = new TempFile("id\tdocument\tlabel\n1\t좋아\t1\n2\t별로\t2\n", ".txt");
        var e = Assert.Throws<DataFormatException>(() => FewShotSampler.Create(task.WithData(badLabel.Path, task.TestPath), new ByteTokenizer()));
        Assert.Equal($"{badLabel.Path}:3: label '2' has no verbaliser in task 'nsmc' (labels: 1, 0)", e.Message);

        using var badCols = new TempFile("id\tdocument\tlabel\n1\t좋아\n", ".txt");
        Assert.Equal($"{badCols.Path}:2: expected 3 tab-separated fields, found 2",
            Assert.Throws<DataFormatException>(() => TsvDocuments.Read(badCols.Path, "id", "document", "label")).Message);

        using var small = new TempFile("id\tdocument\tlabel\n1\t좋아\t1\n", ".txt");
        Assert.Contains("only 1 training documents", Assert.Throws<InvalidOperationException>(() => FewShotSampler.Create(task.WithData(small.Path, task.TestPath), new ByteTokenizer())).Message);
    }
}
