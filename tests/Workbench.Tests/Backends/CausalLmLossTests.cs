using Workbench.Backends.Managed;
using Workbench.Data;
using Workbench.Engine;
using Workbench.Models;
using Workbench.Tests.Support;

namespace Workbench.Tests.Backends;

/// <summary>
/// The loss reads the head only at positions with a target; it must equal cross-entropy over every position's
/// logits (transformers' loss), value and gradients, on the real stories260K.
/// </summary>
public class CausalLmLossTests
{
    [Theory]
    [InlineData(0.3)]   // completion-only: most positions carry no target
    [InlineData(1.0)]   // pretraining: every position but the last of each row
    public void HeadOnlyAtTargetsEqualsTheLossOverAllLogits(double labelled)
    {
        var rng = new Random(5);
        const int batch = 3, seq = 24;
        var ids = Enumerable.Range(0, batch * seq).Select(_ => rng.Next(1, 512)).ToArray();
        var labels = ids.Select(id => rng.NextDouble() < labelled ? id : TrainingExample.IgnoreIndex).ToArray();

        (float Loss, Dictionary<string, float[]> Grads) Run(Func<CausalLMModule, Tensor> loss)
        {
            var model = CausalLM.Load(RepoPaths.Data("models/stories260K"));
            var parameters = model.NamedParameters().ToList();
            foreach (var p in parameters) p.Tensor.RequiresGrad = true;
            var l = loss(model);
            l.Backward();
            return (l.Item(), parameters.ToDictionary(p => p.Name, p => p.Tensor.Grad!.ToArray()));
        }

        var expected = Run(m => Ops.CrossEntropy(m.Forward(ids, batch, seq), CausalLmLoss.ShiftLabels(labels, batch, seq)));
        var actual = Run(m => CausalLmLoss.Compute(m, ids, labels, batch, seq));
        Assert.Equal(expected.Loss, actual.Loss, 5);
        foreach (var (name, grad) in expected.Grads) Close.Assert(grad, actual.Grads[name], 1e-4f, 1e-6f, name);
    }
}
