using Relevo.Index.Formats.V1;

namespace Relevo.Search.Pruning;

/// <summary>MaxScore (Turtle and Flood 1995, as in Lucene 9+ and PISA), rank-safe. Terms are ordered by their
/// upper bound; the lowest-bound terms whose bounds together cannot beat the current k-th score are
/// "non-essential": candidates come only from the essential terms, and a non-essential term is looked up for a
/// candidate only while the candidate's partial score plus the remaining bounds (global, then per block) can still
/// beat the threshold. Candidates that survive are scored exactly as the exhaustive scorer scores them.</summary>
internal static class MaxScore
{
    /// <summary>From this k on, essential terms are scored term-at-a-time in windows of documents (the threshold is
    /// low, so most documents of the essential lists are candidates and per-candidate overhead dominates).</summary>
    public const int WindowedFromK = 100;
    private const int WindowBits = 12, Window = 1 << WindowBits;

    public static void Run(QueryEvaluator ev, SegmentReader seg, int docBase, int n)
    {
        if (ev.Top.Capacity >= WindowedFromK) { RunWindowed(ev, seg, docBase, n); return; }
        var its = ev.Iterators;
        var top = ev.Top;
        var contrib = ev.Contributions;
        var ub = ev.Bounds;
        var deletes = seg.Deletes;
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

        while (fe < n)
        {
            int doc = TermIterator.NoMoreDocs;
            for (int i = fe; i < n; i++) if (its[i].Doc < doc) doc = its[i].Doc;
            if (doc == TermIterator.NoMoreDocs) break;

            double partial = 0;
            for (int i = fe; i < n; i++)
            {
                var it = its[i];
                if (it.Doc != doc) continue;
                float s = it.Score();
                contrib[it.TermIndex] = s;
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
                        contrib[it.TermIndex] = s;
                        partial += s;
                    }
                }
            }

            if (!competitive || (anyDeleted && deletes.IsDeleted(doc)))
            {
                ev.ClearContributions();
                continue;
            }
            float score = ev.ExactScore();
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
    [ThreadStatic] private static float[]? t_contrib;
    [ThreadStatic] private static ulong[]? t_matched;

    /// <summary>MaxScore with the essential terms scored a window at a time: each essential list adds its scores for
    /// the window's documents into an accumulator (and each term's exact contribution into its own row), then the
    /// matched documents are visited in order for the non-essential terms, the bounds and the exact score.</summary>
    private static void RunWindowed(QueryEvaluator ev, SegmentReader seg, int docBase, int n)
    {
        var its = ev.Iterators;
        var top = ev.Top;
        var ub = ev.Bounds;
        var deletes = seg.Deletes;
        bool anyDeleted = deletes.Count > 0;
        int terms = ev.TermCount;
        var acc = t_acc ??= new double[Window];
        var matched = t_matched ??= new ulong[Window / 64];
        if (t_contrib is null || t_contrib.Length < terms * Window) t_contrib = new float[Math.Max(terms, 8) * Window];
        var contrib = t_contrib;

        for (int i = 1; i < n; i++)
        {
            var x = its[i];
            int j = i - 1;
            while (j >= 0 && its[j].MaxScore > x.MaxScore) { its[j + 1] = its[j]; j--; }
            its[j + 1] = x;
        }
        double total = 0;
        for (int i = 0; i < n; i++) { total += its[i].MaxScore; ub[i] = total; }

        float theta = top.Threshold;
        int fe = 0;
        while (fe < n && ub[fe] <= theta) fe++;

        while (fe < n)
        {
            int start = TermIterator.NoMoreDocs;
            for (int i = fe; i < n; i++) if (its[i].Doc < start) start = its[i].Doc;
            if (start == TermIterator.NoMoreDocs) break;
            int end = start + Window < 0 ? int.MaxValue : start + Window; // exclusive
            int feWindow = fe; // the essential set is fixed for the window (a stale, smaller fe only prunes less)

            for (int i = feWindow; i < n; i++)
            {
                var it = its[i];
                int row = it.TermIndex * Window;
                while (it.Doc < end)
                {
                    int d = it.Doc - start;
                    float sc = it.Score();
                    contrib[row + d] = sc;
                    acc[d] += sc;
                    matched[d >> 6] |= 1UL << d;
                    it.NextDoc();
                }
            }

            for (int w = 0; w < matched.Length; w++)
            {
                ulong bits = matched[w];
                if (bits == 0) continue;
                matched[w] = 0;
                while (bits != 0)
                {
                    int d = (w << 6) | System.Numerics.BitOperations.TrailingZeroCount(bits);
                    bits &= bits - 1;
                    int doc = start + d;
                    double partial = acc[d];
                    acc[d] = 0;
                    bool competitive = true;
                    if (feWindow > 0)
                    {
                        if (partial + ub[feWindow - 1] <= theta) competitive = false;
                        else
                        {
                            double bound = partial;
                            for (int i = feWindow - 1; i >= 0; i--) bound += its[i].BlockMax(its[i].ShallowBlock(doc));
                            if (bound <= theta) competitive = false;
                        }
                        for (int i = feWindow - 1; i >= 0 && competitive; i--)
                        {
                            if (partial + ub[i] <= theta) { competitive = false; break; }
                            var it = its[i];
                            if (it.Advance(doc) == doc)
                            {
                                float sc = it.Score();
                                contrib[it.TermIndex * Window + d] = sc;
                                partial += sc;
                            }
                        }
                    }
                    if (!competitive || (anyDeleted && deletes.IsDeleted(doc)))
                    {
                        for (int t = 0; t < terms; t++) contrib[t * Window + d] = 0;
                        continue;
                    }
                    // exact score: contributions summed in double in query-term order, as the exhaustive scorer sums
                    double sum = 0;
                    for (int t = 0; t < terms; t++)
                    {
                        sum += contrib[t * Window + d];
                        contrib[t * Window + d] = 0;
                    }
                    float score = (float)sum;
                    if (score > theta)
                    {
                        top.Collect(docBase + doc, score);
                        theta = top.Threshold;
                    }
                }
            }
            while (fe < n && ub[fe] <= theta) fe++;
        }
    }
}
