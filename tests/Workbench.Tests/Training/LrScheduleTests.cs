using Workbench.Training;

namespace Workbench.Tests.Training;

/// <summary>
/// Values of transformers' lr_lambda functions (optimization.py: _get_constant_schedule_with_warmup_lr_lambda,
/// _get_linear_schedule_with_warmup_lr_lambda, _get_cosine_schedule_with_warmup_lr_lambda with num_cycles 0.5),
/// worked out by hand from those formulas for warmup 2, total 10.
/// </summary>
public class LrScheduleTests
{
    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]
    [InlineData(9, 1.0)]
    [InlineData(50, 1.0)]
    public void ConstantWithWarmup(int step, double expected) =>
        Assert.Equal(expected, new LrSchedule(LrSchedulerType.Constant, 1e-3, 2, 10).Factor(step), 15);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]          // (10 − 2) / 8
    [InlineData(3, 0.875)]        // 7 / 8
    [InlineData(6, 0.5)]          // 4 / 8
    [InlineData(9, 0.125)]
    [InlineData(10, 0.0)]
    [InlineData(12, 0.0)]         // max(0, −2/8)
    public void LinearWithWarmup(int step, double expected) =>
        Assert.Equal(expected, new LrSchedule(LrSchedulerType.Linear, 1e-3, 2, 10).Factor(step), 15);

    [Theory]
    [InlineData(0, 0.0)]
    [InlineData(1, 0.5)]
    [InlineData(2, 1.0)]
    [InlineData(4, 0.85355339059327373)]   // ½(1 + cos(π/4))
    [InlineData(6, 0.5)]                   // ½(1 + cos(π/2))
    [InlineData(8, 0.14644660940672627)]   // ½(1 + cos(3π/4))
    [InlineData(10, 0.0)]
    [InlineData(14, 0.5)]                  // progress 1.5: ½(1 + cos(3π/2)); transformers does not clamp progress
    public void CosineWithWarmup(int step, double expected) =>
        Assert.Equal(expected, new LrSchedule(LrSchedulerType.Cosine, 1e-3, 2, 10).Factor(step), 14);

    [Fact]
    public void WithoutWarmupTheFirstStepHasTheFullRate()
    {
        Assert.Equal(1.0, new LrSchedule(LrSchedulerType.Linear, 1, 0, 10).Factor(0));
        Assert.Equal(1.0, new LrSchedule(LrSchedulerType.Cosine, 1, 0, 10).Factor(0));
        Assert.Equal(0.9, new LrSchedule(LrSchedulerType.Linear, 1, 0, 10).Factor(1), 15);
    }

    [Fact]
    public void OptimizerStepsUseTheMultiplierOfThePreviousSchedulerStep()
    {
        // LambdaLR is stepped after optimizer.step(): update 1 uses λ(0), update 3 uses λ(2).
        var s = new LrSchedule(LrSchedulerType.Linear, 2e-4, 2, 10);
        Assert.Equal(0.0, s.RateForStep(1));
        Assert.Equal(1e-4, s.RateForStep(2), 1e-18);
        Assert.Equal(2e-4, s.RateForStep(3), 1e-18);
        Assert.Equal(2e-4 * 0.125, s.RateForStep(10), 1e-18);
    }

    [Theory]
    [InlineData(0, 0.1, 10, 1)]       // ceil(1.0)
    [InlineData(0, 0.15, 10, 2)]      // ceil(1.5)
    [InlineData(0, 0.03, 1000, 30)]
    [InlineData(5, 0.5, 10, 5)]       // warmup_steps wins over the ratio
    [InlineData(0, 0.0, 10, 0)]
    public void WarmupStepsAsTrainingArgumentsComputesThem(int steps, double ratio, int total, int expected) =>
        Assert.Equal(expected, LrSchedule.WarmupFor(new TrainingConfig { WarmupSteps = steps, WarmupRatio = ratio }, total));
}
