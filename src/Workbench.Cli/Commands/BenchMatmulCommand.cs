using System.CommandLine;
using System.Diagnostics;
using System.Text.Json.Nodes;
using Workbench.Engine;

namespace Workbench.Cli.Commands;

/// <summary>
/// <c>wb bench matmul</c>: GFLOP/s of C = A·B (m×k by k×n, fp32) for every fast GEMM backend, timed in
/// turns in one process (so a busy machine slows them alike): one warm-up call each, then the best of
/// --repeat calls. The reference triple loop is left out; it is a test oracle, not a contender. With
/// <c>--backend torch</c> the one contender is libtorch's matmul (its own threads, on <c>--device</c>).
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
        var backend = new BackendChoice.Options();
        var cmd = new Command("matmul", "GFLOP/s of fp32 matrix multiply per GEMM backend") { m, n, k, repeat, threads, json };
        backend.AddTo(cmd);
        cmd.SetAction(pr => (Flags.AtLeast(pr, 1, m, n, k, repeat) ?? Flags.AtLeast(pr, 0, threads)) is { } problem
            ? CliOutput.Fail(problem)
            : Run(pr.GetValue(m), pr.GetValue(n), pr.GetValue(k), pr.GetValue(repeat), pr.GetValue(threads), pr.GetValue(json), backend.From(pr)));
        return cmd;
    }

    private static int Run(int m, int n, int k, int repeat, int threads, bool json, BackendChoice compute)
    {
        Gemm.SetThreads(threads == 0 ? Environment.ProcessorCount : threads);
        var rng = new Random(1);
        var a = Tensor.Uniform(rng, -1, 1, m, k).Data;
        var b = Tensor.Uniform(rng, -1, 1, k, n).Data;
        var c = new float[(long)m * n];
        double flops = 2.0 * m * n * k;

        // Each contender: a name and a timer of one C = A·B.
        Dictionary<string, Func<double>> contenders;
        string best;
        int threadCount;
        try
        {
            if (compute.Backend == "torch")
            {
                contenders = new() { ["torch"] = Torch.TorchBench.MatMul(a, b, m, n, k, compute.Device) };
                (best, threadCount) = ("torch", Torch.TorchBench.Threads);
            }
            else
            {
                contenders = Gemm.AvailableBackends.Where(x => x != GemmBackend.Reference)
                    .ToDictionary(x => x.ToString().ToLowerInvariant(), x => (Func<double>)(() => Time(x)));
                (best, threadCount) = ((Gemm.Backend == GemmBackend.Reference ? GemmBackend.Managed : Gemm.Backend).ToString().ToLowerInvariant(), Par.Threads);
            }
        }
        catch (Exception e) when (BackendChoice.IsUserError(e)) { return CliOutput.Fail($"bench matmul: {e.Message}"); }

        var seconds = contenders.Keys.ToDictionary(x => x, _ => new List<double>());
        foreach (var (_, time) in contenders) time();
        for (int r = 0; r < repeat; r++)
            foreach (var (name, time) in contenders)
            {
                // Let the previous backend's worker threads go idle: OpenBLAS's spin for ~0.1 s after a call.
                Thread.Sleep(300);
                seconds[name].Add(time());
            }

        double Time(GemmBackend backend)
        {
            var clock = Stopwatch.StartNew();
            Gemm.Sgemm(backend, false, false, m, n, k, 1f, a, k, b, n, 0f, c, n);
            return clock.Elapsed.TotalSeconds;
        }

        double Gflops(string x) => flops / seconds[x].Min() / 1e9;
        double Median(string x) => flops / seconds[x].Order().ElementAt(seconds[x].Count / 2) / 1e9;

        var list = new JsonArray();
        foreach (var x in contenders.Keys)
            list.Add(new JsonObject { ["backend"] = x, ["gflops"] = Round(Gflops(x)), ["median_gflops"] = Round(Median(x)) });
        var result = new JsonObject
        {
            ["m"] = m, ["n"] = n, ["k"] = k, ["repeat"] = repeat, ["threads"] = threadCount,
            ["gflops"] = Round(Gflops(best)), ["backend"] = best, ["backends"] = list,
        };
        if (contenders.ContainsKey("openblas"))
            result["managed_vs_openblas"] = Math.Round(Gflops("managed") / Gflops("openblas"), 3);

        if (json) { CliOutput.WriteJson(result); return 0; }
        Console.WriteLine($"fp32 matmul {m}×{k} · {k}×{n}, best of {repeat}, {threadCount} threads");
        Console.WriteLine($"{"backend",-10} {"GFLOP/s",9} {"median",9}");
        foreach (var x in contenders.Keys)
            Console.WriteLine($"{x + (x == best ? "*" : ""),-10} {Gflops(x),9:F1} {Median(x),9:F1}");
        if (result["managed_vs_openblas"] is { } ratio) Console.WriteLine($"managed / openblas = {ratio}");
        return 0;
    }

    private static double Round(double x) => Math.Round(x, 2);
}
