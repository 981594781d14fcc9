using System.Diagnostics;
using System.Globalization;
using Relevo.Collections;

namespace Relevo.Bench;

/// <summary>Feature extraction cost: for each query, one thread, the retrieval alone (<c>bm25</c> at depth k) and the
/// same retrieval followed by <c>features(...)</c> with sparse features, side by side in rounds; the difference is what
/// scoring k candidates with the features costs.</summary>
internal sealed class FeaturesBenchmark : IBenchmark
{
    public string Name => "features";
    public string Description => "Feature extraction: --corpus DIR (BEIR layout) --work DIR [--k 1000] [--rounds 3]";

    public int Run(BenchOptions o)
    {
        string corpusDir = o.String("corpus") ?? throw new ArgumentException("--corpus DIR is required");
        string work = o.String("work") ?? Path.Combine(Path.GetTempPath(), "relevo-features-bench");
        int k = o.Int("k", 1000), rounds = o.Int("rounds", 3);
        var ds = BeirDataset.FromFolder(corpusDir);
        string dir = Path.Combine(work, "index");
        if (!Index.Manifest.Exists(dir))
        {
            BenchFolders.Recreate(work);
            using var w = SearchIndex.OpenWriter(dir);
            w.AddCorpus(ds.CorpusPath);
            w.Commit();
        }
        var queries = JsonlReader.ReadQueries(ds.QueriesPath);
        using var index = SearchIndex.Open(dir);
        string[] pipelines =
        [
            "bm25",
            "bm25 >> features(bm25, ql, rank, score, doclen, qlen)",
            "bm25 >> features(bm25, ql, bm25>>rm3>>bm25, rank, score, doclen, qlen)",
        ];
        Console.WriteLine($"{queries.Count} queries, depth {k}, one thread, {rounds} rounds (pipelines alternate within a round)");
        var best = new double[pipelines.Length];
        Array.Fill(best, double.MaxValue);
        for (int r = 0; r <= rounds; r++)
            for (int p = 0; p < pipelines.Length; p++)
            {
                var clock = Stopwatch.StartNew();
                foreach (var (_, text) in queries) index.Search(text, pipelines[p], k);
                double ms = clock.Elapsed.TotalMilliseconds / queries.Count;
                if (r > 0) best[p] = Math.Min(best[p], ms); // round 0 warms up
            }
        for (int p = 0; p < pipelines.Length; p++)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| `{pipelines[p]}` | {best[p]:F2} ms/query | {(p == 0 ? "–" : $"+{best[p] - best[0]:F2} ms for {k} candidates")} |"));
        return 0;
    }
}
