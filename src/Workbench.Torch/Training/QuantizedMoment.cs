using TorchSharp;
using Workbench.Engine.Optim;
using Workbench.Quantization;
using static TorchSharp.torch;

namespace Workbench.Torch.Training;

/// <summary>
/// One optimizer moment in 8 bits on the device, as bitsandbytes' AdamW8bit and the managed <see cref="AdamW8bit"/>
/// keep it: one code byte per element and one float32 absmax per block of 256, codes from a dynamic map (signed for m,
/// unsigned for v).
///   decode: x_i = map[c_i] · absmax_{i/256}
///   encode: absmax = max |x| per block; c_i = the nearest code to clamp(x_i/absmax, −1, 1), the lower one on a tie
/// The nearest code is found by bisection of the ascending map (as <see cref="CodeBook.NearestAscending"/>).
/// </summary>
public sealed class QuantizedMoment : IDisposable
{
    private readonly Tensor codes, absmax, values;
    private readonly long numel;

    public QuantizedMoment(long numel, CodeBook map, Device device)
    {
        if (!map.IsAscending) throw new ArgumentException($"QuantizedMoment: the {map.Name} map must be ascending");
        this.numel = numel;
        values = tensor(map.Values, device: device);
        long blocks = (numel + AdamW8bit.BlockSize - 1) / AdamW8bit.BlockSize;
        // the code of 0.0, so that the initial state decodes to exactly zero
        codes = full(numel, (byte)Array.IndexOf(map.Values, 0f), ScalarType.Byte, device);
        absmax = zeros(blocks, ScalarType.Float32, device);
    }

    public long Bytes => numel + 4 * absmax.shape[0];

    /// <summary>The moment in float32 [n].</summary>
    public Tensor Decode()
    {
        using var scope = NewDisposeScope();
        var scale = absmax.repeat_interleave(AdamW8bit.BlockSize).narrow(0, 0, numel);
        return (values.index_select(0, codes.to(ScalarType.Int32)) * scale).MoveToOuterDisposeScope();
    }

    /// <summary>Stores <paramref name="x"/> [n] in place of the current moment.</summary>
    public void Encode(Tensor x)
    {
        using var scope = NewDisposeScope();
        long blocks = absmax.shape[0], padded = blocks * AdamW8bit.BlockSize;
        var xb = nn.functional.pad(x.reshape(-1), [0, padded - numel]).reshape(blocks, AdamW8bit.BlockSize);
        var max = xb.abs().amax([1L]);
        var s = (xb * (1f / max).unsqueeze(1)).clamp(-1f, 1f).reshape(-1).narrow(0, 0, numel);
        // lo, hi: the codes that bracket s (values[lo] ≤ s < values[hi]), kept inside the map
        var lo = (bucketize(s, values, right: true) - 1).clamp(0, values.shape[0] - 2);
        var hi = lo + 1;
        var nearer = (s - values.index_select(0, hi)).abs().lt((s - values.index_select(0, lo)).abs());
        codes.copy_(where(nearer, hi, lo).to(ScalarType.Byte));
        absmax.copy_(max);
    }

    public void Dispose()
    {
        codes.Dispose();
        absmax.Dispose();
        values.Dispose();
    }
}
