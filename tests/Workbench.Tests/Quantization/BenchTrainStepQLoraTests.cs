using System.Text.Json;
using Workbench.Cli;
using Workbench.Tests.Support;

namespace Workbench.Tests.Quantization;

[Collection("Console")]
public class BenchTrainStepQLoraTests
{
    private static (int Code, string Out) Wb(params string[] args)
    {
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        using var stdout = new StringWriter();
        Console.SetOut(stdout);
        Console.SetError(new StringWriter());
        try { return (Program.Build().Parse(args).Invoke(), stdout.ToString()); }
        finally { Console.SetOut(oldOut); Console.SetError(oldErr); }
    }

    [Fact]
    public void QLoraStepOnAConfigsShapeReportsMeasurementsAndThePlan()
    {
        var (code, stdout) = Wb("bench", "train-step", "--config", Fixtures.PathOf("qlora/tiny-llama-bnb4"), "--load-in-4bit", "--double-quant",
            "--lora-r", "4", "--seq", "16", "--batch", "1", "--steps", "1", "--warmup", "0", "--gradient-checkpointing", "--optim", "paged_adamw_8bit", "--json");
        Assert.Equal(0, code);
        using var doc = JsonDocument.Parse(stdout);
        var r = doc.RootElement;
        Assert.Equal("tiny-llama-bnb4", r.GetProperty("model").GetString());
        Assert.Equal("nf4+dq/64", r.GetProperty("quantization").GetString());
        Assert.Equal(8_192, r.GetProperty("trainable_parameters").GetInt64());                  // 2 layers × 4·(128 + 96 + 96 + 128 + 3·192)
        Assert.Equal(8L * 8_192, r.GetProperty("optimizer_state_bytes").GetInt64());           // every LoRA matrix < 4,096 elements: fp32 states
        Assert.True(r.GetProperty("peak_working_set_bytes").GetInt64() > 0);
        Assert.True(r.GetProperty("seconds_per_step").GetDouble() > 0);
        Assert.InRange(r.GetProperty("loss").GetDouble(), 3.0, 6.0);                            // ≈ ln 96 = 4.56 for random weights
        var plan = r.GetProperty("plan");
        Assert.Equal("qlora", plan.GetProperty("method").GetString());
        Assert.True(plan.GetProperty("gradient_checkpointing").GetBoolean());
        Assert.Equal(8_192, plan.GetProperty("trainable_parameters").GetInt64());
    }

    [Theory]
    [InlineData("--load-in-8bit", "--load-in-4bit")]
    [InlineData("--optim", "sgd")]
    [InlineData("--quant-type", "int4")]
    public void BadQuantisationOptionsExitWithCode2(string a, string b)
    {
        var args = new List<string> { "bench", "train-step", "--config", Fixtures.PathOf("qlora/tiny-llama-bnb4"), "--steps", "1", a, b };
        if (a == "--quant-type") args.Add("--load-in-4bit");
        Assert.Equal(2, Wb([.. args]).Code);
    }
}
