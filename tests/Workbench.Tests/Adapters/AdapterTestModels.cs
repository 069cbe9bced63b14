using Workbench.Models;
using Workbench.Adapters;
using Workbench.Adapters.Merge;
using Workbench.Engine;
using Workbench.Engine.Nn;
using Workbench.Models.Llama;
using Workbench.Tests.Support;

namespace Workbench.Tests.Adapters;

/// <summary>The tiny Llama and PEFT adapters written by tests/fixtures/make_adapters.py, and small hand-built trees.</summary>
internal static class AdapterTestModels
{
    public static string BaseDir => Fixtures.PathOf("adapters/base");
    public static string LoraDir => Fixtures.PathOf("adapters/lora");
    public static string Ia3Dir => Fixtures.PathOf("adapters/ia3");
    public static Dictionary<string, Tensor> Reference => Fixtures.Load("adapters/reference.safetensors");

    public static LlamaForCausalLM TinyLlama() => (LlamaForCausalLM)CausalLM.Load(BaseDir);

    public static readonly int[] Ids = [3, 17, 5, 29, 0, 11, 8, 2];

    /// <summary>Logits [2, 4, 32] of the model for <see cref="Ids"/> without recording a graph.</summary>
    public static Tensor Logits(Module model)
    {
        using var _ = GradMode.NoGrad();
        return ((CausalLMModule)model).Forward(Ids, 2, 4);
    }

    /// <summary>A GPT-NeoX-shaped block: attention.query_key_value (fused, biased), attention.dense, mlp.dense_h_to_4h/dense_4h_to_h.</summary>
    public static Container NeoXBlock(int d = 6, int seed = 1)
    {
        var rng = new Random(seed);
        Linear L(int o, int i) => new(Tensor.Randn(rng, 0.3f, o, i), Tensor.Randn(rng, 0.1f, o));
        var root = new Container();
        var layer = root.Add("gpt_neox", new Container()).Add("layers", new Container()).Add("0", new Container());
        var attention = layer.Add("attention", new Container());
        attention.Add("query_key_value", L(3 * d, d));
        attention.Add("dense", L(d, d));
        var mlp = layer.Add("mlp", new Container());
        mlp.Add("dense_h_to_4h", L(4 * d, d));
        mlp.Add("dense_4h_to_h", L(d, 4 * d));
        root.Add("embed_out", L(10, d));
        return root;
    }

    public static LinearLayer At(Module m, string path) => (LinearLayer)m.Find(path);
}
