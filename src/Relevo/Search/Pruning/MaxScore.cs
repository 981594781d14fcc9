using Relevo.Index;
using Relevo.Search.Similarities;

namespace Relevo.Search.Pruning;

/// <summary>MaxScore (Turtle and Flood 1995, as in Lucene 9+ and PISA), rank-safe for any scorer with upper bounds. Terms are ordered by their
/// upper bound; the lowest-bound terms whose bounds together cannot beat the current k-th score are
/// "non-essential": candidates come only from the essential terms, and a non-essential term is looked up for a
/// candidate only while the candidate's partial score plus the remaining bounds (global, then per block) can still
/// beat the threshold. Candidates that survive are scored exactly as the exhaustive scorer scores them.</summary>
internal static class MaxScore
{
    /// <summary>From this k on the window-at-a-time form runs (<see cref="RunWindowed"/>): with a low threshold most
    /// documents are candidates, and term-at-a-time scoring inside a window beats per-document bookkeeping.</summary>
    public const int WindowedFromK = 100;
    private const int WindowBits = 12, Window = 1 << WindowBits;

    public static void Run<TScorer>(Weight<TScorer> ev, SegmentReader seg, int docBase, int n) where TScorer : struct, ITermScorer
    {
        if (ev.Top.Capacity >= WindowedFromK) { RunWindowed(ev, seg, docBase, n); return; }
        var its = ev.Iterators;
        var top = ev.Top;
        var contrib = ev.Contributions;
        var ub = ev.Bounds;
        var deletes = ev.Skipped;
        bool anyDeleted = deletes.Count > 0;

        // ascending upper bound (insertion sort: a handful of terms)
        for (int i = 1; i < n; i++)
        {
            var x = its[i];
            int j = i - 1;
            while (j >= 0 && its[j].MaxScore > x.MaxScore) { its[j + 1] = its[j]; j--; }
            its[j + 1] = x;
        }
        double acc = 0;
        for (int i = 0; i < n; i++) { acc += its[i].MaxScore; ub[i] = acc; }

        float theta = top.Threshold;
        int fe = 0; // first essential term
        while (fe < n && ub[fe] <= theta) fe++;

        // integer impacts times integer weights: every partial sum is exact in any order, so the running sum is the
        // score the exhaustive scorer's query-order sum gives, with no per-term bookkeeping
        bool exactPartial = !TScorer.UsesNorms && ev.IntegerWeights;
        while (fe < n)
        {
            int doc = int.MaxValue;
            for (int i = fe; i < n; i++) if (its[i].Doc < doc) doc = its[i].Doc;
            if (doc == int.MaxValue) break;
            if (anyDeleted && deletes.IsDeleted(doc))
            {
                // a deleted or filtered-out document: pass it without scoring
                for (int i = fe; i < n; i++) if (its[i].Doc == doc) its[i].NextDoc();
                continue;
            }

            double partial = 0;
            for (int i = fe; i < n; i++)
            {
                var it = its[i];
                if (it.Doc != doc) continue;
                float s = it.Score();
                if (!exactPartial) contrib[it.TermIndex] = s;
                partial += s;
                it.NextDoc();
            }

            bool competitive = true;
            if (fe > 0)
            {
                if (partial + ub[fe - 1] <= theta) competitive = false;
                else
                {
                    // tighter: block maxima of the non-essential terms at this document
                    double bound = partial;
                    for (int i = fe - 1; i >= 0; i--) bound += its[i].BlockMax(its[i].ShallowBlock(doc));
                    if (bound <= theta) competitive = false;
                }
                for (int i = fe - 1; i >= 0 && competitive; i--)
                {
                    if (partial + ub[i] <= theta) { competitive = false; break; }
                    var it = its[i];
                    if (it.Advance(doc) == doc)
                    {
                        float s = it.Score();
                        if (!exactPartial) contrib[it.TermIndex] = s;
                        partial += s;
                    }
                }
            }

            if (!competitive)
            {
                if (!exactPartial) ev.ClearContributions();
                continue;
            }
            float score = exactPartial ? (float)partial : ev.ExactScore();
            if (score > theta)
            {
                top.Collect(docBase + doc, score);
                float t = top.Threshold;
                if (t != theta)
                {
                    theta = t;
                    while (fe < n && ub[fe] <= theta) fe++;
                }
            }
        }
    }

    [ThreadStatic] private static double[]? t_acc;
    [ThreadStatic] private static ulong[]? t_matched;
    [ThreadStatic] private static int[]? t_listDocs;
    [ThreadStatic] private static float[]? t_listScores;
    [ThreadStatic] private static int[]? t_listCount;
    [ThreadStatic] private static float[]? t_windowMax;
    [ThreadStatic] private static int[]? t_order;

    /// <summary>MaxScore a window of 4096 documents at a time. Per window each term's bound is the largest block maximum
    /// among its blocks in the window; the lowest-bound terms whose bounds sum to at most the threshold are non-essential
    /// there (a window where all are is skipped without decoding). Essential terms score all their postings in the
    /// window, a decoded block at a time. Where no non-essential term has a posting in the window (the common case),
    /// the essential terms add their scores straight into the window's accumulators, in query-term order. Otherwise
    /// their scores are kept per term, and then, term by term in query order, the accumulators take the essential
    /// scores and the non-essential terms' scores for documents an essential term matched. Either way each document's
    /// score is summed in double in query-term order, exactly as the exhaustive scorer sums it. Candidates go to the
    /// collector's buffer (<see cref="TopKCollector.CollectBuffered(int, float)"/>), merged by selection k at a time.</summary>
    private static unsafe void RunWindowed<TScorer>(Weight<TScorer> ev, SegmentReader seg, int docBase, int n) where TScorer : struct, ITermScorer
    {
        var its = ev.Iterators; // query-term order (the evaluator adds them so)
        var top = ev.Top;
        var deletes = ev.Skipped;
        bool anyDeleted = deletes.Count > 0;
        var acc = t_acc ??= new double[Window];
        var matched = t_matched ??= new ulong[Window / 64];
        if (t_listDocs is null || t_listDocs.Length < n * Window)
        {
            t_listDocs = new int[Math.Max(n, 8) * Window];
            t_listScores = new float[t_listDocs.Length];
            t_listCount = new int[Math.Max(n, 8)];
            t_windowMax = new float[t_listCount.Length];
            t_order = new int[t_listCount.Length];
        }
        var listCount = t_listCount!;
        var windowMax = t_windowMax!;
        bool exactSums = !TScorer.UsesNorms && ev.IntegerWeights;
        var order = t_order!;
        const int NoMore = int.MaxValue;

        fixed (double* pacc = acc)
        fixed (ulong* pmatched = matched)
        fixed (int* listDocs = t_listDocs)
        fixed (float* listScores = t_listScores)
        fixed (int* candidateDocs = t_positions ??= new int[Window + 64])
        fixed (float* candidateScores = t_candidateScores ??= new float[Window])
        fixed (int* touched = t_touched ??= new int[Window])
        {
            float theta = top.Threshold;
            int start = NoMore;
            for (int i = 0; i < n; i++) if (its[i].Doc < start) start = its[i].Doc;
            while (start != NoMore)
            {
                int end = start > int.MaxValue - Window ? int.MaxValue : start + Window;

                // per-window bounds; non-essential: lowest bounds summing to at most the threshold
                for (int i = 0; i < n; i++)
                {
                    windowMax[i] = WindowMax(its[i], end);
                    order[i] = i;
                    listCount[i] = -1; // -1: non-essential in this window
                }
                for (int i = 1; i < n; i++)
                {
                    int x = order[i], j = i - 1;
                    while (j >= 0 && windowMax[order[j]] > windowMax[x]) { order[j + 1] = order[j]; j--; }
                    order[j + 1] = x;
                }
                double cum = 0;
                int firstEssential = 0;
                while (firstEssential < n && cum + windowMax[order[firstEssential]] <= theta) cum += windowMax[order[firstEssential++]];
                bool staged = false;
                int withPostings = 0, single = -1;
                for (int o = 0; o < firstEssential; o++) staged |= its[order[o]].Doc < end;
                for (int o = firstEssential; o < n; o++)
                {
                    int i = order[o];
                    listCount[i] = 0;
                    if (its[i].Doc < end) { withPostings++; single = i; }
                }
                bool anyMatch = withPostings > 0;
                int touchedCount = 0;

                if (withPostings == 1 && !staged)
                {
                    // one term has postings here: its scores are the documents' scores
                    int c = its[single].ScoreWindowAbove(end, theta, candidateDocs, candidateScores);
                    if (!anyDeleted)
                    {
                        top.CollectBuffered(new ReadOnlySpan<int>(candidateDocs, c), new ReadOnlySpan<float>(candidateScores, c), docBase);
                        theta = top.Threshold;
                        c = 0;
                    }
                    for (int e = 0; e < c; e++)
                    {
                        float score = candidateScores[e];
                        int doc = candidateDocs[e];
                        if (score > theta && !(anyDeleted && deletes.IsDeleted(doc)))
                        {
                            top.CollectBuffered(docBase + doc, score);
                            theta = top.Threshold;
                        }
                    }
                    anyMatch = false; // nothing accumulated or marked
                }
                else if (anyMatch && exactSums)
                {
                    // integer scores: the essential terms straight into the accumulators in any order, then the
                    // non-essential terms' scores for the documents they matched
                    for (int o = firstEssential; o < n; o++)
                        touchedCount = its[order[o]].AccumulateWindow(start, end, pacc, pmatched, touched, touchedCount);
                    if (staged)
                        for (int o = 0; o < firstEssential; o++) AddNonEssential(its[order[o]], start, end, pacc, pmatched);
                }
                else if (anyMatch && !staged)
                {
                    // only essential terms have postings here: straight into the accumulators, in query-term order
                    for (int i = 0; i < n; i++)
                        if (listCount[i] >= 0) touchedCount = its[i].AccumulateWindow(start, end, pacc, pmatched, touched, touchedCount);
                }
                else if (anyMatch)
                {
                    for (int o = firstEssential; o < n; o++)
                    {
                        int i = order[o];
                        listCount[i] = its[i].ScoreWindow(start, end, listDocs + i * Window, listScores + i * Window, pmatched, touched, ref touchedCount);
                    }
                    for (int i = 0; i < n; i++)
                    {
                        int c = listCount[i];
                        if (c >= 0)
                        {
                            int* rowDocs = listDocs + i * Window;
                            float* rowScores = listScores + i * Window;
                            for (int e = 0; e < c; e++) pacc[rowDocs[e]] += rowScores[e];
                            continue;
                        }
                        AddNonEssential(its[i], start, end, pacc, pmatched);
                    }
                }

                if (anyMatch) theta = CollectWindow(top, theta, docBase, start, pacc, pmatched, touched, touchedCount, anyDeleted ? deletes : null);
                touchedCount = 0;

                // every list moves past the window; the next window starts at the smallest next document
                start = NoMore;
                for (int i = 0; i < n; i++)
                {
                    var it = its[i];
                    if (it.Doc < end) it.Advance(end);
                    if (it.Doc < start) start = it.Doc;
                }
            }
        }
    }

    /// <summary>Adds a non-essential term's scores for the window's matched documents (in the accumulators).</summary>
    private static unsafe void AddNonEssential<TScorer>(TermIterator<TScorer> it, int start, int end, double* acc, ulong* matched)
        where TScorer : struct, ITermScorer
    {
        if (it.Doc >= end) return;
        // many marks: score the term's postings here a block at a time, masked; few: look each marked document up
        int marks = 0;
        for (int w = 0; w < Window / 64; w++) marks += System.Numerics.BitOperations.PopCount(matched[w]);
        if (marks * 6 >= it.PostingsBefore(end))
        {
            it.AddToMarked(start, end, acc, matched);
            return;
        }
        for (int w = 0; w < Window / 64 && it.Doc < end; w++)
        {
            ulong bits = matched[w];
            while (bits != 0)
            {
                int d = (w << 6) | System.Numerics.BitOperations.TrailingZeroCount(bits);
                bits &= bits - 1;
                int doc = start + d;
                if (it.Advance(doc) == doc) acc[d] += it.Score();
                else if (it.Doc >= end) break;
            }
        }
    }

    [ThreadStatic] private static int[]? t_positions;
    [ThreadStatic] private static int[]? t_touched;
    [ThreadStatic] private static float[]? t_candidateScores;

    /// <summary>The window's matched documents (listed in <paramref name="touched"/>, each once) above the threshold go
    /// to the collector; accumulators and marks are cleared. Returns the new threshold. The comparison with the
    /// threshold only advances a write index (no branch per document).</summary>
    private static unsafe float CollectWindow(TopKCollector top, float theta, int docBase, int start, double* acc, ulong* matched,
        int* touched, int count, DeletedDocs? deletes)
    {
        var positions = t_positions ??= new int[Window + 64];
        var candidateScores = t_candidateScores ??= new float[Window];
        fixed (int* pos = positions)
        fixed (float* cs = candidateScores)
        {
            int c = 0;
            for (int i = 0; i < count; i++)
            {
                int d = touched[i];
                float score = (float)acc[d];
                acc[d] = 0;
                matched[d >> 6] = 0;
                pos[c] = d;
                cs[c] = score;
                c += score > theta ? 1 : 0;
            }
            if (deletes is null)
            {
                top.CollectBuffered(new ReadOnlySpan<int>(pos, c), new ReadOnlySpan<float>(cs, c), docBase + start);
                return top.Threshold;
            }
            for (int i = 0; i < c; i++)
            {
                float score = cs[i];
                int d = pos[i];
                if (score > theta && !deletes.IsDeleted(start + d))
                {
                    top.CollectBuffered(docBase + start + d, score);
                    theta = top.Threshold;
                }
            }
        }
        return theta;
    }

    /// <summary>Largest block maximum among the term's blocks that hold documents below <paramref name="end"/>,
    /// from its current document on (0 if it has none there).</summary>
    private static float WindowMax<TScorer>(TermIterator<TScorer> it, int end) where TScorer : struct, ITermScorer
    {
        if (it.Doc >= end) return 0;
        int b = it.ShallowBlock(it.Doc);
        float m = it.BlockMax(b);
        while (it.BlockLastDoc(b) < end - 1)
        {
            b++;
            float x = it.BlockMax(b);
            if (x == 0) break; // past the last block
            if (x > m) m = x;
        }
        return m;
    }
}
