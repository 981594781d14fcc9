using Relevo.Evaluation;

namespace Relevo.Tests.Evaluation;

public class SignificanceTests
{
    [Theory]
    [InlineData(2.228139, 10, 0.05)]   // two-sided critical value of Student's t, df = 10
    [InlineData(2.0, 10, 0.0733880)]
    [InlineData(1.959964, 100000, 0.05)] // approaches the normal
    [InlineData(12.7062, 1, 0.05)]
    public void StudentTwoSidedPValue(double t, int df, double p) =>
        Assert.Equal(p, Significance.RegularizedIncompleteBeta(df / 2.0, 0.5, df / (df + t * t)), 5);

    [Fact]
    public void PairedTTestOnKnownData()
    {
        // differences 0.1 -0.5 1.0 0.9 1.0: mean 0.5, sd 0.6745369, t = 0.5 / (0.6745369 / sqrt 5) = 1.657484;
        // p = 2 * P(T_4 > 1.657484) = 0.172762 (numerical integration of the t density)
        double[] a = [1, 2, 3, 4, 5], b = [0.9, 2.5, 2.0, 3.1, 4.0];
        var (t, p) = Significance.PairedTTest(a, b);
        Assert.Equal(1.657484, t, 5);
        Assert.Equal(0.172762, p, 5);
    }

    [Fact]
    public void RandomizationTestIsSeededAndBounded()
    {
        double[] a = new double[30], b = new double[30];
        for (int i = 0; i < 30; i++) { a[i] = i % 7 / 7.0; b[i] = a[i]; }
        Assert.Equal(1.0, Significance.PairedRandomizationTest(a, b));
        double[] c = Array.ConvertAll(a, x => x + 0.2);
        Assert.Equal(1.0 / 10_001, Significance.PairedRandomizationTest(c, a), 12);
        double[] noisy = new double[30];
        for (int i = 0; i < 30; i++) noisy[i] = a[i] + (i % 2 == 0 ? 0.05 : -0.04);
        double p1 = Significance.PairedRandomizationTest(noisy, a, seed: 7);
        Assert.Equal(p1, Significance.PairedRandomizationTest(noisy, a, seed: 7));
        Assert.InRange(p1, 0.0, 1.0);
    }

    [Fact]
    public void HolmAdjustsStepDownAndMonotone()
    {
        var adj = Significance.Holm([0.01, 0.04, 0.03, 0.005]);
        // sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> max so far 0.06
        Assert.Equal([0.03, 0.06, 0.06, 0.02], adj.Select(x => Math.Round(x, 10)));
    }

    [Fact]
    public void InterpolatedPrecisionMatchesTrecEvalOnUnjudgedCase()
    {
        string dir = Path.Combine(TestData.EvaluationDir, "Conformance", "unjudged");
        var ev = new Evaluator(Qrels.Load(Path.Combine(dir, "qrels.txt")));
        var curve = ev.InterpolatedPrecision(TrecRun.Load(Path.Combine(dir, "run.txt")));
        // relevant at ranks 2 (P = 1/2) and 6 (P = 2/6), R = 2: cutoffs 0..0.5 need 1 relevant, 0.6..1.0 need 2
        for (int k = 0; k <= 5; k++) Assert.Equal(0.5, curve[k], 10);
        for (int k = 6; k <= 10; k++) Assert.Equal(1.0 / 3, curve[k], 10);
    }

    [Fact]
    public void ComparisonPairsQueriesAndCountsWinsTiesLosses()
    {
        var qrels = Qrels.FromJudgments([("q1", "a", 1), ("q2", "b", 1), ("q3", "c", 1)]);
        var baseRun = new TrecRun("base");
        baseRun.AddRanking("q1", [("x", 2), ("a", 1)]);
        baseRun.AddRanking("q2", [("b", 2)]);
        baseRun.AddRanking("q3", [("c", 2)]);
        var better = new TrecRun("better");
        better.AddRanking("q1", [("a", 2), ("x", 1)]);
        better.AddRanking("q2", [("b", 2)]);
        better.AddRanking("q3", [("z", 2), ("c", 1)]);
        var ev = new Evaluator(qrels);
        var results = new[] { ev.Evaluate(baseRun, ["RR"]), ev.Evaluate(better, ["RR"]) };
        var cmp = RunComparison.Compare(results, 0);
        var cell = Assert.Single(cmp.Cells);
        Assert.Equal((1, 1, 1), (cell.Wins, cell.Ties, cell.Losses));
        Assert.Equal(0.0, cell.Delta, 12);
        Assert.Equal(3, cell.Queries);
        Assert.False(cell.SignificantRandomization);
    }
}
