using Workbench.Cli;

namespace Workbench.Tests.Cli;

[Collection("Console")]
public class TerminalProgressTests
{
    [Fact]
    public void RedirectedStderrGetsALineAtEveryTenthAndTheResultComesBack()
    {
        var old = Console.Error;
        using var captured = new StringWriter();
        Console.SetError(captured);
        int result;
        try
        {
            result = TerminalProgress.Run("eval prompt1", report =>
            {
                for (int i = 1; i <= 25; i++) report(i, 25);
                return 42;
            });
        }
        finally { Console.SetError(old); }
        Assert.Equal(42, result);
        // the test host's stderr is a pipe, so no bars: 25 / 10 → every 2nd item, and the last
        var lines = captured.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(Enumerable.Range(1, 12).Select(i => $"eval prompt1: {2 * i}/25").Append("eval prompt1: 25/25"), lines);
    }
}
