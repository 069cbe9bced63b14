using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Backends;
using Workbench.Backends.Managed;
using Workbench.Data;
using Workbench.Data.Preferences;
using Workbench.Engine;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Backends;

/// <summary>
/// The seam's preference primitive on the real stories260K Llama with LoRA: its row sums are the causal LM loss's
/// numerator, its backward is the loss's backward with the seed −1/n, rows do not see each other's padding, and the
/// reference is the base model with the adapter disabled.
/// </summary>
public class CompletionLogProbsTests
{
    private static readonly int[] Ids = [1, 403, 407, 261, 378, 285, 310, 301, 324, 343, 266, 295];
    private static readonly int[] Labels = [-100, -100, -100, -100, 378, 285, 310, 301, 324, 343, 266, 295];   // 8 targets after the prompt

    private static ManagedTrainableLM Model() => ManagedBackend.Instance.Prepare(CausalLM.Load(RepoPaths.Data("models/stories260K")),
        new TrainingSetup { Adapter = new LoraConfig { R = 4, LoraAlpha = 8, TargetModules = TargetModules.Of("q_proj", "v_proj") }, Seed = 3 });

    /// <summary>Moves the adapter off its initial value (B = 0), so the policy differs from the reference.</summary>
    private static void Perturb(ITrainableLM model)
    {
        var rng = new Random(5);
        foreach (var (name, t) in model.TrainableTensors().Where(p => p.Name.Contains("lora_B")))
            for (int i = 0; i < t.Numel; i++) t.Span[i] = (float)(rng.NextDouble() - 0.5) * 0.2f;
    }

    private static float[][] Gradients(ITrainableLM model) => model.TrainableTensors().Select(p => p.Tensor.Grad!.ToArray()).ToArray();

    [Fact]
    public void RowSumIsMinusTheMeanLossTimesTheTargetCountAndItsBackwardMatches()
    {
        var model = Model();
        Perturb(model);
        model.ZeroGrad();
        double loss = model.LossAndBackward(Ids, Labels, 1, Ids.Length, 1f, 0);
        var expected = Gradients(model);
        model.ZeroGrad();
        var sums = model.CompletionLogProbs(Ids, Labels, 1, Ids.Length, reference: false, dropoutStep: 0);
        Assert.Equal(-loss * 8, sums[0], 1e-4);      // 8 targets, positions 4 to 11, each predicted from the position before
        model.BackwardCompletionLogProbs([-1f / 8]);
        var actual = Gradients(model);
        // fp32 through log-softmax, gather and a row-sum product against the fused cross-entropy kernel: the same
        // gradient summed in another order, a few parts in 10⁴ on elements far below the largest
        for (int i = 0; i < expected.Length; i++) Close.Assert(expected[i], actual[i], rtol: 2e-3f, atol: 2e-6f, $"gradient {i}");
        Assert.Contains(actual, g => g.Max(MathF.Abs) > 1e-4f);
    }

    [Fact]
    public void RowsOfABatchEqualEachRowAloneAndTheReferenceIsTheBaseModel()
    {
        var model = Model();
        int[] shortIds = Ids[..7], shortLabels = Labels[..7];
        var batch = Batch.Collate([new TrainingExample(Ids, Labels), new TrainingExample(shortIds, shortLabels)], padId: 0);
        var atInit = model.CompletionLogProbs(batch.InputIds, batch.Labels, 2, batch.Length, reference: false, dropoutStep: 0);
        var reference = model.CompletionLogProbs(batch.InputIds, batch.Labels, 2, batch.Length, reference: true, dropoutStep: 0);
        Assert.Equal(reference, atInit);                                 // LoRA's B starts at zero: bit for bit the base

        Perturb(model);
        var both = model.CompletionLogProbs(batch.InputIds, batch.Labels, 2, batch.Length, reference: false, dropoutStep: 0);
        Assert.Equal(model.CompletionLogProbs(Ids, Labels, 1, Ids.Length, false, 0)[0], both[0], 1e-4);
        Assert.Equal(model.CompletionLogProbs(shortIds, shortLabels, 1, shortIds.Length, false, 0)[0], both[1], 1e-4);
        Assert.NotEqual(reference[0], both[0], 1e-3);
        Assert.Equal(reference, model.CompletionLogProbs(batch.InputIds, batch.Labels, 2, batch.Length, reference: true, dropoutStep: 0));

        // The evaluator's scoring through ICausalLM agrees: the tuned model with the adapter, the plain base without.
        var pair = new PreferenceExample(new TrainingExample(Ids, Labels), new TrainingExample(shortIds, shortLabels), "test");
        var tuned = PreferenceScorer.Score(model.Model, [pair])[0];
        var plain = PreferenceScorer.Score(CausalLM.Load(RepoPaths.Data("models/stories260K")), [pair])[0];
        Assert.Equal(both[0], tuned.Chosen, 1e-3);
        Assert.Equal(both[1], tuned.Rejected, 1e-3);
        Assert.Equal(reference[0], plain.Chosen, 1e-3);
        Assert.Equal((8, 3, 11), (tuned.ChosenTokens, tuned.RejectedTokens, tuned.ChosenSequenceTokens));
    }
}
