using System.CommandLine;

namespace Workbench.Cli.Commands;

/// <summary><c>wb prefs ...</c>: preference data for DPO and ORPO (training itself is <c>wb train</c> with <c>method: dpo|orpo</c>).</summary>
public static class PrefsCommands
{
    public static Command Build()
    {
        var prefs = new Command("prefs", "Preference pairs: build them from SFT data, score adapters on held-out pairs");
        prefs.Subcommands.Add(PrefsBuildCommand.Build());
        prefs.Subcommands.Add(PrefsEvalCommand.Build());
        return prefs;
    }
}
