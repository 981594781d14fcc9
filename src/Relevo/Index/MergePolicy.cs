namespace Relevo.Index;

/// <summary>When segments merge by themselves: Lucene's log merge policy, over adjacent segments only (so documents
/// keep the order they were added in, and ties between equal scores keep breaking by it). A segment's level is
/// log<sub>MergeFactor</sub> of its live documents (small ones count as <see cref="FloorDocs"/>); when
/// <see cref="MergeFactor"/> adjacent segments share a level they merge into one of the next level. Flushes make
/// level-0 segments, so an index of n flushes keeps about MergeFactor × log n segments, each document is rewritten
/// about log n times, and a small addition to a large index merges only small segments. Segments that carry different
/// component data (vectors of some model in one, none in the next) are not merged together: a merge keeps only the data
/// every merged segment has, and the policy never throws work away that cannot be redone without a model.</summary>
internal sealed record MergePolicy
{
    /// <summary>Segments of one level that merge into one.</summary>
    public int MergeFactor { get; init; } = 10;

    /// <summary>Segments smaller than this count as this size (tiny flushes all sit on level 0).</summary>
    public int FloorDocs { get; init; } = 10_000;

    /// <summary>No merge produces a segment larger than this (live documents).</summary>
    public int MaxMergedDocs { get; init; } = 50_000_000;

    /// <summary>Lucene's defaults: merge 10 at a time.</summary>
    public static MergePolicy Default { get; } = new();

    /// <summary>The adjacent segments [Start, Start + Count) to merge now, newest first; null when none should.
    /// <paramref name="kinds"/> (optional, one per segment) says what data each segment carries besides postings; only
    /// segments of one kind merge.</summary>
    public (int Start, int Count)? FindMerge(IReadOnlyList<long> liveDocs, IReadOnlyList<string>? kinds = null)
    {
        if (MergeFactor < 2 || liveDocs.Count < MergeFactor) return null;
        var level = new int[liveDocs.Count];
        for (int i = 0; i < level.Length; i++)
            level[i] = (int)Math.Floor(Math.Log(Math.Max(liveDocs[i], FloorDocs) / (double)FloorDocs) / Math.Log(MergeFactor) + 1e-9);
        // the newest run of MergeFactor adjacent segments on one level
        for (int end = level.Length; end >= MergeFactor; end--)
        {
            int start = end - MergeFactor;
            bool same = true;
            long docs = 0;
            for (int i = start; i < end && same; i++)
            {
                same = level[i] == level[end - 1] && (kinds is null || kinds[i] == kinds[end - 1]);
                docs += liveDocs[i];
            }
            if (same && docs <= MaxMergedDocs) return (start, MergeFactor);
        }
        return null;
    }
}
