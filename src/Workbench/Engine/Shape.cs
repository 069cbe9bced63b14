namespace Workbench.Engine;

/// <summary>Shape arithmetic shared by tensors and kernels.</summary>
public static class Shape
{
    public static long Numel(ReadOnlySpan<int> shape)
    {
        long n = 1;
        foreach (var d in shape) n *= d;
        return n;
    }

    public static int[] ContiguousStrides(ReadOnlySpan<int> shape)
    {
        var strides = new int[shape.Length];
        int s = 1;
        for (int i = shape.Length - 1; i >= 0; i--) { strides[i] = s; s *= shape[i]; }
        return strides;
    }

    public static string Format(ReadOnlySpan<int> shape) => "[" + string.Join(", ", shape.ToArray()) + "]";

    /// <summary>Normalises a possibly negative axis; throws naming the op when out of range.</summary>
    public static int Axis(int axis, int rank, string op)
    {
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ArgumentException($"{op}: axis {axis} is out of range for a tensor of rank {rank}");
        return a;
    }

    /// <summary>NumPy broadcasting of two shapes; throws naming the op and both shapes.</summary>
    public static int[] Broadcast(int[] a, int[] b, string op)
    {
        int rank = Math.Max(a.Length, b.Length);
        var result = new int[rank];
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1)
                throw new ShapeException(op, $"shapes {Format(a)} and {Format(b)} do not broadcast");
            result[i] = Math.Max(da, db);
        }
        return result;
    }

    public static bool SameShape(ReadOnlySpan<int> a, ReadOnlySpan<int> b) => a.SequenceEqual(b);
}

/// <summary>A shape or dtype error; the message names the op and the shapes involved.</summary>
public sealed class ShapeException(string op, string problem) : ArgumentException($"{op}: {problem}")
{
    public string Op { get; } = op;
}
