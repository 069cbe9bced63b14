using System.Text.Json;
using Workbench.Tests.Support;
using Workbench.Training.Preference;

namespace Workbench.Tests.Training;

/// <summary>
/// DPO (sigmoid, with label smoothing), IPO and ORPO against tests/fixtures/make_preference.py, which writes TRL 0.28.0's
/// expressions in PyTorch (float64): the loss, dL/dlogp for every row sum, and every metric by TRL's name.
/// </summary>
public class PreferenceLossTests
{
    private const double Tolerance = 1e-12;   // both sides are float64; a few ulps of values near 1

    private static readonly JsonElement Root = JsonDocument.Parse(File.ReadAllText(Fixtures.PathOf("preference/losses.json"))).RootElement;

    private static double[] Doubles(JsonElement e) => e.EnumerateArray().Select(x => x.GetDouble()).ToArray();
    private static int[] Ints(JsonElement e) => e.EnumerateArray().Select(x => x.GetInt32()).ToArray();

    private static PreferenceRows Rows()
    {
        var i = Root.GetProperty("inputs");
        return new PreferenceRows(Doubles(i.GetProperty("chosen")), Doubles(i.GetProperty("rejected")),
            Ints(i.GetProperty("chosen_tokens")), Ints(i.GetProperty("rejected_tokens")),
            Doubles(i.GetProperty("reference_chosen")), Doubles(i.GetProperty("reference_rejected")),
            Doubles(i.GetProperty("chosen_sequence")), Ints(i.GetProperty("chosen_sequence_tokens")));
    }

    public static TheoryData<int> Cases() => [.. Enumerable.Range(0, Root.GetProperty("cases").GetArrayLength())];

    [Theory]
    [MemberData(nameof(Cases))]
    public void LossGradientsAndMetricsMatchTrlsFormulas(int index)
    {
        var c = Root.GetProperty("cases")[index];
        double beta = c.GetProperty("beta").GetDouble(), smoothing = c.GetProperty("label_smoothing").GetDouble();
        IPreferenceLoss loss = c.GetProperty("loss_type").GetString() switch
        {
            "sigmoid" => new DpoLoss(beta, smoothing),
            "ipo" => new IpoLoss(beta),
            "orpo" => new OrpoLoss(beta),
            var t => throw new InvalidDataException(t),
        };
        var result = loss.Compute(Rows());
        string what = $"{c.GetProperty("loss_type").GetString()} β {beta} ε {smoothing}";
        Assert.Equal(c.GetProperty("loss").GetDouble(), result.Loss, Tolerance);
        AssertClose(Doubles(c.GetProperty("d_chosen")), result.DChosen, $"{what} dL/dlogp⁺");
        AssertClose(Doubles(c.GetProperty("d_rejected")), result.DRejected, $"{what} dL/dlogp⁻");
        if (c.TryGetProperty("d_chosen_sequence", out var seq)) AssertClose(Doubles(seq), result.DChosenSequence!, $"{what} dL/dlogp_seq");
        else Assert.Null(result.DChosenSequence);
        var metrics = c.GetProperty("metrics").EnumerateObject().ToList();
        Assert.Equal(metrics.Select(m => m.Name).Order(), result.Metrics.Keys.Order());
        foreach (var m in metrics) Assert.True(Math.Abs(m.Value.GetDouble() - result.Metrics[m.Name]) <= Tolerance, $"{what} {m.Name}: {result.Metrics[m.Name]}, expected {m.Value.GetDouble()}");
    }

    private static void AssertClose(double[] expected, double[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= Tolerance, $"{what}[{i}] = {actual[i]}, expected {expected[i]}");
    }

    [Fact]
    public void DpoAtTheReferenceIsLnTwoWithZeroMargins()
    {
        double[] logps = [-12.5, -3.25, -40];
        var result = new DpoLoss(0.1, 0.0).Compute(new PreferenceRows(logps, logps, [5, 2, 9], [5, 2, 9], logps, logps));
        Assert.Equal(Math.Log(2), result.Loss);
        Assert.Equal(0, result.Metrics["rewards/margins"]);
        Assert.Equal(0, result.Metrics["rewards/accuracies"]);
    }
}
