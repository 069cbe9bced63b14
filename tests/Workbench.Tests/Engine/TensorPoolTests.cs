using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Models;

namespace Workbench.Tests.Engine;

public class TensorPoolTests
{
    [Fact]
    public void AScopeReturnsItsArraysAndTheNextScopeReusesThem()
    {
        float[] first;
        using (TensorPool.Begin())
        {
            var t = Tensor.Zeros(3, TensorPool.MinPooled);
            first = t.Data;
            Tensor.Zeros(TensorPool.MinPooled + 7);                            // another size, also returned
        }
        using (TensorPool.Begin())
        {
            var again = Tensor.Zeros(3, TensorPool.MinPooled);
            Assert.Same(first, again.Data);
            Assert.All(again.Data, v => Assert.Equal(0f, v));                  // Zeros clears a reused array
        }
        Assert.NotSame(first, Tensor.Zeros(3, TensorPool.MinPooled).Data);       // outside a scope: the GC's
    }

    [Fact]
    public void AnEscapedTensorIsNeverHandedOutAgainAndSmallOnesAreNotPooled()
    {
        Tensor kept, small;
        using (TensorPool.Begin())
        {
            kept = Tensor.Zeros(2 * TensorPool.MinPooled + 1);
            small = Tensor.Zeros(16);
            TensorPool.Escape(kept);
            kept.Data[0] = 5f;
        }
        using (TensorPool.Begin())
        {
            Assert.NotSame(kept.Data, Tensor.Zeros(2 * TensorPool.MinPooled + 1).Data);
            Assert.False(TensorPool.Holds(small));
        }
        Assert.Equal(5f, kept.Data[0]);
    }

    [Fact]
    public void ScopesEndInReverseOrderAndAMisorderedEndLeavesNoScopeOpen()
    {
        var outer = TensorPool.Begin();
        var inner = TensorPool.Begin();
        Assert.Throws<InvalidOperationException>(outer.Dispose);
        inner.Dispose();
        outer.Dispose();
        // the refused Dispose did not count: the thread is outside every scope again (a scope left open would pool
        // every later allocation of this thread, another test's included)
        using (TensorPool.Begin()) { }
        Assert.False(TensorPool.Holds(Tensor.Zeros(TensorPool.MinPooled)));
    }

    [Fact]
    public void OnlyTheInnermostScopesArraysGoBackEarly()
    {
        using var outer = TensorPool.Begin();
        var fromOuter = Tensor.Zeros(TensorPool.MinPooled);
        using (TensorPool.Begin())
        {
            TensorPool.Release(fromOuter);                                      // outer work may still read it
            Assert.NotSame(fromOuter.Data, Tensor.Zeros(TensorPool.MinPooled).Data);
        }
    }

    /// <summary>
    /// A small Llama with LoRA on every linear layer, large enough that its activations are pooled: two steps with
    /// checkpointing (the pool reused from the first step in the second, returned arrays poisoned with NaN) give
    /// the losses and gradients of two plain steps.
    /// </summary>
    [Fact]
    public void CheckpointedStepsWithPooledTemporariesMatchPlainSteps()
    {
        var config = ModelConfig.Parse("""{"model_type":"llama","hidden_size":128,"intermediate_size":512,"num_hidden_layers":2,"num_attention_heads":4,"vocab_size":300,"max_position_embeddings":128,"tie_word_embeddings":false}""", "pool-test");
        var ids = Enumerable.Range(0, 128).Select(i => i * 11 % 300).ToArray();
        var targets = Enumerable.Range(0, 128).Select(i => i * 13 % 300).ToArray();
        (float[] Losses, float[][] Grads) Run(bool checkpointing)
        {
            var model = CausalLM.Create(config, WeightSources.Random(3));
            model.GradientCheckpointing = checkpointing;
            PeftModel.Create(model, new LoraConfig { R = 4, TargetModules = TargetModules.AllLinear, InitLoraWeights = LoraInit.Random });
            var trainable = model.TrainableParameters().ToList();
            var losses = new float[2];
            for (int step = 0; step < 2; step++)
            {
                foreach (var p in trainable) p.Grad = null;
                var loss = Ops.CrossEntropy(model.Forward(ids, 1, 128).Reshape(128, 300), targets);
                loss.Backward();
                losses[step] = loss.Item();
                foreach (var p in trainable) Ops.CopyInto(Ops.Sub(p, Ops.Scale(p.Grad!, 0.1f)).Detach(), p);
            }
            return (losses, trainable.Select(p => p.Grad!.ToArray()).ToArray());
        }
        var plain = Run(checkpointing: false);
        TensorPool.Poison = true;
        try
        {
            var pooled = Run(checkpointing: true);
            Assert.Equal(plain.Losses, pooled.Losses);
            for (int i = 0; i < plain.Grads.Length; i++) Assert.Equal(plain.Grads[i], pooled.Grads[i]);
        }
        finally { TensorPool.Poison = false; }
    }
}
