using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Engine;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb bench matmul</c>: GFLOP/s of C = A·B (m×k by k×n, fp32) for every fast GEMM backend, timed in
/// turns in one process (so a busy machine slows them alike): one warm-up call each, then the best of
/// --repeat calls. The reference triple loop is left out; it is a test oracle, not a contender.
/// </summary>
public static class BenchMatmulCommand
{
    public static Command Build()
    {
        var m = new Option<int>("--m") { Description = "rows of A and C", DefaultValueFactory = _ => 2048 };
        var n = new Option<int>("--n") { Description = "columns of B and C", DefaultValueFactory = _ => 2048 };
        var k = new Option<int>("--k") { Description = "columns of A, rows of B", DefaultValueFactory = _ => 2048 };
        var repeat = new Option<int>("--repeat") { Description = "timed calls per backend", DefaultValueFactory = _ => 5 };
        var threads = new Option<int>("--threads") { Description = "worker threads for every backend (0: all cores)", DefaultValueFactory = _ => 0 };
        var json = new Option<bool>("--json") { Description = "print one JSON object" };
        var cmd = new Command("matmul", "GFLOP/s of fp32 matrix multiply per GEMM backend") { m, n, k, repeat, threads, json };
        cmd.SetAction(pr => (Flags.AtLeast(pr, 1, m, n, k, repeat) ?? Flags.AtLeast(pr, 0, threads)) is { } problem
            ? CliOutput.Fail(problem)
            : Run(pr.GetValue(m), pr.GetValue(n), pr.GetValue(k), pr.GetValue(repeat), pr.GetValue(threads), pr.GetValue(json)));
        return cmd;
    }

    private static int Run(int m, int n, int k, int repeat, int threads, bool json)
    {
        Gemm.SetThreads(threads == 0 ? Environment.ProcessorCount : threads);
        var backends = Gemm.AvailableBackends.Where(b => b != GemmBackend.Reference).ToArray();
        var rng = new Random(1);
        var a = Tensor.Uniform(rng, -1, 1, m, k).Data;
        var b = Tensor.Uniform(rng, -1, 1, k, n).Data;
        var c = new float[(long)m * n];
        double flops = 2.0 * m * n * k;

        var seconds = backends.ToDictionary(x => x, _ => new List<double>());
        foreach (var backend in backends) Time(backend);
        for (int r = 0; r < repeat; r++)
            foreach (var backend in backends) seconds[backend].Add(Time(backend));

        double Time(GemmBackend backend)
        {
            // Let the previous backend's worker threads go idle: OpenBLAS's spin for ~0.1 s after a call.
            Thread.Sleep(300);
            var clock = Stopwatch.StartNew();
            Gemm.Sgemm(backend, false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            return clock.Elapsed.TotalSeconds;
        }

        double Gflops(GemmBackend x) => flops / seconds[x].Min() / 1e9;
        double Median(GemmBackend x) => flops / seconds[x].Order().ElementAt(seconds[x].Count / 2) / 1e9;
        string Name(GemmBackend x) => x.ToString().ToLowerInvariant();

        var best = Gemm.Backend == GemmBackend.Reference ? GemmBackend.Managed : Gemm.Backend;
        var list = new JsonArray();
        foreach (var x in backends)
            list.Add(new JsonObject { ["backend"] = Name(x), ["gflops"] = Round(Gflops(x)), ["median_gflops"] = Round(Median(x)) });
        var result = new JsonObject
        {
            ["m"] = m, ["n"] = n, ["k"] = k, ["repeat"] = repeat, ["threads"] = Par.Threads,
            ["gflops"] = Round(Gflops(best)), ["backend"] = Name(best), ["backends"] = list,
        };
        if (backends.Contains(GemmBackend.OpenBlas))
            result["managed_vs_openblas"] = Math.Round(Gflops(GemmBackend.Managed) / Gflops(GemmBackend.OpenBlas), 3);

        if (json) { CliOutput.WriteJson(result); return 0; }
        Console.WriteLine($"fp32 matmul {m}×{k} · {k}×{n}, best of {repeat}, {Par.Threads} threads");
        Console.WriteLine($"{"backend",-10} {"GFLOP/s",9} {"median",9}");
        foreach (var x in backends)
            Console.WriteLine($"{Name(x) + (x == best ? "*" : ""),-10} {Gflops(x),9:F1} {Median(x),9:F1}");
        if (result["managed_vs_openblas"] is { } ratio) Console.WriteLine($"managed / openblas = {ratio}");
        return 0;
    }

    private static double Round(double x) => Math.Round(x, 2);
}
