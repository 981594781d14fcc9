using System.Diagnostics;
using System.Globalization;
using System.Text;
using Lucene.Net.Index;
using Lucene.Net.Search;
using Lucene.Net.Store;
using Relevo.Collections;

namespace Relevo.Bench;

/// <summary>"lucenenet-index": builds the Lucene.NET 4.8 index of the engine benchmarks (<see cref="LuceneNet.BuildIndex"/>,
/// merged to one segment) in its own process, for bench/end-to-end.sh.</summary>
internal sealed class LuceneNetIndexCommand : IBenchmark
{
    public string Name => "lucenenet-index";
    public string Description => "Lucene.NET 4.8 one-segment index: --corpus FILE|DIR --index DIR (new or empty) [--k1 0.9 --b 0.4]";

    public int Run(BenchOptions o)
    {
        string corpus = LuceneNetRunCommand.CorpusFile(o.String("corpus") ?? throw new ArgumentException("--corpus FILE|DIR is required"));
        string indexDir = o.String("index") ?? throw new ArgumentException("--index DIR is required");
        if (System.IO.Directory.Exists(indexDir) && System.IO.Directory.EnumerateFileSystemEntries(indexDir).Any())
            throw new ArgumentException($"--index {indexDir}: not empty");
        var (k1, b) = LuceneNetRunCommand.Bm25(o);
        var sw = Stopwatch.StartNew();
        long docs = LuceneNet.BuildIndex(corpus, indexDir, LuceneNet.Similarity(k1, b));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"indexed {docs:N0} documents from {corpus} into {indexDir} (one segment) in {sw.Elapsed.TotalSeconds:F1} s"));
        return 0;
    }
}

/// <summary>"lucenenet-run": what a minimal Lucene.NET 4.8 user program does to produce a TREC run, in its own process
/// (bench/end-to-end.sh times it): opens the index, reads queries.jsonl, and for each query analyses it with
/// Lucene.NET's EnglishAnalyzer into the bag-of-words query (<see cref="LuceneNet.BagOfWords"/>), searches the top k
/// (<c>IndexSearcher.Search(query, k)</c>, BM25 with Lucene 8's norms), loads each hit's stored "id" and writes
/// <c>qid Q0 docid rank score tag</c> lines through a buffered writer. Scores are Lucene.NET's BM25, which is
/// Lucene 8's times (k1 + 1); the ranking is the same.</summary>
internal sealed class LuceneNetRunCommand : IBenchmark
{
    public string Name => "lucenenet-run";
    public string Description => "Lucene.NET 4.8 TREC run: --index DIR --queries FILE --k 1000 --output FILE [--tag lucenenet] [--k1 0.9 --b 0.4]";

    public int Run(BenchOptions o)
    {
        string indexDir = o.String("index") ?? throw new ArgumentException("--index DIR is required");
        string queriesPath = o.String("queries") ?? throw new ArgumentException("--queries FILE is required");
        string output = o.String("output") ?? throw new ArgumentException("--output FILE is required");
        int k = o.Int("k", 1000);
        if (k < 1) throw new ArgumentException("--k must be at least 1");
        string tag = o.String("tag") ?? "lucenenet";
        var (k1, b) = Bm25(o);

        var queries = JsonlReader.ReadQueries(queriesPath);
        using var dir = FSDirectory.Open(indexDir);
        using var reader = DirectoryReader.Open(dir);
        var searcher = new IndexSearcher(reader) { Similarity = LuceneNet.Similarity(k1, b) };
        var analyzer = LuceneNet.NewAnalyzer();
        var idOnly = new HashSet<string>(StringComparer.Ordinal) { "id" };
        long lines = 0;
        using (var w = new StreamWriter(output, append: false, new UTF8Encoding(false), bufferSize: 1 << 16) { NewLine = "\n" })
        {
            Span<char> num = stackalloc char[32];
            foreach (var (qid, text) in queries)
            {
                var hits = searcher.Search(LuceneNet.BagOfWords(LuceneNet.Analyze(analyzer, text)), k).ScoreDocs;
                for (int i = 0; i < hits.Length; i++)
                {
                    w.Write(qid);
                    w.Write(" Q0 ");
                    w.Write(searcher.Doc(hits[i].Doc, idOnly).Get("id"));
                    w.Write(' ');
                    (i + 1).TryFormat(num, out int n, default, CultureInfo.InvariantCulture);
                    w.Write(num[..n]);
                    w.Write(' ');
                    hits[i].Score.TryFormat(num, out n, "R", CultureInfo.InvariantCulture);
                    w.Write(num[..n]);
                    w.Write(' ');
                    w.Write(tag);
                    w.Write('\n');
                }
                lines += hits.Length;
            }
        }
        Console.WriteLine($"wrote {lines:N0} lines for {queries.Count:N0} queries to {output}");
        return 0;
    }

    internal static (float K1, float B) Bm25(BenchOptions o) =>
        (float.Parse(o.String("k1") ?? "0.9", CultureInfo.InvariantCulture), float.Parse(o.String("b") ?? "0.4", CultureInfo.InvariantCulture));

    /// <summary>corpus.jsonl or corpus.jsonl.gz, given the file or its BEIR folder.</summary>
    internal static string CorpusFile(string path)
    {
        if (File.Exists(path)) return path;
        string plain = Path.Combine(path, "corpus.jsonl");
        return File.Exists(plain) ? plain : Path.Combine(path, "corpus.jsonl.gz");
    }
}
