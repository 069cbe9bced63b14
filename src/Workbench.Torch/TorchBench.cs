using System.Diagnostics;
using TorchSharp;
using Workbench.Adapters;
using Workbench.Adapters.Lora;
using Workbench.Engine;
using Workbench.Models;
using Workbench.Quantization;
using Workbench.Torch.Adapters;
using Workbench.Torch.Models;
using Workbench.Torch.Training;
using static TorchSharp.torch;

namespace Workbench.Torch;

/// <summary>What <c>wb bench matmul|train-step --backend torch</c> times, on libtorch: the same work as the managed benchmarks.</summary>
public static class TorchBench
{
    public static int Threads
    {
        get { TorchRuntime.Ensure(); return get_num_threads(); }
    }

    /// <summary>A timer of C = A·B (A [m, k], B [k, n], float32) on the device: each call runs it once and returns its seconds.</summary>
    public static Func<double> MatMul(float[] a, float[] b, int m, int n, int k, string device)
    {
        var d = TorchRuntime.Device(device);
        var ta = tensor(a, [m, k], device: d);
        var tb = tensor(b, [k, n], device: d);
        return () =>
        {
            var clock = Stopwatch.StartNew();
            using var c = ta.matmul(tb);
            if (d.type == DeviceType.CUDA) cuda.synchronize(d);
            return clock.Elapsed.TotalSeconds;
        };
    }

    /// <summary>
    /// A model of <paramref name="config"/>'s shape with synthetic frozen weights (<see cref="WeightSources.Random"/>, as the
    /// managed benchmark's), quantised while it is built when asked, with LoRA on every linear layer.
    /// </summary>
    public static TorchTrainableLM LoraModel(ModelConfig config, QuantOptions? quant, int r, float alpha, TargetModules targets, string device,
        bool eightBitStates = false)
    {
        var model = TorchModels.Create(config, WeightSources.Random(seed: 0), TorchRuntime.Device(device), quant);
        var peft = TorchPeftModel.Create(model, new LoraConfig { R = r, LoraAlpha = alpha, TargetModules = targets });
        return new TorchTrainableLM(model, peft, weightDecay: 0, eightBitStates);
    }
}
