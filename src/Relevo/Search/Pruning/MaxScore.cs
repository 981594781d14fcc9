using Relevo.Index.Formats.V1;

namespace Relevo.Search.Pruning;

/// <summary>MaxScore (Turtle and Flood 1995, as in Lucene 9+ and PISA), rank-safe. Terms are ordered by their
/// upper bound; the lowest-bound terms whose bounds together cannot beat the current k-th score are
/// "non-essential": candidates come only from the essential terms, and a non-essential term is looked up for a
/// candidate only while the candidate's partial score plus the remaining bounds (global, then per block) can still
/// beat the threshold. Candidates that survive are scored exactly as the exhaustive scorer scores them.</summary>
internal static class MaxScore
{
    public static void Run(QueryEvaluator ev, SegmentReader seg, int docBase, int n)
    {
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
}
