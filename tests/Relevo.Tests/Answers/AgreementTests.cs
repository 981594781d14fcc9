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
    public void LinearWeightedKappaByHand()
    {
        // grades 0..2, range 2: observed = (0 + 1/2 + 0)/3 = 1/6; pa = 1/3 each, pb: 0→1/3, 2→2/3;
        // expected = 1/3·(2/3·1) + 1/3·(1/3·1/2 + 2/3·1/2) + 1/3·(1/3·1) = 1/2; kappa = 1 − (1/6)/(1/2) = 2/3
        Assert.Equal(2.0 / 3, Agreement.LinearWeightedKappa([0, 1, 2], [0, 2, 2]), 12);
        Assert.Equal(1.0, Agreement.LinearWeightedKappa([1, 2, 3], [1, 2, 3]), 12);
        // a near miss costs less than a far one: unweighted kappa cannot tell them apart
        double near = Agreement.LinearWeightedKappa([0, 1, 2, 3], [0, 1, 3, 3]), far = Agreement.LinearWeightedKappa([0, 1, 2, 3], [0, 1, 0, 3]);
        Assert.True(near > far);
        Assert.Equal(Agreement.CohensKappa([0, 1, 2, 3], [0, 1, 3, 3]), Agreement.CohensKappa([0, 1, 2, 3], [0, 1, 0, 3]), 12);
    }

    /// <summary>Krippendorff's definition read directly: 1 − D_o / D_e, D_o the mean squared ordinal distance between the
    /// two values of a unit, D_e the mean over every pair of the 2N pooled values (distinct positions).</summary>
    private static double AlphaByPairs(int[] a, int[] b)
    {
        var pooled = a.Concat(b).ToArray();
        var count = pooled.GroupBy(v => v).ToDictionary(g => g.Key, g => g.Count());
        double Delta2(int x, int y)
        {
            int lo = Math.Min(x, y), hi = Math.Max(x, y);
            double span = count.Where(kv => kv.Key >= lo && kv.Key <= hi).Sum(kv => kv.Value);
            double d = span - (count[lo] + count[hi]) / 2.0;
            return d * d;
        }
        double observed = a.Select((x, i) => Delta2(x, b[i])).Average();
        double expected = 0;
        long pairs = 0;
        for (int i = 0; i < pooled.Length; i++)
            for (int j = 0; j < pooled.Length; j++)
                if (i != j) { expected += Delta2(pooled[i], pooled[j]); pairs++; }
        return 1 - observed / (expected / pairs);
    }

    [Fact]
    public void KrippendorffOrdinalAlphaMatchesItsDefinition()
    {
        var random = new Random(7);
        for (int trial = 0; trial < 20; trial++)
        {
            int n = random.Next(5, 40);
            var a = Enumerable.Range(0, n).Select(_ => random.Next(0, 4)).ToArray();
            var b = a.Select(x => random.NextDouble() < 0.6 ? x : random.Next(0, 4)).ToArray();
            if (a.Concat(b).Distinct().Count() < 2) continue;
            Assert.Equal(AlphaByPairs(a, b), Agreement.KrippendorffOrdinal(a, b), 10);
        }
        Assert.Equal(1.0, Agreement.KrippendorffOrdinal([0, 1, 3, 2], [0, 1, 3, 2]), 12);
        Assert.True(Agreement.KrippendorffOrdinal([0, 1, 2, 3], [3, 2, 1, 0]) < 0);
    }

    [Fact]
    public void ComputeRunsOverTheJudgedPoolAndOrdersSystems()
    {
        var human = Qrels.FromJudgments([("q1", "d1", 2), ("q1", "d2", 0), ("q1", "d3", 1), ("q2", "d4", 1), ("q2", "d9", 3)]);
        var llm = Qrels.FromJudgments([("q1", "d1", 3), ("q1", "d2", 0), ("q1", "d3", 0), ("q2", "d4", 1), ("q2", "d7", 2), ("q3", "d5", 2)]);
        var good = new TrecRun("good");
        good.AddRanking("q1", [("d1", 3), ("d3", 2), ("d2", 1)]);
        good.AddRanking("q2", [("d4", 1)]);
        var bad = new TrecRun("bad");
        bad.AddRanking("q1", [("d2", 3), ("d3", 2), ("d1", 1)]);
        bad.AddRanking("q2", [("d8", 1)]);
        var r = Agreement.Compute(human, llm, [good, bad], "P_1");
        // the pool: (q1,d1) 2/3, (q1,d2) 0/0, (q1,d3) 1/0, (q2,d4) 1/1, and (q2,d7) which people did not list: 0/2;
        // q3 has no human judgments at all and is left out; (q2,d9) was not judged by the LLM and is not in the pool
        Assert.Equal(5, r.Pairs);
        Assert.Equal(1, r.AbsentCountedNonRelevant);
        Assert.Equal(1, r.QueriesWithoutReference);
        // binary: 1/1, 0/0, 1/0, 1/1, 0/1: po = 3/5; pa(1) = pb(1) = 3/5: pe = 9/25 + 4/25 = 13/25; kappa = (2/25)/(12/25)
        Assert.Equal(1.0 / 6, r.KappaBinary, 12);
        Assert.Equal([0, 1, 2, 3], r.Grades);
        Assert.Equal(1, r.Confusion[2, 3]); // human 2, LLM 3
        Assert.Equal(1, r.Confusion[0, 2]); // the unlisted pair
        Assert.Equal(1.0, r.KendallTau!.Value, 12);

        // complete reference qrels: only the pairs both judge, as before
        var shared = Agreement.Compute(human, llm, [good, bad], "P_1", referenceComplete: true);
        Assert.Equal(4, shared.Pairs);
        // binary: 1/1, 0/0, 1/0, 1/1: po = 3/4; pa(1) = 3/4, pb(1) = 2/4: pe = 3/8 + 1/8 = 1/2; kappa = 0.5
        Assert.Equal(0.5, shared.KappaBinary, 12);
        // graded: agree on 2 of 4 (0/0, 1/1); pa: 2→1/4, 0→1/4, 1→2/4; pb: 3→1/4, 0→2/4, 1→1/4;
        // pe = (1/4·2/4) + (2/4·1/4) = 1/4; kappa = (1/2 − 1/4)/(3/4) = 1/3
        Assert.Equal(1.0 / 3, shared.KappaGraded, 12);
    }
}
