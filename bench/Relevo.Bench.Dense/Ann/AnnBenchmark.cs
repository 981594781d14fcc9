using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using Cloud.Unum.USearch;
using Relevo.Collections;

namespace Relevo.Bench.Dense.Ann;

/// <summary>The <c>ann</c> command: builds each engine (Relevo's HNSW, USearch's HNSW, Relevo's exact int8 scan) over
/// the same rows, one after another in this process (each disposed before the next is built), and measures recall@10
/// against the exact float32 ground truth and single-threaded query speed at each ef. Prints a Markdown report to
/// stdout (progress goes to stderr).
/// <para>Timing: for each ef, a warm-up pass over the first 50 queries, then every query once on this thread, each
/// timed with <see cref="Stopwatch.GetTimestamp"/>; queries/s is the count over the whole pass's wall clock. The
/// result buffers are allocated before the pass; recall is computed after it.</para>
/// <para>Options: <c>--data synthetic|scifact</c> (synthetic), <c>--n</c> (1000000), <c>--queries</c> (1000),
/// <c>--dims</c> (384), <c>--centres</c> (2000), <c>--sigma</c> (<see cref="AnnData.DefaultSigma"/>), <c>--seed</c> (42),
/// <c>--m</c> (16), <c>--ef-construction</c> (100), <c>--ef</c> (10,20,40,60,80,100,150,200,300),
/// <c>--threads</c> (build threads, all cores), <c>--engines</c> (relevo,usearch; also relevo-int8: the walk over the int8 copy, rescored in float32; and exact-int8),
/// <c>--exact-queries</c> (100: the exact scan is timed on the first this many queries). With scifact, n, dims,
/// centres, sigma and seed do not apply.</para></summary>
internal static class AnnBenchmark
{
    private const int K = AnnData.TruthK;
    private const int WarmupQueries = 50;
    private const double RecallTarget = 0.95;
    private const string DefaultEfs = "10,20,40,60,80,100,150,200,300";
    private static readonly string[] KnownEngines = ["relevo", "relevo-int8", "usearch", "exact-int8", "exact-float"];

    /// <summary>One engine's build and its measurements.</summary>
    private sealed class EngineResult(string name)
    {
        public string Name { get; } = name;
        public int Threads { get; set; }
        public double BuildSeconds { get; set; }
        public long PeakWorkingSet { get; set; }
        public long MemoryBytes { get; set; }
        public long DiskBytes { get; set; }
        public List<Measurement> Runs { get; } = [];
        public List<string> Notes { get; } = [];
        /// <summary>True for the exact scan (one run, no ef).</summary>
        public bool Exact { get; set; }
    }

    /// <summary>One pass over the queries at one ef.</summary>
    private readonly record struct Measurement(int Ef, int Queries, double Recall, double Qps, double MeanMs, double P50Ms, double P99Ms);

    public static int Run(Args options, BeirDataset dataset)
    {
        string dataKind = options.Get("data", "synthetic");
        int n = options.Int("n", 1_000_000), queries = options.Int("queries", 1000), dims = options.Int("dims", 384);
        int centres = options.Int("centres", 2000), seed = options.Int("seed", 42);
        float sigma = float.Parse(options.Get("sigma", AnnData.DefaultSigma.ToString("R", CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        int m = options.Int("m", 16), efConstruction = options.Int("ef-construction", 100);
        int threads = options.Int("threads", Environment.ProcessorCount);
        int exactQueries = options.Int("exact-queries", 100);
        int[] efs = Array.ConvertAll(options.Get("ef", DefaultEfs).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            s => int.Parse(s, CultureInfo.InvariantCulture));
        string[] engines = options.Get("engines", "relevo,usearch").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (string e in engines)
            if (Array.IndexOf(KnownEngines, e) < 0)
            {
                Console.Error.WriteLine($"unknown engine '{e}' (known: {string.Join(", ", KnownEngines)})");
                return 1;
            }
        if (dataKind is not ("synthetic" or "scifact"))
        {
            Console.Error.WriteLine($"unknown --data '{dataKind}' (synthetic or scifact)");
            return 1;
        }

        var data = dataKind == "scifact"
            ? AnnData.SciFact(dataset, queries)
            : AnnData.Synthetic(n, queries, dims, centres, sigma, seed);
        long dataPeak = Process.GetCurrentProcess().PeakWorkingSet64;

        var results = new List<EngineResult>();
        foreach (string engine in engines)
        {
            var result = BuildAndMeasure(engine, data, m, efConstruction, threads, efs, exactQueries);
            if (result is not null) results.Add(result);
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
        }

        Report(Console.Out, data, results, engines, m, efConstruction, threads, efs, dataPeak);
        return 0;
    }

    /// <summary>Builds one engine, measures it and disposes it; null if the engine is not written yet.</summary>
    private static EngineResult? BuildAndMeasure(string engine, AnnData data, int m, int efConstruction, int threads, int[] efs, int exactQueries)
    {
        using IAnnIndex index = engine switch
        {
            "relevo" => new RelevoAnn(),
            "relevo-int8" => new RelevoAnn(int8: true),
            "exact-float" => new ExactFloatAnn(),
            "usearch" => new USearchAnn(),
            _ => new ExactInt8Ann(),
        };
        var result = new EngineResult(index.Name) { Exact = index is ExactInt8Ann or ExactFloatAnn };
        result.Threads = result.Exact ? 1 : threads;
        Console.Error.WriteLine(Fmt($"{index.Name}: building over {data.Count:N0} rows (m {m}, ef_construction {efConstruction}, {result.Threads} threads)..."));
        var clock = Stopwatch.StartNew();
        try
        {
            index.Build(data.Rows, data.Count, data.Dims, m, efConstruction, result.Threads);
        }
        catch (NotImplementedException e)
        {
            Console.Error.WriteLine($"{index.Name}: skipped ({e.Message})");
            return null;
        }
        result.BuildSeconds = clock.Elapsed.TotalSeconds;
        result.PeakWorkingSet = Process.GetCurrentProcess().PeakWorkingSet64;
        result.MemoryBytes = index.IndexMemoryBytes;
        result.DiskBytes = index.DiskBytes;
        Console.Error.WriteLine(Fmt($"{index.Name}: built in {result.BuildSeconds:F1} s, peak working set {Mib(result.PeakWorkingSet):F0} MiB"));
        if (index is USearchAnn u)
        {
            result.Notes.Add(Fmt($"usearch: SIMD kernel '{u.HardwareAcceleration}'; usearch_memory_usage {u.NativeMemoryBytes:N0} bytes = {(double)u.NativeMemoryBytes / data.Count:F1} B/vector including its float32 copy of the rows ({(double)(u.NativeMemoryBytes - (long)data.Count * data.Dims * sizeof(float)) / data.Count:F1} B/vector beyond it)"));
        }

        // result buffers for the largest pass, allocated once
        int maxQueries = data.QueryCount;
        var found = new int[maxQueries * K];
        var counts = new int[maxQueries];
        var ticks = new long[maxQueries];
        if (result.Exact)
        {
            int q = Math.Min(exactQueries, data.QueryCount);
            var run = TimedPass(index, data, q, 0, found, counts, ticks);
            result.Runs.Add(run);
            Console.Error.WriteLine(Fmt($"{index.Name}: {q} queries, recall@10 {run.Recall:F4}, {run.MeanMs:F3} ms/query"));
        }
        else
        {
            foreach (int ef in efs)
            {
                var run = TimedPass(index, data, data.QueryCount, ef, found, counts, ticks);
                result.Runs.Add(run);
                Console.Error.WriteLine(Fmt($"{index.Name}: ef {ef,4}: recall@10 {run.Recall:F4}, {run.Qps,9:F1} queries/s, {run.MeanMs:F3} ms/query"));
            }
        }
        return result;
    }

    /// <summary>A warm-up over the first queries, then the timed pass over <paramref name="queries"/> queries on this
    /// thread, then recall@10 of what was found.</summary>
    private static Measurement TimedPass(IAnnIndex index, AnnData data, int queries, int ef, int[] found, int[] counts, long[] ticks)
    {
        int warm = Math.Min(WarmupQueries, queries);
        for (int q = 0; q < warm; q++) index.Search(data.Query(q), K, ef, found.AsSpan(q * K, K));
        Array.Fill(found, -1);
        GC.Collect();

        long start = Stopwatch.GetTimestamp();
        for (int q = 0; q < queries; q++)
        {
            long t0 = Stopwatch.GetTimestamp();
            counts[q] = index.Search(data.Query(q), K, ef, found.AsSpan(q * K, K));
            ticks[q] = Stopwatch.GetTimestamp() - t0;
        }
        double seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        double recall = 0;
        for (int q = 0; q < queries; q++)
        {
            var truth = data.TruthOf(q);
            int hits = 0, got = Math.Min(counts[q], K);
            for (int i = 0; i < got; i++)
                if (truth.Contains(found[q * K + i])) hits++;
            recall += (double)hits / K;
        }
        var sorted = ticks.AsSpan(0, queries).ToArray();
        Array.Sort(sorted);
        double Ms(long t) => t * 1000.0 / Stopwatch.Frequency;
        return new Measurement(ef, queries, recall / queries, queries / seconds, seconds * 1000 / queries,
            Ms(sorted[(queries - 1) / 2]), Ms(sorted[Math.Min(queries - 1, (int)Math.Ceiling(queries * 0.99) - 1)]));
    }

    // ---- report ----

    private static void Report(TextWriter o, AnnData data, List<EngineResult> results, string[] engines, int m, int efConstruction,
        int threads, int[] efs, long dataPeak)
    {
        o.WriteLine("# ANN benchmark");
        o.WriteLine();
        o.WriteLine($"command: `ann {string.Join(' ', Environment.GetCommandLineArgs().Skip(2))}`");
        o.WriteLine();
        o.WriteLine("## Machine");
        o.WriteLine();
        o.WriteLine(Fmt($"- {Environment.ProcessorCount} logical cores ({CpuModel()}), {Mib(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes) / 1024:F1} GiB memory"));
        o.WriteLine($"- Avx2 {Avx2.IsSupported}, Avx512F {Avx512F.IsSupported}, AvxVnni {AvxVnni.IsSupported}");
        o.WriteLine($"- {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.OSDescription}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC");
        if (Array.IndexOf(engines, "usearch") >= 0)
            o.WriteLine($"- USearch {USearchCapabilities.Version()} (Cloud.Unum.USearch), SIMD available: {USearchCapabilities.HardwareAccelerationAvailable()}");
        o.WriteLine();
        o.WriteLine("## Data");
        o.WriteLine();
        foreach (string fact in data.Facts) o.WriteLine($"- {fact}");
        o.WriteLine(Fmt($"- peak working set with the data loaded (before any index): {Mib(dataPeak):F0} MiB"));
        o.WriteLine(Fmt($"- k = {K}; graph degree m = {m}, ef_construction = {efConstruction}, build threads = {threads}; ef tested: {string.Join(", ", efs)}"));
        o.WriteLine();

        o.WriteLine("## Build and size");
        o.WriteLine();
        o.WriteLine("| engine | build s | threads | peak working set after build (MiB) | index memory B/vector | disk B/vector | float32 rows B/vector |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            o.WriteLine(Fmt($"| {r.Name} | {r.BuildSeconds:F1} | {r.Threads} | {Mib(r.PeakWorkingSet):F0} | {(double)r.MemoryBytes / data.Count:F1} | {(r.DiskBytes < 0 ? "n/a" : ((double)r.DiskBytes / data.Count).ToString("F1", CultureInfo.InvariantCulture))} | {4 * data.Dims} |"));
        foreach (var r in results)
            foreach (string note in r.Notes) o.WriteLine($"\n- {note}");
        o.WriteLine();
        o.WriteLine("(peak working set is the process's peak so far, data included; it only grows from one engine to the next)");
        o.WriteLine();

        o.WriteLine("## Recall and speed (1 search thread)");
        o.WriteLine();
        o.WriteLine("| engine | ef | queries | recall@10 | queries/s | mean ms | p50 ms | p99 ms |");
        o.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
            foreach (var run in r.Runs)
                o.WriteLine(Fmt($"| {r.Name} | {(r.Exact ? "—" : run.Ef.ToString(CultureInfo.InvariantCulture))} | {run.Queries} | {run.Recall:F4} | {run.Qps:F1} | {run.MeanMs:F3} | {run.P50Ms:F3} | {run.P99Ms:F3} |"));
        o.WriteLine();

        Summary(o, results);
    }

    private static void Summary(TextWriter o, List<EngineResult> results)
    {
        var exact = results.Find(r => r.Exact);
        var graphs = results.FindAll(r => !r.Exact);
        var relevo = graphs.Find(r => r.Name == "relevo");
        var usearch = graphs.Find(r => r.Name == "usearch");
        o.WriteLine("## Summary");
        o.WriteLine();

        if (exact is not null && graphs.Count > 0)
        {
            var x = exact.Runs[0];
            o.WriteLine(Fmt($"Latency against exact int8 ({x.MeanMs:F3} ms/query over {x.Queries} queries, recall@10 {x.Recall:F4}); \"× faster\" = exact int8's ms / the engine's ms:"));
            o.WriteLine();
            var header = new System.Text.StringBuilder("| ef |");
            var rule = new System.Text.StringBuilder("|---:|");
            foreach (var g in graphs)
            {
                header.Append($" {g.Name} recall@10 | {g.Name} ms | {g.Name} × faster |");
                rule.Append("---:|---:|---:|");
            }
            o.WriteLine(header);
            o.WriteLine(rule);
            foreach (int ef in AllEfs(graphs))
            {
                var line = new System.Text.StringBuilder(Fmt($"| {ef} |"));
                foreach (var g in graphs)
                    line.Append(FindRun(g, ef) is { } run
                        ? Fmt($" {run.Recall:F4} | {run.MeanMs:F3} | {x.MeanMs / run.MeanMs:F1} |")
                        : " | | |");
                o.WriteLine(line);
            }
            o.WriteLine();
        }

        if (graphs.Count > 0)
        {
            o.WriteLine(Fmt($"Smallest tested ef reaching recall@10 ≥ {RecallTarget:F2} (no interpolation):"));
            o.WriteLine();
            o.WriteLine("| engine | ef | recall@10 | queries/s | mean ms |");
            o.WriteLine("|---|---:|---:|---:|---:|");
            foreach (var g in graphs)
                o.WriteLine(FirstReaching(g) is { } run
                    ? Fmt($"| {g.Name} | {run.Ef} | {run.Recall:F4} | {run.Qps:F1} | {run.MeanMs:F3} |")
                    : $"| {g.Name} | not reached | | | |");
            if (relevo is not null && usearch is not null && FirstReaching(relevo) is { } a && FirstReaching(usearch) is { } b)
                o.WriteLine(Fmt($"\nat recall@10 ≥ {RecallTarget:F2}: relevo {a.Qps:F1} queries/s (ef {a.Ef}) vs usearch {b.Qps:F1} queries/s (ef {b.Ef}): relevo/usearch = {a.Qps / b.Qps:F2}"));
            o.WriteLine();
        }

        if (relevo is not null && usearch is not null)
        {
            o.WriteLine("At equal ef:");
            o.WriteLine();
            o.WriteLine("| ef | relevo recall@10 | relevo queries/s | usearch recall@10 | usearch queries/s | relevo/usearch queries/s |");
            o.WriteLine("|---:|---:|---:|---:|---:|---:|");
            foreach (int ef in AllEfs(graphs))
                if (FindRun(relevo, ef) is { } a && FindRun(usearch, ef) is { } b)
                    o.WriteLine(Fmt($"| {ef} | {a.Recall:F4} | {a.Qps:F1} | {b.Recall:F4} | {b.Qps:F1} | {a.Qps / b.Qps:F2} |"));
            o.WriteLine();
        }
    }

    private static SortedSet<int> AllEfs(List<EngineResult> graphs)
    {
        var set = new SortedSet<int>();
        foreach (var g in graphs)
            foreach (var run in g.Runs) set.Add(run.Ef);
        return set;
    }

    private static Measurement? FindRun(EngineResult r, int ef)
    {
        foreach (var run in r.Runs)
            if (run.Ef == ef) return run;
        return null;
    }

    private static Measurement? FirstReaching(EngineResult r)
    {
        Measurement? best = null;
        foreach (var run in r.Runs)
            if (run.Recall >= RecallTarget && (best is null || run.Ef < best.Value.Ef)) best = run;
        return best;
    }

    private static string CpuModel()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
                if (line.StartsWith("model name", StringComparison.Ordinal))
                    return line[(line.IndexOf(':') + 1)..].Trim();
        }
        catch (IOException) { }
        catch (UnauthorizedAccessException) { }
        return RuntimeInformation.ProcessArchitecture.ToString();
    }

    private static double Mib(long bytes) => bytes / (1024.0 * 1024.0);

    private static string Fmt(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
