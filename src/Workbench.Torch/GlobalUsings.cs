// One name for each libtorch type this assembly uses everywhere; the engine's host tensor is named HostTensor where it appears.
global using Tensor = TorchSharp.torch.Tensor;
global using Parameter = TorchSharp.Modules.Parameter;
