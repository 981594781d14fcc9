namespace Relevo.Tests.Sharding;

/// <summary>The comparison helper must pass what is equal up to ties and fail on every real difference.</summary>
public sealed class RankingComparisonTests
{
    private static readonly (string, double)[] Base =
    [
        ("a", 12.5), ("b", 11.0), ("c", 11.0), ("d", 9.75), ("e", 8.0),
    ];

    private static IReadOnlyList<string> Diff((string, double)[] expected, (string, double)[] actual, int k = 5) =>
        RankingComparison.Compare(expected, actual, k);

    [Fact]
    public void Identical_rankings_agree() => Assert.Empty(Diff(Base, [.. Base]));

    [Fact]
    public void Equal_scores_may_swap_places()
    {
        Assert.Empty(Diff(Base, [("a", 12.5), ("c", 11.0), ("b", 11.0), ("d", 9.75), ("e", 8.0)]));
        // within the tolerance counts as equal (relative 1e-5 of 11 is 1.1e-4)
        Assert.Empty(Diff(Base, [("a", 12.5), ("c", 11.00005), ("b", 11.0), ("d", 9.75), ("e", 8.0)]));
    }

    [Fact]
    public void Swapped_documents_with_different_scores_fail()
    {
        var d = Diff(Base, [("a", 12.5), ("d", 11.0), ("c", 11.0), ("b", 9.75), ("e", 8.0)]);
        Assert.Contains(d, x => x.StartsWith("d: score 11 at rank 2, expected 9.75 at rank 4", StringComparison.Ordinal));
        Assert.Contains(d, x => x.StartsWith("b: score 9.75 at rank 4, expected 11 at rank 2", StringComparison.Ordinal));
    }

    [Fact]
    public void A_missing_document_fails()
    {
        var d = Diff(Base, [("a", 12.5), ("b", 11.0), ("c", 11.0), ("e", 8.0)]);
        Assert.Contains(d, x => x.StartsWith("length: expected 5 hits, got 4", StringComparison.Ordinal));
        Assert.Contains(d, x => x.StartsWith("d: missing (expected at rank 4", StringComparison.Ordinal));
        Assert.Contains(d, x => x.StartsWith("rank 4: score 8 (e), expected 9.75 (d)", StringComparison.Ordinal));
    }

    [Fact]
    public void A_different_document_above_the_cut_fails()
    {
        var d = Diff(Base, [("a", 12.5), ("b", 11.0), ("x", 11.0), ("d", 9.75), ("e", 8.0)]);
        Assert.Contains(d, x => x.StartsWith("x: at rank 3 with score 11, but not in the expected list", StringComparison.Ordinal));
        Assert.Contains(d, x => x.StartsWith("c: missing", StringComparison.Ordinal));
    }

    [Fact]
    public void A_score_off_by_1e_4_fails()
    {
        // 1e-4 absolute on a score near 1 is 1e-4 relative: ten times the tolerance
        (string, double)[] expected = [("a", 1.0), ("b", 0.9), ("c", 0.8)];
        var d = Diff(expected, [("a", 1.0), ("b", 0.9 + 1e-4), ("c", 0.8)], k: 3);
        Assert.Contains(d, x => x.StartsWith("rank 2:", StringComparison.Ordinal));
        Assert.Contains(d, x => x.StartsWith("b: score", StringComparison.Ordinal));
        // and 1e-4 on a BM25-sized score too (relative 8e-6 of 12.5 passes, 1.6e-4 of 12.5 fails)
        Assert.Empty(Diff(Base, [("a", 12.5001), ("b", 11.0), ("c", 11.0), ("d", 9.75), ("e", 8.0)]));
        Assert.NotEmpty(Diff(Base, [("a", 12.502), ("b", 11.0), ("c", 11.0), ("d", 9.75), ("e", 8.0)]));
    }

    [Fact]
    public void Relative_tolerance_catches_swaps_among_small_fused_scores()
    {
        // reciprocal rank fusion at ranks 500 and 501: 1/560 and 1/561 differ by 3.2e-6, less than 1e-5 absolute
        (string, double)[] expected = [("a", 1.0 / 560), ("b", 1.0 / 561)];
        Assert.NotEmpty(Diff(expected, [("b", 1.0 / 560), ("a", 1.0 / 561)], k: 2));
        Assert.Empty(Diff([("z", 0.0)], [("z", 0.0)], k: 1));
        Assert.NotEmpty(Diff([("z", 0.0)], [("z", 1e-9)], k: 1));
    }

    [Fact]
    public void Members_of_the_last_group_may_differ_when_the_list_is_cut_at_k()
    {
        // the 4th and 5th documents tie; the cut at k = 5 keeps one of {e, f}
        (string, double)[] expected = [("a", 4), ("b", 3), ("c", 2), ("d", 1), ("e", 1)];
        Assert.Empty(Diff(expected, [("a", 4), ("b", 3), ("c", 2), ("e", 1), ("f", 1)]));
        Assert.Empty(Diff(expected, [("a", 4), ("b", 3), ("c", 2), ("f", 1), ("g", 1)]));
        // not when the lists hold every match (fewer than k)
        Assert.NotEmpty(Diff(expected, [("a", 4), ("b", 3), ("c", 2), ("e", 1), ("f", 1)], k: 6));
        // and not for a document above the last group
        Assert.NotEmpty(Diff(expected, [("a", 4), ("b", 3), ("x", 2), ("e", 1), ("f", 1)]));
        // nor one that only nearly ties with the k-th score
        Assert.NotEmpty(Diff(expected, [("a", 4), ("b", 3), ("c", 2), ("d", 1), ("f", 0.999)]));
    }

    [Fact]
    public void Duplicates_and_lists_longer_than_k_fail()
    {
        Assert.Contains(Diff(Base, [("a", 12.5), ("b", 11.0), ("b", 11.0), ("d", 9.75), ("e", 8.0)]),
            x => x.StartsWith("b: twice in the actual list", StringComparison.Ordinal));
        Assert.Contains(Diff(Base, Base, k: 4), x => x.Contains("more than k = 4", StringComparison.Ordinal));
    }

    [Fact]
    public void Runs_name_the_query_and_long_lists_are_truncated()
    {
        var expected = new Dictionary<string, IReadOnlyList<(string Id, double Score)>> { ["q1"] = Base, ["q2"] = Base };
        var actual = new Dictionary<string, IReadOnlyList<(string Id, double Score)>> { ["q1"] = Base, ["q3"] = Base };
        var d = RankingComparison.CompareRuns(expected, actual, 5);
        Assert.Equal(["query q2: missing from the actual run", "query q3: not in the expected run"], d);

        var many = Enumerable.Range(0, 50).Select(i => ($"d{i}", 100.0 - i)).ToArray();
        var shifted = many.Select(x => (x.Item1, x.Item2 + 0.5)).ToArray();
        var long_ = RankingComparison.Compare(many, shifted, 50);
        Assert.Equal(RankingComparison.MaxListed + 1, long_.Count);
        Assert.StartsWith("... and ", long_[^1]);
        var e = Assert.ThrowsAny<Exception>(() => RankingComparison.AssertSame(long_, "bm25"));
        Assert.StartsWith("bm25 differs:", e.Message);
    }
}

/// <summary>The RRF check must allow exactly what tied inputs allow.</summary>
public sealed class RrfComparisonTests
{
    // input A ties b and c; input B ranks b then a
    private static readonly (string, double)[][] Inputs =
    [
        [("a", 3), ("b", 2), ("c", 2), ("d", 1)],
        [("b", 5), ("a", 4)],
    ];

    private static (string, double)[] Fused(params (string Id, double Score)[] hits) =>
        [.. hits.OrderByDescending(h => h.Score)];

    private static readonly (string, double)[] Expected =
        Fused(("a", 1.0 / 61 + 1.0 / 62), ("b", 1.0 / 62 + 1.0 / 61), ("c", 1.0 / 63), ("d", 1.0 / 64));

    private static IReadOnlyList<string> Diff((string, double)[] actual, int k = 10) =>
        RrfComparison.Compare(Inputs, Expected, actual, k);

    [Fact]
    public void The_same_fusion_agrees() => Assert.Empty(Diff(Expected));

    [Fact]
    public void Tied_inputs_in_the_other_order_agree() =>
        // b and c swapped in input A: b gets 1/63 there, c 1/62
        Assert.Empty(Diff(Fused(("a", 1.0 / 61 + 1.0 / 62), ("b", 1.0 / 63 + 1.0 / 61), ("c", 1.0 / 62), ("d", 1.0 / 64))));

    [Fact]
    public void A_score_no_tie_order_gives_fails() =>
        Assert.Contains(Diff(Fused(("a", 1.0 / 61 + 1.0 / 62), ("b", 1.0 / 62 + 1.0 / 61), ("c", 1.0 / 63), ("d", 1.0 / 62))),
            d => d.StartsWith("actual rank 3: d scores", StringComparison.Ordinal));

    [Fact]
    public void A_missing_document_fails()
    {
        var d = Diff(Fused(("a", 1.0 / 61 + 1.0 / 62), ("b", 1.0 / 62 + 1.0 / 61), ("c", 1.0 / 63)));
        Assert.Contains(d, x => x.StartsWith("length:", StringComparison.Ordinal));
        Assert.Contains(d, x => x.StartsWith("d: missing", StringComparison.Ordinal));
        // and at k = 3, d (1/64 whatever the ties) cannot displace c (at least 1/63)
        Assert.Contains(RrfComparison.Compare(Inputs, Expected[..3], Fused(("a", 1.0 / 61 + 1.0 / 62), ("b", 1.0 / 62 + 1.0 / 61), ("d", 1.0 / 64)), 3),
            x => x.StartsWith("c: missing, though every tie order scores it above", StringComparison.Ordinal));
    }
}
