namespace Workbench.Tests.Support;

/// <summary>Tests that read or redirect process-wide state (Console, the managed heap) run alone.</summary>
[CollectionDefinition("Console", DisableParallelization = true)]
public sealed class ConsoleCollection;
