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
        // named as transformers' GenerationConfig names them
        if (MaxNewTokens < 0) throw new ArgumentException($"max_new_tokens: must be ≥ 0, got {MaxNewTokens}");
        if (!(Temperature > 0)) throw new ArgumentException($"temperature: must be > 0 (use greedy decoding for 0), got {Temperature}");
        if (TopK < 0) throw new ArgumentException($"top_k: must be ≥ 0 (0 turns it off), got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentException($"top_p: must be in (0, 1], got {TopP}");
        if (!(RepetitionPenalty > 0)) throw new ArgumentException($"repetition_penalty: must be > 0, got {RepetitionPenalty}");
    }
}
