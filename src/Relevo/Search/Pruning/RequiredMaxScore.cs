using Relevo.Index;
using Relevo.Search.Similarities;

namespace Relevo.Search.Pruning;

/// <summary>MaxScore for a query with required terms (<c>+a +b c d</c>, Lucene's ReqOptSumScorer with block-max
/// bounds): candidates come from the conjunction of the required terms, led by the rarest and checked by skipping the
/// others to it (leapfrogging); a candidate's optional terms are looked up only while its required score plus the
/// remaining optional bounds (global, then per block) can beat the k-th score; and a whole stretch of the lead's
/// documents is passed over when the block maxima of every term there cannot. Excluded terms and filters come in as the
/// documents to skip (<see cref="Weight{TScorer}.Skipped"/>). Scores are summed as the exhaustive scorer sums them, so
/// the result is exactly the exhaustive one (tested against the tree matched exhaustively).</summary>
internal static class RequiredMaxScore
{
    /// <param name="n">Iterators of this segment in <see cref="Weight{TScorer}.Iterators"/>; the terms whose
    /// <see cref="TermIterator{TScorer}.TermIndex"/> is below <see cref="Weight{TScorer}.RequiredTerms"/> are required,
    /// and every one of them is among the iterators.</param>
    public static void Run<TScorer>(Weight<TScorer> ev, SegmentReader seg, int docBase, int n) where TScorer : struct, ITermScorer
    {
        var its = ev.Iterators;
        var top = ev.Top;
        var contrib = ev.Contributions;
        var deletes = ev.Skipped;
        bool anyDeleted = deletes.Count > 0;
        int required = ev.RequiredTerms;
        const int NoMore = TermIterator<TScorer>.NoMoreDocs;

        // required first, rarest first (fewest documents: the fewest candidates); then optional by ascending bound
        var req = new TermIterator<TScorer>[required];
        var opt = new TermIterator<TScorer>[n - required];
        int r = 0, o = 0;
        for (int i = 0; i < n; i++)
        {
            if (its[i].TermIndex < required) req[r++] = its[i];
            else opt[o++] = its[i];
        }
        Array.Sort(req, (a, b) => a.Cost.CompareTo(b.Cost));
        Array.Sort(opt, (a, b) => a.MaxScore.CompareTo(b.MaxScore));
        var optBound = new double[opt.Length + 1]; // optBound[i]: sum of the bounds of opt[0..i)
        for (int i = 0; i < opt.Length; i++) optBound[i + 1] = optBound[i] + opt[i].MaxScore;
        double reqBound = 0;
        foreach (var it in req) reqBound += it.MaxScore;

        float theta = top.Threshold;
        int target = 0;
        var lead = req[0];
        while (true)
        {
            int doc = lead.Advance(target);
            if (doc == NoMore) return;
            if (reqBound + optBound[opt.Length] <= theta) return; // nothing left can enter the top k

            // block maxima of every term where doc lies: if even they cannot beat theta, skip to the end of the
            // shortest of those blocks
            double blockBound = 0;
            int blockEnd = NoMore;
            foreach (var it in req)
            {
                int b = it.ShallowBlock(doc);
                blockBound += it.BlockMax(b);
                blockEnd = Math.Min(blockEnd, it.BlockLastDoc(b));
            }
            foreach (var it in opt)
            {
                int b = it.ShallowBlock(doc);
                blockBound += it.BlockMax(b);
                blockEnd = Math.Min(blockEnd, it.BlockLastDoc(b));
            }
            if (blockBound <= theta)
            {
                target = blockEnd == NoMore ? NoMore : Math.Max(blockEnd, doc) + 1;
                if (target == NoMore) return;
                continue;
            }

            // the other required terms, skipped to doc
            bool all = true;
            for (int i = 1; i < req.Length; i++)
            {
                int d = req[i].Advance(doc);
                if (d != doc)
                {
                    if (d == NoMore) return;
                    target = d;
                    all = false;
                    break;
                }
            }
            if (!all) continue;
            if (anyDeleted && deletes.IsDeleted(doc))
            {
                target = doc + 1;
                continue;
            }

            double partial = 0;
            foreach (var it in req)
            {
                float s = it.Score();
                contrib[it.TermIndex] = s;
                partial += s;
            }
            bool competitive = true;
            for (int i = opt.Length - 1; i >= 0; i--)
            {
                if (partial + optBound[i + 1] <= theta) { competitive = false; break; }
                var it = opt[i];
                if (it.Advance(doc) == doc)
                {
                    float s = it.Score();
                    contrib[it.TermIndex] = s;
                    partial += s;
                }
            }
            if (!competitive)
            {
                ev.ClearContributions();
                target = doc + 1;
                continue;
            }
            float score = ev.ExactScore();
            if (score > theta)
            {
                top.Collect(docBase + doc, score);
                theta = top.Threshold;
            }
            target = doc + 1;
        }
    }
}
