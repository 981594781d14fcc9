using System.Globalization;

namespace Relevo.Testing;

/// <summary>Compares a ranking with the one it must reproduce (a sharded search against the single index; an
/// Orleans cluster against the in-process shards) and describes every difference; an empty list means equal.
/// <para>Rules, for a top-k list (best first):</para>
/// <list type="bullet">
/// <item>Both lists have the same length.</item>
/// <item>At every rank the two scores agree within the tolerance.</item>
/// <item>Every document has the same score (within the tolerance) in both lists, so documents may trade places
/// only with documents of equal score: within a group of equal scores the order is free.</item>
/// <item>A document may be in one list only if the list was cut at k (it holds k documents) and the document
/// scores equal to the k-th score: only the last group, the one the cut splits, may have different members.</item>
/// <item>No document appears twice in a list.</item>
/// </list>
/// <para>Scores agree when |a − b| ≤ tolerance × max(|a|, |b|): the tolerance is <b>relative</b> (1e-5 by default).
/// An absolute 1e-5 would be too loose for fused scores: reciprocal rank fusion gives about 1/(60 + rank), and
/// adjacent ranks below about 250 differ by less than 1e-5, so an absolute tolerance would accept real swaps
/// there. BM25, query-likelihood (negative) and cosine scores are far from zero, where relative and absolute
/// 1e-5 are about the same; a score of exactly 0 (min-max fusion's minimum) must then be exactly 0 in both.</para></summary>
internal static class RankingComparison
{
    public const double DefaultTolerance = 1e-5;

    /// <summary>How many differences are listed before the rest are only counted.</summary>
    public const int MaxListed = 20;

    public static bool ScoresAgree(double a, double b, double tolerance = DefaultTolerance) =>
        a == b || Math.Abs(a - b) <= tolerance * Math.Max(Math.Abs(a), Math.Abs(b));

    public static IReadOnlyList<string> Compare(IReadOnlyList<Hit> expected, IReadOnlyList<Hit> actual, int k,
        double tolerance = DefaultTolerance) =>
        Compare(ToPairs(expected), ToPairs(actual), k, tolerance);

    /// <summary>The differences between <paramref name="actual"/> and <paramref name="expected"/>, two top-k lists
    /// (best first) of the same query; empty when they agree by the rules above.</summary>
    public static IReadOnlyList<string> Compare(IReadOnlyList<(string Id, double Score)> expected,
        IReadOnlyList<(string Id, double Score)> actual, int k, double tolerance = DefaultTolerance)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k));
        var diffs = new List<string>();
        if (expected.Count != actual.Count)
            diffs.Add($"length: expected {expected.Count} hits, got {actual.Count}");
        if (expected.Count > k) diffs.Add($"expected holds {expected.Count} hits, more than k = {k}");
        if (actual.Count > k) diffs.Add($"actual holds {actual.Count} hits, more than k = {k}");

        int common = Math.Min(expected.Count, actual.Count);
        for (int i = 0; i < common; i++)
            if (!ScoresAgree(expected[i].Score, actual[i].Score, tolerance))
                diffs.Add($"rank {i + 1}: score {F(actual[i].Score)} ({actual[i].Id}), expected {F(expected[i].Score)} ({expected[i].Id})");

        var inExpected = Index(expected, "expected", diffs);
        var inActual = Index(actual, "actual", diffs);

        // the k-th score of each list, if that list was cut at k (only then may membership differ, and only there)
        double? expectedCut = expected.Count == k ? expected[^1].Score : null;
        double? actualCut = actual.Count == k ? actual[^1].Score : null;

        for (int i = 0; i < actual.Count; i++)
        {
            var (id, score) = actual[i];
            if (inExpected.TryGetValue(id, out int j))
            {
                if (!ScoresAgree(expected[j].Score, score, tolerance))
                    diffs.Add($"{id}: score {F(score)} at rank {i + 1}, expected {F(expected[j].Score)} at rank {j + 1}");
            }
            else if (!(expectedCut is { } cut && ScoresAgree(cut, score, tolerance)))
            {
                diffs.Add($"{id}: at rank {i + 1} with score {F(score)}, but not in the expected list" +
                          (expectedCut is { } c ? $" (whose k-th score is {F(c)})" : $" (which holds all {expected.Count} matches)"));
            }
        }
        for (int j = 0; j < expected.Count; j++)
        {
            var (id, score) = expected[j];
            if (inActual.ContainsKey(id)) continue;
            if (!(actualCut is { } cut && ScoresAgree(cut, score, tolerance)))
                diffs.Add($"{id}: missing (expected at rank {j + 1} with score {F(score)}" +
                          (actualCut is { } c ? $"; the actual k-th score is {F(c)})" : ")"));
        }
        return Truncate(diffs);
    }

    /// <summary>Compares every query of two runs (query id → ranking); each difference names its query.</summary>
    public static IReadOnlyList<string> CompareRuns(IReadOnlyDictionary<string, IReadOnlyList<(string Id, double Score)>> expected,
        IReadOnlyDictionary<string, IReadOnlyList<(string Id, double Score)>> actual, int k, double tolerance = DefaultTolerance)
    {
        var diffs = new List<string>();
        foreach (var (query, ranking) in expected)
        {
            if (!actual.TryGetValue(query, out var other))
            {
                diffs.Add($"query {query}: missing from the actual run");
                continue;
            }
            foreach (var d in Compare(ranking, other, k, tolerance)) diffs.Add($"query {query}: {d}");
        }
        foreach (var query in actual.Keys)
            if (!expected.ContainsKey(query)) diffs.Add($"query {query}: not in the expected run");
        return Truncate(diffs);
    }

    /// <summary>Throws with the differences listed (for use in assertions).</summary>
    public static void AssertSame(IReadOnlyList<string> differences, string what)
    {
        if (differences.Count > 0)
            throw new Xunit.Sdk.XunitException($"{what} differs:\n  " + string.Join("\n  ", differences));
    }

    public static (string Id, double Score)[] ToPairs(IReadOnlyList<Hit> hits)
    {
        var pairs = new (string, double)[hits.Count];
        for (int i = 0; i < pairs.Length; i++) pairs[i] = (hits[i].Id, hits[i].Score);
        return pairs;
    }

    private static Dictionary<string, int> Index(IReadOnlyList<(string Id, double Score)> ranking, string name, List<string> diffs)
    {
        var index = new Dictionary<string, int>(ranking.Count, StringComparer.Ordinal);
        for (int i = 0; i < ranking.Count; i++)
            if (!index.TryAdd(ranking[i].Id, i))
                diffs.Add($"{ranking[i].Id}: twice in the {name} list (ranks {index[ranking[i].Id] + 1} and {i + 1})");
        return index;
    }

    private static List<string> Truncate(List<string> diffs)
    {
        if (diffs.Count <= MaxListed) return diffs;
        int more = diffs.Count - MaxListed;
        diffs.RemoveRange(MaxListed, more);
        diffs.Add($"... and {more} more");
        return diffs;
    }

    private static string F(double score) => score.ToString("R", CultureInfo.InvariantCulture);
}
