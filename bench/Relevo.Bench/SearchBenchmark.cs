using System.Diagnostics;
using System.Globalization;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Relevo.Collections;
using Relevo.Evaluation;
using Relevo.Search;
using RQuery = Relevo.Search.Query;
using Relevo.Search.Pruning;
using Relevo.Search.Similarities;
using RIndexReader = Relevo.Index.IndexReader;
using RIndexWriter = Relevo.Index.IndexWriter;

namespace Relevo.Bench;

/// <summary>Relevo against Lucene.NET 4.8 (in this process) and Java Lucene 8 (bench/run-lucene-java.sh, a child
/// process), one after the other on the same machine, documents, analyzer (EnglishAnalyzer) and BM25 (k1, b):
/// indexing rate, index size, one-thread latency for top-10 and top-1000, and all-core throughput. Every query's
/// pruned top 10 is checked against Relevo's exhaustive scorer, and against the two Lucenes.</summary>
internal sealed class SearchBenchmark : IBenchmark
{
    public string Name => "search";
    public string Description => "Engines side by side: --corpus DIR (BEIR layout) --work DIR [--java true] [--reuse false] [--rounds 2] [--threads cores] [--k1 0.9 --b 0.4]";

    /// <summary>S10 and S1000: mean, p50, p99 latency in ms.</summary>
    private sealed record EngineResult(string Engine, double IndexSeconds, long Docs, long Size, double[] S10, double[] S1000, double Qps);

    public int Run(BenchOptions o)
    {
        string corpusDir = o.String("corpus") ?? throw new ArgumentException("--corpus DIR is required");
        string work = o.String("work") ?? Path.Combine(Path.GetTempPath(), "relevo-bench");
        bool java = o.String("java") != "false";
        // --reuse true: keep the Relevo and Lucene.NET indexes already under --work (no indexing rate then; Java always indexes)
        bool reuse = o.String("reuse") == "true";
        int rounds = o.Int("rounds", 2);
        int threads = o.Int("threads", Environment.ProcessorCount);
        float k1 = float.Parse(o.String("k1") ?? "0.9", CultureInfo.InvariantCulture);
        float b = float.Parse(o.String("b") ?? "0.4", CultureInfo.InvariantCulture);
        string corpus = File.Exists(Path.Combine(corpusDir, "corpus.jsonl")) ? Path.Combine(corpusDir, "corpus.jsonl") : Path.Combine(corpusDir, "corpus.jsonl.gz");
        var queryTexts = JsonlReader.ReadQueries(Path.Combine(corpusDir, "queries.jsonl"));
        string? qrelsPath = Path.Combine(corpusDir, "qrels", "test.tsv");
        if (!File.Exists(qrelsPath)) qrelsPath = null;
        System.IO.Directory.CreateDirectory(work);
        Console.WriteLine($"corpus {corpus}, {queryTexts.Count} queries, k1 {k1}, b {b}, {threads} threads, {rounds} timed rounds");

        // ---------------- Relevo: index (parallel analysis), merge to one segment
        string relevoDir = Path.Combine(work, "relevo");
        bool reuseRelevo = reuse && File.Exists(Path.Combine(relevoDir, "manifest"));
        var sw = Stopwatch.StartNew();
        long relevoDocs;
        if (reuseRelevo)
            using (var existing = RIndexReader.Open(relevoDir)) relevoDocs = existing.MaxDoc;
        else
        {
            global::Relevo.Index.IndexFolder.DeleteIndex(relevoDir); // only an index's own files; anything else is refused
            using var w = RIndexWriter.Open(relevoDir);
            relevoDocs = global::Relevo.Index.CorpusIndexer.AddCorpus(w, corpus, threads: threads);
            w.Commit();
            w.ForceMerge();
        }
        double relevoIndexSeconds = reuseRelevo ? double.NaN : sw.Elapsed.TotalSeconds;
        long relevoSize = DirSize(relevoDir);
        Console.WriteLine(reuseRelevo
            ? $"relevo: reused the index of {relevoDocs:N0} docs, {relevoSize / 1e6:F1} MB"
            : $"relevo: indexed {relevoDocs:N0} docs in {relevoIndexSeconds:F1} s, {relevoSize / 1e6:F1} MB");

        // ---------------- Lucene.NET 4.8: same fields (docs and freqs, id/title/text stored), merge to one segment
        string lnDir = Path.Combine(work, "lucenenet");
        bool reuseLn = reuse && System.IO.Directory.Exists(lnDir) && System.IO.Directory.EnumerateFiles(lnDir, "segments_*").Any();
        if (!reuseLn) BenchFolders.Recreate(lnDir);
        var similarity = LuceneNet.Similarity(k1, b);
        sw.Restart();
        long lnDocs;
        if (reuseLn)
            using (var existing = DirectoryReader.Open(FSDirectory.Open(lnDir))) lnDocs = existing.NumDocs;
        else
            lnDocs = LuceneNet.BuildIndex(corpus, lnDir, similarity);
        double lnIndexSeconds = reuseLn ? double.NaN : sw.Elapsed.TotalSeconds;
        long lnSize = DirSize(lnDir);
        Console.WriteLine(reuseLn
            ? $"lucene.net: reused the index of {lnDocs:N0} docs, {lnSize / 1e6:F1} MB"
            : $"lucene.net: indexed {lnDocs:N0} docs in {lnIndexSeconds:F1} s, {lnSize / 1e6:F1} MB");

        // ---------------- queries, parsed before timing
        using var reader = RIndexReader.Open(relevoDir);
        var relevo = new Bm25Searcher(reader, new Bm25Parameters(k1, b));
        var rq = new List<(string Id, RQuery Query)>();
        var lq = new List<Lucene.Net.Search.Query>();
        foreach (var (id, text) in queryTexts)
        {
            var q = RQuery.Parse(text, relevo.Analyzer);
            if (q.Terms.Count == 0) continue;
            rq.Add((id, q));
            // queries reach Lucene.NET as Relevo analysed them: the two EnglishAnalyzers agree term for term (tests/Analysis)
            lq.Add(LuceneNet.BagOfWords(q.Terms));
        }
        using var lnReader = DirectoryReader.Open(FSDirectory.Open(lnDir));
        var lnSearcher = new IndexSearcher(lnReader) { Similarity = similarity };

        var docs = new int[1000];
        var scores = new float[1000];
        Action<int, int> RelevoEngine(PruningAlgorithm a) => (i, k) => relevo.SearchDocs(rq[i].Query, k, docs, scores, a);
        Action<int, int> luceneNetSearch = (i, k) => lnSearcher.Search(lq[i], k);
        var engines = new (string Name, Action<int, int> Search)[]
        {
            ("Relevo MaxScore", RelevoEngine(PruningAlgorithm.MaxScore)),
            ("Relevo BMW", RelevoEngine(PruningAlgorithm.BlockMaxWand)),
            ("Lucene.NET 4.8", luceneNetSearch),
        };
        int warm = Math.Max(2, 4000 / rq.Count);
        foreach (var (name, search) in engines)
            for (int r = 0; r < warm; r++)
                for (int i = 0; i < rq.Count; i++) { search(i, 10); search(i, 1000); }
        // steady state: the pruned top-10 path allocates nothing per query
        long allocated = 0;
        foreach (var a in new[] { PruningAlgorithm.MaxScore, PruningAlgorithm.BlockMaxWand })
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < rq.Count; i++) relevo.SearchDocs(rq[i].Query, 10, docs, scores, a);
            long perQuery = (GC.GetAllocatedBytesForCurrentThread() - before) / rq.Count;
            Console.WriteLine($"allocated per top-10 query ({a}): {perQuery} bytes");
            allocated += perQuery;
        }
        // rounds alternate between engines, so load changes on the machine hit all of them; per query, the best round counts
        var t10 = new double[engines.Length][];
        var t1000 = new double[engines.Length][];
        for (int r = 0; r < rounds; r++)
            for (int e = 0; e < engines.Length; e++)
            {
                t10[e] = Min(t10[e], Latencies(engines[e].Search, rq.Count, 10));
                t1000[e] = Min(t1000[e], Latencies(engines[e].Search, rq.Count, 1000));
            }
        double qpsRelevo = Throughput(rq.Count, threads, i =>
        {
            Span<int> d = stackalloc int[10];
            Span<float> s = stackalloc float[10];
            relevo.SearchDocs(rq[i].Query, 10, d, s);
        });
        double qpsLn = Throughput(rq.Count, threads, i => lnSearcher.Search(lq[i], 10));

        // ---------------- correctness: pruned top 10 = exhaustive top 10, for every query; agreement with the Lucenes
        int prunedMismatch = 0;
        var exDocs = new int[10];
        var exScores = new float[10];
        var top10 = new Dictionary<string, (string[] Ids, float[] Scores)>();
        var relevoRun = new TrecRun("relevo");
        var exhaustiveRun = new TrecRun("exhaustive");
        var lnRun = new TrecRun("lucene.net");
        for (int i = 0; i < rq.Count; i++)
        {
            int n = relevo.SearchDocs(rq[i].Query, 10, exDocs, exScores, PruningAlgorithm.Exhaustive);
            foreach (var a in new[] { PruningAlgorithm.MaxScore, PruningAlgorithm.BlockMaxWand })
            {
                int m = relevo.SearchDocs(rq[i].Query, 10, docs, scores, a);
                if (m != n || !docs.AsSpan(0, m).SequenceEqual(exDocs.AsSpan(0, n)) || !scores.AsSpan(0, m).SequenceEqual(exScores.AsSpan(0, n)))
                    prunedMismatch++;
            }
            var hits = relevo.Search(rq[i].Query, 10);
            var ids = new string[hits.Count];
            var sc = new float[hits.Count];
            var ranked = new List<(string, double)>();
            for (int j = 0; j < hits.Count; j++) { ids[j] = hits[j].Id; sc[j] = hits[j].Score; ranked.Add((ids[j], sc[j])); }
            top10[rq[i].Id] = (ids, sc);
            relevoRun.AddRanking(rq[i].Id, ranked);
            var ex = relevo.Search(rq[i].Query, 10, PruningAlgorithm.Exhaustive);
            exhaustiveRun.AddRanking(rq[i].Id, ex.Select(h => (h.Id, (double)h.Score)).ToList());
            var lnTop = lnSearcher.Search(lq[i], 10);
            lnRun.AddRanking(rq[i].Id, lnTop.ScoreDocs.Select(sd => (lnSearcher.Doc(sd.Doc).Get("id"), (double)sd.Score)).ToList());
        }
        Console.WriteLine($"pruned vs exhaustive top 10: {rq.Count} queries × 2 algorithms, {prunedMismatch} differ");
        Console.WriteLine($"top-10 agreement with Lucene.NET 4.8: {Agreement(top10, lnRun, 1 + k1)}");

        EngineResult? javaResult = null;
        TrecRun? javaRun = null;
        if (java)
        {
            string javaRunPath = Path.Combine(work, "lucene8.run");
            var (result, output) = RunJava(corpusDir, Path.Combine(work, "lucene8"), k1, b, threads, javaRunPath, rounds);
            javaResult = result;
            if (result is null) Console.WriteLine("java lucene 8 failed:\n" + output);
            else
            {
                javaRun = LoadJavaRun(javaRunPath);
                Console.WriteLine($"top-10 agreement with Java Lucene 8: {Agreement(top10, javaRun, 1)}");
            }
        }

        // ---------------- report
        var results = new List<EngineResult>
        {
            new("Relevo (MaxScore, default)", relevoIndexSeconds, relevoDocs, relevoSize, Summary(t10[0]), Summary(t1000[0]), qpsRelevo),
            new("Relevo (block-max WAND)", -1, relevoDocs, relevoSize, Summary(t10[1]), Summary(t1000[1]), double.NaN),
            new("Lucene.NET 4.8", lnIndexSeconds, lnDocs, lnSize, Summary(t10[2]), Summary(t1000[2]), qpsLn),
        };
        if (javaResult is not null) results.Add(javaResult);
        Console.WriteLine();
        Console.WriteLine("| engine | index docs/s | index size | top-10 mean / p50 / p99 (ms) | top-1000 mean / p50 / p99 (ms) | top-10 QPS, " + threads + " threads |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in results)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Engine} | {(r.IndexSeconds < 0 ? "(same index)" : double.IsNaN(r.IndexSeconds) ? "(reused)" : (r.Docs / r.IndexSeconds).ToString("N0", CultureInfo.InvariantCulture))} | {r.Size / 1048576.0:F1} MiB | {Lat(r.S10)} | {Lat(r.S1000)} | {(double.IsNaN(r.Qps) ? "" : r.Qps.ToString("N0", CultureInfo.InvariantCulture))} |"));
        Console.WriteLine();
        double rm10 = t10[0].Average(), rb10 = t10[1].Average();
        double rm1000 = t1000[0].Average(), rb1000 = t1000[1].Average();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ratios (same run): top-10 mean Lucene.NET/Relevo {t10[2].Average() / rm10:F2}× (MaxScore), {t10[2].Average() / rb10:F2}× (BMW); top-1000 {t1000[2].Average() / rm1000:F2}× (MaxScore), {t1000[2].Average() / rb1000:F2}× (BMW)"));
        if (javaResult is not null)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ratios (same run): top-10 mean Java Lucene 8/Relevo {javaResult.S10[0] / rm10:F2}× (MaxScore), {javaResult.S10[0] / rb10:F2}× (BMW); top-1000 {javaResult.S1000[0] / rm1000:F2}× (MaxScore), {javaResult.S1000[0] / rb1000:F2}× (BMW)"));
        Console.WriteLine(FormattableString.Invariant(
            $"indexing Relevo/Lucene.NET {Ratio(lnIndexSeconds, relevoIndexSeconds)}; size Relevo/Lucene.NET {relevoSize / (double)lnSize:F3}"));
        if (javaResult is not null)
            Console.WriteLine(FormattableString.Invariant(
                $"indexing Relevo/Java {Ratio(javaResult.IndexSeconds, relevoIndexSeconds)}; size Relevo/Java {relevoSize / (double)javaResult.Size:F3}"));

        if (qrelsPath is not null)
        {
            var evaluator = new Evaluator(Qrels.Load(qrelsPath));
            string Ndcg(TrecRun run) => evaluator.Evaluate(run, ["ndcg_cut_10"]).Mean("ndcg_cut_10").ToString("F4", CultureInfo.InvariantCulture);
            Console.WriteLine($"nDCG@10: Relevo pruned {Ndcg(relevoRun)}, Relevo exhaustive {Ndcg(exhaustiveRun)}, Lucene.NET 4.8 {Ndcg(lnRun)}" +
                (javaRun is null ? "" : $", Java Lucene 8 {Ndcg(javaRun)}"));
        }
        return prunedMismatch == 0 && allocated == 0 ? 0 : 2;
    }

    private static double[] Summary(double[] ms)
    {
        var s = (double[])ms.Clone();
        Array.Sort(s);
        return [ms.Average(), Pct(s, 50), Pct(s, 99)];
    }

    private static string Lat(double[] s) => string.Create(CultureInfo.InvariantCulture, $"{s[0]:F3} / {s[1]:F3} / {s[2]:F3}");

    private static double Pct(double[] sorted, int p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)];

    private static double[] Min(double[]? a, double[] b)
    {
        if (a is null) return b;
        for (int i = 0; i < a.Length; i++) a[i] = Math.Min(a[i], b[i]);
        return a;
    }

    private static double[] Latencies(Action<int, int> search, int n, int k)
    {
        var ms = new double[n];
        for (int i = 0; i < n; i++)
        {
            long t = Stopwatch.GetTimestamp();
            search(i, k);
            ms[i] = Stopwatch.GetElapsedTime(t).TotalMilliseconds;
        }
        return ms;
    }

    private static double Throughput(int n, int threads, Action<int> search)
    {
        int total = n * 3, next = -1;
        var sw = Stopwatch.StartNew();
        var workers = new Thread[threads];
        for (int t = 0; t < threads; t++)
        {
            workers[t] = new Thread(() =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < total) search(i % n);
            });
            workers[t].Start();
        }
        foreach (var w in workers) w.Join();
        return total / sw.Elapsed.TotalSeconds;
    }

    /// <summary>Queries whose top-10 ids are the same list, and the same set (ties may order differently), and the
    /// largest relative score difference after dividing the other engine's scores by <paramref name="scale"/>.</summary>
    private static string Agreement(Dictionary<string, (string[] Ids, float[] Scores)> ours, TrecRun theirs, float scale)
    {
        int sameList = 0, sameSet = 0, n = 0;
        double maxRel = 0;
        foreach (var (qid, (ids, sc)) in ours)
        {
            n++;
            var other = theirs.ForQuery(qid);
            if (other.Count == ids.Length && ids.SequenceEqual(other.Select(x => x.DocId))) sameList++;
            if (new HashSet<string>(ids).SetEquals(other.Select(x => x.DocId))) sameSet++;
            for (int i = 0; i < Math.Min(ids.Length, other.Count); i++)
                maxRel = Math.Max(maxRel, Math.Abs(sc[i] - other[i].Score / scale) / Math.Max(1e-9, sc[i]));
        }
        return string.Create(CultureInfo.InvariantCulture, $"{sameList}/{n} identical lists, {sameSet}/{n} identical sets, max relative score difference by rank {maxRel:E1}");
    }

    private static (EngineResult?, string) RunJava(string corpusDir, string indexDir, float k1, float b, int threads, string runPath, int rounds)
    {
        string script = Path.Combine(FindRepoRoot(), "bench", "run-lucene-java.sh");
        var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { script, corpusDir, indexDir, k1.ToString(CultureInfo.InvariantCulture), b.ToString(CultureInfo.InvariantCulture),
                     threads.ToString(CultureInfo.InvariantCulture), runPath, rounds.ToString(CultureInfo.InvariantCulture) })
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        string output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        string all = output + err.Result;
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal));
        if (p.ExitCode != 0 || line is null) return (null, all);
        var kv = line[7..].Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(x => x.Split('=')).ToDictionary(x => x[0], x => double.Parse(x[1], CultureInfo.InvariantCulture));
        // the Java harness reports summary latencies only: keep them as a three-point distribution for the table
        double[] Dist(string prefix) => [kv[prefix + "_mean"], kv[prefix + "_p50"], kv[prefix + "_p99"]];
        return (new EngineResult("Java Lucene 8.7", kv["index_s"], (long)kv["docs"], (long)kv["size"], Dist("t10"), Dist("t1000"), kv["qps"]), all);
    }

    private static TrecRun LoadJavaRun(string path)
    {
        var run = new TrecRun("lucene8");
        foreach (var g in File.ReadLines(path).Select(l => l.Split(' ')).GroupBy(x => x[0]))
            run.AddRanking(g.Key, g.Select(x => (x[1], (double)BitConverter.Int32BitsToSingle(int.Parse(x[2], CultureInfo.InvariantCulture)))).ToList());
        return run;
    }

    private static string FindRepoRoot() =>
        DatasetLocator.FindRepositoryRoot(System.IO.Directory.GetCurrentDirectory())
        ?? DatasetLocator.FindRepositoryRoot(AppContext.BaseDirectory) ?? throw new InvalidOperationException("repository root not found");

    private static long DirSize(string dir)
    {
        long total = 0;
        foreach (var f in new DirectoryInfo(dir).EnumerateFiles()) total += f.Length;
        return total;
    }

    /// <summary>An indexing-rate ratio, or a note that a reused index has no rate.</summary>
    private static string Ratio(double theirSeconds, double ourSeconds) =>
        double.IsNaN(theirSeconds) || double.IsNaN(ourSeconds)
            ? "n/a (an index was reused)"
            : (theirSeconds / ourSeconds).ToString("F2", CultureInfo.InvariantCulture) + "×";
}
