namespace Relevo.Testing;

/// <summary>Reciprocal rank fusion compared up to the order of tied inputs. RRF scores a document by its rank in each
/// input (Σ 1/(k + rank)), and documents with equal input scores may be ranked either way (one index breaks ties by
/// document number, shards by shard then document), so a fused score is only determined up to an interval: for each
/// input, the document may hold any rank of its group of equal scores, and where an input was cut at its depth
/// inside a group of equal scores, a document of that group may be in the input on one side and cut on the other. This checks that each fused ranking's scores lie in
/// those intervals and that documents in one fused top k only are ones the ties could have pushed out of the
/// other: every difference is one tie order could cause. Self-contained, like <see cref="RankingComparison"/>.</summary>
public static class RrfComparison
{
    /// <param name="inputs">The fusion's input rankings on the reference index (best first, each cut at
    /// <paramref name="depth"/> or holding every match).</param>
    /// <param name="expected">The fused top k on the reference index.</param>
    /// <param name="actual">The fused top k to check (e.g. on shards).</param>
    public static IReadOnlyList<string> Compare(IReadOnlyList<IReadOnlyList<(string Id, double Score)>> inputs,
        IReadOnlyList<(string Id, double Score)> expected, IReadOnlyList<(string Id, double Score)> actual,
        int k, int depth = 1000, double rrfK = 60, double tolerance = RankingComparison.DefaultTolerance)
    {
        var groups = inputs.Select(l => Groups(l, depth)).ToArray();
        (double Lo, double Hi) Interval(string id)
        {
            double lo = 0, hi = 0;
            for (int i = 0; i < inputs.Count; i++)
            {
                var (ranks, cutGroupFirst) = groups[i];
                if (ranks.TryGetValue(id, out var g))
                {
                    // in the group the cut splits, the document may have been cut from the other side's input
                    if (g.First != cutGroupFirst) lo += 1 / (rrfK + g.Last + 1);
                    hi += 1 / (rrfK + g.First + 1);
                }
                else if (cutGroupFirst is { } f) hi += 1 / (rrfK + f + 1); // may have been cut from a tied last group
            }
            return (lo, hi);
        }
        bool Within(double score, (double Lo, double Hi) iv) =>
            score >= iv.Lo - tolerance * Math.Abs(iv.Lo) && score <= iv.Hi + tolerance * Math.Abs(iv.Hi);

        var diffs = new List<string>();
        if (expected.Count != actual.Count) diffs.Add($"length: expected {expected.Count} hits, got {actual.Count}");
        foreach (var (name, list) in new[] { ("expected", expected), ("actual", actual) })
            for (int r = 0; r < list.Count; r++)
                if (Interval(list[r].Id) is var iv && !Within(list[r].Score, iv))
                    diffs.Add($"{name} rank {r + 1}: {list[r].Id} scores {list[r].Score:R}, outside [{iv.Lo:R}, {iv.Hi:R}] that tie orders allow");
        for (int r = 1; r < actual.Count; r++)
            if (actual[r].Score > actual[r - 1].Score) diffs.Add($"actual rank {r + 1}: not sorted by score");

        var inActual = new HashSet<string>(actual.Select(x => x.Id), StringComparer.Ordinal);
        var inExpected = new HashSet<string>(expected.Select(x => x.Id), StringComparer.Ordinal);
        // a document only one side has must be one that could tie into the other's top k
        if (actual.Count == k)
            foreach (var (id, _) in expected.Where(x => !inActual.Contains(x.Id)))
                if (Interval(id).Lo > actual[^1].Score * (1 + tolerance))
                    diffs.Add($"{id}: missing, though every tie order scores it above the actual k-th score {actual[^1].Score:R}");
        if (expected.Count == k)
            foreach (var (id, _) in actual.Where(x => !inExpected.Contains(x.Id)))
                if (Interval(id).Lo > expected[^1].Score * (1 + tolerance))
                    diffs.Add($"{id}: in the actual top k only, though every tie order scores it above the expected k-th score {expected[^1].Score:R}");
        if (actual.Count < k || expected.Count < k)
        {
            foreach (var id in inExpected.Except(inActual)) diffs.Add($"{id}: missing (the lists hold every match)");
            foreach (var id in inActual.Except(inExpected)) diffs.Add($"{id}: not expected (the lists hold every match)");
        }
        if (diffs.Count > RankingComparison.MaxListed)
        {
            int more = diffs.Count - RankingComparison.MaxListed;
            diffs.RemoveRange(RankingComparison.MaxListed, more);
            diffs.Add($"... and {more} more");
        }
        return diffs;
    }

    /// <summary>Each document's group of equal scores (first and last 0-based rank), and the first rank of the last
    /// group if the list was cut at its depth (a tied document may have been left out).</summary>
    private static (Dictionary<string, (int First, int Last)> Ranks, int? CutGroupFirst) Groups(
        IReadOnlyList<(string Id, double Score)> list, int depth)
    {
        var ranks = new Dictionary<string, (int, int)>(StringComparer.Ordinal);
        int n = Math.Min(depth, list.Count);
        int start = 0;
        for (int r = 1; r <= n; r++)
        {
            if (r < n && RankingComparison.ScoresAgree(list[r].Score, list[start].Score)) continue;
            for (int j = start; j < r; j++) ranks[list[j].Id] = (start, r - 1);
            if (r < n) start = r;
        }
        return (ranks, n == depth && n > 0 ? start : null);
    }
}
