namespace Workbench.Data;

/// <summary>
/// The named instruction templates. The split marker <c>{|}</c> sits where the prompt ends; a space that
/// begins the answer goes to the completion, because byte-level BPE tokenisers (GPT-NeoX, Polyglot-ko) attach
/// a leading space to the following word: tokenising "답변:" and " 양파" separately gives the same ids as
/// tokenising "답변: 양파" whole. EOS is not part of any template: <see cref="ExampleEncoder"/> appends the
/// tokenizer's EOS id (written <c>&lt;|endoftext|&gt;</c> in the sources) when configured.
/// </summary>
public static class PromptTemplates
{
    /// <summary>
    /// Stanford Alpaca (tatsu-lab/stanford_alpaca <c>train.py</c>, <c>PROMPT_DICT</c>): "prompt_input" when
    /// the record's input is non-empty, "prompt_no_input" otherwise; the target is the output.
    /// </summary>
    public static readonly PromptTemplate Alpaca = new("alpaca",
        "Below is an instruction that describes a task, paired with an input that provides further context. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n{|}{output}",
        "Below is an instruction that describes a task. " +
        "Write a response that appropriately completes the request.\n\n" +
        "### Instruction:\n{instruction}\n\n### Response:\n{|}{output}");

    /// <summary>
    /// KoAlpaca v1.1 (Beomi/KoAlpaca QLoRA Colab for v1.1a on Polyglot-ko):
    /// <c>f"### 질문: {instruction}\n\n### 답변: {output}&lt;|endoftext|&gt;"</c>; the inference prompt is
    /// <c>"### 질문: {q}\n\n### 답변:"</c>. KoAlpaca v1.1a outputs already end with the literal
    /// <c>&lt;|endoftext|&gt;</c>; the Colab's f-string then doubles it. We do not: a tokenizer that maps that
    /// text to its EOS id ends the sequence with one EOS, and the encoder adds none when one is already last.
    /// </summary>
    public static readonly PromptTemplate KoAlpaca = new("koalpaca", "### 질문: {instruction}\n\n### 답변:{|} {output}");

    /// <summary>
    /// The IA3 seed's format <c>"{instruction}\n\n정답: {output}&lt;|endoftext|&gt;"</c>: prompt
    /// <c>"{instruction}\n\n정답:"</c>, completion <c>" {output}"</c>, EOS appended by the encoder.
    /// </summary>
    public static readonly PromptTemplate Ia3Seed = new("ia3-seed", "{instruction}\n\n정답:{|} {output}");

    public static IReadOnlyList<PromptTemplate> All { get; } = [Alpaca, KoAlpaca, Ia3Seed];

    /// <summary>A named template, or a custom one when <paramref name="nameOrFormat"/> contains the split marker.</summary>
    public static PromptTemplate Get(string nameOrFormat)
    {
        var named = All.FirstOrDefault(t => t.Name == nameOrFormat);
        if (named is not null) return named;
        if (nameOrFormat.Contains(TemplateFormat.SplitMarker)) return new PromptTemplate("custom", nameOrFormat);
        throw new ArgumentException(
            $"unknown prompt template '{nameOrFormat}': use one of {string.Join(", ", All.Select(t => t.Name))} " +
            $"or a format string with {{field}} placeholders and the split marker {TemplateFormat.SplitMarker}");
    }
}
