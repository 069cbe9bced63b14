using Workbench.Data;
using Workbench.Tokenizers;

namespace Workbench.Training;

/// <summary>
/// The examples a run trains on: records read from <c>data</c>, rendered by the template, tokenised with
/// completion-only labels (or not), truncated to <c>max_length</c>, optionally packed into blocks of that length.
/// Examples left with no target after the causal shift (a label only on the first token) are dropped: a
/// micro-batch of them would have a 0/0 loss.
/// </summary>
public static class TrainingData
{
    public static List<TrainingExample> Load(TrainingConfig c, ITokenizer tokenizer, List<string>? warnings = null)
    {
        PromptTemplate template;
        try { template = PromptTemplates.Get(c.Template); }
        catch (Exception e) when (e is ArgumentException or FormatException) { throw new TrainingConfigException($"template: {e.Message}"); }
        if (!File.Exists(c.Data)) throw new TrainingConfigException($"data: {c.Data}: no such file");

        var issues = new List<DataIssue>();
        var records = InstructionFile.Load(c.Data, template.Schema, c.SkipBadRecords ? BadRecordPolicy.Skip : BadRecordPolicy.Fail, issues);
        var dropped = new List<string>();
        var examples = ExampleEncoder.EncodeAll(tokenizer, template, records, new EncodeOptions(c.MaxLength, c.CompletionOnly), dropped);
        if (c.Packing)
        {
            int eos = tokenizer.EosId ?? throw new TrainingConfigException("packing: the tokenizer has no EOS token to separate examples");
            examples = Packer.Pack(examples, c.MaxLength, eos);
        }
        int before = examples.Count;
        examples = examples.Where(e => e.Labels.Skip(1).Any(l => l != TrainingExample.IgnoreIndex)).ToList();

        warnings?.AddRange(issues.Select(i => $"skipped {i}"));
        warnings?.AddRange(dropped.Select(d => $"dropped {d}: the prompt alone fills max_length {c.MaxLength}"));
        if (before > examples.Count) warnings?.Add($"dropped {before - examples.Count} sequence(s) with no target after the shift");
        if (examples.Count == 0) throw new TrainingConfigException($"data: {c.Data}: no trainable examples (records: {records.Count})");
        return examples;
    }

    /// <summary>The id that fills padded positions (never a target): the tokenizer's pad, else EOS, else 0.</summary>
    public static int PadId(ITokenizer tokenizer) => tokenizer.PadId ?? tokenizer.EosId ?? 0;
}
