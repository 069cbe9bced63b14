using Workbench.Backends;
using Workbench.Generation;
using Workbench.Models;
using Workbench.Tests.Support;
using Workbench.Torch;
using Workbench.Torch.Models;

namespace Workbench.Tests.Torch;

/// <summary>The torch backend's models against the managed engine's on the shipped and fixture models (CPU).</summary>
public class TorchModelTests
{
    public static TheoryData<string> Models => new()
    {
        RepoPaths.Data("models/stories260K"), RepoPaths.Data("models/ko-tiny"),
        Fixtures.PathOf("models/llama_gqa"), Fixtures.PathOf("models/gemma_mqa"), Fixtures.PathOf("models/neox_parallel"), Fixtures.PathOf("models/neox_sequential"),
    };

    /// <summary>|a − b| ≤ tol·max|b| over the whole array (relative to the logits' scale).</summary>
    internal static void AssertClose(float[] expected, float[] actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = expected.Max(v => Math.Abs((double)v)), worst = 0;
        for (int i = 0; i < expected.Length; i++) worst = Math.Max(worst, Math.Abs(expected[i] - actual[i]));
        Assert.True(worst <= relative * scale, $"{what}: max |Δ| {worst:g3} > {relative:g1} × {scale:g3}");
    }

    private static int[] Ids(ModelConfig c, int n, int seed)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => rng.Next(c.VocabSize)).ToArray();
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void LogitsAgreeWithTheManagedEngine(string directory)
    {
        var managed = CausalLM.Load(directory);
        var torch = TorchModels.Load(directory, TorchRuntime.Device("cpu"));
        var ids = Ids(managed.Config, 2 * 7, 1);
        AssertClose(managed.Logits(ids, 2, 7), torch.Logits(ids, 2, 7), 1e-4, directory);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void CachedAndPaddedStepsAgreeWithTheManagedEngine(string directory)
    {
        var managed = CausalLM.Load(directory);
        var torch = TorchModels.Load(directory, TorchRuntime.Device("cpu"));
        var ids = Ids(managed.Config, 2 * 6, 2);
        int[] mask = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* the second step: */ 1, 1];
        float[] Run(ICausalLM m)
        {
            var cache = m.NewCache(2);
            var first = m.Logits(ids, 2, 6, cache, mask[..12], rows: [5, 11]);
            var second = m.Logits([ids[0], ids[6]], 2, 1, cache, [.. mask[..6], 1, .. mask[6..12], 1]);
            cache.Rewind(3);
            var again = m.Logits(ids[..6].Concat(ids[6..12]).Where((_, i) => i % 6 >= 3).ToArray(), 2, 3, cache, [.. mask[..6], .. mask[6..12]]);
            return [.. first, .. second, .. again];
        }
        AssertClose(Run(managed), Run(torch), 1e-4, directory);
    }

    [Fact]
    public void GreedyGenerationOfStories260KGivesTheSameIds()
    {
        var directory = RepoPaths.Data("models/stories260K");
        var options = new GenerationOptions { MaxNewTokens = 64, Greedy = true };
        var managed = Generator.Generate(CausalLM.Load(directory), [[1]], options);
        var torch = Generator.Generate(TorchBackend.Instance.Load(directory, new InferenceSetup()), [[1]], options);
        Assert.Equal(managed.Tokens[0], torch.Tokens[0]);
    }
}
