namespace Workbench.Engine;

/// <summary>Reshape, transpose, narrow and contiguous: views that share storage where the layout allows.</summary>
public static partial class Ops
{
    /// <summary>Same elements, new shape; one dimension may be -1. A view when the input is contiguous.</summary>
    public static Tensor Reshape(this Tensor x, params int[] shape)
    {
        shape = ResolveShape(shape, x.Numel, x.Shape);
        var source = x.IsContiguous ? x : x.Contiguous();
        var y = new Tensor(source.Storage, shape, null, source.Offset);
        var inputShape = x.Shape;
        return Autograd.Record(y, "Reshape", [x], g => [g.Contiguous().Reshape(inputShape)]);
    }

    /// <summary>Swaps two dimensions (a strided view, no copy). Backward swaps them back.</summary>
    public static Tensor Transpose(this Tensor x, int dim0, int dim1)
    {
        int a = Engine.Shape.Axis(dim0, x.Rank, "Transpose"), b = Engine.Shape.Axis(dim1, x.Rank, "Transpose");
        var shape = (int[])x.Shape.Clone();
        var strides = (int[])x.Strides.Clone();
        (shape[a], shape[b]) = (shape[b], shape[a]);
        (strides[a], strides[b]) = (strides[b], strides[a]);
        var y = new Tensor(x.Storage, shape, strides, x.Offset);
        return Autograd.Record(y, "Transpose", [x], g => [g.Transpose(a, b)]);
    }

    /// <summary>Elements [start, start+length) along one dimension (a view). Backward pads with zeros.</summary>
    public static Tensor Narrow(this Tensor x, int dim, int start, int length)
    {
        int d = Engine.Shape.Axis(dim, x.Rank, "Narrow");
        if (start < 0 || length < 0 || start + length > x.Shape[d])
            throw new ShapeException("Narrow", $"range [{start}, {start + length}) outside dimension {d} of {Engine.Shape.Format(x.Shape)}");
        var shape = (int[])x.Shape.Clone();
        shape[d] = length;
        var y = new Tensor(x.Storage, shape, (int[])x.Strides.Clone(), x.Offset + (long)start * x.Strides[d]);
        var inputShape = x.Shape;
        return Autograd.Record(y, "Narrow", [x], g =>
        {
            var dx = Tensor.Zeros(inputShape);
            CopyInto(g, dx.Narrow(d, start, length));
            return [dx];
        });
    }

    /// <summary>This tensor if already contiguous fp32, otherwise a contiguous fp32 copy.</summary>
    public static Tensor Contiguous(this Tensor x)
    {
        if (x.IsContiguous && x.DType == DType.F32) return x;
        var y = Tensor.Uninitialized((int[])x.Shape.Clone());
        x.CopyTo(y.Data);
        return Autograd.Record(y, "Contiguous", [x], g => [g]);
    }

    /// <summary>Writes the elements of <paramref name="source"/> into the (possibly strided) view <paramref name="destination"/>.</summary>
    public static void CopyInto(Tensor source, Tensor destination)
    {
        if (!Engine.Shape.SameShape(source.Shape, destination.Shape))
            throw new ShapeException("CopyInto", $"source {Engine.Shape.Format(source.Shape)} and destination {Engine.Shape.Format(destination.Shape)} differ");
        destination.RequireF32("CopyInto");
        var values = source.ToArray();
        if (destination.IsContiguous) { values.CopyTo(destination.Data, (int)destination.Offset); return; }
        destination.ScatterStrided(values);
    }

    private static int[] ResolveShape(int[] shape, long numel, int[] from)
    {
        shape = (int[])shape.Clone();
        int inferred = Array.IndexOf(shape, -1);
        long known = 1;
        for (int i = 0; i < shape.Length; i++) if (i != inferred) known *= shape[i];
        if (inferred >= 0 && known > 0 && numel % known == 0) shape[inferred] = (int)(numel / known);
        if (Engine.Shape.Numel(shape) != numel || shape.Any(d => d < 0))
            throw new ShapeException("Reshape", $"cannot view {Engine.Shape.Format(from)} as {Engine.Shape.Format(shape)}");
        return shape;
    }
}
