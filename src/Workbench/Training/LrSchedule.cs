namespace Workbench.Training;

/// <summary>
/// Learning-rate schedules exactly as transformers' <c>get_constant_schedule_with_warmup</c>,
/// <c>get_linear_schedule_with_warmup</c> and <c>get_cosine_schedule_with_warmup</c> (num_cycles 0.5): a
/// multiplier λ(step) of the base rate, computed in double. As with torch's LambdaLR stepped after the
/// optimizer, optimizer step s (1-based) uses λ(s − 1): the first update of a warmed-up run has rate 0.
/// The state is (type, base rate, warmup, total) and the step, so a checkpoint needs only those numbers.
/// </summary>
public sealed record LrSchedule(LrSchedulerType Type, double BaseLr, int WarmupSteps, int TotalSteps)
{
    /// <summary>transformers' TrainingArguments.get_warmup_steps: warmup_steps if > 0, else ceil(total · ratio).</summary>
    public static int WarmupFor(TrainingConfig c, int totalSteps) =>
        c.WarmupSteps > 0 ? c.WarmupSteps : (int)Math.Ceiling(totalSteps * c.WarmupRatio);

    /// <summary>λ(step), the multiplier transformers' lr_lambda returns for <paramref name="step"/> (0-based).</summary>
    public double Factor(int step)
    {
        // warmup: λ = step / max(1, warmup)
        if (step < WarmupSteps) return (double)step / Math.Max(1, WarmupSteps);
        switch (Type)
        {
            case LrSchedulerType.Constant:
                return 1.0;
            case LrSchedulerType.Linear:
                // λ = max(0, (total − step) / max(1, total − warmup))
                return Math.Max(0.0, (double)(TotalSteps - step) / Math.Max(1, TotalSteps - WarmupSteps));
            case LrSchedulerType.Cosine:
                // progress = (step − warmup) / max(1, total − warmup);  λ = max(0, ½(1 + cos(π · 2 · 0.5 · progress)))
                double progress = (double)(step - WarmupSteps) / Math.Max(1, TotalSteps - WarmupSteps);
                return Math.Max(0.0, 0.5 * (1.0 + Math.Cos(Math.PI * 0.5 * 2.0 * progress)));
            default:
                throw new ArgumentOutOfRangeException(nameof(Type), Type, "unknown schedule");
        }
    }

    /// <summary>The rate optimizer step <paramref name="optimizerStep"/> (1-based) uses: base · λ(step − 1).</summary>
    public double RateForStep(int optimizerStep) => BaseLr * Factor(optimizerStep - 1);
}
