namespace Relevo.Learning;

/// <summary>Coordinate ascent on mean nDCG@10 (Metzler and Croft's linear feature-based model, as RankLib and
/// Anserini's AX train it): features min–max normalized per query; from equal weights, each feature's weight in turn is
/// moved by growing steps in both directions and the best change kept; rounds repeat until no change helps, from
/// several seeded random starts; weights are kept at unit L1 norm. Transparent: the weights say what the model uses.</summary>
internal static class CoordinateAscent
{
    public const int Cutoff = 10;

    public static LinearModel Train(IReadOnlyList<QueryExamples> queries, int features, int restarts = 3, int seed = 42, int maxRounds = 25)
    {
        var normalized = new List<(float[][] Rows, int[] Labels, double Ideal)>();
        foreach (var q in queries)
        {
            double ideal = IdealDcg(q.Labels);
            if (ideal > 0) normalized.Add((RankingModel.Normalize(q.Rows, features), q.Labels, ideal));
        }
        if (normalized.Count == 0) throw new RelevoException("train: no training query has a relevant candidate");
        var rng = new Random(seed);
        double[]? best = null;
        double bestScore = double.NegativeInfinity;
        for (int r = 0; r < restarts; r++)
        {
            var w = new double[features];
            for (int f = 0; f < features; f++) w[f] = r == 0 ? 1.0 / features : rng.NextDouble();
            Scale(w);
            double score = Objective(normalized, w);
            for (int round = 0; round < maxRounds; round++)
            {
                bool improved = false;
                foreach (int f in Order(features, rng))
                {
                    double original = w[f], bestValue = original, bestHere = score;
                    foreach (double direction in new[] { 1.0, -1.0 })
                        for (double step = 0.001; step < 4; step *= 2)
                        {
                            w[f] = original + direction * step;
                            double s = Objective(normalized, w);
                            if (s > bestHere + 1e-9) { bestHere = s; bestValue = w[f]; }
                        }
                    w[f] = bestValue;
                    if (bestHere > score + 1e-9) { score = bestHere; improved = true; }
                }
                if (!improved) break;
            }
            Scale(w);
            score = Objective(normalized, w);
            if (score > bestScore) { bestScore = score; best = (double[])w.Clone(); }
        }
        return new LinearModel(best!);
    }

    private static IEnumerable<int> Order(int n, Random rng)
    {
        var order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        rng.Shuffle(order);
        return order;
    }

    private static void Scale(double[] w)
    {
        double norm = 0;
        foreach (double x in w) norm += Math.Abs(x);
        if (norm > 0) for (int i = 0; i < w.Length; i++) w[i] /= norm;
    }

    /// <summary>Mean nDCG@10 (trec_eval's linear gains, ties broken by candidate order) of the weights.</summary>
    private static double Objective(List<(float[][] Rows, int[] Labels, double Ideal)> queries, double[] w)
    {
        double total = 0;
        var scores = new double[64];
        foreach (var (rows, labels, ideal) in queries)
        {
            if (scores.Length < rows.Length) scores = new double[rows.Length];
            for (int i = 0; i < rows.Length; i++)
            {
                double s = 0;
                var row = rows[i];
                for (int f = 0; f < w.Length; f++) s += w[f] * row[f];
                scores[i] = s;
            }
            total += Ndcg(scores.AsSpan(0, rows.Length), labels, ideal);
        }
        return total / queries.Count;
    }

    /// <summary>nDCG@10 of candidates ranked by <paramref name="scores"/>, an equal score keeping the earlier candidate
    /// first, with linear gains over <paramref name="ideal"/> (0 when the ideal is 0).</summary>
    public static double Ndcg(ReadOnlySpan<double> scores, int[] labels, double ideal)
    {
        if (ideal <= 0) return 0;
        Span<int> top = stackalloc int[Cutoff];
        Span<double> topScore = stackalloc double[Cutoff];
        int n = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            double s = scores[i];
            // insertion into the top 10 (stable: an equal score keeps the earlier candidate first)
            int at = n;
            while (at > 0 && topScore[at - 1] < s) at--;
            if (at >= Cutoff) continue;
            int last = Math.Min(n, Cutoff - 1);
            for (int j = last; j > at; j--) { top[j] = top[j - 1]; topScore[j] = topScore[j - 1]; }
            top[at] = i;
            topScore[at] = s;
            if (n < Cutoff) n++;
        }
        double dcg = 0;
        for (int r = 0; r < n; r++) dcg += labels[top[r]] / Math.Log2(r + 2);
        return dcg / ideal;
    }

    public static double IdealDcg(int[] labels)
    {
        var sorted = (int[])labels.Clone();
        Array.Sort(sorted);
        double dcg = 0;
        for (int r = 0; r < Math.Min(Cutoff, sorted.Length); r++)
        {
            int g = sorted[^(r + 1)];
            if (g <= 0) break;
            dcg += g / Math.Log2(r + 2);
        }
        return dcg;
    }
}

/// <summary>Deterministic query folds for cross-validation: queries sorted by the xxHash32 of their id (then the id),
/// dealt round-robin; the same ids give the same folds on any machine.</summary>
internal static class QueryFolds
{
    public static int[] Assign(IReadOnlyList<string> queryIds, int folds)
    {
        if (folds < 2) throw new RelevoException("cross-validation needs at least 2 folds");
        var order = new int[queryIds.Count];
        for (int i = 0; i < order.Length; i++) order[i] = i;
        var keys = new uint[order.Length];
        for (int i = 0; i < keys.Length; i++) keys[i] = System.IO.Hashing.XxHash32.HashToUInt32(System.Text.Encoding.UTF8.GetBytes(queryIds[i]));
        Array.Sort(order, (a, b) => keys[a] != keys[b] ? keys[a].CompareTo(keys[b]) : string.CompareOrdinal(queryIds[a], queryIds[b]));
        var fold = new int[order.Length];
        for (int r = 0; r < order.Length; r++) fold[order[r]] = r % folds;
        return fold;
    }
}
