namespace Relevo.Server;

/// <summary>Queries served and the latency of the most recent ones (a ring of the last 8,192), for /api/stats.</summary>
internal sealed class QueryStats
{
    private const int Window = 8192;
    private readonly double[] _ring = new double[Window];
    private long _count;
    private readonly object _gate = new();

    public long QueriesServed => Interlocked.Read(ref _count);

    public void Record(double milliseconds)
    {
        lock (_gate)
        {
            _ring[_count % Window] = milliseconds;
            _count++;
        }
    }

    public LatencySummary Summary()
    {
        double[] copy;
        lock (_gate)
        {
            int n = (int)Math.Min(_count, Window);
            copy = _ring[..n];
        }
        if (copy.Length == 0) return new LatencySummary(0, 0, 0, 0, 0, 0);
        Array.Sort(copy);
        double sum = 0;
        foreach (var v in copy) sum += v;
        return new LatencySummary(copy.Length, Round(sum / copy.Length), Round(Percentile(copy, 0.50)),
            Round(Percentile(copy, 0.90)), Round(Percentile(copy, 0.99)), Round(copy[^1]));
    }

    /// <summary>Nearest-rank percentile of sorted values.</summary>
    internal static double Percentile(double[] sorted, double p)
    {
        int rank = (int)Math.Ceiling(p * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    private static double Round(double v) => Math.Round(v, 3);
}

/// <summary>Search latency in milliseconds over the last <see cref="Window"/> queries.</summary>
internal sealed record LatencySummary(int Window, double MeanMs, double P50Ms, double P90Ms, double P99Ms, double MaxMs);
