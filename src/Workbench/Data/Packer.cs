namespace Workbench.Data;

/// <summary>
/// Packs short examples into fixed-length blocks, as Hugging Face's <c>run_clm.py</c> <c>group_texts</c> does:
/// concatenate everything, then cut into blocks of <c>blockSize</c>. Examples are separated by EOS: one is
/// inserted after an example that does not already end with EOS; its label is EOS when the example's last
/// position carried a loss (it ends a completion) and −100 otherwise. Labels move with their tokens.
/// Attention is not masked across example boundaries within a block (as in <c>run_clm.py</c>).
/// The final partial block is kept (shorter; the collator pads it) unless <c>dropRemainder</c>.
/// </summary>
public static class Packer
{
    public static List<TrainingExample> Pack(IEnumerable<TrainingExample> examples, int blockSize, int eosId, bool dropRemainder = false)
    {
        if (blockSize <= 0) throw new ArgumentException($"Packer: block size must be positive, got {blockSize}");
        var blocks = new List<TrainingExample>();
        var ids = new List<int>(blockSize);
        var labels = new List<int>(blockSize);

        void Push(int id, int label)
        {
            ids.Add(id);
            labels.Add(label);
            if (ids.Count < blockSize) return;
            blocks.Add(new TrainingExample(ids.ToArray(), labels.ToArray()));
            ids.Clear();
            labels.Clear();
        }

        foreach (var ex in examples)
        {
            for (int t = 0; t < ex.Length; t++) Push(ex.InputIds[t], ex.Labels[t]);
            if (ex.Length > 0 && ex.InputIds[^1] != eosId)
                Push(eosId, ex.Labels[^1] == TrainingExample.IgnoreIndex ? TrainingExample.IgnoreIndex : eosId);
        }
        if (ids.Count > 0 && !dropRemainder) blocks.Add(new TrainingExample(ids.ToArray(), labels.ToArray()));
        return blocks;
    }
}
