using Workbench.Tests.Support;
using Workbench.Training;

namespace Workbench.Tests.Training;

/// <summary>train_log.jsonl on resume: later steps dropped, a last line a killed process cut short dropped, any other bad line named.</summary>
public class TrainingLogFileTests
{
    [Fact]
    public void ResumeKeepsTheStepsUpToTheCheckpointAndDropsATornLastLine()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(TrainingLogFile.FileName), "{\"step\":1,\"loss\":2.5}\n{\"step\":2,\"loss\":2.1}\n{\"step\":3,\"loss\":1.9}\n{\"step\":4,\"lo");
        var log = new TrainingLogFile(dir.Path, resumedStep: 2);
        Assert.Equal(["{\"step\":1,\"loss\":2.5}", "{\"step\":2,\"loss\":2.1}"], File.ReadAllLines(log.Path));
    }

    [Fact]
    public void ABadLineInsideTheLogIsAnErrorNamingTheFile()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File(TrainingLogFile.FileName), "{\"step\":1}\n{oops\n{\"step\":2}\n");
        var e = Assert.Throws<FormatException>(() => new TrainingLogFile(dir.Path, resumedStep: 2));
        Assert.Contains(TrainingLogFile.FileName, e.Message);
    }
}
