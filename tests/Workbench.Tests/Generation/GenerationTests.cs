using System.Text.Json;
using Workbench.Engine;
using Workbench.Generation;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Generation;

public class GenerationTests
{
    private static CausalLMModule Tiny() => CausalLM.Load(Fixtures.PathOf("models/llama_gqa"));
    private static int[] Ints(Tensor t) => t.ToArray().Select(v => (int)v).ToArray();

    /// <summary>The argmax chain computed with full (uncached) forwards over the growing sequence.</summary>
    private static List<int> ArgMaxChain(CausalLMModule model, int[] prompt, int steps)
    {
        using var _ = GradMode.NoGrad();
        var ids = prompt.ToList();
        var chain = new List<int>();
        for (int s = 0; s < steps; s++)
        {
            var logits = model.Forward(ids.ToArray(), 1, ids.Count).ToArray();
            int next = LogitsProcessing.ArgMax(logits.AsSpan((ids.Count - 1) * model.Config.VocabSize, model.Config.VocabSize));
            chain.Add(next);
            ids.Add(next);
        }
        return chain;
    }

    [Fact]
    public void GreedyEqualsTheArgMaxChainAndPyTorch()
    {
        var model = Tiny();
        var r = Fixtures.Load("models/llama_gqa/reference.safetensors");
        var prompts = Ints(r["input_ids"]).Chunk(7).ToArray();
        var result = Generator.Generate(model, prompts, new GenerationOptions { MaxNewTokens = 6 });
        var pytorch = Ints(r["decode_ids"]);                                // greedy, 3 steps per row
        for (int b = 0; b < 2; b++)
        {
            Assert.Equal(ArgMaxChain(model, prompts[b], 6), result.Tokens[b]);
            Assert.Equal(pytorch[(b * 3)..(b * 3 + 3)], result.Tokens[b][..3]);
        }
        Assert.All(result.Reasons, r => Assert.Equal(StopReason.MaxNewTokens, r));
    }

    [Fact]
    public void LeftPaddedBatchGivesEachPromptsOwnTokens()
    {
        var model = CausalLM.Load(Fixtures.PathOf("models/neox_sequential"));
        int[][] prompts = [[5, 9, 14, 3, 40, 22], [17, 8], [33, 12, 50, 6]];
        var options = new GenerationOptions { MaxNewTokens = 5 };
        var batched = Generator.Generate(model, prompts, options);
        for (int b = 0; b < prompts.Length; b++)
            Assert.Equal(Generator.Generate(model, [prompts[b]], options).Tokens[0], batched.Tokens[b]);
    }

    [Fact]
    public void Stories260KWritesTheStoryOfLily()
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Fixtures.PathOf("models/stories260K_greedy.json")));
        var expected = doc.RootElement.GetProperty("ids").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        // The fixture's SentencePiece decoding of those ids (tests/fixtures/make_models.py).
        Assert.StartsWith("Once upon a time, there was a little girl named Lily", doc.RootElement.GetProperty("text").GetString());
        var model = CausalLM.Load(RepoPaths.Data("models/stories260K"));
        var result = Generator.Generate(model, [[1]], new GenerationOptions { MaxNewTokens = expected.Length, EosIds = model.Config.EosTokenIds });
        Assert.Equal(expected, result.Tokens[0]);
    }

    [Fact]
    public void EosAndStopStringsEndARowAndStreamingSeesEveryToken()
    {
        var model = Tiny();
        int[] prompt = [5, 9, 14];
        var chain = ArgMaxChain(model, prompt, 6);
        var eos = Generator.Generate(model, [prompt], new GenerationOptions { MaxNewTokens = 6, EosIds = [chain[1]] });
        Assert.Equal(chain[..(chain.IndexOf(chain[1]) + 1)], eos.Tokens[0]);
        Assert.Equal(StopReason.Eos, eos.Reasons[0]);

        string Decode(IReadOnlyList<int> ids) => string.Concat(ids.Select(i => $"<{i}>"));
        var streamed = new List<(int, int)>();
        var stop = Generator.Generate(model, [prompt], new GenerationOptions { MaxNewTokens = 6, StopStrings = [$"<{chain[2]}>"] },
            Decode, (row, token) => streamed.Add((row, token)));
        Assert.Equal(chain.IndexOf(chain[2]) + 1, stop.Tokens[0].Length);
        Assert.Equal(StopReason.StopString, stop.Reasons[0]);
        Assert.Equal(stop.Tokens[0].Select(t => (0, t)), streamed);
    }

    [Fact]
    public void SeededSamplingRepeatsAndTopKOneIsGreedy()
    {
        var model = Tiny();
        int[][] prompts = [[5, 9, 14], [3, 4]];
        var sampling = new GenerationOptions { Greedy = false, MaxNewTokens = 8, Temperature = 1.5f, TopK = 0, Seed = 11 };
        var a = Generator.Generate(model, prompts, sampling);
        var b = Generator.Generate(model, prompts, sampling);
        Assert.Equal(a.Tokens, b.Tokens);
        var others = Enumerable.Range(12, 4).Select(seed => Generator.Generate(model, prompts, sampling with { Seed = seed }).Tokens);
        Assert.Contains(others, o => !o[0].SequenceEqual(a.Tokens[0]) || !o[1].SequenceEqual(a.Tokens[1]));
        var topOne = Generator.Generate(model, prompts, sampling with { TopK = 1 });
        Assert.Equal(Generator.Generate(model, prompts, new GenerationOptions { MaxNewTokens = 8 }).Tokens, topOne.Tokens);
    }

    [Fact]
    public void SamplingFollowsTheDistribution()
    {
        // p = [0.5, 0.3, 0.15, 0.05]: frequencies over 20,000 draws within 0.015.
        float[] logits = [MathF.Log(0.5f), MathF.Log(0.3f), MathF.Log(0.15f), MathF.Log(0.05f)];
        var rng = new Random(1);
        var counts = new int[4];
        for (int i = 0; i < 20_000; i++) counts[LogitsProcessing.Sample(logits, rng)]++;
        Close.Assert([0.5f, 0.3f, 0.15f, 0.05f], counts.Select(c => c / 20_000f).ToArray(), 0, 0.015f, "sample frequencies");
    }

    [Fact]
    public void TopKKeepsTheKLargestAndTiesAtTheThreshold()
    {
        float[] s = [1, 3, 2, 5, 4];
        LogitsProcessing.TopK(s, 2);
        Assert.Equal([float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 5, 4], s);
        float[] ties = [1, 2, 2, 3];
        LogitsProcessing.TopK(ties, 2);
        Assert.Equal([float.NegativeInfinity, 2, 2, 3], ties);
        float[] all = [1, 2];
        LogitsProcessing.TopK(all, 0);
        Assert.Equal([1f, 2f], all);
    }

    [Theory]
    [InlineData(0.75f, new[] { true, true, false, false })]   // cumsum ascending 0.05, 0.2, 0.5, 1: remove ≤ 0.25
    [InlineData(0.4f, new[] { true, false, false, false })]   // remove ≤ 0.6: only the most likely stays
    [InlineData(0.97f, new[] { true, true, true, true })]     // remove ≤ 0.03: nothing
    [InlineData(0.01f, new[] { true, false, false, false })]  // the most likely token always stays
    public void TopPKeepsTheSmallestNucleus(float topP, bool[] kept)
    {
        float[] probabilities = [0.5f, 0.3f, 0.15f, 0.05f];
        var s = probabilities.Select(p => MathF.Log(p)).ToArray();
        LogitsProcessing.TopP(s, topP);
        Assert.Equal(kept, s.Select(v => !float.IsNegativeInfinity(v)).ToArray());
        Assert.Equal(MathF.Log(0.5f), s[0]);
    }

    [Fact]
    public void RepetitionPenaltyDividesPositiveAndMultipliesNegativeOnce()
    {
        float[] s = [2, -2, 1, 0.5f];
        LogitsProcessing.RepetitionPenalty(s, [0, 1, 1, 0], 2f);
        Assert.Equal([1f, -4f, 1f, 0.5f], s);
        float[] t = [2, -2];
        LogitsProcessing.Temperature(t, 0.5f);
        Assert.Equal([4f, -4f], t);
    }

    [Fact]
    public void RepetitionPenaltyChangesGreedyChoices()
    {
        var model = Tiny();
        int[] prompt = [5, 9, 14, 5, 9, 14];
        var plain = Generator.Generate(model, [prompt], new GenerationOptions { MaxNewTokens = 8 }).Tokens[0];
        var penalised = Generator.Generate(model, [prompt], new GenerationOptions { MaxNewTokens = 8, RepetitionPenalty = 100f }).Tokens[0];
        // With a huge penalty no token of the prompt or the output repeats while fresh ones are at hand.
        Assert.Equal(penalised.Length, penalised.Distinct().Count());
        Assert.DoesNotContain(penalised, prompt.Contains);
        Assert.NotEqual(plain, penalised);
    }

    [Fact]
    public void BadOptionsAreRejected()
    {
        var model = Tiny();
        Assert.StartsWith("temperature: ", Assert.Throws<ArgumentException>(() => Generator.Generate(model, [[1]], new GenerationOptions { Greedy = false, Temperature = 0 })).Message);
        Assert.StartsWith("top_p: ", Assert.Throws<ArgumentException>(() => Generator.Generate(model, [[1]], new GenerationOptions { TopP = 0 })).Message);
        Assert.Throws<ArgumentException>(() => Generator.Generate(model, [[]], new GenerationOptions()));
        Assert.Throws<ArgumentException>(() => Generator.Generate(model, [[1]], new GenerationOptions { StopStrings = ["x"] }));
    }
}
