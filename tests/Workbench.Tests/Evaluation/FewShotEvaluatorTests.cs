using Workbench.Data.FewShot;
using Workbench.Engine;
using Workbench.Evaluation;
using Workbench.Tests.Support;

namespace Workbench.Tests.Evaluation;

/// <summary>Scoring on <see cref="ScriptedLM"/>, whose answers and log-likelihoods are known exactly.</summary>
public class FewShotEvaluatorTests
{
    static readonly FewShotTask Nsmc = FewShotTask.Load(RepoPaths.Data("tasks/nsmc.json"));
    static readonly string[] Korean = ["긍정", "부정"];

    /// <summary>An item whose context is "문장: {text}\n감정:"; gold is a choice index.</summary>
    static FewShotItem Item(int index, string text, int gold, IReadOnlyList<string>? choices = null) =>
        new(index, new LabeledDocument("test", index + 2, index.ToString(), text, gold.ToString()), [],
            $"문장: {text}\n감정:", choices ?? Korean, gold, " ");

    /// <summary>"good" → " 긍정", "bad" → " 부정", anything else → " 모름" (neither: invalid when generated).</summary>
    static string? Sentiment(string context) =>
        context.EndsWith("good\n") ? " 긍정" : context.EndsWith("bad\n") ? " 부정" : " 모름";

    static FewShotResult Run(FewShotScoring scoring, IReadOnlyList<FewShotItem> items, ScriptedLM? model = null) =>
        new FewShotEvaluator(model ?? new ScriptedLM(Sentiment), new ByteTokenizer()).Evaluate(Nsmc, "prompt1", items, scoring);

    // gold 긍정 (index 0) ×4: good, good, bad, meh; gold 부정 ×3: bad, bad, good
    static readonly FewShotItem[] Mixed =
    [
        Item(0, "good", 0), Item(1, "good", 0), Item(2, "bad", 0), Item(3, "meh", 0),
        Item(4, "bad", 1), Item(5, "bad", 1), Item(6, "good", 1),
    ];

    [Fact]
    public void GenerationReadsTheGreedyAnswerAndCountsInvalidOnes()
    {
        var r = Run(FewShotScoring.Generate, Mixed);
        Assert.Equal(["긍정", "긍정", "부정", null, "부정", "부정", "긍정"], r.Items.Select(i => i.Predicted));
        Assert.Equal("모", r.Items[3].Answer);   // decided at its first character: no verbaliser starts with 모
        Assert.Equal(4, r.Correct);
        Assert.Equal(4.0 / 7, r.Accuracy, 12);
        Assert.Equal(1, r.Invalid);
        Assert.Equal(0, r.Truncated);
        var c = r.Confusion;
        Assert.Equal(2, c["긍정", "긍정"]); Assert.Equal(1, c["긍정", "부정"]); Assert.Equal(1, c["긍정", "invalid"]);
        Assert.Equal(1, c["부정", "긍정"]); Assert.Equal(2, c["부정", "부정"]); Assert.Equal(0, c["부정", "invalid"]);
        Assert.Equal(Wilson.Interval(4, 7), r.Ci95);
        Assert.Null(r.AccuracyNorm);
    }

    [Fact]
    public void GenerationStopsOnceAVerbaliserIsWrittenAndCountsTokens()
    {
        // " 긍정" is 7 bytes; the item's context is bytes of "문장: good\n감정:" (+ nothing special: ByteTokenizer adds no BOS)
        var model = new ScriptedLM(Sentiment);
        var r = Run(FewShotScoring.Generate, [Item(0, "good", 0)], model);
        int context = new ByteTokenizer().Encode("문장: good\n감정:").Length;
        Assert.Equal(7, model.Forwards);
        Assert.Equal(context + 6, r.Tokens);   // KV cache: the context once, then one new token a step
        Assert.True(r.MeanLatencyMs > 0 && r.TokensPerSecond > 0 && r.WallSeconds > 0);
    }

    [Fact]
    public void LogLikelihoodSumsContinuationLogProbs()
    {
        var r = Run(FewShotScoring.LogLikelihood, Mixed);
        // the planned choice: 7 bytes at High; the other: ' ' High, its first differing byte Low, then 5 uniform bytes
        double planned = 7 * ScriptedLM.High, other = ScriptedLM.High + ScriptedLM.Low + 5 * ScriptedLM.Uniform;
        Assert.Equal(planned, r.Items[0].LogLikelihoods![0], 9);
        Assert.Equal(other, r.Items[0].LogLikelihoods![1], 9);
        Assert.Equal(other, r.Items[2].LogLikelihoods![0], 9);
        Assert.Equal(planned, r.Items[2].LogLikelihoods![1], 9);
        // " 모름" shares ' ' and its first byte 0xEB with " 부정" (0xEB 0xB6 0x80), not with " 긍정" (0xEA ...)
        Assert.Equal(ScriptedLM.High + ScriptedLM.Low + 5 * ScriptedLM.Uniform, r.Items[3].LogLikelihoods![0], 9);
        Assert.Equal(2 * ScriptedLM.High + ScriptedLM.Low + 4 * ScriptedLM.Uniform, r.Items[3].LogLikelihoods![1], 9);
        Assert.Equal(["긍정", "긍정", "부정", "부정", "부정", "부정", "긍정"], r.Items.Select(i => i.Predicted));
        Assert.Equal(0, r.Invalid);
        Assert.Equal(4, r.Correct);
        Assert.Equal(4.0 / 7, r.AccuracyNorm!.Value, 12);   // both verbalisers have 2 characters: acc_norm = acc
        Assert.Equal(2, r.Confusion["긍정", "긍정"]); Assert.Equal(2, r.Confusion["긍정", "부정"]);
        Assert.Equal(1, r.Confusion["부정", "긍정"]); Assert.Equal(2, r.Confusion["부정", "부정"]);
    }

    [Fact]
    public void AccNormDividesByTheChoiceLength()
    {
        // uniform model: " no" costs 3 bytes, " yes" 4, so acc picks "no"; per character −3L/2 < −4L/3, so acc_norm picks "yes"
        string[] choices = ["yes", "no"];
        var items = new[] { Item(0, "x", 0, choices), Item(1, "y", 1, choices) };
        var r = Run(FewShotScoring.LogLikelihood, items, new ScriptedLM(_ => null));
        Assert.Equal([4 * ScriptedLM.Uniform, 3 * ScriptedLM.Uniform], r.Items[0].LogLikelihoods!);
        Assert.Equal(["no", "no"], r.Items.Select(i => i.Predicted));
        Assert.Equal(["yes", "yes"], r.Items.Select(i => i.PredictedNorm));
        Assert.Equal(0.5, r.Accuracy);
        Assert.Equal(0.5, r.AccuracyNorm);
        Assert.Equal(1, r.Confusion["yes", "no"]);
    }

    [Fact]
    public void LongContextsKeepTheirEndAndAreCounted()
    {
        // 40 positions: the 21-byte context + 7 answer bytes fit; a 60-byte text does not, and still reads its end
        var items = new[] { Item(0, "good", 0), Item(1, new string('z', 60) + "good", 0) };
        var gen = Run(FewShotScoring.Generate, items, new ScriptedLM(Sentiment, maxPositions: 40));
        Assert.Equal([false, true], gen.Items.Select(i => i.Truncated));
        Assert.Equal(1, gen.Truncated);
        Assert.Equal(["긍정", "긍정"], gen.Items.Select(i => i.Predicted));
        var ll = Run(FewShotScoring.LogLikelihood, items, new ScriptedLM(Sentiment, maxPositions: 40));
        Assert.Equal(1, ll.Truncated);
        Assert.Equal(ll.Items[0].LogLikelihoods, ll.Items[1].LogLikelihoods);
    }

    [Theory]
    [InlineData(8, 10, 0.490162, 0.943318)]
    [InlineData(0, 10, 0.0, 0.277533)]
    [InlineData(10, 10, 0.722467, 1.0)]
    [InlineData(250, 500, 0.456341, 0.543659)]
    public void WilsonIntervalMatchesPublishedValues(int k, int n, double lo, double hi)
    {
        // the closed form evaluated independently in Python; 8/10 and 0/10 agree with published Wilson tables
        var (l, h) = Wilson.Interval(k, n);
        Assert.Equal(lo, l, 5);
        Assert.Equal(hi, h, 5);
    }

    [Fact]
    public void JsonHasTheDocumentedFields()
    {
        var json = Run(FewShotScoring.Generate, Mixed).ToJson();
        foreach (var key in new[] { "task", "prompt", "scoring", "samples", "accuracy", "ci95", "confusion", "invalid", "mean_latency_ms", "tokens_per_second", "wall_seconds" })
            Assert.True(json.ContainsKey(key), key);
        Assert.Equal("nsmc", json["task"]!.GetValue<string>());
        Assert.Equal("generate", json["scoring"]!.GetValue<string>());
        Assert.Equal(7, json["samples"]!.GetValue<int>());
        Assert.Equal(1, json["confusion"]!["긍정"]!["invalid"]!.GetValue<int>());
        Assert.Equal(Wilson.Interval(4, 7).Low, json["ci95"]![0]!.GetValue<double>());
        Assert.False(json.ContainsKey("items"));
        Assert.Equal(7, Run(FewShotScoring.Generate, Mixed).ToJson(items: true)["items"]!.AsArray().Count);
    }

    [Fact]
    public void ItsViewShowsTheConfusionMatrix()
    {
        var html = Workbench.Reports.ResultViews.For(Run(FewShotScoring.Generate, Mixed))!.ToHtml();
        Assert.Contains("<th>gold \\ predicted</th><th>긍정</th><th>부정</th><th>invalid</th>", html);
        Assert.Contains("accuracy 0.571 (4/7", html);
    }
}
