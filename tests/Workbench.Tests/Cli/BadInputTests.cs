using System.Text.Json.Nodes;
using Workbench.Tests.Support;
using W = Workbench.Tests.Cli.BadInputWorkspace;

namespace Workbench.Tests.Cli;

/// <summary>
/// Every command against a catalogue of bad inputs: damaged files (empty, truncated, garbage, not UTF-8, wrong JSON
/// types, missing or out-of-range fields), bad flags and configs, and paths of the wrong kind. Each must exit 2 with
/// one line on stderr that names the file or flag, print nothing on stdout, and change no file outside the output it
/// was asked to write.
/// </summary>
[Collection("Console")]
public class BadInputTests
{
    /// <summary>One bad input: it damages a fresh workspace and returns the command line and what the message must name.</summary>
    public sealed record Case(string Name, Func<W, (string[] Args, string Names)> Setup);

    public static TheoryData<string> Names => [.. Catalogue.Select(c => c.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public void ExitsTwoWithOneLineNamingTheProblemAndTouchesNothing(string name)
    {
        using var w = new W();
        var (args, names) = Catalogue.Single(c => c.Name == name).Setup(w);
        var before = w.Hash();
        var (code, stdout, stderr) = WbCli.Run(args);
        Assert.True(code == 2, $"exit {code}, stderr: {stderr}");
        Assert.Equal("", stdout);
        var lines = stderr.TrimEnd('\n').Split('\n');
        Assert.True(lines.Length == 1, $"{lines.Length} lines on stderr:\n{stderr}");
        Assert.Matches(@"^wb[ :]", lines[0]);
        Assert.Contains(names, lines[0]);
        Assert.DoesNotContain("   at ", stderr);
        Assert.Equal(before, w.Hash());
    }

    [Fact]
    public void TheCatalogueHasAtLeast150CasesWithDistinctNames()
    {
        Assert.True(Catalogue.Count >= 150, $"{Catalogue.Count} cases");
        var repeated = Catalogue.GroupBy(c => c.Name).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        Assert.True(repeated.Count == 0, "repeated names: " + string.Join(", ", repeated));
    }

    private static Case C(string name, Func<W, (string[], string)> setup) => new(name, setup);

    private static string F(string path, string file) => Path.Combine(path, file);

    /// <summary>The ways a JSON file can be damaged, each with what the message must name.</summary>
    private static IEnumerable<(string Name, Action<string> Damage)> JsonDamage() =>
    [
        ("empty", p => W.Write(p, "")),
        ("truncated", p => W.Truncate(p, 10)),
        ("garbage", p => W.WriteBytes(p, [0x00, 0xFF, 0x13, 0x37, 0x42])),
        ("not-utf8", W.NotUtf8),
        ("array", p => W.Write(p, "[1, 2, 3]")),
        ("folder", W.MakeFolder),
        ("missing", File.Delete),
    ];

    public static readonly IReadOnlyList<Case> Catalogue = Build();

    private static List<Case> Build()
    {
        var cases = new List<Case>();
        void Add(string name, Func<W, (string[], string)> setup) => cases.Add(C(name, setup));

        // ---- damaged files a model directory holds, seen by every command that opens a model ----------------------
        foreach (var (damage, act) in JsonDamage())
        {
            Add($"info: config.json {damage}", w => { act(F(w.Model, "config.json")); return (["info", w.Model], "config.json"); });
            Add($"generate: config.json {damage}", w => { act(F(w.Model, "config.json")); return (["generate", w.Model, "--prompt", "Once"], "config.json"); });
            Add($"merge: adapter_config.json {damage}", w => { act(F(w.Adapter, "adapter_config.json")); return (["merge", w.TinyBase, w.Adapter, "--out", w.Out], "adapter_config.json"); });
            Add($"train: data {damage}", w => { act(w.Data); return (["train", "--config", w.RunYaml], "data.jsonl"); });
            Add($"eval: task {damage}", w => { act(w.Task); return (["eval", "fewshot", w.Model, "--task", w.Task, "--samples", "2"], "nsmc.json"); });
            Add($"notebook run: notebook {damage}", w => { act(w.Notebook); return (["notebook", "run", w.Notebook], "Hello.ipynb"); });
        }
        foreach (var (field, value, names) in new (string, JsonNode?, string)[]
        {
            ("model_type", "bert", "model_type"), ("model_type", null, "model_type"), ("hidden_size", -64, "hidden_size"),
            ("hidden_size", "sixty-four", "hidden_size"), ("num_attention_heads", 0, "num_attention_heads"), ("vocab_size", 0, "vocab_size"),
            ("num_hidden_layers", 2.5, "num_hidden_layers"), ("rope_scaling", new JsonObject { ["rope_type"] = "yarn", ["factor"] = 2 }, "rope_scaling"),
            ("rope_scaling", new JsonObject { ["rope_type"] = "linear" }, "rope_scaling.factor"), ("rms_norm_eps", "tiny", "rms_norm_eps"),
            ("hidden_act", "relu6", "hidden_act"), ("max_position_embeddings", -1, "max_position_embeddings"),
        })
        {
            Add($"info: config {field}={value?.ToJsonString() ?? "missing"}", w =>
            {
                W.EditJson(F(w.Model, "config.json"), c => { if (value is null) c.Remove(field); else c[field] = value.DeepClone(); });
                return (["info", w.Model], names);
            });
        }
        Add("info: no such folder", w => (["info", w.File("nothing")], "nothing"));
        Add("info: a text file", w => (["info", w.Text], "text.txt"));

        // ---- safetensors ----------------------------------------------------------------------------------------
        foreach (var (name, damage) in new (string, Action<string>)[]
        {
            ("empty", p => W.Write(p, "")), ("7 bytes", p => W.Truncate(p, 7)), ("header cut", p => W.Truncate(p, 40)),
            ("data cut", p => W.Truncate(p, 5000)), ("header length huge", p => { var b = File.ReadAllBytes(p); b[7] = 0x7F; File.WriteAllBytes(p, b); }),
            ("header not JSON", p => { var b = File.ReadAllBytes(p); b[8] = (byte)'#'; File.WriteAllBytes(p, b); }),
            ("header not UTF-8", p => { var b = File.ReadAllBytes(p); int at = Array.IndexOf(b, (byte)'m', 8); b[at] = 0xC1; File.WriteAllBytes(p, b); }),
            ("a folder", W.MakeFolder), ("missing", File.Delete),
        })
        {
            Add($"generate: model.safetensors {name}", w => { damage(F(w.Model, "model.safetensors")); return (["generate", w.Model, "--prompt", "Once"], w.Model); });
            Add($"ppl: model.safetensors {name}", w => { damage(F(w.Model, "model.safetensors")); return (["ppl", w.Model, "--file", w.Text], w.Model); });
        }
        Add("generate: weights of another shape", w =>
        {
            W.EditJson(F(w.Model, "config.json"), c => c["intermediate_size"] = 99);
            return (["generate", w.Model, "--prompt", "Once"], "model.safetensors");
        });
        Add("generate: weights for another vocabulary", w =>
        {
            W.EditJson(F(w.Model, "config.json"), c => c["vocab_size"] = 100);
            return (["generate", w.Model, "--prompt", "Once"], "model.safetensors");
        });
        Add("generate: tokenizer larger than the model", w =>
        {
            File.Copy(F(w.Tokenizer, "tokenizer.json"), F(w.TinyBase, "tokenizer.json"), overwrite: true);
            return (["generate", w.TinyBase, "--prompt", "Once"], "vocab_size");
        });

        // ---- tokenizers -----------------------------------------------------------------------------------------
        foreach (var (damage, act) in JsonDamage().Where(d => d.Name != "missing"))
        {
            Add($"tokenize: tokenizer.json {damage}", w => { act(F(w.Tokenizer, "tokenizer.json")); return (["tokenize", w.Tokenizer], "tokenizer.json"); });
            Add($"tokenize: tokenizer_config.json {damage}", w => { act(F(w.Tokenizer, "tokenizer_config.json")); return (["tokenize", w.Tokenizer], "tokenizer_config.json"); });
        }
        Add("tokenize: tokenizer.model garbage", w => { W.WriteBytes(F(w.Model, "tokenizer.model"), [0x0A, 0xFF, 0xFF, 0xFF, 0x01]); return (["tokenize", w.Model], "tokenizer.model"); });
        Add("tokenize: tokenizer.model empty", w => { W.Write(F(w.Model, "tokenizer.model"), ""); return (["generate", w.Model, "--prompt", "x"], "tokenizer.model"); });
        Add("tokenize: no tokenizer there", w => (["tokenize", w.Root], w.Root));
        Add("tokenize: tokenizer.json model type unknown", w =>
        {
            W.EditJson(F(w.Tokenizer, "tokenizer.json"), t => t["model"]!["type"] = "WordPiece");
            return (["tokenize", w.Tokenizer], "tokenizer.json");
        });

        // ---- training configs -----------------------------------------------------------------------------------
        foreach (var (key, value, names) in new[]
        {
            ("lora_r", "-1", "lora_r"), ("lora_r", "eight", "lora_r"), ("lora_r", "0", "lora_r"), ("learning_rate", "nan", "learning_rate"),
            ("learning_rate", ".inf", "learning_rate"), ("learning_rate", "-1", "learning_rate"), ("lora_dropout", "1.5", "lora_dropout"),
            ("lora_alpha", "nan", "lora_alpha"), ("micro_batch_size", "0", "micro_batch_size"), ("max_length", "1", "max_length"),
            ("warmup_ratio", "2", "warmup_ratio"), ("weight_decay", "-0.1", "weight_decay"), ("adapter", "prefix", "adapter"),
            ("quantization", "int3", "quantization"), ("torch_dtype", "float8", "torch_dtype"), ("lr_scheduler_type", "cyclic", "lr_scheduler_type"),
            ("template", "nope", "template"), ("target_modules", "[qkv_proj]", "target_modules"), ("gradient_accumulation_steps", "0", "gradient_accumulation_steps"),
            ("max_steps", "many", "max_steps"), ("packing", "maybe", "packing"), ("lora_rank", "8", "lora_rank"), ("save_steps", "-5", "save_steps"),
            ("logging_steps", "0", "logging_steps"), ("num_train_epochs", "nan", "num_train_epochs"), ("seed", "[1, 2]", "seed"),
        })
        {
            Add($"train: {key}: {value}", w => { File.AppendAllText(w.RunYaml, $"{key}: {value}\n"); return (["train", "--config", w.RunYaml], names); });
        }
        foreach (var (flag, value) in new[] { ("--lora-r", "abc"), ("--learning-rate", "NaN"), ("--max-steps", "3.5"), ("--adapter", "full"), ("--micro-batch-size", "0") })
            Add($"train flag {flag} {value}", w => (["train", "--config", w.RunYaml, flag, value], flag));
        Add("train: yaml not UTF-8", w => { W.NotUtf8(w.RunYaml); File.AppendAllText(w.RunYaml, "\n"); return (["train", "--config", w.RunYaml], "run.yaml"); });
        Add("train: yaml garbage", w => { W.Write(w.RunYaml, "lora_r: 8\n  bad: [\n"); return (["train", "--config", w.RunYaml], "run.yaml"); });
        Add("train: yaml a list", w => { W.Write(w.RunYaml, "- 1\n- 2\n"); return (["train", "--config", w.RunYaml], "run.yaml"); });
        Add("train: yaml missing", w => (["train", "--config", w.File("none.yaml")], "none.yaml"));
        Add("train: base_model missing", w => (["train", "--config", w.RunYaml, "--base-model", w.File("nomodel")], "nomodel"));
        Add("train: base_model is a file", w => (["train", "--config", w.RunYaml, "--base-model", w.Text], "text.txt"));
        Add("train: data path does not exist", w => (["train", "--config", w.RunYaml, "--data", w.File("none.jsonl")], "none.jsonl"));
        Add("train: data a record without output", w => { File.AppendAllText(w.Data, "{\"instruction\": \"hi\"}\n"); return (["train", "--config", w.RunYaml], "data.jsonl"); });
        Add("train: data a record of numbers", w => { File.AppendAllText(w.Data, "{\"instruction\": 3, \"output\": 4}\n"); return (["train", "--config", w.RunYaml], "data.jsonl"); });
        Add("train: data a line that is not JSON", w => { File.AppendAllText(w.Data, "{oops\n"); return (["train", "--config", w.RunYaml], "data.jsonl"); });
        Add("train: output_dir holds a user's files", w => (["train", "--config", w.RunYaml, "--output-dir", w.Foreign], "mine"));
        Add("train: output_dir is a file", w => (["train", "--config", w.RunYaml, "--output-dir", w.Text], "text.txt"));
        Add("train: output_dir is the model", w => (["train", "--config", w.RunYaml, "--output-dir", w.Model], "model"));
        Add("train: resume from nothing", w => (["train", "--config", w.RunYaml, "--resume", w.File("checkpoint-3")], "checkpoint-3"));
        Add("train: resume a garbage checkpoint", w =>
        {
            var checkpoint = Directory.CreateDirectory(Path.Combine(w.Out, "checkpoint-1")).FullName;
            W.Write(F(checkpoint, "trainer_state.json"), "{not json");
            W.Write(F(checkpoint, "training_config.json"), "{}");
            return (["train", "--config", w.RunYaml, "--resume", checkpoint], "checkpoint-1");
        });
        Add("train: unknown flag", w => (["train", "--config", w.RunYaml, "--lora-rank", "8"], "--lora-rank"));

        // ---- evaluation -----------------------------------------------------------------------------------------
        foreach (var (flag, value) in new[] { ("--shots", "-1"), ("--samples", "0"), ("--seed", "-4"), ("--prompt", "9"), ("--scoring", "vibes") })
            Add($"eval: {flag} {value}", w => (["eval", "fewshot", w.Model, "--task", w.Task, flag, value], flag == "--prompt" ? "9" : flag));
        Add("eval: --train without --test", w => (["eval", "fewshot", w.Model, "--task", w.Task, "--train", w.TrainTsv], "--train"));
        Add("eval: model missing", w => (["eval", "fewshot", w.File("nomodel"), "--task", w.Task], "nomodel"));
        Add("eval: adapter missing", w => (["eval", "fewshot", w.Model, "--adapter", w.File("noadapter"), "--task", w.Task], "noadapter"));
        Add("eval: adapter for another model", w => (["eval", "fewshot", w.Model, "--adapter", w.Adapter, "--task", w.Task, "--samples", "2"], "adapter"));
        Add("eval: task name unknown", w => (["eval", "fewshot", w.Model, "--task", "imdb-nope"], "imdb-nope"));
        Add("eval: task data not UTF-8", w => { W.NotUtf8(w.TrainTsv); return (["eval", "fewshot", w.Model, "--task", w.Task, "--samples", "2"], "ratings_train_2000.txt"); });
        Add("eval: task data without the label column", w =>
        {
            File.WriteAllText(w.TrainTsv, "id\tdocument\n1\t좋다\n");
            return (["eval", "fewshot", w.Model, "--task", w.Task, "--samples", "2"], "ratings_train_2000.txt");
        });
        Add("eval: task num_shots -1", w => { W.EditJson(w.Task, t => t["num_shots"] = -1); return (["eval", "fewshot", w.Model, "--task", w.Task], "num_shots"); });
        Add("eval: task prompts missing", w => { W.EditJson(w.Task, t => t.Remove("prompts")); return (["eval", "fewshot", w.Model, "--task", w.Task], "prompts"); });
        Add("eval: --out holds a user's files", w => (["eval", "fewshot", w.Model, "--task", w.Task, "--samples", "2", "--out", w.Foreign], "mine"));
        Add("eval: --out is a file", w => (["eval", "fewshot", w.Model, "--task", w.Task, "--samples", "2", "--out", w.Text], "text.txt"));

        // ---- adapters and merging -------------------------------------------------------------------------------
        foreach (var (field, value, names) in new (string, JsonNode?, string)[]
        {
            ("peft_type", "PREFIX_TUNING", "peft_type"), ("peft_type", null, "peft_type"), ("r", -4, "r"), ("r", "four", "r"),
            ("lora_dropout", 2.0, "lora_dropout"), ("use_dora", true, "use_dora"), ("target_modules", 5, "target_modules"),
            ("init_lora_weights", "olora", "init_lora_weights"), ("bias", "some", "bias"), ("layers_to_transform", new JsonArray(0), "layers_to_transform"),
            ("target_modules", new JsonArray("nothing_like_it"), "target_modules"),
        })
        {
            Add($"merge: adapter {field}={value?.ToJsonString() ?? "missing"}", w =>
            {
                W.EditJson(F(w.Adapter, "adapter_config.json"), c => { if (value is null) c.Remove(field); else c[field] = value.DeepClone(); });
                return (["merge", w.TinyBase, w.Adapter, "--out", w.Out], names);
            });
        }
        Add("merge: adapter weights missing", w => { File.Delete(F(w.Adapter, "adapter_model.safetensors")); return (["merge", w.TinyBase, w.Adapter, "--out", w.Out], "adapter_model.safetensors"); });
        Add("merge: adapter weights cut", w => { W.Truncate(F(w.Adapter, "adapter_model.safetensors"), 100); return (["merge", w.TinyBase, w.Adapter, "--out", w.Out], "adapter_model.safetensors"); });
        Add("merge: adapter weights of another model", w => (["merge", w.Model, w.Adapter, "--out", w.Out], "adapter_model.safetensors"));
        Add("merge: base missing", w => (["merge", w.File("nobase"), w.Adapter, "--out", w.Out], "nobase"));
        Add("merge: adapter missing", w => (["merge", w.TinyBase, w.File("noadapter"), "--out", w.Out], "noadapter"));
        Add("merge: --out is the base", w => (["merge", w.TinyBase, w.Adapter, "--out", w.TinyBase, "--force"], "tiny"));
        Add("merge: --out holds the adapter", w => { _ = w.Adapter; return (["merge", w.TinyBase, w.Adapter, "--out", w.Root, "--force"], w.Root); });
        Add("merge: --out holds a user's files, even with --force", w => (["merge", w.TinyBase, w.Adapter, "--out", w.Foreign, "--force"], "mine"));
        Add("merge: --out is a file", w => (["merge", w.TinyBase, w.Adapter, "--out", w.Text], "text.txt"));
        Add("merge: --out missing", w => (["merge", w.TinyBase, w.Adapter], "--out"));

        // ---- perplexity and generation --------------------------------------------------------------------------
        Add("ppl: file missing", w => (["ppl", w.Model, "--file", w.File("none.txt")], "none.txt"));
        Add("ppl: file not UTF-8", w => { W.WriteBytes(w.Text, W.Cp949); return (["ppl", w.Model, "--file", w.Text], "text.txt"); });
        Add("ppl: file a folder", w => (["ppl", w.Model, "--file", w.Root], w.Root));
        Add("ppl: jsonl line not JSON", w => { W.Write(w.File("d.jsonl"), "{\"text\": \"a b\"}\n{oops\n"); return (["ppl", w.Model, "--file", w.File("d.jsonl")], "d.jsonl"); });
        Add("ppl: jsonl without the field", w => { W.Write(w.File("d.jsonl"), "{\"body\": \"a b\"}\n"); return (["ppl", w.Model, "--file", w.File("d.jsonl")], "d.jsonl"); });
        Add("ppl: --max-length 0", w => (["ppl", w.Model, "--file", w.Text, "--max-length", "0"], "--max-length"));
        Add("ppl: --stride -2", w => (["ppl", w.Model, "--file", w.Text, "--stride", "-2"], "--stride"));
        Add("ppl: --column not in the header", w => (["ppl", w.Model, "--file", w.TrainTsv, "--column", "review"], "review"));
        Add("generate: --max-new-tokens -1", w => (["generate", w.Model, "--prompt", "Once", "--max-new-tokens", "-1"], "--max-new-tokens"));
        Add("generate: --temperature -1", w => (["generate", w.Model, "--prompt", "Once", "--temperature", "-1"], "--temperature"));
        Add("generate: --top-p 2", w => (["generate", w.Model, "--prompt", "Once", "--top-p", "2"], "--top-p"));
        Add("generate: --top-k -3", w => (["generate", w.Model, "--prompt", "Once", "--top-k", "-3"], "--top-k"));
        Add("generate: --repetition-penalty 0", w => (["generate", w.Model, "--prompt", "Once", "--repetition-penalty", "0"], "--repetition-penalty"));
        Add("generate: --prompt missing", w => (["generate", w.Model], "--prompt"));
        Add("generate: model missing", w => (["generate", w.File("nomodel"), "--prompt", "x"], "nomodel"));

        // ---- counting and planning ------------------------------------------------------------------------------
        Add("params: --method prefix", w => (["params", w.Model, "--method", "prefix"], "--method"));
        Add("params: --r 0", w => (["params", w.Model, "--r", "0"], "--r"));
        Add("params: --target matches nothing", w => (["params", w.Model, "--target", "qkv_proj,zz_proj"], "target_modules"));
        Add("params: path missing", w => (["params", w.File("nomodel")], "nomodel"));
        Add("params: config garbage", w => { W.Write(F(w.Model, "config.json"), "{{"); return (["params", w.Model], "config.json"); });
        Add("plan: --method prefix", w => (["plan", w.Model, "--method", "prefix"], "--method"));
        Add("plan: --r 0", w => (["plan", w.Model, "--r", "0"], "--r"));
        Add("plan: --seq -1", w => (["plan", w.Model, "--seq", "-1"], "--seq"));
        Add("plan: --quant-type int3", w => (["plan", w.Model, "--quant-type", "int3"], "--quant-type"));
        Add("plan: config not UTF-8", w => { W.NotUtf8(F(w.Model, "config.json")); return (["plan", w.Model], "config.json"); });

        // ---- pretraining and tokenizer training -----------------------------------------------------------------
        foreach (var (key, value, names) in new[]
        {
            ("hidden_size", "30", "hidden_size"), ("rotary_pct", "2", "rotary_pct"), ("torch_dtype", "int8", "torch_dtype"),
            ("max_minutes", "nan", "max_minutes"), ("num_layers", "0", "num_layers"), ("max_length", "64", "max_length"),
            ("vocab_size", "-8", "vocab_size"), ("adapter", "lora", "adapter"),
        })
            Add($"pretrain: {key}: {value}", w => { File.AppendAllText(w.PretrainYaml, $"{key}: {value}\n"); return (["pretrain", "--config", w.PretrainYaml], names); });
        Add("pretrain: texts missing", w => { W.Write(w.PretrainYaml, $"tokenizer: {w.Tokenizer}\noutput_dir: {w.Out}\n"); return (["pretrain", "--config", w.PretrainYaml], "texts"); });
        Add("pretrain: output_dir holds a user's files", w => (["pretrain", "--config", w.PretrainYaml, "--output-dir", w.Foreign], "mine"));
        Add("pretrain: output_dir is a model Workbench did not write", w => (["pretrain", "--config", w.PretrainYaml, "--output-dir", w.Model, "--force"], "model"));
        Add("pretrain: output_dir is the tokenizer", w => (["pretrain", "--config", w.PretrainYaml, "--output-dir", w.Tokenizer, "--force"], "tokenizer"));
        Add("pretrain: texts not UTF-8", w => { W.WriteBytes(w.Text, W.Cp949); return (["pretrain", "--config", w.PretrainYaml], "text.txt"); });
        Add("pretrain: config missing", w => (["pretrain", "--config", w.File("none.yaml")], "none.yaml"));
        Add("tokenizer train: --vocab-size 10", w => (["tokenizer", "train", "--files", w.Text, "--vocab-size", "10", "--out", w.Out], "--vocab-size"));
        Add("tokenizer train: --out is a model folder", w => (["tokenizer", "train", "--files", w.Text, "--vocab-size", "300", "--out", w.Model, "--force"], "model"));
        Add("tokenizer train: --out is a file", w => (["tokenizer", "train", "--files", w.Text, "--vocab-size", "300", "--out", w.Text], "text.txt"));
        Add("tokenizer train: --files missing", w => (["tokenizer", "train", "--files", w.File("none.txt"), "--vocab-size", "300", "--out", w.Out], "none.txt"));
        Add("tokenizer train: --files not UTF-8", w => { W.WriteBytes(w.Text, W.Cp949); return (["tokenizer", "train", "--files", w.Text, "--vocab-size", "300", "--out", w.Out], "text.txt"); });
        Add("tokenizer train: --column not in the header", w => (["tokenizer", "train", "--files", w.TrainTsv, "--column", "review", "--vocab-size", "300", "--out", w.Out], "review"));
        Add("tokenizer train: --min-frequency 0", w => (["tokenizer", "train", "--files", w.Text, "--vocab-size", "300", "--min-frequency", "0", "--out", w.Out], "--min-frequency"));

        // ---- the demo, notebooks and reports --------------------------------------------------------------------
        foreach (var (flag, value) in new[] { ("--samples", "0"), ("--shots", "-2"), ("--steps", "0"), ("--scoring", "vibes") })
            Add($"demo: {flag} {value}", w => (["demo", "--model", w.Model, "--out", w.Out, flag, value], flag));
        Add("demo: model missing", w => (["demo", "--model", w.File("nomodel"), "--out", w.Out], "nomodel"));
        Add("demo: --out holds a user's files", w => (["demo", "--model", w.Model, "--out", w.Foreign], "mine"));
        Add("notebook run: --param without =", w => (["notebook", "run", w.Notebook, "--param", "steps"], "steps"));
        Add("notebook run: --out is the notebook", w => (["notebook", "run", w.Notebook, "--out", w.Notebook, "--force"], "Hello.ipynb"));
        Add("notebook run: --html exists", w => (["notebook", "run", w.Notebook, "--html", w.Text], "text.txt"));
        Add("notebook run: --html is a folder", w => (["notebook", "run", w.Notebook, "--html", w.Root], w.Root));
        Add("notebook export: --out exists", w => (["notebook", "export", w.Notebook, "--out", w.Text], "text.txt"));
        Add("notebook export: notebook missing", w => (["notebook", "export", w.File("none.ipynb")], "none.ipynb"));
        Add("report: run folder missing", w => (["report", w.File("norun")], "norun"));
        Add("report: train_log.jsonl garbage", w =>
        {
            Directory.CreateDirectory(w.File("run"));
            W.Write(w.File("run/train_log.jsonl"), "{oops\n");
            return (["report", w.File("run"), "--html", F(w.Out, "r.html")], "train_log.jsonl");
        });
        Add("report: --html exists", w =>
        {
            Directory.CreateDirectory(w.File("run"));
            W.Write(w.File("run/train_log.jsonl"), "");
            return (["report", w.File("run"), "--html", w.Text], "text.txt");
        });

        // ---- benchmarks -----------------------------------------------------------------------------------------
        foreach (var flag in new[] { "--layers", "--hidden", "--heads", "--vocab", "--batch", "--seq", "--lora-r" })
            Add($"bench train-step: {flag} 0", w => (["bench", "train-step", flag, "0"], flag));
        Add("bench train-step: --optim sgd", w => (["bench", "train-step", "--optim", "sgd"], "--optim"));
        Add("bench train-step: --config garbage", w => { W.Write(F(w.Model, "config.json"), "{{"); return (["bench", "train-step", "--config", w.Model], "config.json"); });
        Add("bench matmul: --m 0", w => (["bench", "matmul", "--m", "0"], "--m"));
        Add("bench matmul: --repeat -1", w => (["bench", "matmul", "--repeat", "-1"], "--repeat"));
        Add("bench quant: --type int3", w => (["bench", "quant", "--type", "int3"], "--type"));
        Add("bench quant: --blocksize 7", w => (["bench", "quant", "--blocksize", "7"], "--blocksize"));
        Add("bench quant: --n 0", w => (["bench", "quant", "--n", "0"], "--n"));
        Add("bench generate: --repeat 0", w => (["bench", "generate", w.Model, "--repeat", "0"], "--repeat"));
        Add("bench generate: model missing", w => (["bench", "generate", w.File("nomodel")], "nomodel"));

        // ---- bridges: GGUF, conversion, recipes ------------------------------------------------------------------
        Add("export gguf: --type q2_k", w => (["export", "gguf", w.Model, "--out", F(w.Root, "m.gguf"), "--type", "q2_k"], "q2_k"));
        Add("export gguf: --out not .gguf", w => (["export", "gguf", w.Model, "--out", F(w.Root, "m.bin")], "m.bin"));
        Add("export gguf: --out exists", w => { W.Write(F(w.Root, "m.gguf"), "mine"); return (["export", "gguf", w.Model, "--out", F(w.Root, "m.gguf")], "m.gguf"); });
        Add("export gguf: model missing", w => (["export", "gguf", w.File("nomodel"), "--out", F(w.Root, "m.gguf")], "nomodel"));
        Add("convert: --out holds a user's files", w => (["convert", w.Model, "--out", w.Foreign], "mine"));
        Add("convert: pytorch_model.bin garbage", w =>
        {
            File.Delete(F(w.Model, "model.safetensors"));
            W.WriteBytes(F(w.Model, "pytorch_model.bin"), [0x80, 0x02, 0x63, 0x6F, 0x73, 0x0A]);
            return (["convert", w.Model, "--out", w.Out], "pytorch_model.bin");
        });
        Add("export-recipe: --to slurm", w => (["export-recipe", w.RunYaml, "--to", "slurm", "--out", w.Out], "--to"));
        Add("export-recipe: --out holds a user's files", w => (["export-recipe", w.RunYaml, "--to", "accelerate", "--out", w.Foreign], "mine"));

        // ---- the command line itself ----------------------------------------------------------------------------
        Add("wb: unknown command", w => (["frobnicate"], "frobnicate"));
        Add("info: unknown flag", w => (["info", w.Model, "--colour"], "--colour"));
        Add("info: no path", w => (["info"], "argument missing"));
        return cases;
    }
}
