namespace Workbench.Data;

/// <summary>
/// One instruction-tuning record: its string fields (e.g. instruction, input, output) and where it came from,
/// so later stages (templates, tokenisation) can still name the file and line of a bad record.
/// </summary>
public sealed record InstructionRecord(IReadOnlyDictionary<string, string> Fields, string Source, int Line)
{
    public string Location => $"{Source}:{Line}";

    public string this[string field] => Fields.TryGetValue(field, out var v)
        ? v : throw new KeyNotFoundException($"{Location}: record has no field '{field}'");

    public bool Has(string field) => Fields.ContainsKey(field);
}

/// <summary>Which fields a record must have (string, non-null) and which it may have; other fields are ignored.</summary>
public sealed record RecordSchema(IReadOnlyList<string> Required, IReadOnlyList<string> Optional)
{
    public IEnumerable<string> All => Required.Concat(Optional);
}
