using Workbench.Engine.Nn;

namespace Workbench.Adapters.Merge;

/// <summary>
/// Folding adapters into the base weights (PEFT's merge_adapter / unmerge_adapter / merge_and_unload / unload).
/// LoRA: W ← W + s·B·A. IA3: W rows ← ·l (attention, bias too) or columns ← ·l (feed-forward); unmerge divides by
/// l + 1e-8. Merged values are stored back in the base weight's dtype. Quantised base layers are refused.
/// </summary>
public static class AdapterMerge
{
    /// <summary>Merges the given adapters (default: the active one) into every layer, keeping the adapter layers.</summary>
    public static void Merge(PeftModel peft, IReadOnlyList<string>? adapters = null)
    {
        adapters ??= [peft.ActiveAdapter];
        foreach (var (_, layer) in peft.Layers()) layer.Merge(adapters.Where(layer.AdapterNames.Contains));
    }

    /// <summary>Takes every merged adapter back out.</summary>
    public static void Unmerge(PeftModel peft)
    {
        foreach (var (_, layer) in peft.Layers()) layer.Unmerge();
    }

    /// <summary>
    /// Merges, then replaces every adapter layer by its base layer: the result is the base model's own module tree
    /// with Hugging Face names, modules_to_save copies in place of the originals (as PEFT does).
    /// </summary>
    public static Module MergeAndUnload(PeftModel peft, IReadOnlyList<string>? adapters = null)
    {
        Merge(peft, adapters);
        return Unwrap(peft);
    }

    /// <summary>Removes the adapters without merging: the base model as it was (modules_to_save originals restored).</summary>
    public static Module Unload(PeftModel peft)
    {
        Unmerge(peft);
        foreach (var (key, original) in peft.SavedOriginals) peft.SetParameterAt(key, original);
        return Unwrap(peft);
    }

    private static Module Unwrap(PeftModel peft)
    {
        foreach (var (path, layer) in peft.Layers().ToList()) peft.Model.ReplaceModule(path, layer.BaseLayer);
        return peft.Model;
    }
}
