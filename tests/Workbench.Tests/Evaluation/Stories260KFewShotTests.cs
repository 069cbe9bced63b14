using Workbench.Data.FewShot;
using Workbench.Engine;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Tests.Support;
using Workbench.Tokenizers;

namespace Workbench.Tests.Evaluation;

/// <summary>The whole protocol on a real model: stories260K and its SentencePiece tokenizer, 20 NSMC items.</summary>
public class Stories260KFewShotTests
{
    static readonly string Dir = RepoPaths.Data("models/stories260K");
    static readonly Lazy<(CausalLMModule Model, ITokenizer Tokenizer, List<FewShotItem> Items)> Setup = new(() =>
    {
        var tokenizer = Tokenizer.Load(Dir);
        var task = FewShotTask.Load(RepoPaths.Data("tasks/nsmc.json")) with { TestSampleSize = 20 };
        return (CausalLM.Load(Dir), tokenizer, FewShotSampler.Create(task, tokenizer).Render("prompt1"));
    });

    static FewShotResult Run(FewShotScoring scoring)
    {
        var (model, tokenizer, items) = Setup.Value;
        return new FewShotEvaluator(model, tokenizer).Evaluate(FewShotTask.Load(RepoPaths.Data("tasks/nsmc.json")), "prompt1", items, scoring);
    }

    static void AssertConsistent(FewShotResult r)
    {
        Assert.Equal(20, r.Samples);
        Assert.Equal(r.Items.Count(i => i.Predicted == i.Gold), r.Correct);
        Assert.Equal(r.Correct / 20.0, r.Accuracy);
        var (lo, hi) = r.Ci95;
        Assert.True(lo <= r.Accuracy && r.Accuracy <= hi);
        var json = r.ToJson();
        int total = 0;
        foreach (var (_, row) in json["confusion"]!.AsObject())
            foreach (var (_, n) in row!.AsObject()) total += n!.GetValue<int>();
        Assert.Equal(20, total);
        Assert.Equal(r.Items.Count(i => i.Predicted is null), json["confusion"]!["긍정"]!["invalid"]!.GetValue<int>() + json["confusion"]!["부정"]!["invalid"]!.GetValue<int>());
        Assert.All(r.Items, i => Assert.True(i.Tokens > 0 && i.LatencyMs > 0));
        Assert.Equal(r.Tokens / r.WallSeconds, r.TokensPerSecond, 6);
        // Korean falls back to UTF-8 byte pieces in a 512-piece English vocabulary: 10-shot contexts pass 512 positions
        Assert.InRange(r.Truncated, 1, 20);
    }

    [Fact]
    public void GenerationRunsTheProtocol()
    {
        var r = Run(FewShotScoring.Generate);
        AssertConsistent(r);
        Assert.All(r.Items, i => Assert.True(i.Predicted is null || i.Predicted == i.Answer[..2]));
    }

    [Fact]
    public void BatchedItemsScoreAsOneAtATime()
    {
        // right-padded batches of 8 (the last one short) with a KV cache and a padding mask, against single items
        var (model, tokenizer, items) = Setup.Value;
        var task = FewShotTask.Load(RepoPaths.Data("tasks/nsmc.json"));
        var single = new FewShotEvaluator(model, tokenizer) { BatchSize = 1 }.Evaluate(task, "prompt1", items, FewShotScoring.LogLikelihood);
        var batched = new FewShotEvaluator(model, tokenizer) { BatchSize = 8 }.Evaluate(task, "prompt1", items, FewShotScoring.LogLikelihood);
        for (int i = 0; i < items.Count; i++)
        {
            for (int c = 0; c < 2; c++) Assert.Equal(single.Items[i].LogLikelihoods![c], batched.Items[i].LogLikelihoods![c], 1e-3);
            Assert.Equal(single.Items[i].Tokens, batched.Items[i].Tokens);
        }
    }

    [Fact]
    public void LogLikelihoodMatchesADirectForwardPass()
    {
        var r = Run(FewShotScoring.LogLikelihood);
        AssertConsistent(r);
        Assert.Equal(0, r.Invalid);

        // item 0, choice " 부정", recomputed: log_softmax over the whole (truncated) sequence, summed at the continuation
        var (model, tokenizer, items) = Setup.Value;
        var item = items[0];
        var whole = tokenizer.Encode(item.Context + " 부정");
        int n = new FewShotEvaluator(model, tokenizer).ContinuationIds(item.Context, " 부정").Length;
        var input = whole[Math.Max(0, whole.Length - 1 - model.Config.MaxPositions)..^1];
        using var _ = GradMode.NoGrad();
        var logp = model.Forward(input, 1, input.Length).LogSoftmax().Contiguous();   // (1, T, V)
        int v = model.Config.VocabSize;
        double expected = 0;
        for (int j = 0; j < n; j++) expected += logp.Span[(input.Length - n + j) * v + whole[whole.Length - n + j]];
        Assert.Equal(expected, r.Items[0].LogLikelihoods![1], 3);
        Assert.Equal(item.Choices[r.Items[0].LogLikelihoods![0] >= r.Items[0].LogLikelihoods![1] ? 0 : 1], r.Items[0].Predicted);
    }
}
