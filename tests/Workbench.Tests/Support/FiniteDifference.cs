using Workbench.Engine;

namespace Workbench.Tests.Support;

/// <summary>
/// Central finite differences in double precision of the scalar L = Σ f(inputs) ⊙ w (w fixed random weights),
/// compared against autograd's gradients. fp32 forward passes limit the achievable accuracy, so the step
/// and tolerance are explicit per call.
/// </summary>
public static class FiniteDifference
{
    public static void Check(Func<Tensor[], Tensor> f, Tensor[] inputs, float eps = 1e-2f, float rtol = 2e-2f, float atol = 2e-3f, int seed = 7)
    {
        foreach (var x in inputs) { x.RequiresGrad = true; x.Grad = null; }
        var output = f(inputs);
        var weights = Tensor.Randn(new Random(seed), 1f, output.Shape);
        var w = weights.ToArray();
        output.Backward(weights);

        for (int k = 0; k < inputs.Length; k++)
        {
            var x = inputs[k];
            var data = x.Data;
            var analytic = x.Grad!.ToArray();
            var numeric = new float[x.Numel];
            for (int i = 0; i < x.Numel; i++)
            {
                int at = (int)x.Offset + i;
                float saved = data[at];
                data[at] = saved + eps; double plus = Loss(f, inputs, w);
                data[at] = saved - eps; double minus = Loss(f, inputs, w);
                data[at] = saved;
                numeric[i] = (float)((plus - minus) / (2 * eps));
            }
            Close.Assert(numeric, analytic, rtol, atol, $"finite-difference gradient of input {k}");
        }
    }

    private static double Loss(Func<Tensor[], Tensor> f, Tensor[] inputs, float[] w)
    {
        using var _ = GradMode.NoGrad();
        var y = f(inputs).ToArray();
        double sum = 0;
        for (int i = 0; i < y.Length; i++) sum += (double)y[i] * w[i];
        return sum;
    }
}
