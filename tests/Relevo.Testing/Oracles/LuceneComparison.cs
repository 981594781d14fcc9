namespace Relevo.Testing;

/// <summary>How the tests compare a Relevo top list with Lucene's for the same query: the same length; at every rank
/// the same score (Lucene's divided by <c>scale</c>: k1 + 1 for Lucene 4.8's BM25, within 1e-5 relative) and the same
/// document, unless the score is tied with a neighbour's (tied documents may come in either order).</summary>
internal static class LuceneComparison
{
    /// <summary>The first difference, as a line for the test output, or null when the lists agree.</summary>
    public static string? FirstDifference(IReadOnlyList<Hit> ours, IReadOnlyList<(string DocId, float Score)> theirs, float scale = 1 + 0.9f)
    {
        if (ours.Count != theirs.Count) return $"{ours.Count} hits, Lucene {theirs.Count}";
        for (int i = 0; i < ours.Count; i++)
        {
            float expected = theirs[i].Score / scale;
            bool sameScore = Math.Abs(ours[i].Score - expected) <= 1e-5f * Math.Max(1f, expected);
            bool sameDoc = ours[i].Id == theirs[i].DocId || sameScore && HasTie(theirs, i);
            if (!sameScore || !sameDoc) return $"rank {i + 1}: Relevo {ours[i].Id} {ours[i].Score}, Lucene {theirs[i].DocId} {expected}";
        }
        return null;
    }

    /// <summary>Whether the score at rank <paramref name="i"/> equals a neighbour's.</summary>
    public static bool HasTie(IReadOnlyList<(string DocId, float Score)> hits, int i) =>
        (i > 0 && Math.Abs(hits[i - 1].Score - hits[i].Score) <= 1e-5f * hits[i].Score) ||
        (i + 1 < hits.Count && Math.Abs(hits[i + 1].Score - hits[i].Score) <= 1e-5f * hits[i].Score);
}
