namespace Workbench.Engine;

/// <summary>
/// Elements held in a compact form that widen to fp32 on read: an f16/bf16 <see cref="Storage"/> or a quantised
/// weight. The GEMM takes its B operand through this, widening only the panels it packs, so such a weight is never
/// held in fp32 whole.
/// </summary>
public interface IWidensToFloat
{
    /// <summary>Elements stored.</summary>
    long Length { get; }

    /// <summary>Widens elements [start, start + dst.Length) into fp32.</summary>
    void ReadFloat(long start, Span<float> dst);
}
