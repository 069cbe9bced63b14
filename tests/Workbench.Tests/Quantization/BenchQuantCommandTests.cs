using System.Text.Json;
using Workbench.Cli;

namespace Workbench.Tests.Quantization;

[Collection("Console")]
public class BenchQuantCommandTests
{
    [Fact]
    public void JsonHasTheDocumentedKeys()
    {
        var output = new StringWriter();
        var saved = Console.Out;
        Console.SetOut(output);
        int code;
        try { code = Program.Build().Parse(["bench", "quant", "--type", "nf4", "--blocksize", "64", "--double-quant", "--n", "65536", "--repeat", "1", "--json"]).Invoke(); }
        finally { Console.SetOut(saved); }

        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(output.ToString());
        var root = doc.RootElement;
        foreach (var key in new[] { "type", "blocksize", "double_quant", "n", "threads", "quantize_ms", "dequantize_ms", "quantize_gbps",
                     "dequantize_gbps", "mean_abs_error", "rmse", "max_error", "bits_per_parameter" })
            Assert.True(root.TryGetProperty(key, out _), $"missing key {key}");
        Assert.Equal("nf4", root.GetProperty("type").GetString());
        Assert.True(root.GetProperty("double_quant").GetBoolean());
        Assert.Equal(65536, root.GetProperty("n").GetInt32());
        Assert.InRange(root.GetProperty("bits_per_parameter").GetDouble(), 4.127, 4.13);
        Assert.InRange(root.GetProperty("mean_abs_error").GetDouble(), 0.05, 0.12);
        Assert.True(root.GetProperty("quantize_gbps").GetDouble() > 0);
    }

    [Fact]
    public void UnknownTypeFails()
    {
        var saved = Console.Error;
        Console.SetError(new StringWriter());
        try { Assert.Equal(2, Program.Build().Parse(["bench", "quant", "--type", "int3", "--n", "64"]).Invoke()); }
        finally { Console.SetError(saved); }
    }
}
