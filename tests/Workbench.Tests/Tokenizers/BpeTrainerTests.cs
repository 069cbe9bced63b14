using Workbench.Formats;
using System.Text;
using System.IO.Compression;
using System.Text.Json;
using Workbench.Tests.Support;
using Workbench.Tokenizers;
using Workbench.Tokenizers.Training;
using Xunit.Abstractions;

namespace Workbench.Tests.Tokenizers;

/// <summary>
/// The BPE trainer against hand-computed merges, against Hugging Face's own BpeTrainer (merges of the same corpus),
/// and its byte-level tokenizer.json against Hugging Face's encoder (fixtures from tests/fixtures/tokenizers/make_trained_reference.js).
/// </summary>
public class BpeTrainerTests(ITestOutputHelper output)
{
    const string Trained = "tokenizers/trained/nsmc2000";

    static List<string> Merges(BpeVocabulary v) => v.Merges.Select(m => m.Left + " " + m.Right).ToList();

    static IEnumerable<string> NsmcDocuments() =>
        new TrainingText(Column: "document").Read([RepoPaths.Data("nsmc/ratings_train_2000.txt"), RepoPaths.Data("nsmc/ratings_test_600.txt")]);

    [Fact]
    public void HandComputedMergesWithTies()
    {
        // Alphabet b g h n p s u → ids 0..6. Pair counts: ug 20, pu 17, un 16, hu 15, gs 5, bu 4.
        //   1. u g (20) → ug 7: hu 15→0, pu 17→12, gs→0; new h·ug 15, p·ug 5, ug·s 5
        //   2. u n (16) → un 8: pu 12→0, bu→0; new p·un 12, b·un 4
        //   3. h ug (15) → hug 9: ug·s→0; new hug·s 5
        //   4. p un (12) → pun 10
        //   5. tie at 5: p·ug (4, 7) before hug·s (9, 5), the smaller pair; 6. hug s → hugs 12; 7. b un (4) → bun 13
        var words = new Dictionary<string, long> { ["hug"] = 10, ["pug"] = 5, ["pun"] = 12, ["bun"] = 4, ["hugs"] = 5 };
        var all = new BpeTrainer(vocabSize: 100).Train(words);
        Assert.Equal(["u g", "u n", "h ug", "p un", "p ug", "hug s", "b un"], Merges(all));
        Assert.Equal(["b", "g", "h", "n", "p", "s", "u", "ug", "un", "hug", "pun", "pug", "hugs", "bun"], all.Tokens);
        // min_frequency 5 stops before "b un" (4); vocab_size 10 stops after three merges.
        Assert.Equal(7 + 6, new BpeTrainer(vocabSize: 100, minFrequency: 5).Train(words).Tokens.Count);
        Assert.Equal(["u g", "u n", "h ug"], Merges(new BpeTrainer(vocabSize: 10).Train(words)));

        // Ties go to the smaller (left id, right id), not to what was seen first; special tokens take ids 0, 1.
        var tie = new BpeTrainer(vocabSize: 100, specialTokens: ["<s>", "<pad>"]).Train(new Dictionary<string, long> { ["zy"] = 3, ["ab"] = 3 });
        Assert.Equal(["a b", "z y"], Merges(tie));
        Assert.Equal(["<s>", "<pad>", "a", "b", "y", "z", "ab", "zy"], tie.Tokens);
    }

    [Fact]
    public void MatchesTokenizersUnitTest()
    {
        // tokenizers/src/models/bpe/trainer.rs test_train: min_frequency 2 gives re, are, is with ids 22, 23, 24.
        var words = new Dictionary<string, long>
        {
            ["roses"] = 1, ["are"] = 2, ["red"] = 1, ["voilets"] = 1, ["blue"] = 1, ["BERT"] = 1,
            ["is"] = 2, ["big"] = 1, ["and"] = 1, ["so"] = 1, ["GPT-2"] = 1,
        };
        var v = new BpeTrainer(vocabSize: 30000, minFrequency: 2).Train(words);
        Assert.Equal(["r e", "a re", "i s"], Merges(v));
        Assert.Equal("-2BEGPRTabdegilnorstuv", string.Concat(v.Tokens.Take(22)));
        Assert.Equal(["re", "are", "is"], v.Tokens.Skip(22));
    }

    [Fact]
    public void MergesEqualHuggingFaceBpeTrainer()
    {
        // make_trained_reference.js trains HF's BpeTrainer (defaults: vocab 30000, min_frequency 0, no initial alphabet)
        // on the NSMC train documents, one per line, through NFC + ByteLevel. All 20,078 merges, down to count-1 ties.
        var texts = new TrainingText(Column: "document").Read(RepoPaths.Data("nsmc/ratings_train_2000.txt")).Select(d => d + "\n");
        var ours = new BpeTrainer(vocabSize: 30000).Train(ByteLevelBpe.CountWords(texts));
        using var gz = new GZipStream(File.OpenRead(Fixtures.PathOf("tokenizers/trained/hf_merges_nsmc2000.txt.gz")), CompressionMode.Decompress);
        var expected = new StreamReader(gz).ReadToEnd().TrimEnd('\n').Split('\n');
        var actual = Merges(ours);
        Assert.Equal(20078, expected.Length);
        int firstDifference = Enumerable.Range(0, Math.Min(expected.Length, actual.Count)).FirstOrDefault(i => expected[i] != actual[i], -1);
        Assert.True(firstDifference < 0, $"merge {firstDifference}: ours '{(firstDifference >= 0 ? actual[firstDifference] : "")}', HF '{(firstDifference >= 0 ? expected[firstDifference] : "")}'");
        Assert.Equal(expected.Length, actual.Count);
    }

    [Fact]
    public void TrainedTokenizerEncodesAsHuggingFace()
    {
        // Ids that HF tokenizers gives with our committed tokenizer.json (vocab 2000 on ratings_train_2000 documents).
        var tokenizer = Tokenizer.Load(Fixtures.PathOf(Trained));
        var lines = NsmcDocuments().ToList();
        using var gz = new GZipStream(File.OpenRead(Fixtures.PathOf("tokenizers/trained/expected_nsmc2000.jsonl.gz")), CompressionMode.Decompress);
        var expected = new StreamReader(gz).ReadToEnd().TrimEnd('\n').Split('\n').Select(l => JsonSerializer.Deserialize<int[]>(l)!).ToList();
        Assert.Equal(2592, lines.Count);
        Assert.Equal(lines.Count, expected.Count);
        for (int i = 0; i < lines.Count; i++)
            Assert.True(expected[i].SequenceEqual(tokenizer.Encode(lines[i])), $"line {i} '{lines[i]}': ids differ from HF");
        Assert.Equal(2000, tokenizer.VocabSize);
        Assert.Equal((0, 0, 1), (tokenizer.BosId, tokenizer.EosId, tokenizer.PadId));
    }

    [Fact]
    public void KoTinyTokenizerEncodesAsHuggingFaceAndRoundTrips()
    {
        // ko-tiny's tokenizer (wb pretrain, vocab 8000 on all NSMC training reviews and KoAlpaca): HF's ids on the
        // shipped NSMC samples, and each document back from its ids (NFC, the tokenizer's normaliser)
        var tokenizer = Tokenizer.Load(RepoPaths.Data("tokenizers/ko-tiny"));
        var lines = NsmcDocuments().ToList();
        using var gz = new GZipStream(File.OpenRead(Fixtures.PathOf("tokenizers/trained/expected_ko-tiny.jsonl.gz")), CompressionMode.Decompress);
        var expected = new StreamReader(gz).ReadToEnd().TrimEnd('\n').Split('\n').Select(l => JsonSerializer.Deserialize<int[]>(l)!).ToList();
        Assert.Equal(lines.Count, expected.Count);
        for (int i = 0; i < lines.Count; i++)
        {
            var ids = tokenizer.Encode(lines[i]);
            Assert.True(expected[i].SequenceEqual(ids), $"line {i} '{lines[i]}': ids differ from HF");
            Assert.Equal(UnicodeNormalization.Nfc(lines[i]), tokenizer.Decode(ids));
        }
        Assert.Equal(8000, tokenizer.VocabSize);
    }

    [Fact]
    public void KoTinyRoundTripsEveryNsmcDocument()
    {
        // all 200,000 NSMC rows when ../shared is beside the checkout (CI, developers); the shipped samples above otherwise.
        // NFC is ours (checked against Python's unicodedata): string.Normalize does nothing beyond ASCII under the
        // invariant globalization we build with, and 16 reviews hold CJK compatibility ideographs (U+F933 → U+76E7).
        var files = new[] { "data/nsmc/ratings_train.txt", "data/nsmc/ratings_test.txt" }.Select(RepoPaths.Shared).ToList();
        if (files.Any(f => f is null))
        {
            output.WriteLine("../shared/data/nsmc not found (a fresh clone): the shipped samples are checked by KoTinyTokenizerEncodesAsHuggingFaceAndRoundTrips");
            return;
        }
        var tokenizer = Tokenizer.Load(RepoPaths.Data("tokenizers/ko-tiny"));
        int documents = 0;
        var failures = new List<string>();
        foreach (var line in new TrainingText(Column: "document").Read(files!))
        {
            documents++;
            if (tokenizer.Decode(tokenizer.Encode(line)) != UnicodeNormalization.Nfc(line)) failures.Add(line);
        }
        Assert.True(documents > 199_000, $"{documents} documents");   // 200,000 rows less the empty ones
        Assert.True(failures.Count == 0, $"{failures.Count} documents do not round-trip, e.g. '{failures.FirstOrDefault()}'");
    }

    [Fact]
    public void RetrainingReproducesTheCommittedFileAndRoundTrips()
    {
        using var dir = new TempDir();
        string outDir = dir.File("tok");
        var options = new ByteLevelBpeOptions(VocabSize: 2000);
        var vocabulary = ByteLevelBpe.Train(new TrainingText(Column: "document").Read(RepoPaths.Data("nsmc/ratings_train_2000.txt")), options);
        Assert.Equal(2000, vocabulary.Tokens.Count);
        Assert.Equal(["<|endoftext|>", "<|padding|>", "!", "\"", "#"], vocabulary.Tokens.Take(5));
        Assert.Equal("Ń", vocabulary.Tokens[257]);                // the last of the 256 byte characters (byte 0xAD)
        ByteLevelBpe.Save(vocabulary, options, outDir);
        Assert.Throws<OutputRefusedException>(() => ByteLevelBpe.Save(vocabulary, options, outDir));   // an earlier tokenizer: only with force
        ByteLevelBpe.Save(vocabulary, options, outDir, force: true);
        Assert.Equal([".workbench-output", "tokenizer.json", "tokenizer_config.json"], Directory.GetFileSystemEntries(dir.Path, "*", SearchOption.AllDirectories)
            .Select(Path.GetFileName).Where(n => n != "tok").Order(StringComparer.Ordinal));
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" })
            Assert.Equal(File.ReadAllText(Fixtures.PathOf($"{Trained}/{file}")), File.ReadAllText(Path.Combine(outDir, file)));

        var tokenizer = Tokenizer.Load(outDir);
        foreach (string line in NsmcDocuments())
            Assert.Equal(line, tokenizer.Decode(tokenizer.Encode(line)));
    }

    [Fact]
    public void ReadsTsvColumnsJsonFieldsAndPlainLines()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("a.tsv"), "id\tdocument\tlabel\n1\t좋아요\t1\n2\t\t0\n\n3\t별로\t0\n");
        File.WriteAllText(dir.File("b.jsonl"), "{\"instruction\": \"질문\", \"input\": \"x\", \"output\": \"답\\n끝\"}\n\n{\"instruction\": \"둘\"}\n");
        File.WriteAllText(dir.File("c.txt"), "한 줄\n둘째\r\n끝");
        Assert.Equal(["좋아요", "별로"], new TrainingText(Column: "document").Read(dir.File("a.tsv")));
        Assert.Equal(["질문", "답\n끝", "둘"], new TrainingText(Fields: ["instruction", "output"]).Read(dir.File("b.jsonl")));
        Assert.Equal(["한 줄\n", "둘째\r\n", "끝"], new TrainingText().Read(dir.File("c.txt")));
        Assert.Contains("no column 'text'", Assert.Throws<FormatException>(() => new TrainingText(Column: "text").Read(dir.File("a.tsv")).ToList()).Message);
        Assert.Contains("c.txt:1", Assert.Throws<FormatException>(() => new TrainingText(Fields: ["x"]).Read(dir.File("c.txt")).ToList()).Message);
    }
}
