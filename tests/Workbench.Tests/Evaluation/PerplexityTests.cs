using Workbench.Engine;
using Workbench.Evaluation;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Evaluation;

public class PerplexityTests
{
    private static CausalLMModule Tiny() => CausalLM.Load(Fixtures.PathOf("models/llama_gqa"));

    [Fact]
    public void SlidingWindowsMatchThePyTorchRecipe()
    {
        var model = Tiny();
        var r = Fixtures.Load("models/llama_gqa/reference.safetensors");
        var ids = r["ppl_ids"].ToArray().Select(v => (int)v).ToArray();      // 20 tokens
        var overlapping = Perplexity.OfIds(model, [ids], maxLength: 8, stride: 3);
        var disjoint = Perplexity.OfIds(model, [ids], maxLength: 8, stride: 8);
        // Every token but the first is scored with stride 3; disjoint windows cannot score their first tokens (0 and 8, 16).
        Assert.Equal(19, overlapping.Tokens);
        Assert.Equal(17, disjoint.Tokens);
        Assert.Equal([19f, 17f], r["ppl_tokens"].ToArray());
        Assert.Equal(r["ppl_nll_w8_s3"].Item(), overlapping.Nll, 1e-5);
        Assert.Equal(r["ppl_nll_w8_s8"].Item(), disjoint.Nll, 1e-5);
        Assert.Equal(Math.Exp(overlapping.Nll), overlapping.Ppl, 1e-9);
        Assert.NotEqual(overlapping.Nll, disjoint.Nll, 1e-4);                  // the extra context matters
    }

    [Fact]
    public void OneWindowEqualsTheMeanLogSoftmaxByHand()
    {
        var model = Tiny();
        int[] ids = [1, 7, 33, 12, 9, 51, 4];
        var result = Perplexity.OfIds(model, [ids], maxLength: 16, stride: 16);
        float[] logSoftmax;
        using (GradMode.NoGrad()) logSoftmax = model.Forward(ids, 1, ids.Length).LogSoftmax(-1).ToArray();
        double byHand = 0;
        for (int j = 1; j < ids.Length; j++) byHand -= logSoftmax[(j - 1) * 64 + ids[j]];
        Assert.Equal(6, result.Tokens);
        Assert.Equal(byHand / 6, result.Nll, 1e-5);

        // Two documents pool their tokens: (6·nll₁ + 6·nll₂) / 12.
        var twice = Perplexity.OfIds(model, [ids, ids], maxLength: 16, stride: 16);
        Assert.Equal(12, twice.Tokens);
        Assert.Equal(result.Nll, twice.Nll, 1e-9);
    }

    [Fact]
    public void JsonlDocumentsComeFromTheGivenField()
    {
        using var dir = new TempDir();
        File.WriteAllLines(dir.File("d.jsonl"), ["""{"text": "hello", "body": "abc"}""", "", """{"text": "world", "body": "de"}"""]);
        Assert.Equal(["hello", "world"], Perplexity.ReadDocuments(dir.File("d.jsonl")));
        Assert.Equal(["abc", "de"], Perplexity.ReadDocuments(dir.File("d.jsonl"), "body"));
        var e = Assert.Throws<FormatException>(() => Perplexity.ReadDocuments(dir.File("d.jsonl"), "missing"));
        Assert.Contains("d.jsonl:1", e.Message);
        File.WriteAllText(dir.File("plain.txt"), "one\ntwo\n");
        Assert.Equal(["one\ntwo\n"], Perplexity.ReadDocuments(dir.File("plain.txt")));
        File.WriteAllText(dir.File("r.tsv"), "id\tdocument\tlabel\n1\t좋다\t1\n2\t\t0\n3\t별로\t0\n");
        Assert.Equal(["좋다", "별로"], Perplexity.ReadDocuments(dir.File("r.tsv"), column: "document"));   // wb ppl --column

        var tokenizer = new CharTokenizer();
        var model = Tiny();
        var texts = Perplexity.OfTexts(model, tokenizer, ["hello", "world"], 8, 4);
        var ids = Perplexity.OfIds(model, [tokenizer.Encode("hello"), tokenizer.Encode("world")], 8, 4);
        Assert.Equal(ids, texts);
        Assert.Equal(10, texts.Tokens);
    }

    [Fact]
    public void BadWindowsAreRejected()
    {
        var model = Tiny();
        Assert.Throws<ArgumentOutOfRangeException>(() => Perplexity.OfIds(model, [[1, 2, 3]], 8, 9));
        Assert.Throws<ArgumentOutOfRangeException>(() => Perplexity.OfIds(model, [[1, 2, 3]], 65, 8));
        Assert.Throws<ArgumentException>(() => Perplexity.OfIds(model, [[1]], 8, 8));
    }
}
