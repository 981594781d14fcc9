using Relevo.Index;
using Relevo.Search.Similarities;

namespace Relevo.Search;

/// <summary>Exhaustive term-at-a-time scoring: every posting of every query term is scored and summed (in double,
/// as Lucene's disjunctions do) and the top k kept. It is the reference the pruning algorithms are checked against.</summary>
internal static class ExhaustiveScorer
{
    [ThreadStatic] private static double[]? t_scores;
    [ThreadStatic] private static int[]? t_touched;
    [ThreadStatic] private static bool[]? t_seen;

    /// <summary>Scores every document that has a posting of a query term and offers those not below the collector's
    /// threshold (its floor and shared bound included) to it.</summary>
    public static void Search<TScorer>(IReadOnlyList<SegmentReader> segments, IReadOnlyList<int> docBases, Weight<TScorer> weight, TopKCollector top,
        Filters.DocFilter? filter = null)
        where TScorer : struct, ITermScorer
    {
        for (int s = 0; s < segments.Count; s++)
        {
            var seg = segments[s];
            var skipped = filter is null ? seg.Deletes : filter.Excluded[s];
            int docBase = docBases[s];
            int size = Math.Max(seg.MaxDoc, 1024);
            var scores = t_scores is { } ts && ts.Length >= seg.MaxDoc ? ts : (t_scores = new double[size]);
            var touched = t_touched is { } tt && tt.Length >= seg.MaxDoc ? tt : (t_touched = new int[size]);
            var seen = t_seen is { } tn && tn.Length >= seg.MaxDoc ? tn : (t_seen = new bool[size]);
            int nTouched = 0;
            PostingsCursor? cursor = null;
            for (int t = 0; t < weight.TermCount; t++)
            {
                var postings = weight.SegmentOf(t, s, segments); // the segment's own, or a field's postings of it
                int ord = postings.FindTerm(weight.Terms[t]);
                if (ord < 0) continue;
                var scorer = weight.Scorers[t];
                var norms = postings.Norms;
                cursor = postings.Postings(ord, cursor);
                for (int b = 0; b < cursor.BlockCount; b++)
                {
                    cursor.ReadBlock(b);
                    var docs = cursor.Docs;
                    var freqs = cursor.Freqs;
                    for (int i = 0; i < cursor.BlockLength; i++)
                    {
                        int d = docs[i];
                        if (!seen[d]) { seen[d] = true; touched[nTouched++] = d; }
                        scores[d] += scorer.Score(freqs[i], norms[d]);
                    }
                }
            }
            for (int i = 0; i < nTouched; i++)
            {
                int d = touched[i];
                float score = (float)scores[d];
                scores[d] = 0;
                seen[d] = false;
                if (!skipped.IsDeleted(d) && score >= top.Threshold) top.Collect(docBase + d, score); // ties: the collector decides
            }
        }
    }
}
