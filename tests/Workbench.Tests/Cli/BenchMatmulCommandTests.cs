using System.Text.Json;

namespace Workbench.Tests.Cli;

public class BenchMatmulCommandTests
{
    [Fact]
    public void JsonReportsEveryFastBackend()
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        int code;
        try { code = Workbench.Cli.Program.Build().Parse(["bench", "matmul", "--m", "64", "--n", "48", "--k", "40", "--repeat", "2", "--json"]).Invoke(); }
        finally { Console.SetOut(saved); }

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output.ToString());
        var root = doc.RootElement;
        Assert.Equal(64, root.GetProperty("m").GetInt32());
        Assert.Equal(48, root.GetProperty("n").GetInt32());
        Assert.True(root.GetProperty("gflops").GetDouble() > 0);
        var names = root.GetProperty("backends").EnumerateArray().Select(b => b.GetProperty("backend").GetString()).ToArray();
        Assert.Contains("managed", names);
        Assert.Contains(root.GetProperty("backend").GetString(), names);
        Assert.Equal(names.Contains("openblas"), root.TryGetProperty("managed_vs_openblas", out _));
    }
}
