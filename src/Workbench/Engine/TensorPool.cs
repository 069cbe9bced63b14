namespace Workbench.Engine;

/// <summary>
/// Reusable fp32 buffers for the tensors of a block whose lifetime the engine knows: inside a
/// <see cref="Scope"/>, <see cref="Tensor.Zeros"/> and the ops' outputs take their arrays from this pool, and when
/// the scope ends every array taken in it goes back, except those that escaped through <see cref="Escape"/> (a
/// checkpointed block's output, a leaf's gradient); backward gives a gradient back as soon as it has consumed it
/// (<see cref="Release"/>). The next block of the same shapes reuses them, so a
/// checkpointed step's temporaries cost one block's worth of memory, returned when the block is done rather than
/// when the garbage collector gets to them. Outside a scope (and on worker threads) arrays come from the
/// managed heap as usual. Only arrays of at least <see cref="MinPooled"/> floats are pooled (smaller ones are
/// cheap young garbage).
/// A returned array is reused, so a tensor made inside a scope must not be kept past it unless it escapes;
/// <see cref="Poison"/> fills returned arrays with NaN so that a test catches one that was.
/// </summary>
public static class TensorPool
{
    /// <summary>Arrays below this length (64 KiB) are not pooled.</summary>
    public const int MinPooled = 1 << 14;

    [ThreadStatic] private static Scope? current;
    private static readonly Dictionary<int, Stack<float[]>> free = [];

    /// <summary>Fill every returned array with NaN (tests: a use after the scope shows up as NaN).</summary>
    public static bool Poison { get; set; }

    /// <summary>Starts a scope on this thread; disposing it returns the arrays taken in it.</summary>
    public static Scope Begin() => current = new Scope(current);

    /// <summary>An array of <paramref name="length"/> floats, zeroed when <paramref name="clear"/>; from the pool inside a scope.</summary>
    internal static float[] Rent(int length, bool clear)
    {
        var scope = current;
        if (scope is null || length < MinPooled) return clear ? new float[length] : GC.AllocateUninitializedArray<float>(length);
        float[]? array = null;
        lock (free)
            if (free.TryGetValue(length, out var stack)) stack.TryPop(out array);
        if (array is null) array = GC.AllocateUninitializedArray<float>(length);
        else if (clear) Array.Clear(array);
        scope.Taken.Add(array);
        return array;
    }

    /// <summary>The tensor's array leaves every scope on this thread: it will not be reused (it is the GC's again).</summary>
    public static void Escape(Tensor t)
    {
        if (t.Storage is not F32Storage f) return;
        for (var s = current; s is not null; s = s.Outer) s.Taken.Remove(f.Data);
    }

    /// <summary>
    /// Gives the tensor's array back before its scope ends, when the caller knows nothing reads it any more (backward,
    /// for a gradient it has consumed). Only an array taken in the innermost scope goes back: one of an outer scope
    /// may belong to work that is still running there. Does nothing for any other array.
    /// </summary>
    internal static void Release(Tensor t)
    {
        if (t.Storage is F32Storage f && current is { } scope && scope.Taken.Remove(f.Data)) Return(f.Data);
    }

    private static void Return(float[] array)
    {
        if (Poison) Array.Fill(array, float.NaN);
        lock (free)
        {
            if (!free.TryGetValue(array.Length, out var stack)) free[array.Length] = stack = new Stack<float[]>();
            stack.Push(array);
        }
    }

    /// <summary>True when the tensor's array was taken from the pool in the innermost scope open on this thread.</summary>
    internal static bool Holds(Tensor t) => t.Storage is F32Storage f && current is { } scope && scope.Taken.Contains(f.Data);

    /// <summary>True when the two tensors' fp32 arrays are the same array (views of one buffer).</summary>
    internal static bool SameArray(Tensor a, Tensor b) => a.Storage is F32Storage x && b.Storage is F32Storage y && ReferenceEquals(x.Data, y.Data);

    /// <summary>Drops every array held for reuse.</summary>
    public static void Clear()
    {
        lock (free) free.Clear();
    }

    /// <summary>The arrays taken between <see cref="Begin"/> and <see cref="Dispose"/>, returned to the pool at the end.</summary>
    public sealed class Scope : IDisposable
    {
        internal readonly HashSet<float[]> Taken = new(ReferenceEqualityComparer.Instance);
        internal readonly Scope? Outer;
        private bool disposed;

        internal Scope(Scope? outer) => Outer = outer;

        public void Dispose()
        {
            if (disposed) return;
            // checked before the scope counts as ended, so that a misordered Dispose leaves it open to be ended properly
            if (current != this) throw new InvalidOperationException("TensorPool: scopes must end in the reverse order they began, on the thread that began them");
            disposed = true;
            current = Outer;
            foreach (var array in Taken) Return(array);
            Taken.Clear();
        }
    }
}
