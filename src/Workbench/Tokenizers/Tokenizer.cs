namespace Workbench.Tokenizers;

/// <summary>Opens a tokenizer from a Hugging Face folder or file.</summary>
public static class Tokenizer
{
    /// <summary>
    /// <paramref name="path"/> is a folder holding <c>tokenizer.json</c> (with an optional <c>tokenizer_config.json</c>)
    /// or <c>tokenizer.model</c>, or one of those files itself.
    /// </summary>
    public static ITokenizer Load(string path)
    {
        if (Directory.Exists(path))
        {
            string json = Path.Combine(path, "tokenizer.json"), model = Path.Combine(path, "tokenizer.model");
            if (File.Exists(json)) return HfTokenizer.Load(json);
            if (File.Exists(model)) return SentencePieceTokenizer.Load(model);
            throw new FileNotFoundException($"{path}: folder has neither tokenizer.json nor tokenizer.model", path);
        }
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such tokenizer file or folder", path);
        return IsJson(path) ? HfTokenizer.Load(path) : SentencePieceTokenizer.Load(path);
    }

    static bool IsJson(string path)
    {
        if (path.EndsWith(".json", StringComparison.OrdinalIgnoreCase)) return true;
        if (path.EndsWith(".model", StringComparison.OrdinalIgnoreCase)) return false;
        using var stream = File.OpenRead(path);
        int b;
        while ((b = stream.ReadByte()) is ' ' or '\t' or '\r' or '\n' or 0xEF or 0xBB or 0xBF) { }
        return b == '{';
    }
}
