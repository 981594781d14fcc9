using Relevo.Index;

namespace Relevo.Search;

/// <summary>Exhaustive term-at-a-time scoring: every posting of every query term is scored and summed (in double,
/// as Lucene's disjunctions do) and the top k kept. It is the reference the pruning algorithms are checked against.</summary>
public static class ExhaustiveScorer
{
    [ThreadStatic] private static double[]? t_scores;
    [ThreadStatic] private static int[]? t_touched;
    [ThreadStatic] private static bool[]? t_seen;

    public static IReadOnlyList<SearchHit> Search<TScorer>(IndexReader reader, IReadOnlyList<(string Term, TScorer Scorer)> terms, int k)
        where TScorer : struct, ITermScorer
    {
        var top = new TopKCollector(k);
        for (int s = 0; s < reader.Segments.Count; s++)
        {
            var seg = reader.Segments[s];
            int docBase = reader.DocBase[s];
            int size = Math.Max(seg.MaxDoc, 1024);
            var scores = t_scores is { } ts && ts.Length >= seg.MaxDoc ? ts : (t_scores = new double[size]);
            var touched = t_touched is { } tt && tt.Length >= seg.MaxDoc ? tt : (t_touched = new int[size]);
            var seen = t_seen is { } tn && tn.Length >= seg.MaxDoc ? tn : (t_seen = new bool[size]);
            int nTouched = 0;
            var norms = seg.Norms;
            for (int t = 0; t < terms.Count; t++)
            {
                int ord = seg.FindTerm(terms[t].Term);
                if (ord < 0) continue;
                var scorer = terms[t].Scorer;
                var cursor = seg.Postings(ord);
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
                if (!seg.IsDeleted(d)) top.Collect(docBase + d, score);
            }
        }
        return SearchHits.FromGlobalDocs(reader, top.Drain());
    }
}
