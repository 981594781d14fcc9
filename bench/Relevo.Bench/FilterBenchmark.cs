using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Relevo.Collections;
using Relevo.Search.Filters;
using LDocument = Lucene.Net.Documents.Document;
using Bm25Searcher = Relevo.Search.Bm25Searcher;
using PruningAlgorithm = Relevo.Search.PruningAlgorithm;
using RIndexReader = Relevo.Index.IndexReader;
using RIndexWriter = Relevo.Index.IndexWriter;
using RQuery = Relevo.Search.Query;

namespace Relevo.Bench;

/// <summary>Filtered BM25, Relevo against Lucene.NET 4.8 (in this process) and Java Lucene 8 (a child process): a typed
/// copy of the corpus gives every document an integer "year" (2000 + FNV-1a of its id's UTF-8 bytes mod 20), and each
/// query's bag of words is searched for the top 10 among the documents with year in [2010, 2011] (about 10%), and
/// unfiltered for reference; one thread, best of the rounds per query. Every query's filtered top 10 is checked
/// against Relevo's exhaustive filtered scorer, against the years (each hit's year recomputed from its id), and
/// against the two Lucenes.</summary>
internal sealed class FilterBenchmark : IBenchmark
{
    public const string FilterText = "year:[2010 TO 2011]";
    private const int Lower = 2010, Upper = 2011;

    public string Name => "filter";
    public string Description => "10%-selective filtered BM25 top 10 side by side (year:[2010 TO 2011] on a typed copy): --corpus DIR --work DIR [--queries 1000] [--rounds 3] [--threads cores] [--java true] [--reuse false] [--lucenenet-filter cached|range|fieldcache]";

    public int Run(BenchOptions o)
    {
        string corpusDir = o.String("corpus") ?? throw new ArgumentException("--corpus DIR is required");
        string work = o.String("work") ?? Path.Combine(Path.GetTempPath(), "relevo-filter-bench");
        int count = o.Int("queries", 1000), rounds = o.Int("rounds", 3);
        int threads = o.Int("threads", Environment.ProcessorCount);
        bool java = o.String("java") != "false";
        // --reuse true: keep the typed copy and the three indexes already under --work (latency only; no indexing figures)
        bool reuse = o.String("reuse") == "true";
        string lnFilterKind = o.String("lucenenet-filter") ?? "cached";
        string corpus = File.Exists(Path.Combine(corpusDir, "corpus.jsonl")) ? Path.Combine(corpusDir, "corpus.jsonl") : Path.Combine(corpusDir, "corpus.jsonl.gz");
        System.IO.Directory.CreateDirectory(work);

        // ---------------- the typed copy: every line gains "year"
        string typedDir = Path.Combine(work, "typed");
        string typedCorpus = Path.Combine(typedDir, "corpus.jsonl");
        string expectedFile = Path.Combine(typedDir, "expected.txt");
        long expectedDocs, expectedMatching;
        var sw = Stopwatch.StartNew();
        if (reuse && File.Exists(typedCorpus) && File.Exists(expectedFile))
        {
            var parts = File.ReadAllText(expectedFile).Split(' ', StringSplitOptions.RemoveEmptyEntries);
            expectedDocs = long.Parse(parts[0], CultureInfo.InvariantCulture);
            expectedMatching = long.Parse(parts[1], CultureInfo.InvariantCulture);
            Console.WriteLine($"typed copy: reused {typedCorpus}");
        }
        else
        {
            BenchFolders.Recreate(typedDir);
            (expectedDocs, expectedMatching) = WriteTyped(corpus, typedCorpus + ".tmp");
            File.Move(typedCorpus + ".tmp", typedCorpus);
            File.WriteAllText(expectedFile, string.Create(CultureInfo.InvariantCulture, $"{expectedDocs} {expectedMatching}\n"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"typed copy: {typedCorpus} in {sw.Elapsed.TotalSeconds:F1} s"));
        }

        // ---------------- Relevo: index on all cores (year inferred as integer, doc values at commit), one segment
        string relevoDir = Path.Combine(work, "relevo");
        bool reuseRelevo = reuse && File.Exists(Path.Combine(relevoDir, "manifest"));
        if (!reuseRelevo)
        {
            Relevo.Index.IndexFolder.DeleteIndex(relevoDir); // only an index's own files; anything else is refused
            sw.Restart();
            using var w = RIndexWriter.Open(relevoDir, new Relevo.Index.IndexWriterOptions());
            Relevo.Index.CorpusIndexer.AddCorpus(w, typedCorpus, threads: threads);
            w.Commit();
            w.ForceMerge();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Relevo: indexed in {sw.Elapsed.TotalSeconds:F1} s ({threads} threads)"));
        }
        using var reader = RIndexReader.Open(relevoDir);
        sw.Restart();
        var filter = DocFilter.For(reader, FilterText) ?? throw new InvalidOperationException("no filter");
        double compileMs = sw.Elapsed.TotalMilliseconds;
        sw.Restart();
        var again = DocFilter.For(reader, FilterText);
        double cachedMs = sw.Elapsed.TotalMilliseconds;
        if (!ReferenceEquals(again, filter)) Console.WriteLine("warning: the compiled filter was not cached");

        // ---------------- queries: the first --queries with analysed terms, parsed before timing
        var rq = new List<(string Id, string Text, RQuery Query)>();
        foreach (var (id, text) in JsonlReader.ReadQueries(Path.Combine(corpusDir, "queries.jsonl")))
        {
            if (rq.Count == count) break;
            var q = RQuery.Parse(text, reader.AnalyzerInstance);
            if (q.Terms.Count > 0) rq.Add((id, text, q));
        }
        string queriesFile = Path.Combine(work, "filter-queries.jsonl");
        File.WriteAllLines(queriesFile, rq.Select(x => JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = x.Id, ["text"] = x.Text })));
        var searcher = new Bm25Searcher(reader);

        // ---------------- Lucene.NET: the same typed documents, year as an Int32Field (trie terms) and doc values
        string luceneDir = Path.Combine(work, "lucenenet");
        var similarity = LuceneNet.Similarity(0.9f, 0.4f);
        bool reuseLucene = reuse && System.IO.Directory.Exists(luceneDir) && System.IO.Directory.EnumerateFiles(luceneDir, "segments_*").Any();
        if (!reuseLucene)
        {
            BenchFolders.Recreate(luceneDir);
            sw.Restart();
            LuceneNet.BuildIndex(typedCorpus, luceneDir, similarity, extra: (d, doc) =>
            {
                int year = YearOf(d.Fields);
                doc.Add(new Lucene.Net.Documents.Int32Field("year", year, Lucene.Net.Documents.Field.Store.NO));
                doc.Add(new Lucene.Net.Documents.NumericDocValuesField("year", year));
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"Lucene.NET: indexed in {sw.Elapsed.TotalSeconds:F1} s (1 thread)"));
        }
        using var ldir = FSDirectory.Open(luceneDir);
        using var lreader = DirectoryReader.Open(ldir);
        var lsearcher = new IndexSearcher(lreader) { Similarity = similarity };
        Filter lnFilter = lnFilterKind switch
        {
            // the trie terms of the range, OR-ed into a bitset per segment once, then reused (FixedBitSet: random access)
            "cached" => new CachingWrapperFilter(NumericRangeFilter.NewInt32Range("year", Lower, Upper, true, true)),
            // the same, rebuilt for every query
            "range" => NumericRangeFilter.NewInt32Range("year", Lower, Upper, true, true),
            // the doc values checked per document (random access)
            "fieldcache" => FieldCacheRangeFilter.NewInt32Range("year", Lower, Upper, true, true),
            _ => throw new ArgumentException("--lucenenet-filter is cached, range or fieldcache"),
        };
        sw.Restart();
        long lnMatching = 0;
        foreach (var leaf in lreader.Leaves)
        {
            var it = lnFilter.GetDocIdSet(leaf, leaf.AtomicReader.LiveDocs)?.GetIterator();
            if (it is null) continue;
            while (it.NextDoc() != DocIdSetIterator.NO_MORE_DOCS) lnMatching++;
        }
        double lnFilterMs = sw.Elapsed.TotalMilliseconds;
        var lq = rq.Select(x => (Query)LuceneNet.BagOfWords(x.Query.Terms)).ToList();
        var lfq = lq.Select(q => (Query)new FilteredQuery(q, lnFilter)).ToList();

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{reader.MaxDoc:N0} documents, {filter.Matching:N0} match {FilterText} ({100.0 * filter.Matching / reader.MaxDoc:F2}%; by the ids' hash {expectedMatching:N0} of {expectedDocs:N0}; Lucene.NET {lnMatching:N0}), {rq.Count} queries, {rounds} rounds"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Relevo filter compile (first DocFilter.For): {compileMs:F1} ms; cached lookup {cachedMs * 1000:F1} µs. Lucene.NET filter ({lnFilterKind}) first pass over the segments: {lnFilterMs:F1} ms"));

        // ---------------- timing: warm-up, then rounds alternating between the engines; per query the best round
        int n = rq.Count;
        var docs = new int[10];
        var scores = new float[10];
        var engines = new (string Name, Action<int> Search)[]
        {
            ("Relevo filtered", i => searcher.SearchDocs(rq[i].Query, 10, docs, scores, algorithm: null, filter: filter)),
            ("Relevo unfiltered", i => searcher.SearchDocs(rq[i].Query, 10, docs, scores)),
            ("Relevo BMW filtered", i => searcher.SearchDocs(rq[i].Query, 10, docs, scores, algorithm: PruningAlgorithm.BlockMaxWand, filter: filter)),
            ("Relevo BMW unfiltered", i => searcher.SearchDocs(rq[i].Query, 10, docs, scores, algorithm: PruningAlgorithm.BlockMaxWand)),
            ("Lucene.NET filtered", i => lsearcher.Search(lfq[i], 10)),
            ("Lucene.NET unfiltered", i => lsearcher.Search(lq[i], 10)),
        };
        int warm = Math.Max(3, 1000 / Math.Max(1, n));
        for (int r = 0; r < warm; r++)
            for (int i = 0; i < n; i++)
                foreach (var e in engines) e.Search(i);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < n; i++) engines[0].Search(i);
        long allocated = (GC.GetAllocatedBytesForCurrentThread() - before) / Math.Max(1, n);
        var ms = engines.Select(_ => Enumerable.Repeat(double.MaxValue, n).ToArray()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < n; i++)
                for (int e = 0; e < engines.Length; e++)
                {
                    long t = Stopwatch.GetTimestamp();
                    engines[e].Search(i);
                    ms[e][i] = Math.Min(ms[e][i], Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }

        // ---------------- correctness: pruned filtered = exhaustive filtered; hits inside the range; agreement with Lucene.NET
        int prunedDiffer = 0, outside = 0, lnOutside = 0, fewer = 0;
        var agreeFiltered = new Agreement();
        var agreeUnfiltered = new Agreement();
        var relevoTop = new Relevo.Hit[n][];
        var exDocs = new int[10];
        var exScores = new float[10];
        for (int i = 0; i < n; i++)
        {
            var q = rq[i].Query;
            int nEx = searcher.SearchDocs(q, 10, exDocs, exScores, algorithm: PruningAlgorithm.Exhaustive, filter: filter);
            foreach (var a in new[] { PruningAlgorithm.MaxScore, PruningAlgorithm.BlockMaxWand })
            {
                int m = searcher.SearchDocs(q, 10, docs, scores, algorithm: a, filter: filter);
                if (m != nEx || !docs.AsSpan(0, m).SequenceEqual(exDocs.AsSpan(0, nEx)) || !scores.AsSpan(0, m).SequenceEqual(exScores.AsSpan(0, nEx)))
                    prunedDiffer++;
            }
            int k = searcher.SearchDocs(q, 10, docs, scores, algorithm: null, filter: filter);
            var hits = reader.ToHits(docs.AsSpan(0, k), scores.AsSpan(0, k));
            relevoTop[i] = hits;
            if (k < 10) fewer++;
            outside += hits.Count(h => !Inside(YearOfId(h.Id)));
            var theirs = lsearcher.Search(lfq[i], 10).ScoreDocs;
            var theirIds = theirs.Select(sd => lsearcher.Doc(sd.Doc).Get("id")).ToArray();
            lnOutside += theirIds.Count(id => !Inside(YearOfId(id)));
            agreeFiltered.Add(hits, theirIds, theirs.Select(sd => sd.Score / 1.9f).ToArray());

            int ku = searcher.SearchDocs(q, 10, docs, scores);
            var unfiltered = reader.ToHits(docs.AsSpan(0, ku), scores.AsSpan(0, ku));
            var theirsU = lsearcher.Search(lq[i], 10).ScoreDocs;
            agreeUnfiltered.Add(unfiltered, theirsU.Select(sd => lsearcher.Doc(sd.Doc).Get("id")).ToArray(), theirsU.Select(sd => sd.Score / 1.9f).ToArray());
        }
        Console.WriteLine($"Relevo filtered top 10, MaxScore and BMW vs exhaustive filtered: {n} queries × 2, {prunedDiffer} differ; " +
                          $"hits outside [{Lower}, {Upper}]: Relevo {outside}, Lucene.NET {lnOutside}; {fewer} queries with fewer than 10 filtered hits");
        Console.WriteLine($"allocated per filtered top-10 query (MaxScore): {allocated} bytes");
        Console.WriteLine($"top 10 vs Lucene.NET 4.8, filtered: {agreeFiltered.Summary(n)}");
        Console.WriteLine($"top 10 vs Lucene.NET 4.8, unfiltered: {agreeUnfiltered.Summary(n)}");

        // ---------------- report
        string load = File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Trim() : "n/a";
        Console.WriteLine($"load average: {load}");
        Console.WriteLine();
        Console.WriteLine("| engine | filtered top-10 mean / p50 / p95 (ms) | unfiltered top-10 mean / p50 / p95 (ms) | filtered / unfiltered mean |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Console.WriteLine(Row("Relevo (MaxScore, default)", ms[0], ms[1]));
        Console.WriteLine(Row("Relevo (block-max WAND)", ms[2], ms[3]));
        Console.WriteLine(Row($"Lucene.NET 4.8 (FilteredQuery, {lnFilterKind})", ms[4], ms[5]));
        double relevoF = ms[0].Average(), relevoU = ms[1].Average();
        var ratios = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"Lucene.NET / Relevo: filtered {ms[4].Average() / relevoF:F2}×, unfiltered {ms[5].Average() / relevoU:F2}×"),
        };
        int rc = prunedDiffer == 0 && outside == 0 && filter.Matching == expectedMatching ? 0 : 2;
        if (java)
        {
            string javaDir = Path.Combine(work, "lucene8"); // the Java side replaces it (as the search benchmark's)
            string runPath = Path.Combine(work, "java-filter.run");
            var (result, log) = JavaLucene.Run("filter", typedDir, javaDir, queriesFile, runPath, rounds, reuse);
            if (result is null)
            {
                Console.WriteLine("Java Lucene 8 failed:\n" + log);
                return 1;
            }
            string Lat(string p) => string.Create(CultureInfo.InvariantCulture, $"{result[p + "_mean"]:F3} / {result[p + "_p50"]:F3} / {result[p + "_p95"]:F3}");
            string Div(string p) => string.Create(CultureInfo.InvariantCulture, $"{result[p + "_mean"] / result["u_mean"]:F2}");
            Console.WriteLine($"| Java Lucene 8.7 (MUST bag of words + FILTER IntPoint range, no query cache) | {Lat("f")} | {Lat("u")} | {Div("f")} |");
            Console.WriteLine($"| Java Lucene 8.7 (FILTER IndexOrDocValuesQuery, no query cache) | {Lat("fdv")} | | {Div("fdv")} |");
            Console.WriteLine($"| Java Lucene 8.7 (FILTER IntPoint range from the LRU query cache) | {Lat("fc")} | | {Div("fc")} |");
            ratios.Add(string.Create(CultureInfo.InvariantCulture,
                $"Java Lucene 8 / Relevo: filtered {result["f_mean"] / relevoF:F2}× (IntPoint), {result["fdv_mean"] / relevoF:F2}× (IndexOrDocValues), {result["fc_mean"] / relevoF:F2}× (cached); unfiltered {result["u_mean"] / relevoU:F2}×"));
            var javaTop = File.ReadLines(runPath).Select(l => l.Split(' ')).GroupBy(x => x[0], StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
            var agreeJava = new Agreement();
            int javaOutside = 0;
            for (int i = 0; i < n; i++)
            {
                var lines = javaTop.GetValueOrDefault(rq[i].Id, []);
                javaOutside += lines.Count(x => !Inside(YearOfId(x[1])));
                agreeJava.Add(relevoTop[i], lines.Select(x => x[1]).ToArray(),
                    lines.Select(x => BitConverter.Int32BitsToSingle(int.Parse(x[2], CultureInfo.InvariantCulture))).ToArray());
            }
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"Java Lucene 8: {result["docs"]:N0} documents, {result["matching"]:N0} match the range, range cached in {result["cache_ms"]:F1} ms, index {result["index_s"]:F1} s; " +
                $"its three filtered forms differ on {result["variants_differ"]} queries; hits outside the range {javaOutside}"));
            Console.WriteLine($"top 10 vs Java Lucene 8, filtered: {agreeJava.Summary(n)}");
        }
        Console.WriteLine();
        Console.WriteLine("mean top-10 latency ratios (same run): " + string.Join("; ", ratios));
        return rc;
    }

    /// <summary>Top-10 agreement with another engine: identical lists, lists equal once tied scores may swap places
    /// (scores equal within 1e-5 relative), and identical sets.</summary>
    private sealed class Agreement
    {
        private int _strict, _tiesAside, _sets;

        public void Add(IReadOnlyList<Relevo.Hit> hits, string[] ids, float[] theirScores)
        {
            if (ids.Length == hits.Count && hits.Select(h => h.Id).SequenceEqual(ids)) _strict++;
            if (new HashSet<string>(ids).SetEquals(hits.Select(h => h.Id))) _sets++;
            bool same = ids.Length == hits.Count;
            for (int i = 0; same && i < hits.Count; i++)
                same = Math.Abs(hits[i].Score - theirScores[i]) <= 1e-5f * Math.Max(1f, hits[i].Score)
                       && (ids[i] == hits[i].Id || i > 0 && Math.Abs(hits[i].Score - hits[i - 1].Score) < 1e-6f
                           || i + 1 < hits.Count && Math.Abs(hits[i].Score - hits[i + 1].Score) < 1e-6f);
            if (same) _tiesAside++;
        }

        public string Summary(int n) => $"{_strict}/{n} identical lists, {_tiesAside}/{n} equal ties aside (scores within 1e-5), {_sets}/{n} identical sets";
    }

    private static bool Inside(int year) => year is >= Lower and <= Upper;

    /// <summary>The year a document id is given: 2000 + (FNV-1a 32 of its UTF-8 bytes) mod 20.</summary>
    public static int YearOfId(string id)
    {
        uint h = 2166136261;
        foreach (byte b in Encoding.UTF8.GetBytes(id))
        {
            h ^= b;
            h *= 16777619;
        }
        return 2000 + (int)(h % 20);
    }

    /// <summary>The "year" of a document's other keys as Relevo's reader keeps them (one JSON object).</summary>
    private static int YearOf(string? fields)
    {
        if (fields is null) throw new InvalidDataException("a typed document without other keys");
        using var json = JsonDocument.Parse(fields);
        return json.RootElement.GetProperty("year").GetInt32();
    }

    /// <summary>Writes the corpus with <c>"year": N</c> appended to every line's object (the other keys as they are);
    /// returns the number of documents and how many fall in the filter's range.</summary>
    private static (long Docs, long Matching) WriteTyped(string source, string target)
    {
        using var file = File.OpenRead(source);
        using Stream input = source.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
        using var r = new StreamReader(input, new UTF8Encoding(false), detectEncodingFromByteOrderMarks: true, bufferSize: 1 << 16);
        using var w = new StreamWriter(target, false, new UTF8Encoding(false), 1 << 16);
        long docs = 0, matching = 0;
        string? line;
        while ((line = r.ReadLine()) != null)
        {
            var t = line.AsSpan().TrimEnd();
            if (t.IsEmpty) continue;
            if (t[^1] != '}') throw new InvalidDataException($"{source}: line {docs + 1} is not one JSON object");
            int year = YearOfId(IdOf(line));
            docs++;
            if (Inside(year)) matching++;
            w.Write(t[..^1]);
            w.Write(", \"year\": ");
            w.Write(year.ToString(CultureInfo.InvariantCulture));
            w.Write("}\n");
        }
        return (docs, matching);
    }

    private static string IdOf(string line)
    {
        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(line));
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            bool isId = reader.ValueTextEquals("_id"u8);
            reader.Read();
            if (isId) return reader.GetString() ?? throw new InvalidDataException("null _id");
            reader.Skip();
        }
        throw new InvalidDataException("a line without _id");
    }

    private static string Row(string engine, double[] filtered, double[] unfiltered) =>
        string.Create(CultureInfo.InvariantCulture, $"| {engine} | {Lat(filtered)} | {Lat(unfiltered)} | {filtered.Average() / unfiltered.Average():F2} |");

    private static string Lat(double[] ms)
    {
        var sorted = ms.Order().ToArray();
        double P(int p) => sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture, $"{ms.Average():F3} / {P(50):F3} / {P(95):F3}");
    }

}
