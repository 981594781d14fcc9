using System.Diagnostics;
using System.Globalization;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Search;
using Relevo.Search.Pruning;

namespace Relevo.Bench;

/// <summary>Relevo's query algorithms side by side on an existing index: exhaustive, MaxScore, block-max WAND; mean
/// latency for k = 10 and 1000 on one thread, rounds alternating (the first round is warm-up).</summary>
internal sealed class PruningBenchmark : IBenchmark
{
    public string Name => "pruning";
    public string Description => "Relevo algorithms on an index: --index DIR --queries FILE [--model bm25|ql|impacts|bm25,impacts] [--rounds 3] [--algorithms exhaustive,maxscore,bmw] [--k 10,1000] [--verify true] (impacts: the index's quantized BM25 impacts, `relevo index --impacts bm25`; several models run side by side, alternating)";

    /// <summary>One model's top-k search (BM25's or query likelihood's), by algorithm.</summary>
    private delegate int SearchDocs(Query query, int k, Span<int> docs, Span<float> scores, PruningAlgorithm algorithm);

    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSec, UserUsec, SysSec, SysUsec;
        public long MaxRss, IxRss, IdRss, IsRss, MinFlt, MajFlt, NSwap, InBlock, OuBlock, MsgSnd, MsgRcv, NSignals, NVcsw, NIvcsw;
    }

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "getrusage")]
    private static extern int GetRUsage(int who, out RUsage usage);

    /// <summary>CPU time of this thread (user + system) on Linux, so a loaded machine's waiting does not count;
    /// NaN elsewhere.</summary>
    private static double ThreadCpuMilliseconds()
    {
        if (!OperatingSystem.IsLinux() || GetRUsage(1 /* RUSAGE_THREAD */, out var u) != 0) return double.NaN;
        return (u.UserSec + u.SysSec) * 1e3 + (u.UserUsec + u.SysUsec) / 1e3;
    }

    public int Run(BenchOptions o)
    {
        using var reader = IndexReader.Open(o.String("index") ?? throw new ArgumentException("--index DIR"));
        var bm25 = new Bm25Searcher(reader);
        var ql = new QueryLikelihoodSearcher(reader);
        var models = (o.String("model") ?? "bm25").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var searches = new List<(string Model, SearchDocs Search)>();
        foreach (string m in models)
        {
            switch (m)
            {
                case "bm25": searches.Add((m, (q, k, d, s, a) => bm25.SearchDocs(q, k, d, s, a))); break;
                case "ql": searches.Add((m, (q, k, d, s, a) => ql.SearchDocs(q, k, d, s, a))); break;
                case "impacts":
                    var impacts = new ImpactSearcher(reader, Relevo.Index.Impacts.ImpactView.Of(reader, "bm25"));
                    Console.WriteLine($"impacts: {impacts.Settings}");
                    searches.Add((m, (q, k, d, s, a) => impacts.SearchDocs(q, k, d, s, a)));
                    break;
                default: throw new ArgumentException("--model: bm25, ql or impacts (comma-separated for several)");
            }
        }
        SearchDocs search = searches[0].Search;
        Console.WriteLine($"model {string.Join(", ", models)}, {reader.MaxDoc:N0} documents in {reader.Segments.Count} segment(s)");
        var searcher = bm25;
        var queries = new List<Query>();
        foreach (var (_, text) in JsonlReader.ReadQueries(o.String("queries") ?? throw new ArgumentException("--queries FILE")))
        {
            var q = Query.Parse(text, searcher.Analyzer);
            if (q.Terms.Count > 0) queries.Add(q);
        }
        var docs = new int[10000];
        var scores = new float[10000];
        var all = new (string Key, string Name, PruningAlgorithm A)[]
        {
            ("exhaustive", "exhaustive", PruningAlgorithm.Exhaustive),
            ("maxscore", "MaxScore", PruningAlgorithm.MaxScore),
            ("bmw", "block-max WAND", PruningAlgorithm.BlockMaxWand),
        };
        var chosen = (o.String("algorithms") ?? "exhaustive,maxscore,bmw").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var algorithms = all.Where(a => chosen.Contains(a.Key, StringComparer.OrdinalIgnoreCase)).ToArray();
        if (algorithms.Length == 0) throw new ArgumentException("--algorithms: none of exhaustive, maxscore, bmw");
        var variants = searches.SelectMany(m => algorithms.Select(a => (Name: searches.Count > 1 ? $"{m.Model} {a.Name}" : a.Name, a.A, m.Search))).ToArray();
        var ks = (o.String("k") ?? "10,1000").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray();
        if (o.String("verify") == "true")
        {
            // every algorithm against the exhaustive oracle: same documents, bit-identical scores, for every query and k
            var exDocs = new int[docs.Length];
            var exScores = new float[scores.Length];
            foreach (int k in ks)
            {
                int differ = 0;
                foreach (var q in queries)
                {
                    foreach (var (_, a, variantSearch) in variants)
                    {
                        int n = variantSearch(q, k, exDocs, exScores, PruningAlgorithm.Exhaustive);
                        int m = variantSearch(q, k, docs, scores, a);
                        if (m != n || !docs.AsSpan(0, m).SequenceEqual(exDocs.AsSpan(0, n)) || !scores.AsSpan(0, m).SequenceEqual(exScores.AsSpan(0, n)))
                            differ++;
                    }
                }
                Console.WriteLine($"verify top-{k}: {queries.Count} queries × {variants.Length} algorithms, {differ} differ from exhaustive");
            }
        }
        if (o.String("simd-unpack") == "false") Relevo.Index.Formats.BitPacking.UseSimd = false;
        int rounds = o.Int("rounds", 3);
        var sums = new double[variants.Length, ks.Length];
        var cpu = new double[variants.Length, ks.Length];
        var best = new double[variants.Length, ks.Length][];
        for (int r = 0; r <= rounds; r++)
            for (int v = 0; v < variants.Length; v++)
            {
                int ki = 0;
                foreach (int k in ks)
                {
                    var mins = best[v, ki] ??= Enumerable.Repeat(double.MaxValue, queries.Count).ToArray();
                    double cpu0 = ThreadCpuMilliseconds();
                    var sw = Stopwatch.StartNew();
                    for (int i = 0; i < queries.Count; i++)
                    {
                        long t = Stopwatch.GetTimestamp();
                        variants[v].Search(queries[i], k, docs, scores, variants[v].A);
                        if (r > 0) mins[i] = Math.Min(mins[i], Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                    }
                    if (r > 0)
                    {
                        sums[v, ki] += sw.Elapsed.TotalMilliseconds / queries.Count / rounds;
                        cpu[v, ki] += (ThreadCpuMilliseconds() - cpu0) / queries.Count / rounds;
                    }
                    ki++;
                }
            }
        for (int v = 0; v < variants.Length; v++)
        {
            var line = new System.Text.StringBuilder($"{variants[v].Name,-18}");
            for (int ki = 0; ki < ks.Length; ki++)
                line.Append(CultureInfo.InvariantCulture, $" top-{ks[ki]} {sums[v, ki]:F3} ms (cpu {cpu[v, ki]:F3}, per-query best {best[v, ki].Average():F3}; {sums[0, ki] / sums[v, ki]:F1}× {variants[0].Name})  ");
            Console.WriteLine(line.ToString().TrimEnd());
        }
        return 0;
    }
}
