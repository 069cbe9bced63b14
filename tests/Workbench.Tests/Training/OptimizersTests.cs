using Workbench.Engine;
using Workbench.Engine.Optim;
using Workbench.Quantization;
using Workbench.Training;

namespace Workbench.Tests.Training;

public class OptimizersTests
{
    [Theory]
    [InlineData("adamw_torch", typeof(AdamW))]
    [InlineData("paged_adamw_32bit", typeof(AdamW))]
    [InlineData("adamw_8bit", typeof(AdamW8bit))]
    [InlineData("adamw_bnb_8bit", typeof(AdamW8bit))]
    [InlineData("paged_adamw_8bit", typeof(AdamW8bit))]
    public void PagedNamesAreAliasesOfTheUnpagedOptimisers(string name, Type type)
    {
        var p = Tensor.Zeros(8);
        p.RequiresGrad = true;
        Assert.IsType(type, Optimizers.Create(name, [p], lr: 1e-3f));
        Assert.Throws<ArgumentException>(() => Optimizers.Create("sgd", [p], 1e-3f));
    }
}
