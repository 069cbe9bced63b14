using Workbench.Engine;
using Workbench.Models;

namespace Workbench.Backends;

/// <summary>
/// The training face of a model prepared for a run (an adapter injected, or every weight unfrozen): what the
/// <c>Trainer</c> calls. The other half of the backend seam beside <see cref="ICausalLM"/> (<c>docs/architecture.md</c>):
/// batches go in as token arrays, losses and norms come out as numbers, and the state a checkpoint keeps crosses as
/// host <see cref="Tensor"/>s (the engine's tensor as a plain fp32 container), so a second backend trains through the
/// same loop, schedules, checkpoints and logs.
/// </summary>
public interface ITrainableLM
{
    /// <summary>The model as evaluation and generation see it (adapters active).</summary>
    ICausalLM Model { get; }

    /// <summary>Training mode turns adapter dropout on; evaluation mode off.</summary>
    bool Training { get; set; }

    /// <summary>Recompute layer activations in backward instead of keeping them.</summary>
    bool GradientCheckpointing { get; set; }

    long TrainableParameters { get; }

    /// <summary>Every weight, quantised ones counted by their [out, in] elements (PEFT's print_trainable_parameters).</summary>
    long TotalParameters { get; }

    /// <summary>The module paths an adapter wraps (none for a full fine-tune).</summary>
    IReadOnlyList<string> AdaptedModules { get; }

    /// <summary>
    /// The mean next-token loss of a micro-batch (ids and labels [B, T], label −100 ignored; position t predicts t + 1),
    /// then its backward with the seed <paramref name="gradScale"/>, adding to the gradients, unless the loss is not
    /// finite (then nothing is back-propagated). <paramref name="dropoutStep"/> seeds dropout masks, so a resumed run
    /// draws the masks an uninterrupted one did.
    /// </summary>
    double LossAndBackward(int[] inputIds, int[] labels, int batch, int seq, float gradScale, long dropoutStep);

    /// <summary>
    /// Per row b of ids and labels [B, T] (labels unshifted, −100 ignored): logp_b = Σ_t log p(labels[b, t] | ids[b, &lt;t]),
    /// the summed log-probability of the row's labelled tokens — every DPO, IPO and ORPO loss is a function of these
    /// and their token counts. <paramref name="reference"/>: the reference model (adapters disabled; a full fine-tune's is the
    /// model as it stands, so it is precomputed before training), no graph kept;
    /// otherwise the policy, whose graph is kept for <see cref="BackwardCompletionLogProbs"/>. <paramref name="dropoutStep"/>
    /// seeds dropout as in <see cref="LossAndBackward"/>.
    /// </summary>
    double[] CompletionLogProbs(int[] inputIds, int[] labels, int batch, int seq, bool reference, long dropoutStep);

    /// <summary>
    /// Back-propagates Σ_b g_b · ∂logp_b/∂θ through the last policy call of <see cref="CompletionLogProbs"/>, adding to the
    /// gradients; <paramref name="rowGradients"/> [B] are dL/dlogp_b.
    /// </summary>
    void BackwardCompletionLogProbs(float[] rowGradients);

    void ZeroGrad();

    /// <summary>Scales the gradients so their global L2 norm is at most <paramref name="maxNorm"/>; returns the norm before.</summary>
    float ClipGradNorm(float maxNorm);

    /// <summary>One AdamW step at learning rate <paramref name="lr"/>.</summary>
    void OptimizerStep(double lr);

    /// <summary>Optimizer steps taken (bias correction); restored with a checkpoint.</summary>
    int OptimizerSteps { get; set; }

    /// <summary>The trainable weights by parameter name, live: a checkpoint saves them, a resume copies into them.</summary>
    IReadOnlyList<(string Name, Tensor Tensor)> TrainableTensors();

    /// <summary>The optimizer's moments as <c>exp_avg.{name}</c> and <c>exp_avg_sq.{name}</c>, live like the weights.</summary>
    IReadOnlyDictionary<string, Tensor> OptimizerMoments();

    /// <summary>Writes the trained adapter as PEFT files into <paramref name="directory"/>; the files written (none for a full fine-tune).</summary>
    IReadOnlyList<string> SaveAdapter(string directory);
}
