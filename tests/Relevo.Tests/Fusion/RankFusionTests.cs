using Relevo.Fusion;
using Relevo.Search;

namespace Relevo.Tests.Fusion;

/// <summary>Fusion methods on small rankings whose fused scores are worked out by hand beside each case.</summary>
public class RankFusionTests
{
    private static List<Hit> L(params (string Id, float Score)[] hits) => hits.Select(h => new Hit(h.Id, h.Score, 0, 0)).ToList();
    private static (string, double)[] Out(List<Hit> hits) => hits.Select(h => (h.Id, Math.Round((double)h.Score, 6))).ToArray();

    private static readonly List<Hit> A = L(("a", 10), ("b", 8), ("c", 4));
    private static readonly List<Hit> B = L(("b", 0.9f), ("d", 0.5f), ("a", 0.1f));

    [Fact]
    public void ReciprocalRank()
    {
        // k = 60: a = 1/61 + 1/63 = 0.032266, b = 1/62 + 1/61 = 0.032522, c = 1/63 = 0.015873, d = 1/62 = 0.016129
        Assert.Equal([("b", 0.032522), ("a", 0.032266), ("d", 0.016129), ("c", 0.015873)], Out(RankFusion.ReciprocalRank([A, B])));
        // weights 2 and 1: a = 2/61 + 1/63 = 0.048660, b = 2/62 + 1/61 = 0.048651
        Assert.Equal("a", RankFusion.ReciprocalRank([A, B], weights: [2, 1])[0].Id);
        // k = 0, depth 1: a = 1/1, b = 1/1 -> a tie, broken by doc id
        Assert.Equal([("a", 1.0), ("b", 1.0)], Out(RankFusion.ReciprocalRank([A, B], k: 0, depth: 1)));
    }

    [Fact]
    public void EmptyInputs()
    {
        Assert.Empty(RankFusion.ReciprocalRank([L(), L()]));
        Assert.Equal(Out(RankFusion.ReciprocalRank([A])), Out(RankFusion.ReciprocalRank([A, L()])));
        Assert.Equal(["a", "b", "c"], RankFusion.CombSum([A, L()], Normalization.MinMax).Select(h => h.Id));
        Assert.Equal(["a", "b", "c"], RankFusion.Interpolate(A, L(), 0.5, Normalization.MinMax).Select(h => h.Id));
    }

    [Fact]
    public void CombSumAndMnzOverMinMax()
    {
        // min-max: A -> a 1, b 4/6 = 0.666667, c 0; B -> b 1, d 0.4/0.8 = 0.5, a 0
        // CombSUM: b 1.666667, a 1, d 0.5, c 0
        Assert.Equal([("b", 1.666667), ("a", 1.0), ("d", 0.5), ("c", 0.0)], Out(RankFusion.CombSum([A, B], Normalization.MinMax)));
        // CombMNZ multiplies by the lists a document is in: b 3.333333, a 2, d 0.5, c 0
        Assert.Equal([("b", 3.333333), ("a", 2.0), ("d", 0.5), ("c", 0.0)], Out(RankFusion.CombSum([A, B], Normalization.MinMax, mnz: true)));
    }

    [Fact]
    public void ZScore()
    {
        // A: mean 22/3, population sd sqrt(((8/3)^2 + (2/3)^2 + (10/3)^2) / 3) = sqrt(56/9) = 2.494438
        //   a = (8/3)/2.494438 = 1.069045, b = 0.267261, c = -1.336306
        // B: mean 0.5, sd sqrt((0.16 + 0 + 0.16) / 3) = 0.326599: b = 1.224745, d = 0, a = -1.224745
        // CombSUM: b 1.492006, d 0, a -0.155700, c -1.336306
        Assert.Equal([("b", 1.492006), ("d", 0.0), ("a", -0.1557), ("c", -1.336306)], Out(RankFusion.CombSum([A, B], Normalization.ZScore)));
    }

    [Fact]
    public void ConvexInterpolation()
    {
        // alpha 0.5 over min-max: a = 0.5*1 + 0.5*0 = 0.5, b = 0.5*0.666667 + 0.5*1 = 0.833333,
        // c = 0.5*0 + (missing from B: B's floor 0) = 0, d = (missing from A: 0) + 0.5*0.5 = 0.25
        Assert.Equal([("b", 0.833333), ("a", 0.5), ("d", 0.25), ("c", 0.0)], Out(RankFusion.Interpolate(A, B, 0.5, Normalization.MinMax)));
        // alpha 1 keeps A's order exactly
        Assert.Equal(["a", "b", "c", "d"], RankFusion.Interpolate(A, B, 1.0, Normalization.MinMax).Select(h => h.Id));
        Assert.Throws<RelevoException>(() => RankFusion.Interpolate(A, B, 1.5, Normalization.MinMax));
    }

    [Fact]
    public void Borda()
    {
        // lists of 3: rank 1 -> 3 points, 2 -> 2, 3 -> 1. a = 3 + 1 = 4, b = 2 + 3 = 5, c = 1, d = 2
        Assert.Equal([("b", 5.0), ("a", 4.0), ("d", 2.0), ("c", 1.0)], Out(RankFusion.Borda([A, B])));
    }

    [Fact]
    public void TiesBreakByDocumentId()
    {
        var x = L(("z", 1), ("y", 1));
        var y = L(("y", 1), ("z", 1));
        // Both get 1/61 + 1/62: equal, so y (smaller id) first.
        Assert.Equal(["y", "z"], RankFusion.ReciprocalRank([x, y]).Select(h => h.Id));
    }
}
