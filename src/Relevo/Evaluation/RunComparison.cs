namespace Relevo.Evaluation;

/// <summary>Settings of a multi-run comparison.</summary>
internal sealed record ComparisonOptions
{
    /// <summary>Permutations of the paired randomization test (default 10,000).</summary>
    public int Permutations { get; init; } = 10_000;
    /// <summary>Seed of the randomization test.</summary>
    public int Seed { get; init; } = 42;
    /// <summary>Significance level applied to the Holm-adjusted p-values.</summary>
    public double Alpha { get; init; } = 0.05;
}

/// <summary>One run against the baseline on one measure, over the queries both were evaluated on.</summary>
internal sealed record ComparisonCell(
    int RunIndex, string Measure, double Value, double BaselineValue, double Delta, int Queries,
    double TTestP, double RandomizationP, double TTestPHolm, double RandomizationPHolm,
    int Wins, int Ties, int Losses, bool SignificantTTest, bool SignificantRandomization);

/// <summary>Compares several evaluated runs with a baseline: difference of means, paired t-test and paired
/// randomization test per (run, measure), Holm–Bonferroni across all runs and measures (each test separately),
/// and per-query win/tie/loss counts.</summary>
internal sealed class RunComparison
{
    private RunComparison(IReadOnlyList<EvaluationResult> results, int baseline, List<ComparisonCell> cells, ComparisonOptions options)
    {
        Results = results;
        BaselineIndex = baseline;
        Cells = cells;
        Options = options;
    }

    public IReadOnlyList<EvaluationResult> Results { get; }
    public int BaselineIndex { get; }
    public ComparisonOptions Options { get; }
    /// <summary>One cell per non-baseline run and measure, runs in order, measures in request order.</summary>
    public IReadOnlyList<ComparisonCell> Cells { get; }

    public ComparisonCell? Cell(int runIndex, string measure)
    {
        foreach (var c in Cells)
            if (c.RunIndex == runIndex && c.Measure == measure) return c;
        return null;
    }

    /// <summary>Paired per-query values of run and baseline for a measure, over the queries both evaluated, with the
    /// query ids.</summary>
    public static (string[] Queries, double[] Run, double[] Baseline) Paired(EvaluationResult run, EvaluationResult baseline, string measure)
    {
        var rq = run.QueryIds;
        var bq = baseline.QueryIds;
        double[] rv = run.Values(measure), bv = baseline.Values(measure);
        var qs = new List<string>(Math.Min(rq.Count, bq.Count));
        var a = new List<double>(qs.Capacity);
        var b = new List<double>(qs.Capacity);
        int i = 0, j = 0;
        while (i < rq.Count && j < bq.Count)
        {
            int c = string.CompareOrdinal(rq[i], bq[j]);
            if (c == 0)
            {
                qs.Add(rq[i]);
                a.Add(rv[i++]);
                b.Add(bv[j++]);
            }
            else if (c < 0) i++;
            else j++;
        }
        return ([.. qs], [.. a], [.. b]);
    }

    public static RunComparison Compare(IReadOnlyList<EvaluationResult> results, int baselineIndex, ComparisonOptions? options = null)
    {
        options ??= new ComparisonOptions();
        if (baselineIndex < 0 || baselineIndex >= results.Count) throw new ArgumentOutOfRangeException(nameof(baselineIndex));
        var baseline = results[baselineIndex];
        var raw = new List<(int Run, string Measure, double V, double BV, int N, double Tp, double Rp, int W, int T, int L)>();
        for (int r = 0; r < results.Count; r++)
        {
            if (r == baselineIndex) continue;
            foreach (string m in baseline.Measures)
            {
                var (_, a, b) = Paired(results[r], baseline, m);
                var (_, tp) = Significance.PairedTTest(a, b);
                double rp = Significance.PairedRandomizationTest(a, b, options.Permutations, options.Seed);
                int w = 0, t = 0, l = 0;
                for (int i = 0; i < a.Length; i++)
                {
                    double d = a[i] - b[i];
                    if (Math.Abs(d) <= 1e-12) t++;
                    else if (d > 0) w++;
                    else l++;
                }
                raw.Add((r, m, results[r].Aggregate(m), baseline.Aggregate(m), a.Length, tp, rp, w, t, l));
            }
        }
        var tHolm = Significance.Holm(raw.ConvertAll(x => x.Tp));
        var rHolm = Significance.Holm(raw.ConvertAll(x => x.Rp));
        var cells = new List<ComparisonCell>(raw.Count);
        for (int i = 0; i < raw.Count; i++)
        {
            var x = raw[i];
            cells.Add(new ComparisonCell(x.Run, x.Measure, x.V, x.BV, x.V - x.BV, x.N, x.Tp, x.Rp, tHolm[i], rHolm[i],
                x.W, x.T, x.L, tHolm[i] < options.Alpha, rHolm[i] < options.Alpha));
        }
        return new RunComparison(results, baselineIndex, cells, options);
    }
}
