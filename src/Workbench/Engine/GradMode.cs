namespace Workbench.Engine;

/// <summary>
/// Whether ops record a backward graph. <c>using (GradMode.NoGrad()) { ... }</c> turns recording off for
/// inference; the setting is per thread, like torch.no_grad().
/// </summary>
public static class GradMode
{
    [ThreadStatic] private static bool disabled;

    public static bool Enabled => !disabled;

    public static IDisposable NoGrad() => new Scope(enabled: false);
    public static IDisposable EnableGrad() => new Scope(enabled: true);

    private sealed class Scope : IDisposable
    {
        private readonly bool previousDisabled;
        public Scope(bool enabled) { previousDisabled = disabled; disabled = !enabled; }
        public void Dispose() => disabled = previousDisabled;
    }
}
