using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Relevo.Collections;
using Relevo.Index.Positions;
using Relevo.Search.Similarities;
using Relevo.Search.Structured;
using Relevo.Search.Syntax;
using RIndexReader = Relevo.Index.IndexReader;
using RIndexWriter = Relevo.Index.IndexWriter;

namespace Relevo.Bench;

/// <summary>Exact two-word phrase queries, Relevo against Lucene.NET 4.8 (in this process) and Java Lucene 8 (a child
/// process), over the same documents with positions: index time and size with positions, one-thread top-10 latency
/// (best of the rounds per query), and top-10 agreement. The phrases are two adjacent words sampled from random
/// documents (seeded), kept when the analyzer leaves both.</summary>
internal sealed class PhraseBenchmark : IBenchmark
{
    public string Name => "phrase";
    public string Description => "Two-word phrases side by side: --corpus DIR --work DIR [--queries 1000] [--seed 7] [--java true] [--rounds 3] [--threads cores] [--reuse false]";

    public int Run(BenchOptions o)
    {
        string corpusDir = o.String("corpus") ?? throw new ArgumentException("--corpus DIR is required");
        string work = o.String("work") ?? Path.Combine(Path.GetTempPath(), "relevo-phrase-bench");
        int count = o.Int("queries", 1000), seed = o.Int("seed", 7), rounds = o.Int("rounds", 3);
        int threads = o.Int("threads", Environment.ProcessorCount);
        bool java = o.String("java") != "false";
        // --reuse true: keep the three indexes already under --work (latency only; no indexing figures)
        bool reuse = o.String("reuse") == "true";
        string corpus = File.Exists(Path.Combine(corpusDir, "corpus.jsonl")) ? Path.Combine(corpusDir, "corpus.jsonl") : Path.Combine(corpusDir, "corpus.jsonl.gz");
        System.IO.Directory.CreateDirectory(work);

        // ---------------- Relevo: index on all cores, one segment, then positions
        string relevoDir = Path.Combine(work, "relevo");
        bool reuseRelevo = reuse && File.Exists(Path.Combine(relevoDir, "manifest"));
        if (!reuseRelevo) Relevo.Index.IndexFolder.DeleteIndex(relevoDir); // only an index's own files; anything else is refused
        var sw = Stopwatch.StartNew();
        if (!reuseRelevo)
        using (var w = RIndexWriter.Open(relevoDir, new Relevo.Index.IndexWriterOptions { Components = [PositionsComponent.Instance] }))
        {
            Relevo.Index.CorpusIndexer.AddCorpus(w, corpus, threads: threads);
            w.Commit();
            w.ForceMerge();
            double indexOnly = sw.Elapsed.TotalSeconds;
            var p = Stopwatch.StartNew();
            PositionsIndexer.Build([w]);
            w.Commit();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Relevo: index {indexOnly:F1} s, positions {p.Elapsed.TotalSeconds:F1} s"));
        }
        double relevoSeconds = reuseRelevo ? double.NaN : sw.Elapsed.TotalSeconds;
        long relevoSize = DirSize(relevoDir);
        using var reader = RIndexReader.Open(relevoDir);
        long positionsSize = new DirectoryInfo(relevoDir).EnumerateFiles("*.pos").Sum(f => f.Length);

        // ---------------- phrases from the documents
        var phrases = Sample(reader, count, seed);
        string phrasesFile = Path.Combine(work, "phrases.txt");
        File.WriteAllLines(phrasesFile, phrases);
        // the same phrases as a queries file for the whole-process timing (`relevo run --syntax lucene`): each in quotes
        string queriesFile = Path.Combine(work, "phrase-queries.jsonl");
        File.WriteAllLines(queriesFile, phrases.Select((p, i) => System.Text.Json.JsonSerializer.Serialize(new { _id = $"p{i}", text = $"\"{p}\"" })));
        Console.WriteLine($"{reader.MaxDoc:N0} documents, {phrases.Count} phrases, {rounds} rounds");

        // ---------------- Lucene.NET: the same index with positions
        string luceneDir = Path.Combine(work, "lucenenet");
        var similarity = LuceneNet.Similarity(0.9f, 0.4f);
        bool reuseLucene = reuse && System.IO.Directory.Exists(luceneDir) && System.IO.Directory.EnumerateFiles(luceneDir, "segments_*").Any();
        sw.Restart();
        long luceneDocs = -1;
        if (!reuseLucene)
        {
            BenchFolders.Recreate(luceneDir);
            luceneDocs = LuceneNet.BuildIndex(corpus, luceneDir, similarity, IndexOptions.DOCS_AND_FREQS_AND_POSITIONS);
        }
        double luceneSeconds = reuseLucene ? double.NaN : sw.Elapsed.TotalSeconds;
        long luceneSize = DirSize(luceneDir);
        using var ldir = FSDirectory.Open(luceneDir);
        using var lreader = DirectoryReader.Open(ldir);
        var searcher = new IndexSearcher(lreader) { Similarity = similarity };
        using var analyzer = LuceneNet.NewAnalyzer();
        var builder = new Lucene.Net.Util.QueryBuilder(analyzer);
        var luceneQueries = phrases.Select(t => builder.CreatePhraseQuery(LuceneNet.Field, t)).ToList();

        var ours = phrases.Select(t => new StructuredQuery(reader, new PhraseNode(null, t, 0, 1, 1), new Bm25Parameters())).ToList();
        var docs = new int[10];
        var scores = new float[10];

        // warm-up, then rounds alternating between the engines; per query the best round
        for (int i = 0; i < 3; i++)
            for (int q = 0; q < phrases.Count; q++)
            {
                ours[q].Search(10, docs, scores);
                searcher.Search(luceneQueries[q], 10);
            }
        var relevoMs = Enumerable.Repeat(double.MaxValue, phrases.Count).ToArray();
        var luceneMs = Enumerable.Repeat(double.MaxValue, phrases.Count).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int q = 0; q < phrases.Count; q++)
            {
                long t = Stopwatch.GetTimestamp();
                ours[q].Search(10, docs, scores);
                relevoMs[q] = Math.Min(relevoMs[q], Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                t = Stopwatch.GetTimestamp();
                searcher.Search(luceneQueries[q], 10);
                luceneMs[q] = Math.Min(luceneMs[q], Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }

        // agreement with Lucene.NET (its scores are Lucene 8's times k1 + 1)
        int sameLists = 0, matched = 0;
        var relevoTop = new List<string[]>();
        for (int q = 0; q < phrases.Count; q++)
        {
            var hits = ours[q].Search(10);
            relevoTop.Add(hits.Select(h => h.Id).ToArray());
            var theirs = searcher.Search(luceneQueries[q], 10).ScoreDocs;
            if (hits.Count > 0) matched++;
            bool same = theirs.Length == hits.Count;
            for (int i = 0; same && i < hits.Count; i++)
                same = Math.Abs(hits[i].Score - theirs[i].Score / 1.9f) <= 1e-5f * Math.Max(1f, hits[i].Score)
                       && (searcher.Doc(theirs[i].Doc).Get("id") == hits[i].Id || i > 0 && Math.Abs(hits[i].Score - hits[i - 1].Score) < 1e-6f
                           || i + 1 < hits.Count && Math.Abs(hits[i].Score - hits[i + 1].Score) < 1e-6f);
            if (same) sameLists++;
        }
        Console.WriteLine($"top 10: {sameLists}/{phrases.Count} lists equal Lucene.NET's (ties aside); {matched} phrases match something");

        // where the time goes: the slowest phrases, with their words' document frequencies
        foreach (int q in Enumerable.Range(0, phrases.Count).OrderByDescending(q => relevoMs[q]).Take(5))
        {
            var words = reader.AnalyzerInstance.Terms(phrases[q]);
            string dfs = string.Join(", ", words.Select(w => reader.Statistics.DocFreq(w).ToString("N0", CultureInfo.InvariantCulture)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"slow: \"{phrases[q]}\" (df {dfs}): Relevo {relevoMs[q]:F2} ms, Lucene.NET {luceneMs[q]:F2} ms, {ours[q].Search(1000000).Count:N0} matches"));
        }
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        Console.WriteLine($"load average: {load}");
        Console.WriteLine("| engine | index s (docs) | index size | positions | top-10 mean / p50 / p99 (ms) |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
        Console.WriteLine(Row("Relevo", relevoSeconds, reader.MaxDoc, relevoSize, Mib(positionsSize), relevoMs));
        Console.WriteLine(Row("Lucene.NET 4.8", luceneSeconds, luceneDocs, luceneSize, "(in the index)", luceneMs));
        if (java)
        {
            string javaDir = Path.Combine(work, "lucene8"); // the Java side replaces it (as the search benchmark's)
            string runPath = Path.Combine(work, "java-phrase.run");
            var (result, log) = JavaLucene.Run("phrase", corpusDir, javaDir, phrasesFile, runPath, rounds, reuse);
            if (result is null)
            {
                Console.WriteLine("Java Lucene 8 failed:\n" + log);
                return 1;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| Java Lucene 8 | {result["index_s"]:F1} ({result["docs"]:N0}) | {Mib((long)result["size"])} | (in the index) | {result["t10_mean"]:F3} / {result["t10_p50"]:F3} / {result["t10_p99"]:F3} |"));
            var javaTop = File.ReadLines(runPath).Select(l => l.Split(' ')).GroupBy(x => int.Parse(x[0], CultureInfo.InvariantCulture))
                .ToDictionary(g => g.Key, g => g.Select(x => x[1]).ToArray());
            int sameSets = 0;
            for (int q = 0; q < phrases.Count; q++)
                if (new HashSet<string>(javaTop.GetValueOrDefault(q, [])).SetEquals(relevoTop[q])) sameSets++;
            Console.WriteLine($"top 10 as sets: {sameSets}/{phrases.Count} equal Java Lucene 8's");
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"mean top-10 latency ratio, Java Lucene 8 / Relevo: {result["t10_mean"] / relevoMs.Average():F2}×; Lucene.NET / Relevo: {luceneMs.Average() / relevoMs.Average():F2}×"));
        }
        return 0;
    }

    /// <summary>Two adjacent words of random documents' text whose analysis keeps both, distinct and unrepeated.</summary>
    private static List<string> Sample(RIndexReader reader, int count, int seed)
    {
        var rng = new Random(seed);
        var analyzer = reader.AnalyzerInstance;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var list = new List<string>();
        var seg = reader.Segments[0];
        for (int attempt = 0; list.Count < count && attempt < count * 50; attempt++)
        {
            var doc = seg.GetDocument(rng.Next(seg.MaxDoc));
            var words = Regex.Matches(doc.Text, "[A-Za-z]+").Select(m => m.Value).ToArray();
            if (words.Length < 2) continue;
            int i = rng.Next(words.Length - 1);
            string phrase = words[i] + " " + words[i + 1];
            var terms = analyzer.Terms(phrase);
            if (terms.Count == 2 && terms[0] != terms[1] && seen.Add(phrase)) list.Add(phrase);
        }
        return list;
    }

    private static string Row(string engine, double seconds, long docs, long size, string positions, double[] ms)
    {
        var sorted = ms.Order().ToArray();
        double P(int p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture,
            $"| {engine} | {seconds:F1} ({docs:N0}) | {Mib(size)} | {positions} | {ms.Average():F3} / {P(50):F3} / {P(99):F3} |");
    }

    private static string Mib(long bytes) => (bytes / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB";

    private static long DirSize(string dir) => new DirectoryInfo(dir).EnumerateFiles().Sum(f => f.Length);

}
