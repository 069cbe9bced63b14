using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Workbench.Tests.Support;

namespace Workbench.Tests.Cli;

/// <summary>
/// A folder of small, valid inputs for every command, copied on first use, that a bad-input case damages. Paths are
/// absolute. <see cref="Out"/> is where a command may write; <see cref="Hash"/> fingerprints everything else.
/// </summary>
public sealed class BadInputWorkspace : IDisposable
{
    private readonly TempDir dir = new();
    /// <summary>Inputs already made: a damage that deletes one must not bring it back on the next use.</summary>
    private readonly HashSet<string> made = [];

    public string Root => dir.Path;
    public string Out => Path.Combine(Root, "out");

    /// <summary>stories260K: a real Llama with a SentencePiece tokenizer.</summary>
    public string Model => Copy(RepoPaths.Data("models/stories260K"), "model");
    /// <summary>The tiny Llama the LoRA fixture was made for, and the adapter.</summary>
    public string TinyBase => Copy(Fixtures.PathOf("adapters/base"), "tiny");
    public string Adapter => Copy(Fixtures.PathOf("adapters/lora"), "adapter");
    public string Tokenizer => Copy(RepoPaths.Data("tokenizers/ko-tiny"), "tokenizer");
    public string Notebook => CopyFile(Path.Combine(RepoPaths.Root, "notebooks", "Hello.ipynb"), "Hello.ipynb");

    /// <summary>The NSMC task with its two sample files beside it.</summary>
    public string Task
    {
        get
        {
            var task = Path.Combine(Root, "task", "nsmc.json");
            if (made.Contains(task)) return task;
            Directory.CreateDirectory(Path.Combine(Root, "nsmc"));
            foreach (var f in new[] { "ratings_train_2000.txt", "ratings_test_600.txt" }) CopyFile(RepoPaths.Data("nsmc/" + f), "nsmc/" + f);
            return CopyFile(RepoPaths.Data("tasks/nsmc.json"), "task/nsmc.json");
        }
    }

    public string TrainTsv { get { _ = Task; return Path.Combine(Root, "nsmc", "ratings_train_2000.txt"); } }

    public string Data => WriteOnce("data.jsonl", string.Join("\n", Enumerable.Range(0, 12).Select(i =>
        new JsonObject { ["instruction"] = $"Say {i}", ["output"] = $"Once upon a time {i}" }.ToJsonString())) + "\n");

    public string Text => WriteOnce("text.txt", "Once upon a time, there was a little girl named Lily.\n");

    /// <summary>A training config that would run: LoRA on stories260K over <see cref="Data"/>, into <see cref="Out"/>.</summary>
    public string RunYaml => WriteOnce("run.yaml",
        $"base_model: {Model}\ndata: {Data}\noutput_dir: {Out}\nadapter: lora\nmax_steps: 1\nmax_length: 256\ntemplate: alpaca\n");

    public string PretrainYaml => WriteOnce("pretrain.yaml",
        $"tokenizer: {Tokenizer}\ntexts: [{Text}]\noutput_dir: {Out}\nhidden_size: 16\nnum_layers: 1\nnum_heads: 2\nintermediate_size: 32\n" +
        "max_position_embeddings: 32\nmax_length: 16\nmax_steps: 1\n");

    /// <summary>A folder holding a user's own file.</summary>
    public string Foreign
    {
        get
        {
            var path = Path.Combine(Root, "mine");
            Directory.CreateDirectory(path);
            System.IO.File.WriteAllText(Path.Combine(path, "notes.txt"), "my notes");
            return path;
        }
    }

    public string File(string relative) => Path.Combine(Root, relative);

    // ---- damage ------------------------------------------------------------------------------------------

    /// <summary>"좋아요" in CP949: bytes that are not UTF-8.</summary>
    public static readonly byte[] Cp949 = [0xC1, 0xC1, 0xBE, 0xC6, 0xBF, 0xE4];

    public static void Write(string path, string text) => System.IO.File.WriteAllText(path, text);

    public static void WriteBytes(string path, byte[] bytes) => System.IO.File.WriteAllBytes(path, bytes);

    /// <summary>The file's bytes with the CP949 ones put in place of its first non-ASCII or, failing that, after its first quote.</summary>
    public static void NotUtf8(string path)
    {
        var bytes = System.IO.File.ReadAllBytes(path).ToList();
        int at = bytes.IndexOf((byte)'"');
        bytes.InsertRange(at < 0 ? 0 : at + 1, Cp949);
        System.IO.File.WriteAllBytes(path, [.. bytes]);
    }

    public static void Truncate(string path, int keep)
    {
        var bytes = System.IO.File.ReadAllBytes(path);
        System.IO.File.WriteAllBytes(path, bytes[..Math.Min(keep, bytes.Length)]);
    }

    public static void EditJson(string path, Action<JsonObject> edit)
    {
        var root = JsonNode.Parse(System.IO.File.ReadAllText(path))!.AsObject();
        edit(root);
        System.IO.File.WriteAllText(path, root.ToJsonString());
    }

    /// <summary>Puts a folder where a file was.</summary>
    public static void MakeFolder(string path)
    {
        System.IO.File.Delete(path);
        Directory.CreateDirectory(path);
    }

    /// <summary>Path and content hash of every file outside <see cref="Out"/>.</summary>
    public string Hash()
    {
        var lines = Directory.EnumerateFileSystemEntries(Root, "*", SearchOption.AllDirectories)
            .Where(p => !p.StartsWith(Out, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(p => Path.GetRelativePath(Root, p) + " " + (System.IO.File.Exists(p) ? Convert.ToHexString(SHA256.HashData(System.IO.File.ReadAllBytes(p))) : "dir"));
        return string.Join("\n", lines);
    }

    public void Dispose() => dir.Dispose();

    private string Copy(string source, string name)
    {
        var target = Path.Combine(Root, name);
        if (!made.Add(target)) return target;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            System.IO.File.Copy(file, to);
        }
        return target;
    }

    private string CopyFile(string source, string name)
    {
        var target = Path.Combine(Root, name);
        if (!made.Add(target)) return target;
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        System.IO.File.Copy(source, target);
        return target;
    }

    private string WriteOnce(string name, string text)
    {
        var target = Path.Combine(Root, name);
        if (made.Add(target)) System.IO.File.WriteAllText(target, text, new UTF8Encoding(false));
        return target;
    }
}
