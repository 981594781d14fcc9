using Relevo.Evaluation;

namespace Relevo.Llm;

/// <summary>How well a set of judgments (an LLM's) agrees with a reference (people's) over the judged pool: every
/// (query, document) pair the judged qrels hold, for the queries the reference judges. Sparse reference qrels (BEIR's
/// list only relevant pairs) count a pool pair they do not list as non-relevant; complete ones
/// (<c>referenceComplete</c>) are compared on the pairs both hold. Cohen's kappa binary (grade ≥ <c>relevantFrom</c>),
/// unweighted and linearly weighted over the grades, Krippendorff's alpha (ordinal), the confusion matrix (reference
/// grade by row, judged grade by column), and Kendall's tau-b between the orderings of systems the two qrels give.</summary>
internal sealed record AgreementResult(int Pairs, int AbsentCountedNonRelevant, int QueriesWithoutReference, bool ReferenceComplete,
    double KappaBinary, double KappaGraded, double KappaLinear, double AlphaOrdinal,
    IReadOnlyList<int> Grades, int[,] Confusion,
    string Measure, IReadOnlyList<(string Run, double ScoreA, double ScoreB)> Systems, double? KendallTau);

internal static class Agreement
{
    /// <summary>Cohen's kappa of two raters' labels on the same items: (po − pe) / (1 − pe); 1 when both are
    /// constant and equal.</summary>
    public static double CohensKappa(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException("the two raters must label the same items");
        int n = a.Count;
        if (n == 0) return double.NaN;
        var countA = new Dictionary<int, int>();
        var countB = new Dictionary<int, int>();
        int agree = 0;
        for (int i = 0; i < n; i++)
        {
            if (a[i] == b[i]) agree++;
            countA[a[i]] = countA.GetValueOrDefault(a[i]) + 1;
            countB[b[i]] = countB.GetValueOrDefault(b[i]) + 1;
        }
        double po = (double)agree / n, pe = 0;
        foreach (var (label, ca) in countA) pe += (double)ca / n * countB.GetValueOrDefault(label) / n;
        return pe >= 1 ? (po >= 1 ? 1 : 0) : (po - pe) / (1 - pe);
    }

    /// <summary>Kendall's tau-b (ties in either list handled as in Kendall 1945).</summary>
    public static double KendallTau(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        if (x.Count != y.Count) throw new ArgumentException("the two lists must have the same length");
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0, pairs = 0;
        for (int i = 0; i < x.Count; i++)
            for (int j = i + 1; j < x.Count; j++)
            {
                pairs++;
                int sx = Math.Sign(x[i] - x[j]), sy = Math.Sign(y[i] - y[j]);
                if (sx == 0) tiesX++;
                if (sy == 0) tiesY++;
                if (sx == 0 || sy == 0) continue;
                if (sx == sy) concordant++; else discordant++;
            }
        double denom = Math.Sqrt((double)(pairs - tiesX) * (pairs - tiesY));
        return denom == 0 ? double.NaN : (concordant - discordant) / denom;
    }

    /// <summary>Cohen's kappa with linear disagreement weights |a − b| / (max − min) over the grades:
    /// 1 − observed weighted disagreement / expected; 1 when both are constant and equal.</summary>
    public static double LinearWeightedKappa(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException("the two raters must label the same items");
        int n = a.Count;
        if (n == 0) return double.NaN;
        var countA = new Dictionary<int, int>();
        var countB = new Dictionary<int, int>();
        int min = int.MaxValue, max = int.MinValue;
        for (int i = 0; i < n; i++)
        {
            countA[a[i]] = countA.GetValueOrDefault(a[i]) + 1;
            countB[b[i]] = countB.GetValueOrDefault(b[i]) + 1;
            min = Math.Min(min, Math.Min(a[i], b[i]));
            max = Math.Max(max, Math.Max(a[i], b[i]));
        }
        if (max == min) return 1; // every label equal
        double range = max - min, observed = 0, expected = 0;
        for (int i = 0; i < n; i++) observed += Math.Abs(a[i] - b[i]) / range;
        observed /= n;
        foreach (var (ga, ca) in countA)
            foreach (var (gb, cb) in countB)
                expected += (double)ca / n * cb / n * Math.Abs(ga - gb) / range;
        return expected == 0 ? (observed == 0 ? 1 : 0) : 1 - observed / expected;
    }

    /// <summary>Krippendorff's alpha with the ordinal metric for two coders who both coded every unit:
    /// 1 − (n − 1) Σ o_ck δ²_ck / Σ n_c n_k δ²_ck over the coincidence matrix o, with n = 2 · units and
    /// δ_ck = Σ_{g = c..k} n_g − (n_c + n_k) / 2 over the ordered grades.</summary>
    public static double KrippendorffOrdinal(IReadOnlyList<int> a, IReadOnlyList<int> b)
    {
        if (a.Count != b.Count) throw new ArgumentException("the two coders must code the same units");
        if (a.Count == 0) return double.NaN;
        var grades = new SortedSet<int>(a);
        grades.UnionWith(b);
        var index = new Dictionary<int, int>();
        foreach (int g in grades) index[g] = index.Count;
        int k = index.Count;
        if (k == 1) return 1;
        var o = new double[k, k];
        for (int u = 0; u < a.Count; u++)
        {
            int x = index[a[u]], y = index[b[u]];
            o[x, y] += 1;
            o[y, x] += 1;
        }
        var nc = new double[k];
        double n = 0;
        for (int c = 0; c < k; c++)
            for (int d = 0; d < k; d++) { nc[c] += o[c, d]; n += o[c, d]; }
        double observed = 0, expected = 0;
        for (int c = 0; c < k; c++)
            for (int d = 0; d < k; d++)
            {
                int lo = Math.Min(c, d), hi = Math.Max(c, d);
                double span = 0;
                for (int g = lo; g <= hi; g++) span += nc[g];
                double delta = span - (nc[lo] + nc[hi]) / 2, d2 = delta * delta;
                observed += o[c, d] * d2;
                expected += nc[c] * nc[d] * d2;
            }
        return expected == 0 ? 1 : 1 - (n - 1) * observed / expected;
    }

    /// <summary>Agreement of <paramref name="judged"/> with <paramref name="reference"/> over the judged pool (see
    /// <see cref="AgreementResult"/>).</summary>
    public static AgreementResult Compute(Qrels reference, Qrels judged, IReadOnlyList<TrecRun> runs, string measure = "ndcg_cut_10",
        int relevantFrom = 1, bool referenceComplete = false)
    {
        var ga = new List<int>();
        var gb = new List<int>();
        int absent = 0, noReference = 0;
        foreach (var qid in judged.QueryIds.Order(StringComparer.Ordinal))
        {
            var jr = reference.ForQuery(qid);
            if (jr is null)
            {
                noReference++; // a query people did not judge at all says nothing about its documents
                continue;
            }
            foreach (var (doc, grade) in judged.ForQuery(qid)!.OrderBy(x => x.Key, StringComparer.Ordinal))
            {
                if (jr.TryGetValue(doc, out int other)) ga.Add(other);
                else if (referenceComplete) continue;
                else
                {
                    ga.Add(0);
                    absent++;
                }
                gb.Add(grade);
            }
        }
        double kb = CohensKappa(ga.ConvertAll(g => g >= relevantFrom ? 1 : 0), gb.ConvertAll(g => g >= relevantFrom ? 1 : 0));
        var grades = new SortedSet<int>(ga);
        grades.UnionWith(gb);
        var list = grades.ToList();
        var confusion = new int[list.Count, list.Count];
        for (int i = 0; i < ga.Count; i++) confusion[list.IndexOf(ga[i]), list.IndexOf(gb[i])]++;
        var systems = new List<(string, double, double)>();
        var ea = new Evaluator(reference);
        var eb = new Evaluator(judged);
        foreach (var run in runs)
            systems.Add((run.Source ?? run.Tag, ea.Evaluate(run, [measure]).Mean(measure), eb.Evaluate(run, [measure]).Mean(measure)));
        double? tau = systems.Count >= 2 ? KendallTau(systems.Select(s => s.Item2).ToList(), systems.Select(s => s.Item3).ToList()) : null;
        return new AgreementResult(ga.Count, absent, noReference, referenceComplete, kb, CohensKappa(ga, gb), LinearWeightedKappa(ga, gb),
            KrippendorffOrdinal(ga, gb), list, confusion, measure, systems, tau);
    }
}
