using Workbench.Engine;

namespace Workbench.Models;

/// <summary>What training, evaluation and generation need from any causal language model.</summary>
public interface ICausalLM
{
    ModelConfig Config { get; }
    bool GradientCheckpointing { get; set; }

    /// <summary>ids [B, T] → logits [B, T, V].</summary>
    Tensor Forward(int[] ids, int batch, int seq);
}
