namespace Relevo.Evaluation;

/// <summary>Paired significance tests over per-query values and Holm–Bonferroni correction.</summary>
public static class Significance
{
    /// <summary>Two-sided paired t-test of a against b (same queries, same order). Returns the t statistic and
    /// p-value; with n &lt; 2 or no variance, p is 1 when the mean difference is 0 and 0 otherwise.</summary>
    public static (double T, double P) PairedTTest(ReadOnlySpan<double> a, ReadOnlySpan<double> b)
    {
        if (a.Length != b.Length) throw new ArgumentException("paired samples must have the same length");
        int n = a.Length;
        if (n == 0) return (0, 1);
        double mean = 0;
        for (int i = 0; i < n; i++) mean += a[i] - b[i];
        mean /= n;
        double ss = 0;
        for (int i = 0; i < n; i++)
        {
            double d = a[i] - b[i] - mean;
            ss += d * d;
        }
        if (n < 2 || ss <= 1e-300)
            return (mean == 0 ? 0 : double.PositiveInfinity * Math.Sign(mean), Math.Abs(mean) < 1e-15 ? 1.0 : 0.0);
        double sd = Math.Sqrt(ss / (n - 1));
        double t = mean / (sd / Math.Sqrt(n));
        int df = n - 1;
        double p = RegularizedIncompleteBeta(df / 2.0, 0.5, df / (df + t * t));
        return (t, Math.Clamp(p, 0.0, 1.0));
    }

    /// <summary>Two-sided paired randomization (sign-flip permutation) test of the mean difference, seeded so the
    /// result is reproducible. p = (1 + #{|permuted mean| ≥ |observed mean|}) / (1 + permutations).</summary>
    public static double PairedRandomizationTest(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int permutations = 10_000, int seed = 42)
    {
        if (a.Length != b.Length) throw new ArgumentException("paired samples must have the same length");
        int n = a.Length;
        if (n == 0) return 1.0;
        var d = new double[n];
        double observed = 0;
        for (int i = 0; i < n; i++)
        {
            d[i] = a[i] - b[i];
            observed += d[i];
        }
        observed = Math.Abs(observed);
        double tolerance = 1e-12 * Math.Max(1.0, observed);
        var rng = new Random(seed);
        int atLeast = 0;
        for (int p = 0; p < permutations; p++)
        {
            double sum = 0;
            int i = 0;
            while (i < n)
            {
                ulong bits = (ulong)rng.NextInt64();
                int lim = Math.Min(63, n - i);
                for (int k = 0; k < lim; k++, i++)
                    sum += ((bits >> k) & 1) == 0 ? d[i] : -d[i];
            }
            if (Math.Abs(sum) >= observed - tolerance) atLeast++;
        }
        return (atLeast + 1.0) / (permutations + 1.0);
    }

    /// <summary>Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order.</summary>
    public static double[] Holm(IReadOnlyList<double> pValues)
    {
        int m = pValues.Count;
        var idx = new int[m];
        for (int i = 0; i < m; i++) idx[i] = i;
        Array.Sort(idx, (x, y) => pValues[x].CompareTo(pValues[y]));
        var adjusted = new double[m];
        double running = 0;
        for (int r = 0; r < m; r++)
        {
            double v = Math.Min(1.0, (m - r) * pValues[idx[r]]);
            running = Math.Max(running, v);
            adjusted[idx[r]] = running;
        }
        return adjusted;
    }

    /// <summary>Regularized incomplete beta I_x(a, b) by Lentz's continued fraction.</summary>
    internal static double RegularizedIncompleteBeta(double a, double b, double x)
    {
        if (x <= 0) return 0;
        if (x >= 1) return 1;
        double lnFront = LogGamma(a + b) - LogGamma(a) - LogGamma(b) + a * Math.Log(x) + b * Math.Log(1 - x);
        if (x > (a + 1) / (a + b + 2))
            return 1 - Math.Exp(lnFront) * BetaContinuedFraction(b, a, 1 - x) / b;
        return Math.Exp(lnFront) * BetaContinuedFraction(a, b, x) / a;
    }

    private static double BetaContinuedFraction(double a, double b, double x)
    {
        const double tiny = 1e-300, eps = 1e-15;
        double c = 1, d = 1 - (a + b) * x / (a + 1);
        if (Math.Abs(d) < tiny) d = tiny;
        d = 1 / d;
        double f = d;
        for (int m = 1; m <= 10_000; m++)
        {
            int m2 = 2 * m;
            double num = m * (b - m) * x / ((a + m2 - 1) * (a + m2));
            d = 1 + num * d; if (Math.Abs(d) < tiny) d = tiny; d = 1 / d;
            c = 1 + num / c; if (Math.Abs(c) < tiny) c = tiny;
            f *= c * d;
            num = -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1));
            d = 1 + num * d; if (Math.Abs(d) < tiny) d = tiny; d = 1 / d;
            c = 1 + num / c; if (Math.Abs(c) < tiny) c = tiny;
            double delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < eps) break;
        }
        return f;
    }

    /// <summary>ln Γ(x) for x &gt; 0 (Lanczos, g = 7, n = 9).</summary>
    internal static double LogGamma(double x)
    {
        ReadOnlySpan<double> c =
        [
            0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61503916999185,
            12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
        ];
        if (x < 0.5) return Math.Log(Math.PI / Math.Abs(Math.Sin(Math.PI * x))) - LogGamma(1 - x);
        x -= 1;
        double sum = c[0];
        double t = x + 7.5;
        for (int i = 1; i < 9; i++) sum += c[i] / (x + i);
        return 0.5 * Math.Log(2 * Math.PI) + (x + 0.5) * Math.Log(t) - t + Math.Log(sum);
    }
}
