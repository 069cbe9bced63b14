using Workbench.Engine;
using Workbench.Formats;

namespace Workbench.Tests.Support;

/// <summary>Reference tensors written by the PyTorch scripts in tests/fixtures (copied next to the test assembly).</summary>
public static class Fixtures
{
    public static string PathOf(string relative) => Path.Combine(AppContext.BaseDirectory, "fixtures", relative);

    public static Dictionary<string, Tensor> Load(string relative) => SafeTensorsFile.Load(PathOf(relative));
}

/// <summary>Element-wise closeness with explicit tolerances: |a − e| ≤ atol + rtol·|e|.</summary>
public static class Close
{
    public static void Assert(Tensor expected, Tensor actual, float rtol = 1e-5f, float atol = 1e-6f, string what = "")
    {
        Xunit.Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{what}: shape {Shape.Format(actual.Shape)} differs from expected {Shape.Format(expected.Shape)}");
        Assert(expected.ToArray(), actual.ToArray(), rtol, atol, what);
    }

    public static void Assert(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, float rtol = 1e-5f, float atol = 1e-6f, string what = "")
    {
        Xunit.Assert.Equal(expected.Length, actual.Length);
        float worst = 0; int worstAt = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            float excess = MathF.Abs(actual[i] - expected[i]) - (atol + rtol * MathF.Abs(expected[i]));
            if (float.IsNaN(actual[i]) != float.IsNaN(expected[i])) excess = float.PositiveInfinity;
            if (excess > worst) { worst = excess; worstAt = i; }
        }
        if (worstAt >= 0)
            Xunit.Assert.Fail($"{what}: element {worstAt} is {actual[worstAt]}, expected {expected[worstAt]} (rtol {rtol}, atol {atol})");
    }
}
