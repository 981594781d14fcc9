using Relevo.Llm;
using Relevo.Evaluation;

namespace Relevo.Tests.Answers;

/// <summary>Kappa and tau against examples worked by hand.</summary>
public sealed class AgreementTests
{
    [Fact]
    public void KappaOfTheTwoByTwoTextbookTable()
    {
        // yes/yes 20, yes/no 5, no/yes 10, no/no 15: po = 35/50 = 0.7; pe = 0.5·0.6 + 0.5·0.4 = 0.5; kappa = 0.2/0.5
        var a = new List<int>();
        var b = new List<int>();
        void Add(int x, int y, int n) { for (int i = 0; i < n; i++) { a.Add(x); b.Add(y); } }
        Add(1, 1, 20); Add(1, 0, 5); Add(0, 1, 10); Add(0, 0, 15);
        Assert.Equal(0.4, Agreement.CohensKappa(a, b), 12);
    }

    [Fact]
    public void GradedKappaOverThreeCategories()
    {
        // a: 0 0 1 1 2 2; b: 0 1 1 1 2 0. po = 4/6. pa = (2,2,2)/6, pb = (2,3,1)/6.
        // pe = (2·2 + 2·3 + 2·1)/36 = 12/36 = 1/3; kappa = (2/3 − 1/3)/(2/3) = 0.5
        Assert.Equal(0.5, Agreement.CohensKappa([0, 0, 1, 1, 2, 2], [0, 1, 1, 1, 2, 0]), 12);
        Assert.Equal(1.0, Agreement.CohensKappa([2, 2], [2, 2]));
        Assert.Equal(-1.0, Agreement.CohensKappa([0, 1, 0, 1], [1, 0, 1, 0]), 12);
    }

    [Fact]
    public void KendallTauWithAndWithoutTies()
    {
        // one discordant pair of six: (5 − 1)/6
        Assert.Equal(4.0 / 6, Agreement.KendallTau([1, 2, 3, 4], [1, 3, 2, 4]), 12);
        // x ties one pair, y ties another: C = 4, D = 0, tau-b = 4 / sqrt(5 · 5)
        Assert.Equal(0.8, Agreement.KendallTau([1, 2, 2, 3], [1, 2, 3, 3]), 12);
        Assert.Equal(-1.0, Agreement.KendallTau([1, 2, 3], [3, 2, 1]), 12);
    }

    [Fact]
    public void ComputeUsesSharedPairsAndOrdersSystems()
    {
        var human = Qrels.FromJudgments([("q1", "d1", 2), ("q1", "d2", 0), ("q1", "d3", 1), ("q2", "d4", 1), ("q2", "d9", 3)]);
        var llm = Qrels.FromJudgments([("q1", "d1", 3), ("q1", "d2", 0), ("q1", "d3", 0), ("q2", "d4", 1), ("q3", "d5", 2)]);
        var good = new TrecRun("good");
        good.AddRanking("q1", [("d1", 3), ("d3", 2), ("d2", 1)]);
        good.AddRanking("q2", [("d4", 1)]);
        var bad = new TrecRun("bad");
        bad.AddRanking("q1", [("d2", 3), ("d3", 2), ("d1", 1)]);
        bad.AddRanking("q2", [("d8", 1)]);
        var r = Agreement.Compute(human, llm, [good, bad], "P_1");
        // shared: (q1,d1) 2/3, (q1,d2) 0/0, (q1,d3) 1/0, (q2,d4) 1/1
        Assert.Equal(4, r.SharedPairs);
        // binary: 1/1, 0/0, 1/0, 1/1: po = 3/4; pa(1) = 3/4, pb(1) = 2/4: pe = 3/8 + 1/8 = 1/2; kappa = 0.5
        Assert.Equal(0.5, r.KappaBinary, 12);
        // graded: agree on 2 of 4 (0/0, 1/1); pa: 2→1/4, 0→1/4, 1→2/4; pb: 3→1/4, 0→2/4, 1→1/4;
        // pe = (1/4·2/4) + (2/4·1/4) = 1/4; kappa = (1/2 − 1/4)/(3/4) = 1/3
        Assert.Equal(1.0 / 3, r.KappaGraded, 12);
        Assert.Equal(1.0, r.KendallTau!.Value, 12);
    }
}
