using Relevo.Index;
using Relevo.Search.Similarities;

namespace Relevo.Search.Pruning;

/// <summary>Block-max WAND (Ding and Suel 2011), rank-safe. Iterators are kept sorted by current document; the pivot is
/// the first document where the terms' global upper bounds can beat the k-th score. If the block maxima at the pivot
/// can too, the pivot is scored (exactly as the exhaustive scorer scores it); otherwise every iterator up to the pivot
/// jumps past the nearest block boundary, since no document before it can be competitive.</summary>
internal static class BlockMaxWand
{
    public static void Run<TScorer>(Weight<TScorer> ev, SegmentReader seg, int docBase, int n) where TScorer : struct, ITermScorer
    {
        var its = ev.Iterators;
        var top = ev.Top;
        var contrib = ev.Contributions;
        var deletes = ev.Skipped;
        bool anyDeleted = deletes.Count > 0;
        const int NoMore = int.MaxValue;

        SortByDoc(its, 0, n);
        float theta = top.Threshold;
        while (true)
        {
            // pivot: first position where the summed upper bounds exceed the threshold
            double acc = 0;
            int p = -1;
            for (int i = 0; i < n; i++)
            {
                if (its[i].Doc == NoMore) break;
                acc += its[i].MaxScore;
                if (acc > theta) { p = i; break; }
            }
            if (p < 0) return;
            int pivotDoc = its[p].Doc;
            while (p + 1 < n && its[p + 1].Doc == pivotDoc) p++;

            double blockBound = 0;
            int boundary = NoMore;
            for (int i = 0; i <= p; i++)
            {
                var it = its[i];
                int b = it.ShallowBlock(pivotDoc);
                blockBound += it.BlockMax(b);
                int last = it.BlockLastDoc(b);
                if (last < boundary) boundary = last;
            }

            if (blockBound > theta)
            {
                if (its[0].Doc == pivotDoc)
                {
                    for (int i = 0; i <= p; i++)
                    {
                        var it = its[i];
                        contrib[it.TermIndex] = it.Score();
                        it.NextDoc();
                    }
                    if (anyDeleted && deletes.IsDeleted(pivotDoc)) ev.ClearContributions();
                    else
                    {
                        float score = ev.ExactScore();
                        if (score > theta)
                        {
                            top.Collect(docBase + pivotDoc, score);
                            theta = top.Threshold;
                        }
                    }
                }
                else
                {
                    for (int i = 0; i < p && its[i].Doc < pivotDoc; i++) its[i].Advance(pivotDoc);
                }
            }
            else
            {
                // No document from the smallest current doc up to the nearest block end can win.
                int next = boundary == NoMore ? NoMore : boundary + 1;
                if (p + 1 < n && its[p + 1].Doc < next) next = its[p + 1].Doc;
                for (int i = 0; i <= p; i++)
                {
                    if (next == NoMore) its[i].Doc = NoMore; // exhausted for our purposes
                    else its[i].Advance(next);
                }
            }
            SortByDoc(its, 0, n);
        }
    }

    private static void SortByDoc<TScorer>(TermIterator<TScorer>[] its, int from, int to) where TScorer : struct, ITermScorer
    {
        for (int i = from + 1; i < to; i++)
        {
            var x = its[i];
            int j = i - 1;
            while (j >= from && its[j].Doc > x.Doc) { its[j + 1] = its[j]; j--; }
            its[j + 1] = x;
        }
    }
}
