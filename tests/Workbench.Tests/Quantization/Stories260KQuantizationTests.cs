using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Models;
using Workbench.Quantization;
using Workbench.Tests.Support;
using Xunit.Abstractions;

namespace Workbench.Tests.Quantization;

/// <summary>
/// stories260K (a real Llama trained on TinyStories) with its linear layers in NF4, FP4 and Int4 (block 64, no
/// double quantisation, embeddings fp32 so only the 4-bit format differs), evaluated on the fp32 model's own
/// greedy continuations of <see cref="Lines"/> two-token prompts (BOS + one token), <see cref="Length"/> tokens each.
/// Set WB_STORIES_LINES to evaluate more lines.
/// </summary>
public class Stories260KQuantizationTests(ITestOutputHelper output)
{
    private static readonly int Lines = int.TryParse(Environment.GetEnvironmentVariable("WB_STORIES_LINES"), out var n) ? n : 24;
    private const int Length = 96;
    private static readonly string Dir = RepoPaths.Data("models/stories260K");
    private static readonly Lazy<CausalLMModule> Fp32 = new(() => CausalLM.Load(Dir));
    private static readonly Lazy<int[][]> Text = new(() => Enumerable.Range(0, Lines).Select(i => Greedy(Fp32.Value, [1, 3 + (i * 37) % 509], Length)).ToArray());

    private static CausalLMModule Quantized(QuantType type)
    {
        var model = CausalLM.Load(Dir);
        ModelQuantizer.Quantize(model, new QuantOptions { Type = type, BlockSize = 64, KeptDType = DType.F32 });
        return model;
    }

    /// <summary>The prompt extended by the argmax token, one full forward per token, to <paramref name="length"/> tokens.</summary>
    private static int[] Greedy(CausalLMModule model, int[] prompt, int length)
    {
        var ids = new List<int>(prompt);
        using (GradMode.NoGrad())
            while (ids.Count < length)
            {
                var logits = model.Forward([.. ids], 1, ids.Count).ToArray();
                int vocab = model.Config.VocabSize, last = (ids.Count - 1) * vocab, best = 0;
                for (int j = 1; j < vocab; j++) if (logits[last + j] > logits[last + best]) best = j;
                ids.Add(best);
            }
        return [.. ids];
    }

    private static float[] Logits(CausalLMModule model, int[] ids)
    {
        using (GradMode.NoGrad()) return model.Forward(ids, 1, ids.Length).ToArray();
    }

    /// <summary>exp(mean NLL) of every token after the first, over all lines.</summary>
    private static double Perplexity(CausalLMModule model)
    {
        double nll = 0;
        long count = 0;
        foreach (var line in Text.Value)
        {
            using (GradMode.NoGrad())
            {
                var logits = model.Forward(line[..^1], 1, line.Length - 1);
                nll += Ops.CrossEntropy(logits.Reshape(line.Length - 1, model.Config.VocabSize), line[1..]).Item() * (line.Length - 1);
            }
            count += line.Length - 1;
        }
        return Math.Exp(nll / count);
    }

    [Fact]
    public void Nf4KeepsTheNextTokenLogitsClosestToFp32()
    {
        var reference = Text.Value.Select(line => Logits(Fp32.Value, line)).ToArray();
        var mse = new Dictionary<QuantType, double>();
        foreach (var type in new[] { QuantType.Nf4, QuantType.Fp4, QuantType.Int4 })
        {
            var model = Quantized(type);
            double sum = 0; long count = 0;
            for (int i = 0; i < Text.Value.Length; i++)
            {
                var logits = Logits(model, Text.Value[i]);
                for (int j = 0; j < logits.Length; j++) sum += (double)(logits[j] - reference[i][j]) * (logits[j] - reference[i][j]);
                count += logits.Length;
            }
            mse[type] = sum / count;
            output.WriteLine($"{type.Name()}: logit MSE vs fp32 {mse[type]:G4}");
        }
        Assert.True(mse[QuantType.Nf4] < mse[QuantType.Fp4] && mse[QuantType.Nf4] < mse[QuantType.Int4],
            $"logit MSE: nf4 {mse[QuantType.Nf4]}, fp4 {mse[QuantType.Fp4]}, int4 {mse[QuantType.Int4]}");
    }

    [Fact]
    public void PerplexityOnItsOwnTextRisesLeastWithNf4()
    {
        double fp32 = Perplexity(Fp32.Value);
        var ppl = new[] { QuantType.Nf4, QuantType.Fp4, QuantType.Int4 }.ToDictionary(t => t, t => Perplexity(Quantized(t)));
        output.WriteLine($"{Lines} lines × {Length} tokens: fp32 {fp32:F4}, " + string.Join(", ", ppl.Select(p => $"{p.Key.Name()} {p.Value:F4}")));
        Assert.All(ppl.Values, p => Assert.True(p > fp32, $"a 4-bit model ({p}) should not beat fp32 ({fp32}) on fp32's own greedy text"));
        Assert.True(ppl[QuantType.Nf4] < ppl[QuantType.Fp4] && ppl[QuantType.Nf4] < ppl[QuantType.Int4],
            $"perplexity: nf4 {ppl[QuantType.Nf4]}, fp4 {ppl[QuantType.Fp4]}, int4 {ppl[QuantType.Int4]}");
    }
}
