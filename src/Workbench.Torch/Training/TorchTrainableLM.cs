using TorchSharp;
using Workbench.Backends;
using Workbench.Backends.Managed;
using Workbench.Data;
using Workbench.Models;
using Workbench.Torch.Adapters;
using Workbench.Torch.Models;
using Workbench.Torch.Quantization;
using static TorchSharp.torch;
using HostTensor = Workbench.Engine.Tensor;

namespace Workbench.Torch.Training;

/// <summary>
/// A torch model with an adapter injected, prepared for the Trainer: the loss is Hugging Face's causal-LM loss
/// (<see cref="CausalLmLoss.ShiftLabels"/>; only positions with a target go through the head), backward is libtorch's,
/// the optimizer <see cref="TorchAdamW"/>. Checkpoints read trainable weights and moments as host tensors: on the CPU
/// these are the tensors' own memory; on a GPU they are mirrors, refreshed when asked for and written back before the
/// next step (so a resume's values reach the device).
/// </summary>
public sealed class TorchTrainableLM : ITrainableLM
{
    private readonly List<(string Name, AdapterTensor Tensor)> trainable;
    private readonly TorchAdamW optimizer;
    private bool mirrorsOut;

    public TorchCausalLM Module { get; }
    public TorchPeftModel Peft { get; }

    /// <param name="eightBitStates">AdamW with 8-bit moments (bitsandbytes' AdamW8bit); the Trainer's runs use float32 moments.</param>
    public TorchTrainableLM(TorchCausalLM model, TorchPeftModel peft, double weightDecay, bool eightBitStates = false)
    {
        (Module, Peft) = (model, peft);
        trainable = peft.Trainable();
        optimizer = new TorchAdamW(trainable, weightDecay, eightBitStates);
    }

    /// <summary>Bytes of the optimizer's moments.</summary>
    public long OptimizerStateBytes => optimizer.StateBytes;

    public ICausalLM Model => Module;

    public bool Training
    {
        get => Peft.Settings.Training;
        set => Peft.Train(value);
    }

    public bool GradientCheckpointing
    {
        get => Module.GradientCheckpointing;
        set => Module.GradientCheckpointing = value;
    }

    public long TrainableParameters => trainable.Sum(t => t.Tensor.Host.Numel);

    /// <summary>Every weight, a 4-bit layer counted by its [out, in] elements; the float32 copies trained for modules_to_save replace their originals.</summary>
    public long TotalParameters => Module.parameters().Sum(p => p.numel())
        + Module.modules().OfType<TorchLinear4bit>().Sum(q => (long)q.OutFeatures * q.InFeatures);

    public IReadOnlyList<string> AdaptedModules => Peft.Layers().Select(l => l.Path).ToList();

    public double LossAndBackward(int[] inputIds, int[] labels, int batch, int seq, float gradScale, long dropoutStep)
    {
        PushMirrors();
        Peft.Settings.Step = dropoutStep;
        using var scope = NewDisposeScope();
        var targets = CausalLmLoss.ShiftLabels(labels, batch, seq);
        var hidden = Module.HiddenStates(TorchTensors.Ids(inputIds, batch, seq, Module.Device)).reshape(batch * seq, -1);   // (B·T, C)
        var rows = Enumerable.Range(0, targets.Length).Where(i => targets[i] != TrainingExample.IgnoreIndex).Select(i => (long)i).ToArray();
        var picked = rows.Length == 0 ? hidden : hidden.index_select(0, tensor(rows, device: Module.Device));          // (N, C): rows with a target
        var wanted = rows.Length == 0 ? targets.Select(t => (long)t).ToArray() : rows.Select(i => (long)targets[i]).ToArray();
        var loss = nn.functional.cross_entropy(Module.LmHead(picked), tensor(wanted, device: Module.Device));
        float value = loss.item<float>();
        if (float.IsFinite(value)) loss.backward([full_like(loss, gradScale)]);
        return value;
    }

    /// <summary>The policy's [B] row sums of the last <see cref="CompletionLogProbs"/> call, graph kept for the backward.</summary>
    private Tensor? policyRows;

    /// <summary>The reference is this model with its adapters disabled (<see cref="TorchPeftModel.DisableAdapters"/>), without a graph.</summary>
    public double[] CompletionLogProbs(int[] inputIds, int[] labels, int batch, int seq, bool reference, long dropoutStep)
    {
        PushMirrors();
        if (reference)
        {
            using var noGrad = no_grad();
            using var baseOnly = Peft.DisableAdapters();
            using var scope = NewDisposeScope();
            return Doubles(RowLogProbs(inputIds, labels, batch, seq));
        }
        Peft.Settings.Step = dropoutStep;
        policyRows?.Dispose();
        using (NewDisposeScope()) policyRows = RowLogProbs(inputIds, labels, batch, seq).DetachFromDisposeScope();
        return Doubles(policyRows);
    }

    public void BackwardCompletionLogProbs(float[] rowGradients)
    {
        var rows = policyRows ?? throw new InvalidOperationException("BackwardCompletionLogProbs: no policy CompletionLogProbs call to back-propagate");
        if (rowGradients.Length != rows.shape[0])
            throw new ArgumentException($"BackwardCompletionLogProbs: {rowGradients.Length} row gradients for {rows.shape[0]} rows");
        policyRows = null;
        using (NewDisposeScope())
            if (rows.requires_grad) rows.backward([tensor(rowGradients, device: rows.device)]);
        rows.Dispose();
    }

    /// <summary>
    /// ids and labels [B, T] → logp [B], logp_b = Σ_{t : labels[b, t] ≠ −100} log softmax(logits[b, t − 1])[labels[b, t]], as the
    /// managed <see cref="Workbench.Backends.Managed.RowLogProbs"/>: only the positions with a target go through the head.
    /// </summary>
    private Tensor RowLogProbs(int[] inputIds, int[] labels, int batch, int seq)
    {
        var targets = CausalLmLoss.ShiftLabels(labels, batch, seq);
        var rows = Enumerable.Range(0, targets.Length).Where(i => targets[i] != TrainingExample.IgnoreIndex).ToArray();
        if (rows.Length == 0) return zeros(batch, device: Module.Device);
        var hidden = Module.HiddenStates(TorchTensors.Ids(inputIds, batch, seq, Module.Device)).reshape(batch * seq, -1);   // (B·T, C)
        var picked = hidden.index_select(0, tensor(rows.Select(i => (long)i).ToArray(), device: Module.Device));         // (N, C)
        var logp = nn.functional.log_softmax(Module.LmHead(picked), -1);                                                 // (N, V)
        var wanted = tensor(rows.Select(i => (long)targets[i]).ToArray(), device: Module.Device).unsqueeze(1);
        var token = logp.gather(1, wanted).squeeze(1);                                                                    // (N)
        var owner = tensor(rows.Select(i => (long)(i / seq)).ToArray(), device: Module.Device);
        return zeros(batch, dtype: token.dtype, device: Module.Device).index_add(0, owner, token, 1);                      // (B)
    }

    private static double[] Doubles(Tensor rows) => Array.ConvertAll(rows.detach().cpu().to_type(ScalarType.Float32).data<float>().ToArray(), v => (double)v);

    public void ZeroGrad()
    {
        foreach (var (_, t) in trainable) t.Parameter.grad = null;
    }

    /// <summary>torch.nn.utils.clip_grad_norm_: the global L2 norm of the gradients; scaled by max/(norm + 1e-6) when above max.</summary>
    public float ClipGradNorm(float maxNorm)
    {
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        var grads = trainable.Select(t => t.Tensor.Parameter.grad).OfType<Tensor>().ToList();
        if (grads.Count == 0) return 0;
        var norm = stack(grads.Select(g => g.norm()).ToList()).norm();
        float total = norm.item<float>();
        float coefficient = maxNorm / (total + 1e-6f);
        if (coefficient < 1) foreach (var g in grads) g.mul_(coefficient);
        return total;
    }

    public void OptimizerStep(double lr)
    {
        PushMirrors();
        optimizer.Step(lr);
    }

    public int OptimizerSteps
    {
        get => optimizer.StepCount;
        set => optimizer.StepCount = value;
    }

    public IReadOnlyList<(string Name, HostTensor Tensor)> TrainableTensors()
    {
        mirrorsOut = true;
        return trainable.Select(t => (t.Name, t.Tensor.PullHost())).ToList();
    }

    public IReadOnlyDictionary<string, HostTensor> OptimizerMoments()
    {
        mirrorsOut = true;
        return optimizer.Moments().ToDictionary(m => m.Name, m => m.Tensor.PullHost());
    }

    public IReadOnlyList<string> SaveAdapter(string directory) => Peft.Save(directory);

    /// <summary>Host mirrors handed out may have been written (a resume): copy them to the device (nothing to do on the CPU).</summary>
    private void PushMirrors()
    {
        if (!mirrorsOut) return;
        mirrorsOut = false;
        foreach (var (_, t) in trainable) t.PushHost();
        foreach (var (_, t) in optimizer.Moments()) t.PushHost();
    }
}
