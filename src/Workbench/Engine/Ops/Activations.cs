using System.Runtime.Intrinsics;

namespace Workbench.Engine;

/// <summary>
/// GELU (erf and tanh forms, as torch), SiLU, and the gated forms SwiGLU = silu(gate)⊙up (Llama) and
/// GeGLU = gelu_tanh(gate)⊙up (Gemma). One fused pass each way; backward recomputes from the saved inputs.
/// </summary>
public static partial class Ops
{
    public static Tensor Gelu(this Tensor x, bool tanhApproximation = false) =>
        tanhApproximation ? Activation<ActivationKernel.GeluTanh>(x, "GeluTanh") : Activation<ActivationKernel.GeluErf>(x, "Gelu");

    public static Tensor Silu(this Tensor x) => Activation<ActivationKernel.Silu>(x, "Silu");

    public static Tensor SwiGlu(Tensor gate, Tensor up) => Gated<ActivationKernel.Silu>(gate, up, "SwiGlu");

    public static Tensor GeGlu(Tensor gate, Tensor up) => Gated<ActivationKernel.GeluTanh>(gate, up, "GeGlu");

    private static Tensor Activation<T>(Tensor x, string name) where T : struct, IActivation
    {
        var xv = ValuesOf(x);
        var y = Tensor.Uninitialized((int[])x.Shape.Clone());
        // y = f(x)
        ActivationKernel.Forward<T>(Memory(xv), default, Memory(y));
        return Autograd.Record(y, name, [x], g =>
        {
            // dx = g ⊙ f'(x)
            var dx = Tensor.Uninitialized(xv.Shape);
            ActivationKernel.Backward<T>(Memory(xv), default, Memory(ValuesOf(g)), Memory(dx), default);
            return [dx];
        });
    }

    private static Tensor Gated<T>(Tensor gate, Tensor up, string name) where T : struct, IActivation
    {
        if (!Engine.Shape.SameShape(gate.Shape, up.Shape))
            throw new ShapeException(name, $"gate {Engine.Shape.Format(gate.Shape)} and up {Engine.Shape.Format(up.Shape)} must have the same shape");
        var gv = ValuesOf(gate);
        var uv = ValuesOf(up);
        var y = Tensor.Uninitialized((int[])gate.Shape.Clone());
        // y = f(gate) ⊙ up
        ActivationKernel.Forward<T>(Memory(gv), Memory(uv), Memory(y));
        return Autograd.Record(y, name, [gate, up], g =>
        {
            // dgate = g ⊙ up ⊙ f'(gate),  dup = g ⊙ f(gate)
            var dgate = gate.RequiresGrad ? Tensor.Uninitialized(gv.Shape) : null;
            var dup = up.RequiresGrad ? Tensor.Uninitialized(uv.Shape) : null;
            ActivationKernel.Backward<T>(Memory(gv), Memory(uv), Memory(ValuesOf(g)),
                dgate is null ? Memory<float>.Empty : Memory(dgate), dup is null ? Memory<float>.Empty : Memory(dup));
            return [dgate, dup];
        });
    }
}

/// <summary>A scalar activation f: a readable double-precision formula and a Vector256 fp32 version of f and f' (AVX2; the CI machines have no AVX-512).</summary>
public interface IActivation
{
    static abstract double Value(double x);
    static abstract double Derivative(double x);
    static abstract Vector256<float> Value(Vector256<float> x);
    static abstract Vector256<float> Derivative(Vector256<float> x);
}

/// <summary>
/// y = f(x) ⊙ up (up empty: y = f(x)) and its backward dx = g ⊙ up ⊙ f'(x), dup = g ⊙ f(x).
/// <see cref="ForwardReference{T}"/>/<see cref="BackwardReference{T}"/> evaluate the double formulas element
/// by element; <see cref="Forward{T}"/>/<see cref="Backward{T}"/> run 8 lanes at a time over chunks in parallel.
/// </summary>
public static class ActivationKernel
{
    private const int Lanes = 8; // Vector256<float>.Count
    private const int MinChunk = 1 << 14;

    public static void ForwardReference<T>(ReadOnlySpan<float> x, ReadOnlySpan<float> up, Span<float> y) where T : struct, IActivation
    {
        // y = f(x) ⊙ up
        for (int i = 0; i < x.Length; i++) y[i] = (float)(T.Value(x[i]) * (up.IsEmpty ? 1 : up[i]));
    }

    public static void BackwardReference<T>(ReadOnlySpan<float> x, ReadOnlySpan<float> up, ReadOnlySpan<float> g, Span<float> dx, Span<float> dup)
        where T : struct, IActivation
    {
        for (int i = 0; i < x.Length; i++)
        {
            // dx = g ⊙ up ⊙ f'(x),  dup = g ⊙ f(x)
            if (!dx.IsEmpty) dx[i] = (float)(g[i] * T.Derivative(x[i]) * (up.IsEmpty ? 1 : up[i]));
            if (!dup.IsEmpty) dup[i] = (float)(g[i] * T.Value(x[i]));
        }
    }

    public static void Forward<T>(ReadOnlyMemory<float> x, ReadOnlyMemory<float> up, Memory<float> y) where T : struct, IActivation =>
        Par.For(x.Length, MinChunk, (s, e) =>
        {
            ReadOnlySpan<float> xs = x.Span[s..e];
            Span<float> ys = y.Span[s..e];
            ReadOnlySpan<float> us = up.IsEmpty ? default : up.Span[s..e];
            int full = xs.Length - xs.Length % Lanes;
            for (int i = 0; i < full; i += Lanes)
            {
                var v = T.Value(Vector256.Create(xs.Slice(i, Lanes)));
                if (!us.IsEmpty) v *= Vector256.Create(us.Slice(i, Lanes));
                v.CopyTo(ys.Slice(i, Lanes));
            }
            if (full == xs.Length) return;
            int len = xs.Length - full;
            var t = T.Value(Load(xs, full, len));
            if (!us.IsEmpty) t *= Load(us, full, len);
            Store(t, ys, full, len);
        });

    public static void Backward<T>(ReadOnlyMemory<float> x, ReadOnlyMemory<float> up, ReadOnlyMemory<float> g, Memory<float> dx, Memory<float> dup)
        where T : struct, IActivation =>
        Par.For(x.Length, MinChunk, (s, e) =>
        {
            ReadOnlySpan<float> xs = x.Span[s..e], gs = g.Span[s..e];
            ReadOnlySpan<float> us = up.IsEmpty ? default : up.Span[s..e];
            Span<float> dxs = dx.IsEmpty ? default : dx.Span[s..e], dus = dup.IsEmpty ? default : dup.Span[s..e];
            int full = xs.Length - xs.Length % Lanes;
            for (int i = 0; i < full; i += Lanes)
            {
                var (xv, gv) = (Vector256.Create(xs.Slice(i, Lanes)), Vector256.Create(gs.Slice(i, Lanes)));
                if (!dxs.IsEmpty) (gv * T.Derivative(xv) * (us.IsEmpty ? Vector256<float>.One : Vector256.Create(us.Slice(i, Lanes)))).CopyTo(dxs.Slice(i, Lanes));
                if (!dus.IsEmpty) (gv * T.Value(xv)).CopyTo(dus.Slice(i, Lanes));
            }
            if (full == xs.Length) return;
            int len = xs.Length - full;
            var (xt, gt) = (Load(xs, full, len), Load(gs, full, len));
            if (!dxs.IsEmpty) Store(gt * T.Derivative(xt) * (us.IsEmpty ? Vector256<float>.One : Load(us, full, len)), dxs, full, len);
            if (!dus.IsEmpty) Store(gt * T.Value(xt), dus, full, len);
        });

    /// <summary>The last partial vector: 8 lanes from s[i..i+len), zero-padded when len &lt; 8.</summary>
    private static Vector256<float> Load(ReadOnlySpan<float> s, int i, int len)
    {
        if (len == Lanes) return Vector256.Create(s.Slice(i, Lanes));
        Span<float> buffer = stackalloc float[Lanes];
        buffer.Clear();
        s.Slice(i, len).CopyTo(buffer);
        return Vector256.Create(buffer);
    }

    private static void Store(Vector256<float> v, Span<float> d, int i, int len)
    {
        if (len == Lanes) { v.CopyTo(d.Slice(i, Lanes)); return; }
        Span<float> buffer = stackalloc float[Lanes];
        v.CopyTo(buffer);
        buffer[..len].CopyTo(d.Slice(i, len));
    }

    /// <summary>σ(x) = 1 / (1 + e^−x); saturates to exactly 0 or 1 without NaN.</summary>
    private static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-x));

    /// <summary>silu(x) = x·σ(x);  silu'(x) = σ(x)·(1 + x·(1 − σ(x))).</summary>
    public readonly struct Silu : IActivation
    {
        public static double Value(double x) => x / (1 + Math.Exp(-x));
        public static double Derivative(double x) { double s = 1 / (1 + Math.Exp(-x)); return s * (1 + x * (1 - s)); }
        public static Vector256<float> Value(Vector256<float> x) => x * Sigmoid(x);
        public static Vector256<float> Derivative(Vector256<float> x)
        {
            var s = Sigmoid(x);
            return s * (Vector256<float>.One + x * (Vector256<float>.One - s));
        }
    }

    /// <summary>
    /// gelu(x) = x·Φ(x) = ½x(1 + erf(x/√2));  gelu'(x) = Φ(x) + x·φ(x), φ(x) = e^(−x²/2)/√(2π).
    /// The vector form gets Φ from erfc (Numerical Recipes' Chebyshev fit, relative error &lt; 1.2e-7), so the
    /// negative tail keeps its relative accuracy instead of cancelling in 1 + erf.
    /// </summary>
    public readonly struct GeluErf : IActivation
    {
        private const double InvSqrt2Pi = 0.3989422804014327;

        public static double Value(double x) => 0.5 * x * (1 + Erf(x / Math.Sqrt(2)));
        public static double Derivative(double x) => 0.5 * (1 + Erf(x / Math.Sqrt(2))) + x * Math.Exp(-0.5 * x * x) * InvSqrt2Pi;
        public static Vector256<float> Value(Vector256<float> x) => x * Phi(x);
        public static Vector256<float> Derivative(Vector256<float> x) =>
            Phi(x) + x * Vector256.Exp(-0.5f * x * x) * Vector256.Create((float)InvSqrt2Pi);

        /// <summary>Φ(x) = ½·erfc(−x/√2): with z = |x|/√2, t = 1/(1 + z/2), erfc(z) ≈ t·exp(−z² + P(t)).</summary>
        private static Vector256<float> Phi(Vector256<float> x)
        {
            var z = Vector256.Abs(x) * 0.70710678f;
            var t = Vector256<float>.One / (Vector256<float>.One + 0.5f * z);
            // P(t), Numerical Recipes (2nd ed.) erfcc, Horner from the highest degree
            var p = Vector256.Create(0.17087277f);
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-0.82215223f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.48851587f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.13520398f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.27886807f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-0.18628806f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.09678418f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(0.37409196f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(1.00002368f));
            p = Vector256.FusedMultiplyAdd(p, t, Vector256.Create(-1.26551223f));
            var halfErfc = 0.5f * t * Vector256.Exp(p - z * z);
            return Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<float>.Zero), halfErfc, Vector256<float>.One - halfErfc);
        }
    }

    /// <summary>
    /// gelu_tanh(x) = ½x(1 + tanh(u)), u = √(2/π)(x + 0.044715x³), written as x·σ(2u) since ½(1 + tanh u) = σ(2u);
    /// gelu_tanh'(x) = σ(2u) + x·2σ(2u)(1 − σ(2u))·√(2/π)(1 + 3·0.044715x²).
    /// </summary>
    public readonly struct GeluTanh : IActivation
    {
        private const float K = 0.7978845608028654f, C = 0.044715f;

        public static double Value(double x) => 0.5 * x * (1 + Math.Tanh(K * (x + C * x * x * x)));
        public static double Derivative(double x)
        {
            double t = Math.Tanh(K * (x + C * x * x * x));
            return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * K * (1 + 3 * C * x * x);
        }
        public static Vector256<float> Value(Vector256<float> x) => x * Sigmoid(2f * K * (x + C * x * x * x));
        public static Vector256<float> Derivative(Vector256<float> x)
        {
            var s = Sigmoid(2f * K * (x + C * x * x * x));
            return s + x * 2f * s * (Vector256<float>.One - s) * K * (Vector256<float>.One + 3f * C * x * x);
        }
    }

    /// <summary>
    /// erf in double to ~2e-15: the Taylor series 2/√π Σ (−1)ⁿ z²ⁿ⁺¹ / (n!(2n+1)) for |z| &lt; 2, else
    /// 1 − erfc(z) with erfc(z) = e^(−z²)/√π · 1/(z + ½/(z + 1/(z + (3/2)/(z + …)))) (100 terms, evaluated backwards).
    /// </summary>
    public static double Erf(double z)
    {
        double a = Math.Abs(z), result;
        if (a < 2)
        {
            double sum = 0, term = a;
            for (int n = 0; n < 100; n++)
            {
                double add = term / (2 * n + 1);
                sum += add;
                if (Math.Abs(add) <= 1e-17 * sum) break;
                term *= -a * a / (n + 1);
            }
            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = a;
            for (int k = 100; k >= 1; k--) f = a + k / 2.0 / f;
            result = 1 - Math.Exp(-a * a) / (Math.Sqrt(Math.PI) * f);
        }
        return z < 0 ? -result : result;
    }
}
