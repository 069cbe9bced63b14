using Workbench.Engine;
using Workbench.Tests.Support;

namespace Workbench.Tests.Engine;

/// <summary>Rope with one position per (row, time step), as left-padded batches need.</summary>
public class RopeRowPositionsTests
{
    [Fact]
    public void PerRowPositionsEqualRotatingEachRowAlone()
    {
        var cache = new RopeCache(8, 4, 10000f, 32);
        var x = Tensor.Randn(new Random(3), 1f, 2, 3, 4, 8);              // [B, H, T, D]
        int[] positions = [0, 1, 2, 3, 7, 1, 2, 3];                        // [B·T]
        var y = x.Rope(cache, positions);
        for (int b = 0; b < 2; b++)
        {
            var alone = x.Narrow(0, b, 1).Contiguous().Rope(cache, positions[(b * 4)..(b * 4 + 4)]);
            Close.Assert(alone, y.Narrow(0, b, 1).Contiguous(), 0, 0, $"row {b}");
        }
        var expected = new float[x.Numel];
        RopeKernel.Reference(x.Span, cache, positions, expected, 1f, batch: 2);
        Close.Assert(expected, y.Span, 0, 0, "reference kernel");
        FiniteDifference.Check(t => t[0].Rope(cache, positions), [x], eps: 1e-2f, rtol: 1e-2f, atol: 1e-3f);
    }
}
