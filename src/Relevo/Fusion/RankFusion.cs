namespace Relevo.Fusion;

/// <summary>Fusion of several ranked lists into one. Every method first cuts each input at <c>depth</c>.
/// The fused list is ordered by score descending, ties by document id (ordinal) ascending, so it is deterministic.
/// Given a <c>shares</c> dictionary, each method also records every document's share from each input (what an
/// explanation shows); the shares of a document add up to its fused score.</summary>
internal static class RankFusion
{
    /// <summary>Reciprocal rank fusion (Cormack et al. 2009): Σ w_i / (k + rank_i), ranks from 1.</summary>
    public static List<Hit> ReciprocalRank(IReadOnlyList<IReadOnlyList<Hit>> inputs, double k = 60,
        IReadOnlyList<double>? weights = null, int depth = 1000, Dictionary<string, double[]>? shares = null)
    {
        CheckWeights(inputs, weights);
        var acc = new Accumulator(inputs.Count, shares);
        for (int i = 0; i < inputs.Count; i++)
        {
            double w = weights?[i] ?? 1.0;
            int n = Math.Min(depth, inputs[i].Count);
            for (int r = 0; r < n; r++) acc.Add(inputs[i][r], w / (k + r + 1), i);
        }
        return acc.Ranked();
    }

    /// <summary>Borda count: in a list cut at n documents, rank r earns n - r + 1 points.</summary>
    public static List<Hit> Borda(IReadOnlyList<IReadOnlyList<Hit>> inputs, IReadOnlyList<double>? weights = null, int depth = 1000,
        Dictionary<string, double[]>? shares = null)
    {
        CheckWeights(inputs, weights);
        var acc = new Accumulator(inputs.Count, shares);
        for (int i = 0; i < inputs.Count; i++)
        {
            double w = weights?[i] ?? 1.0;
            int n = Math.Min(depth, inputs[i].Count);
            for (int r = 0; r < n; r++) acc.Add(inputs[i][r], w * (n - r), i);
        }
        return acc.Ranked();
    }

    /// <summary>CombSUM (Fox and Shaw): Σ w_i · normalized score_i; a document absent from a list gets nothing from it.
    /// CombMNZ multiplies that sum by the number of lists the document appears in.</summary>
    public static List<Hit> CombSum(IReadOnlyList<IReadOnlyList<Hit>> inputs, Normalization normalization,
        IReadOnlyList<double>? weights = null, int depth = 1000, bool mnz = false, Dictionary<string, double[]>? shares = null)
    {
        CheckWeights(inputs, weights);
        var acc = new Accumulator(inputs.Count, shares);
        for (int i = 0; i < inputs.Count; i++)
        {
            var cut = Cut(inputs[i], depth);
            var norm = ScoreNormalization.Normalize(cut, normalization);
            double w = weights?[i] ?? 1.0;
            for (int r = 0; r < cut.Count; r++) acc.Add(cut[r], w * norm[r], i);
        }
        return mnz ? acc.Ranked(multiplyByCount: true) : acc.Ranked();
    }

    /// <summary>Convex interpolation of two normalized lists: alpha · a + (1 - alpha) · b. A document missing from one
    /// list takes that list's lowest normalized score (0 after min-max), as Pyserini's hybrid search does.</summary>
    public static List<Hit> Interpolate(IReadOnlyList<Hit> a, IReadOnlyList<Hit> b, double alpha,
        Normalization normalization, int depth = 1000, Dictionary<string, double[]>? shares = null)
    {
        if (alpha < 0 || alpha > 1) throw new RelevoException($"fuse: alpha must be within [0, 1], got {alpha}");
        var ca = Cut(a, depth);
        var cb = Cut(b, depth);
        var na = ScoreNormalization.Normalize(ca, normalization);
        var nb = ScoreNormalization.Normalize(cb, normalization);
        double floorA = Min(na), floorB = Min(nb);
        var acc = new Accumulator(2, shares);
        var inA = new HashSet<string>(StringComparer.Ordinal);
        var inB = new HashSet<string>(StringComparer.Ordinal);
        for (int r = 0; r < ca.Count; r++) { acc.Add(ca[r], alpha * na[r], 0); inA.Add(ca[r].Id); }
        for (int r = 0; r < cb.Count; r++) { acc.Add(cb[r], (1 - alpha) * nb[r], 1); inB.Add(cb[r].Id); }
        foreach (var h in ca) if (!inB.Contains(h.Id)) acc.Add(h, (1 - alpha) * floorB, 1);
        foreach (var h in cb) if (!inA.Contains(h.Id)) acc.Add(h, alpha * floorA, 0);
        return acc.Ranked();
    }

    private static double Min(double[] v)
    {
        if (v.Length == 0) return 0;
        double m = double.MaxValue;
        foreach (double x in v) m = Math.Min(m, x);
        return m;
    }

    private static IReadOnlyList<Hit> Cut(IReadOnlyList<Hit> hits, int depth)
    {
        if (hits.Count <= depth) return hits;
        var list = new List<Hit>(depth);
        for (int i = 0; i < depth; i++) list.Add(hits[i]);
        return list;
    }

    private static void CheckWeights(IReadOnlyList<IReadOnlyList<Hit>> inputs, IReadOnlyList<double>? weights)
    {
        if (weights is not null && weights.Count != inputs.Count)
            throw new RelevoException($"fuse: {weights.Count} weights given for {inputs.Count} inputs");
    }

    /// <summary>Sums contributions per document id, remembering where the document lives (and, given
    /// <paramref name="shares"/>, each input's contribution).</summary>
    private sealed class Accumulator(int inputs, Dictionary<string, double[]>? shares)
    {
        private readonly Dictionary<string, (Hit Hit, double Score, int Count)> _docs = new(StringComparer.Ordinal);

        public void Add(Hit hit, double contribution, int input)
        {
            if (_docs.TryGetValue(hit.Id, out var e)) _docs[hit.Id] = (e.Hit, e.Score + contribution, e.Count + 1);
            else _docs[hit.Id] = (hit, contribution, 1);
            if (shares is null) return;
            if (!shares.TryGetValue(hit.Id, out var row)) shares[hit.Id] = row = new double[inputs];
            row[input] += contribution;
        }

        public List<Hit> Ranked(bool multiplyByCount = false)
        {
            var list = new List<(Hit Hit, double Score)>(_docs.Count);
            foreach (var (id, e) in _docs)
            {
                list.Add((e.Hit, multiplyByCount ? e.Score * e.Count : e.Score));
                if (multiplyByCount && shares is not null)
                    foreach (ref double share in shares[id].AsSpan()) share *= e.Count;
            }
            list.Sort((x, y) => x.Score != y.Score ? y.Score.CompareTo(x.Score) : string.CompareOrdinal(x.Hit.Id, y.Hit.Id));
            var result = new List<Hit>(list.Count);
            foreach (var (hit, score) in list) result.Add(hit with { Score = (float)score });
            return result;
        }
    }
}
