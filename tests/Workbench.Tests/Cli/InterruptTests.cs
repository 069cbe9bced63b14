using Workbench.Formats;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

/// <summary>
/// wb in processes of its own, stopped as users, timeouts and schedulers stop it: Ctrl-C (SIGINT), SIGTERM and SIGKILL
/// at a point of the work, then run again or resumed. Nothing is lost, no temporary file or folder is left, and a
/// resumed run ends with the bytes of an uninterrupted one; two processes with one config write the same bytes.
/// </summary>
public class InterruptTests
{
    private const int Steps = 10;   // stopped after step 2: eight steps of margin for the signal on a fast machine

    /// <summary>LoRA on stories260K over the Alpaca sample, a checkpoint every step.</summary>
    private static string RunYaml(string dir, string outDir)
    {
        var path = Path.Combine(dir, Path.GetFileName(outDir) + ".yaml");
        File.WriteAllText(path, $"""
            base_model: {RepoPaths.Data("models/stories260K")}
            data: {RepoPaths.Data("alpaca/alpaca_sample.json")}
            template: "{"{|}{output}"}"
            output_dir: {outDir}
            adapter: lora
            target_modules: [q_proj, v_proj]
            max_length: 64
            micro_batch_size: 4
            max_steps: {Steps}
            save_steps: 1
            lora_dropout: 0.1
            learning_rate: 1.0e-2
            seed: 7
            """);
        return path;
    }

    /// <summary>Hidden siblings a writer works in (TempSibling: .name.tmp-PID-…, .name.old-…, .name.work-…) anywhere below.</summary>
    private static List<string> Leftovers(string dir) =>
        Directory.EnumerateFileSystemEntries(dir, "*", SearchOption.AllDirectories)
            .Where(p => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(p), @"^\..+\.(tmp|old|work)-\d+-[0-9a-f]{32}$")).ToList();

    /// <summary>Runs wb to the end; unless it exits 0, fails with its output (a child's crash is otherwise only "exit 1").</summary>
    private static void Succeeds(string workingDirectory, params string[] args)
    {
        var (code, output) = WbProcess.Run(workingDirectory, args);
        Assert.True(code == 0, $"wb {string.Join(' ', args)}: exit {code}\n{output}");
    }

    private static byte[] Adapter(string outDir) => File.ReadAllBytes(Path.Combine(outDir, "adapter_model.safetensors"));

    [Theory]
    [InlineData("INT", 130)]
    [InlineData("TERM", 143)]
    public void AStoppedRunSavesACheckpointWritesNoAdapterAndResumesToTheSameBytes(string signal, int exitCode)
    {
        using var dir = new TempDir();
        string whole = dir.File("whole"), stopped = dir.File("stopped");
        Succeeds(dir.Path, "train", "--config", RunYaml(dir.Path, whole));

        using (var wb = new WbProcess(dir.Path, "train", "--config", RunYaml(dir.Path, stopped)))
        {
            Assert.True(wb.WaitFor("step 2/"), "training did not reach step 2");
            wb.Signal(signal);
            var (code, output) = wb.Finish();
            Assert.True(code == exitCode, $"exit {code}: {output}");
            Assert.Contains("checkpoint saved to", output);
        }
        Assert.False(File.Exists(Path.Combine(stopped, "adapter_model.safetensors")), "a stopped run wrote its half-trained adapter");
        Assert.NotNull(Workbench.Training.TrainerCheckpoint.Latest(stopped));

        var (resumed, log) = WbProcess.Run(dir.Path, "train", "--config", RunYaml(dir.Path, stopped), "--resume", "latest");
        Assert.True(resumed == 0, log);
        Assert.Equal(Adapter(whole), Adapter(stopped));
        Assert.Empty(Leftovers(dir.Path));
    }

    [Fact]
    public void AKilledRunResumesToTheSameBytesAndLeavesNoTemporaryFiles()
    {
        using var dir = new TempDir();
        string whole = dir.File("whole"), killed = dir.File("killed");
        Succeeds(dir.Path, "train", "--config", RunYaml(dir.Path, whole));

        using (var wb = new WbProcess(dir.Path, "train", "--config", RunYaml(dir.Path, killed)))
        {
            Assert.True(wb.WaitFor("step 3/"));
            wb.Signal("KILL");
            wb.Finish();
        }
        // a second run without --resume would mix two runs in one folder: refused, naming the ways on
        var (refused, message) = WbProcess.Run(dir.Path, "train", "--config", RunYaml(dir.Path, killed));
        Assert.Equal(2, refused);
        Assert.Contains("--resume latest", message);

        Succeeds(dir.Path, "train", "--config", RunYaml(dir.Path, killed), "--resume", "latest");
        Assert.Equal(Adapter(whole), Adapter(killed));
        Assert.Empty(Leftovers(dir.Path));
    }

    [Fact]
    public void TwoProcessesWithOneConfigWriteTheSameBytes()
    {
        using var dir = new TempDir();
        string first = dir.File("first"), second = dir.File("second");
        Succeeds(dir.Path, "train", "--config", RunYaml(dir.Path, first));
        Succeeds(dir.Path, "train", "--config", RunYaml(dir.Path, second));
        Assert.Equal(Adapter(first), Adapter(second));
        foreach (var file in new[] { "trainable.safetensors", "optimizer.safetensors" })
            Assert.Equal(File.ReadAllBytes(Path.Combine(first, $"checkpoint-{Steps}", file)), File.ReadAllBytes(Path.Combine(second, $"checkpoint-{Steps}", file)));
    }

    /// <summary>A GPT-NeoX of a few thousand parameters from scratch on the NSMC sample, with the shipped tokenizer.</summary>
    private static string PretrainYaml(string dir, string outDir, int steps = 4)
    {
        var path = Path.Combine(dir, Path.GetFileName(outDir) + ".yaml");
        File.WriteAllText(path, $"""
            tokenizer: {RepoPaths.Data("tokenizers/ko-tiny")}
            texts: [{RepoPaths.Data("nsmc/ratings_train_2000.txt")}@document]
            output_dir: {outDir}
            hidden_size: 16
            num_layers: 1
            num_heads: 2
            intermediate_size: 32
            max_position_embeddings: 32
            max_length: 32
            micro_batch_size: 2
            max_steps: {steps}
            save_steps: 1
            seed: 11
            """);
        return path;
    }

    [Fact]
    public void PretrainingIsTheSameInTwoProcessesAndAStopStillWritesTheModel()
    {
        using var dir = new TempDir();
        string first = dir.File("first"), second = dir.File("second"), stopped = dir.File("stopped");
        Succeeds(dir.Path, "pretrain", "--config", PretrainYaml(dir.Path, first));
        Succeeds(dir.Path, "pretrain", "--config", PretrainYaml(dir.Path, second));
        Assert.Equal(File.ReadAllBytes(Path.Combine(first, "model.safetensors")), File.ReadAllBytes(Path.Combine(second, "model.safetensors")));

        using (var wb = new WbProcess(dir.Path, "pretrain", "--config", PretrainYaml(dir.Path, stopped, steps: 10_000)))
        {
            Assert.True(wb.WaitFor("step 2/"));
            wb.Signal("TERM");
            var (code, output) = wb.Finish();
            Assert.True(code == 143, $"exit {code}: {output}");
        }
        Assert.True(File.Exists(Path.Combine(stopped, "model.safetensors")));
        Assert.Equal(StandaloneKind, OutputFolder.KindOf(stopped));
        Assert.Empty(Leftovers(dir.Path));

        // killed: nothing written; the next run finds the killed one's working folder and removes it
        string killed = dir.File("killed");
        using (var wb = new WbProcess(dir.Path, "pretrain", "--config", PretrainYaml(dir.Path, killed, steps: 10_000)))
        {
            Assert.True(wb.WaitFor("step 2/"));
            wb.Signal("KILL");
            wb.Finish();
        }
        Assert.False(Directory.Exists(killed));
        Assert.NotEmpty(Leftovers(dir.Path));
        Succeeds(dir.Path, "pretrain", "--config", PretrainYaml(dir.Path, killed));
        Assert.Empty(Leftovers(dir.Path));
    }

    private const string StandaloneKind = Workbench.Adapters.Merge.StandaloneExport.Kind;

    [Theory]
    [InlineData(0)]
    [InlineData(150)]
    [InlineData(400)]
    public void AKilledMergeOrTokenizerLeavesAWholeOutputOrNoneAndTheRerunCleansUp(int delayMs)
    {
        using var dir = new TempDir();
        string merged = dir.File("merged"), tokenizer = dir.File("tokenizer");
        var merge = new[] { "merge", Fixtures.PathOf("adapters/base"), Fixtures.PathOf("adapters/lora"), "--out", merged };
        var train = new[] { "tokenizer", "train", "--files", RepoPaths.Data("nsmc/ratings_train_2000.txt"), "--column", "document", "--vocab-size", "600", "--out", tokenizer };
        foreach (var (args, output, file) in new[] { (merge, merged, "model.safetensors"), (train, tokenizer, "tokenizer.json") })
        {
            using (var wb = new WbProcess(dir.Path, args))
            {
                Thread.Sleep(delayMs);
                wb.Signal("KILL");
                wb.Finish();
            }
            Assert.True(!Directory.Exists(output) || File.Exists(Path.Combine(output, file)), $"{output} exists without {file}");
            var (code, log) = WbProcess.Run(dir.Path, [.. args, "--force"]);
            Assert.True(code == 0, log);
            Assert.True(File.Exists(Path.Combine(output, file)));
        }
        Assert.Empty(Leftovers(dir.Path));
    }

    [Fact]
    public void AKilledNotebookRunLeavesNoPartOfItsOutputsAndTheRerunWritesThem()
    {
        using var dir = new TempDir();
        var notebook = Path.Combine(RepoPaths.Root, "notebooks", "Hello.ipynb");
        string executed = dir.File("hello.ipynb"), html = dir.File("hello.html");
        var args = new[] { "notebook", "run", notebook, "--out", executed, "--html", html };
        using (var wb = new WbProcess(dir.Path, args))
        {
            Assert.True(wb.WaitFor("cell 2"), "the kernel did not start a cell");
            wb.Signal("KILL");
            wb.Finish();
        }
        Assert.False(File.Exists(executed) || File.Exists(html));
        Succeeds(dir.Path, args);
        Assert.True(File.Exists(executed) && File.Exists(html));
        Assert.Empty(Leftovers(dir.Path));
    }
}
