using Workbench.Engine;

namespace Workbench.Models;

/// <summary>What training, evaluation and generation need from any causal language model.</summary>
public interface ICausalLM
{
    ModelConfig Config { get; }
    bool GradientCheckpointing { get; set; }

    /// <summary>ids [B, T] → logits [B, T, V].</summary>
    Tensor Forward(int[] ids, int batch, int seq);

    /// <summary>
    /// ids [B, T] following the <c>cache.Length</c> tokens already in <paramref name="cache"/> (if any) → logits
    /// [B, T, V]; the step's keys and values are appended to the cache. <paramref name="attentionMask"/>
    /// [B, cache.Length + T] marks tokens 1 and left padding 0 (see <see cref="AttentionContext"/>).
    /// </summary>
    Tensor Forward(int[] ids, int batch, int seq, KvCache? cache, int[]? attentionMask = null);

    /// <summary>
    /// What <see cref="Forward(int[], int, int, KvCache?, int[])"/> computes before the head: the last layer's
    /// normalised hidden states [B, T, C]. With <see cref="LmHead"/> a caller pays for the logits of the positions it
    /// reads only (the head is the largest matrix of a small model).
    /// </summary>
    Tensor HiddenStates(int[] ids, int batch, int seq, KvCache? cache = null, int[]? attentionMask = null);

    /// <summary>hidden [..., C] → logits [..., V].</summary>
    Tensor LmHead(Tensor hidden);
}
