using Relevo.Evaluation;

namespace Relevo.Llm;

/// <summary>How well two sets of judgments agree (e.g. human and LLM qrels): Cohen's kappa on the (query, document)
/// pairs both judged, binary (grade ≥ <c>relevantFrom</c>) and graded (unweighted, one category per grade), and
/// Kendall's tau-b between the orderings of systems that the two qrels produce for a measure.</summary>
internal sealed record AgreementResult(int SharedPairs, double KappaBinary, double KappaGraded,
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

    public static AgreementResult Compute(Qrels a, Qrels b, IReadOnlyList<TrecRun> runs, string measure = "ndcg_cut_10", int relevantFrom = 1)
    {
        var ga = new List<int>();
        var gb = new List<int>();
        foreach (var qid in a.QueryIds.Order(StringComparer.Ordinal))
        {
            var ja = a.ForQuery(qid);
            var jb = b.ForQuery(qid);
            if (ja is null || jb is null) continue;
            foreach (var (doc, grade) in ja.OrderBy(x => x.Key, StringComparer.Ordinal))
            {
                if (!jb.TryGetValue(doc, out int other)) continue;
                ga.Add(grade);
                gb.Add(other);
            }
        }
        double kb = CohensKappa(ga.Select(g => g >= relevantFrom ? 1 : 0).ToList(), gb.Select(g => g >= relevantFrom ? 1 : 0).ToList());
        double kg = CohensKappa(ga, gb);
        var systems = new List<(string, double, double)>();
        var ea = new Evaluator(a);
        var eb = new Evaluator(b);
        foreach (var run in runs)
            systems.Add((run.Source ?? run.Tag, ea.Evaluate(run, [measure]).Mean(measure), eb.Evaluate(run, [measure]).Mean(measure)));
        double? tau = systems.Count >= 2 ? KendallTau(systems.Select(s => s.Item2).ToList(), systems.Select(s => s.Item3).ToList()) : null;
        return new AgreementResult(ga.Count, kb, kg, measure, systems, tau);
    }
}
