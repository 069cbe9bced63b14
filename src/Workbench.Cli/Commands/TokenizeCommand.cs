using System.CommandLine;
using Workbench.Tokenizers;

namespace Workbench.Cli.Commands;

/// <summary><c>wb tokenize PATH [--json] [--no-special]</c>: token ids of each line of stdin, one line out per line in.</summary>
public static class TokenizeCommand
{
    public static Command Build()
    {
        var path = new Argument<string>("path") { Description = "tokenizer folder (tokenizer.json or tokenizer.model) or file" };
        var json = new Option<bool>("--json") { Description = "print each line's ids as a JSON array" };
        var noSpecial = new Option<bool>("--no-special") { Description = "do not add BOS/EOS special tokens" };
        var command = new Command("tokenize", "Encode lines from stdin into token ids") { path, json, noSpecial };
        command.SetAction(pr =>
        {
            using var stdout = new StreamWriter(Console.OpenStandardOutput());   // buffered: one flush at the end
            return Run(pr.GetValue(path)!, pr.GetValue(json), pr.GetValue(noSpecial), Console.In, stdout);
        });
        return command;
    }

    /// <summary>Encodes every line of <paramref name="input"/>; returns 0, or 2 (with a message on stderr) if the tokenizer cannot be loaded.</summary>
    public static int Run(string path, bool json, bool noSpecial, TextReader input, TextWriter output)
    {
        ITokenizer tokenizer;
        try { tokenizer = Tokenizer.Load(path); }
        catch (Exception e) when (e is IOException or FormatException or NotSupportedException or UnauthorizedAccessException)
        {
            return CliOutput.Fail($"tokenize: cannot load tokenizer: {e.Message}");
        }
        for (string? line; (line = input.ReadLine()) != null;)
        {
            var ids = tokenizer.Encode(line, addSpecialTokens: !noSpecial);
            output.WriteLine(json ? "[" + string.Join(",", ids) + "]" : string.Join(" ", ids));
        }
        output.Flush();
        return 0;
    }
}
