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
    public string Description => "Relevo algorithms on an index: --index DIR --queries FILE [--rounds 3]";

    public int Run(BenchOptions o)
    {
        using var reader = IndexReader.Open(o.String("index") ?? throw new ArgumentException("--index DIR"));
        var searcher = new Bm25Searcher(reader);
        var queries = new List<Query>();
        foreach (var (_, text) in JsonlReader.ReadQueries(o.String("queries") ?? throw new ArgumentException("--queries FILE")))
        {
            var q = Query.Parse(text, searcher.Analyzer);
            if (q.Terms.Count > 0) queries.Add(q);
        }
        var docs = new int[1000];
        var scores = new float[1000];
        var variants = new (string Name, PruningAlgorithm A)[]
        {
            ("exhaustive", PruningAlgorithm.Exhaustive),
            ("MaxScore", PruningAlgorithm.MaxScore),
            ("block-max WAND", PruningAlgorithm.BlockMaxWand),
        };
        int rounds = o.Int("rounds", 3);
        var sums = new double[variants.Length, 2];
        for (int r = 0; r <= rounds; r++)
            for (int v = 0; v < variants.Length; v++)
            {
                int ki = 0;
                foreach (int k in new[] { 10, 1000 })
                {
                    var sw = Stopwatch.StartNew();
                    foreach (var q in queries) searcher.SearchDocs(q, k, docs, scores, variants[v].A);
                    if (r > 0) sums[v, ki] += sw.Elapsed.TotalMilliseconds / queries.Count / rounds;
                    ki++;
                }
            }
        for (int v = 0; v < variants.Length; v++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{variants[v].Name,-18} top-10 {sums[v, 0]:F3} ms ({sums[0, 0] / sums[v, 0]:F1}× exhaustive)   top-1000 {sums[v, 1]:F3} ms ({sums[0, 1] / sums[v, 1]:F1}× exhaustive)"));
        return 0;
    }
}
