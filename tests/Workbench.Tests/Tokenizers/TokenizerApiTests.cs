using Workbench.Cli.Commands;
using Workbench.Tests.Support;
using Workbench.Tokenizers;

namespace Workbench.Tests.Tokenizers;

/// <summary>Loader, special ids, vocabulary lookups and the <c>wb tokenize</c> command, on the committed tokenizers.</summary>
public class TokenizerApiTests
{
    static readonly string NeoX = RepoPaths.Data("tokenizers/gpt-neox-20b");
    static readonly string Stories = RepoPaths.Data("tokenizers/stories260K/tokenizer.model");

    [Fact]
    public void LoadsFolderOrFile()
    {
        Assert.IsType<HfTokenizer>(Tokenizer.Load(NeoX));
        Assert.IsType<HfTokenizer>(Tokenizer.Load(Path.Combine(NeoX, "tokenizer.json")));
        Assert.IsType<SentencePieceTokenizer>(Tokenizer.Load(Stories));
        Assert.IsType<SentencePieceTokenizer>(Tokenizer.Load(Path.GetDirectoryName(Stories)!));
    }

    [Fact]
    public void BadPathsNameThePath()
    {
        var missing = Assert.Throws<FileNotFoundException>(() => Tokenizer.Load("/nonexistent/tok"));
        Assert.Contains("/nonexistent/tok", missing.Message);
        string empty = Directory.CreateTempSubdirectory().FullName;
        Assert.Contains("neither tokenizer.json nor tokenizer.model", Assert.Throws<FileNotFoundException>(() => Tokenizer.Load(empty)).Message);
        string junk = Path.Combine(empty, "tokenizer.model");
        File.WriteAllBytes(junk, [0x0A, 0x7F, 0x01]);   // field 1, length 127, but only one byte follows
        Assert.Contains(junk, Assert.Throws<FormatException>(() => Tokenizer.Load(junk)).Message);
    }

    [Fact]
    public void GptNeoXVocabularyAndSpecials()
    {
        var t = Tokenizer.Load(NeoX);
        Assert.Equal(50281, t.VocabSize);                 // ids 0..50,280: 50,254 BPE entries + 27 added tokens, = tokenizers get_vocab_size(true)
        Assert.Equal(0, t.EosId);                         // <|endoftext|>, no tokenizer_config.json: the usual name
        Assert.Null(t.BosId);                             // the ByteLevel post-processor adds nothing
        Assert.Equal(1, t.PadId);                         // <|padding|>
        Assert.Equal("Ġthe", t.IdToToken(t.TokenToId("Ġthe")!.Value));
        Assert.Null(t.TokenToId("not a token"));
        Assert.Equal([12092, 1533], t.Encode("Hello world"));
        Assert.Equal([0, 12092], t.Encode("<|endoftext|>Hello"));
    }

    [Fact]
    public void StoriesAddsBosLikeLlama()
    {
        var t = Tokenizer.Load(Stories);
        Assert.Equal(512, t.VocabSize);
        Assert.Equal((1, 2), (t.BosId!.Value, t.EosId!.Value));
        var ids = t.Encode("Once upon a time");
        Assert.Equal(1, ids[0]);
        Assert.Equal(ids[1..], t.Encode("Once upon a time", addSpecialTokens: false));
        Assert.Equal("Once upon a time", t.Decode(ids));
        Assert.Equal("<0x0A>", t.IdToToken(t.Encode("\n", false)[^1]));   // newline falls back to its byte piece
    }

    [Fact]
    public void CliPrintsIdsPerLine()
    {
        var output = new StringWriter();
        int code = TokenizeCommand.Run(NeoX, json: true, noSpecial: false, new StringReader("Hello world\n<|endoftext|>\n"), output);
        Assert.Equal(0, code);
        Assert.Equal("[12092,1533]\n[0]\n", output.ToString().Replace("\r\n", "\n"));

        output = new StringWriter();
        TokenizeCommand.Run(Stories, json: false, noSpecial: true, new StringReader("Once upon a time\n"), output);
        Assert.Equal(string.Join(" ", Tokenizer.Load(Stories).Encode("Once upon a time", false)) + "\n", output.ToString().Replace("\r\n", "\n"));
    }

    [Fact]
    public void CliBadPathExitsWithTwo()
    {
        Assert.Equal(2, TokenizeCommand.Run("/nonexistent/tok", false, false, new StringReader(""), new StringWriter()));
        Assert.Equal(2, Workbench.Cli.Program.Main(["tokenize", "/nonexistent/tok"]));
    }
}
