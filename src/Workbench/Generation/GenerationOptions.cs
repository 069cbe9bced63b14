namespace Workbench.Generation;

/// <summary>
/// How to choose tokens, with transformers' GenerationConfig meanings: greedy (do_sample=False) or sampling
/// with temperature, top-k (0 = off; transformers' default 50) and top-p (1 = off); a repetition penalty (1 = off)
/// applied in both modes; stop at an EOS id, at a stop string, or after MaxNewTokens.
/// </summary>
public sealed record GenerationOptions
{
    public int MaxNewTokens { get; init; } = 64;
    public bool Greedy { get; init; } = true;
    public float Temperature { get; init; } = 1f;
    public int TopK { get; init; } = 50;
    public float TopP { get; init; } = 1f;
    public float RepetitionPenalty { get; init; } = 1f;
    /// <summary>Seeds the sampler: the same seed, model and prompts give the same tokens.</summary>
    public int Seed { get; init; }
    /// <summary>A row finishes after producing any of these (the EOS token is kept in its output).</summary>
    public IReadOnlyList<int> EosIds { get; init; } = [];
    /// <summary>A row finishes once its decoded new text contains one of these (needs a decoder).</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];
    /// <summary>Left padding of shorter prompts, and the filler of finished rows.</summary>
    public int PadId { get; init; }

    public void Validate()
    {
        if (MaxNewTokens < 0) throw new ArgumentOutOfRangeException(nameof(MaxNewTokens), MaxNewTokens, "max new tokens must be ≥ 0");
        if (!(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(Temperature), Temperature, "temperature must be > 0 (use greedy decoding for 0)");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), TopK, "top-k must be ≥ 0 (0 turns it off)");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "top-p must be in (0, 1]");
        if (!(RepetitionPenalty > 0)) throw new ArgumentOutOfRangeException(nameof(RepetitionPenalty), RepetitionPenalty, "repetition penalty must be > 0");
    }
}
