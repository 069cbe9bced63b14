using Workbench.Adapters;
using Workbench.Engine;
using Workbench.Engine.Optim;
using Workbench.Models;
using Workbench.Quantization;

namespace Workbench.Backends.Managed;

/// <summary>
/// A <see cref="CausalLMModule"/> prepared for training on the managed engine: whatever requires grad after
/// preparation (the adapter, or every weight) is what AdamW trains.
/// </summary>
public sealed class ManagedTrainableLM : ITrainableLM
{
    private readonly TrainingOptimizer optimizer;
    private bool training;

    /// <summary>The model itself, for callers on the managed engine.</summary>
    public CausalLMModule Module { get; }
    /// <summary>The adapter being trained; null for a full fine-tune.</summary>
    public PeftModel? Peft { get; }

    public ManagedTrainableLM(CausalLMModule model, PeftModel? peft, double weightDecay)
    {
        Module = model;
        Peft = peft;
        optimizer = new TrainingOptimizer(model, weightDecay);
    }

    public ICausalLM Model => Module;

    public bool Training
    {
        get => training;
        set { training = value; Peft?.Train(value); }
    }

    public bool GradientCheckpointing
    {
        get => Module.GradientCheckpointing;
        set => Module.GradientCheckpointing = value;
    }

    public long TrainableParameters => optimizer.Parameters.Sum(p => p.Tensor.Numel);

    public long TotalParameters => Module.NamedParameters().Sum(p => p.Tensor.Numel)
        + Module.NamedModules().Select(m => m.Module).OfType<QuantizedLinear>().Sum(q => (long)q.OutFeatures * q.InFeatures);

    public IReadOnlyList<string> AdaptedModules => Peft?.Layers().Select(l => l.Path).ToList() ?? [];

    public double LossAndBackward(int[] inputIds, int[] labels, int batch, int seq, float gradScale, long dropoutStep)
    {
        if (Peft is not null) Peft.Dropout.Step = dropoutStep;
        var loss = CausalLmLoss.Compute(Module, inputIds, labels, batch, seq);
        float value = loss.Item();
        if (float.IsFinite(value)) loss.Backward(Tensor.Scalar(gradScale));
        return value;
    }

    /// <summary>The policy's [B] row sums of the last <see cref="CompletionLogProbs"/> call, graph kept for the backward.</summary>
    private Tensor? policyRows;

    /// <summary>
    /// The reference is this model with its adapters disabled. A full fine-tune has none to disable: its reference is the
    /// model as it stands, which is the base only before the first update (the trainer precomputes it then).
    /// </summary>
    public double[] CompletionLogProbs(int[] inputIds, int[] labels, int batch, int seq, bool reference, long dropoutStep)
    {
        if (!reference)
        {
            if (Peft is not null) Peft.Dropout.Step = dropoutStep;
            policyRows = RowLogProbs.Compute(Module, inputIds, labels, batch, seq);
            return Array.ConvertAll(policyRows.ToArray(), v => (double)v);
        }
        using var noGrad = GradMode.NoGrad();
        using var baseOnly = Peft?.DisableAdapters();
        return Array.ConvertAll(RowLogProbs.Compute(Module, inputIds, labels, batch, seq).ToArray(), v => (double)v);
    }

    public void BackwardCompletionLogProbs(float[] rowGradients)
    {
        var rows = policyRows ?? throw new InvalidOperationException("BackwardCompletionLogProbs: no policy CompletionLogProbs call to back-propagate");
        if (rowGradients.Length != rows.Numel)
            throw new ArgumentException($"BackwardCompletionLogProbs: {rowGradients.Length} row gradients for {rows.Numel} rows");
        policyRows = null;
        if (rows.RequiresGrad) rows.Backward(Tensor.FromArray(rowGradients, rowGradients.Length));
    }

    public void ZeroGrad() => optimizer.ZeroGrad();

    public float ClipGradNorm(float maxNorm) => GradClip.ClipGradNorm(optimizer.Tensors, maxNorm);

    public void OptimizerStep(double lr) => optimizer.Step(lr);

    public int OptimizerSteps
    {
        get => optimizer.StepCount;
        set => optimizer.StepCount = value;
    }

    public IReadOnlyList<(string Name, Tensor Tensor)> TrainableTensors() => optimizer.Parameters;

    public IReadOnlyDictionary<string, Tensor> OptimizerMoments() => optimizer.Moments();

    public IReadOnlyList<string> SaveAdapter(string directory) => Peft?.Save(directory) ?? [];
}
