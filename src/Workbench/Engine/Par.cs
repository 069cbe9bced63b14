namespace Workbench.Engine;

/// <summary>Splits a range of independent work items across the machine's cores.</summary>
public static class Par
{
    [ThreadStatic] private static bool insideWorker;

    /// <summary>Worker count; defaults to the core count (set lower to share the machine).</summary>
    public static int Threads { get; set; } = Environment.ProcessorCount;

    /// <summary>True on a thread that is already running one chunk of a <see cref="For"/>: nested work stays serial.</summary>
    public static bool InParallelRegion => insideWorker;

    /// <summary>
    /// Calls <paramref name="body"/>(start, end) on disjoint chunks covering [0, n). Runs inline when the
    /// work is smaller than <paramref name="minChunk"/> items per thread, or when called from inside another
    /// For (the cores are already busy; nesting would only add scheduling).
    /// </summary>
    public static void For(int n, int minChunk, Action<int, int> body)
    {
        int chunks = insideWorker ? 1 : Math.Min(Threads, Math.Max(1, n / Math.Max(1, minChunk)));
        if (chunks <= 1) { if (n > 0) body(0, n); return; }
        Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = Threads }, c =>
        {
            long start = (long)n * c / chunks, end = (long)n * (c + 1) / chunks;
            if (end <= start) return;
            insideWorker = true;
            try { body((int)start, (int)end); }
            finally { insideWorker = false; }
        });
    }
}
