using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Engine;
using Workbench.Formats;
using Workbench.Quantization;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb bench quant --type nf4|fp4|int4|int8 --blocksize 64 [--double-quant] [--n 16777216] --json</c>:
/// quantises and dequantises n values drawn from N(0, 1) and reports throughput (fp32 GB/s, best of
/// --repeat runs), the reconstruction error (mean absolute, RMS, max) and the stored bits per parameter.
/// </summary>
public static class BenchQuantCommand
{
    public static Command Build()
    {
        var type = new Option<string>("--type") { Description = "nf4, fp4, int4 or int8", DefaultValueFactory = _ => "nf4" };
        var blockSize = new Option<int>("--blocksize") { Description = "values per absmax block (power of two, 32..4096)", DefaultValueFactory = _ => 64 };
        var doubleQuant = new Option<bool>("--double-quant") { Description = "quantise the absmax constants too (8-bit, blocks of 256)" };
        var n = new Option<int>("--n") { Description = "number of values", DefaultValueFactory = _ => 16_777_216 };
        var repeat = new Option<int>("--repeat") { Description = "timed runs; the fastest counts", DefaultValueFactory = _ => 3 };
        var seed = new Option<int>("--seed") { DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var matmul = new Option<int>("--matmul-tokens")
        {
            Description = "also time x·Wᵀ and its input gradient for 4-bit weights of Llama-2-7B's shapes with this many rows of x: " +
                          "the layer (W decoded panel by panel inside the GEMM) against dequantising all of W first and one GEMM",
        };
        var cmd = new Command("quant", "Block-wise quantisation speed and error on N(0,1) data") { type, blockSize, doubleQuant, n, repeat, seed, json, matmul };
        cmd.SetAction(pr =>
        {
            if (!EnumSpelling.TryParse(typeof(QuantType), pr.GetValue(type)!, out var quantType))
                return CliOutput.Fail($"--type: must be one of {string.Join(", ", EnumSpelling.Names(typeof(QuantType)))}, not '{pr.GetValue(type)}'");
            if (Flags.AtLeast(pr, 1, n, repeat) is { } problem) return CliOutput.Fail(problem);
            try { QuantTypes.CheckBlockSize(pr.GetValue(blockSize), "--blocksize"); }
            catch (ArgumentException e) { return CliOutput.Fail(e.Message); }
            try
            {
                var result = Run((QuantType)quantType!, pr.GetValue(blockSize), pr.GetValue(doubleQuant),
                    pr.GetValue(n), pr.GetValue(repeat), pr.GetValue(seed));
                if (pr.GetValue(matmul) > 0)
                    result["matmul"] = Matmul((QuantType)quantType!, pr.GetValue(blockSize), pr.GetValue(doubleQuant), pr.GetValue(matmul), pr.GetValue(repeat));
                if (pr.GetValue(json)) CliOutput.WriteJson(result);
                else foreach (var (key, value) in result) Console.WriteLine($"{key,-20} {value}");
                return 0;
            }
            catch (ArgumentException e) { return CliOutput.Fail(e.Message); }
        });
        return cmd;
    }

    public static JsonObject Run(QuantType type, int blockSize, bool doubleQuant, int n, int repeat, int seed)
    {
        if (n <= 0) throw new ArgumentException($"bench quant: --n must be positive, got {n}");
        var x = Tensor.Randn(new Random(seed), 1f, n);
        QuantizedTensor q = QuantizedTensor.Quantize(x, type, blockSize, doubleQuant);   // warm-up (JIT)
        double quantizeSeconds = Best(repeat, () => q = QuantizedTensor.Quantize(x, type, blockSize, doubleQuant));
        var y = new float[n];
        q.DequantizeRange(0, y);
        double dequantizeSeconds = Best(repeat, () => q.DequantizeRange(0, y));

        // errors of the round trip: e_i = y_i − x_i
        var xs = x.Span;
        double sumAbs = 0, sumSquares = 0, max = 0;
        for (int i = 0; i < n; i++)
        {
            double e = Math.Abs((double)y[i] - xs[i]);
            sumAbs += e;
            sumSquares += e * e;
            max = Math.Max(max, e);
        }
        double bytes = 4.0 * n;
        return new JsonObject
        {
            ["type"] = type.Name(),
            ["blocksize"] = blockSize,
            ["double_quant"] = doubleQuant,
            ["n"] = n,
            ["threads"] = Par.Threads,
            ["quantize_ms"] = Math.Round(quantizeSeconds * 1e3, 3),
            ["dequantize_ms"] = Math.Round(dequantizeSeconds * 1e3, 3),
            ["quantize_gbps"] = Math.Round(bytes / quantizeSeconds / 1e9, 3),
            ["dequantize_gbps"] = Math.Round(bytes / dequantizeSeconds / 1e9, 3),
            ["mean_abs_error"] = sumAbs / n,
            ["rmse"] = Math.Sqrt(sumSquares / n),
            ["max_error"] = max,
            ["bits_per_parameter"] = q.BitsPerParameter,
        };
    }

    /// <summary>
    /// For each weight shape [out, in] of a Llama-2-7B layer: seconds of y = x·Wᵀ plus dx = dy·W through the quantised layer
    /// (W decoded panel by panel inside the GEMM's packing) and through dequantising all of W into fp32 first, then
    /// the same two GEMMs; the two timed in turns, best of <paramref name="repeat"/>. fused_over_dequant_first ≤ 1
    /// means the layer is at least as fast.
    /// </summary>
    public static JsonArray Matmul(QuantType type, int blockSize, bool doubleQuant, int tokens, int repeat)
    {
        var rows = new JsonArray();
        foreach (var (outF, inF) in new[] { (4096, 4096), (11008, 4096), (4096, 11008) })
        {
            var layer = ModelQuantizer.QuantizeLayer(Tensor.Randn(new Random(1), 0.02f, outF, inF), null,
                new QuantOptions { Type = type, BlockSize = blockSize, DoubleQuant = doubleQuant });
            var x = Tensor.Randn(new Random(2), 1f, tokens, inF);
            x.RequiresGrad = true;
            var dy = Tensor.Randn(new Random(3), 1f, tokens, outF);
            void Fused() { x.Grad = null; layer.Forward(x).Backward(dy); }
            void DequantFirst() { x.Grad = null; Ops.Linear(x, layer.Weight.Dequantize()).Backward(dy); }
            Fused(); DequantFirst();                                              // warm-up (JIT, pools)
            double fused = double.MaxValue, first = double.MaxValue;
            for (int r = 0; r < repeat; r++)
            {
                fused = Math.Min(fused, Best(1, Fused));
                first = Math.Min(first, Best(1, DequantFirst));
            }
            double flops = 2.0 * 2 * tokens * outF * inF;
            rows.Add(new JsonObject
            {
                ["out"] = outF, ["in"] = inF, ["tokens"] = tokens,
                ["fused_ms"] = Math.Round(fused * 1e3, 2), ["dequant_first_ms"] = Math.Round(first * 1e3, 2),
                ["fused_gflops"] = Math.Round(flops / fused / 1e9, 1),
                ["fused_over_dequant_first"] = Math.Round(fused / first, 3),
            });
        }
        return rows;
    }

    private static double Best(int repeat, Action action)
    {
        double best = double.MaxValue;
        for (int r = 0; r < repeat; r++)
        {
            var watch = Stopwatch.StartNew();
            action();
            best = Math.Min(best, watch.Elapsed.TotalSeconds);
        }
        return best;
    }
}
