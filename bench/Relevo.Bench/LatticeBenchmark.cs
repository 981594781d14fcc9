using System.Diagnostics;
using System.Globalization;
using Relevo.Collections;
using Relevo.Dense;
using Relevo.Evaluation;
using Relevo.Index;
using Relevo.Index.Trees;
using Relevo.Llm;
using Relevo.Search;
using Relevo.Testing;

namespace Relevo.Bench;

/// <summary>LATTICE, measured. On a collection (--dataset scifact|vaswani): recall@100 and nDCG@10 of flat exact dense
/// search, of lattice navigated by embedding similarity, and of lattice navigated by the oracle chat double (a perfect
/// navigator over HTTP: plumbing and cost, not a model's effectiveness), for both tree strategies; LLM calls and prompt
/// tokens per query. On synthetic clustered vectors (--synthetic 1000,10000,100000): scorer calls and items scored per
/// query with an oracle navigator, and embedding-only recall of the target against exact search, as the corpus grows.</summary>
internal sealed class LatticeBenchmark : IBenchmark
{
    public string Name => "lattice";
    public string Description => "LATTICE: --dataset scifact [--beam 4] [--work /tmp/rlat] | --synthetic 1000,10000,100000 [--queries 50]";

    public int Run(BenchOptions o)
    {
        int beam = o.Int("beam", 4);
        if (o.String("synthetic") is { } sizes)
        {
            foreach (var s in sizes.Split(','))
                Synthetic(int.Parse(s, CultureInfo.InvariantCulture), o.Int("queries", 50), beam, o.Int("branching", 10));
            return 0;
        }
        Dataset(o.String("dataset") ?? "scifact", o.String("work") ?? "/tmp/relevo-lattice-bench", beam, o.Int("branching", 10));
        return 0;
    }

    private static void Dataset(string name, string work, int beam, int branching)
    {
        var ds = TestData.Dataset(name);
        string dir = Path.Combine(work, name, "index");
        if (!Manifest.Exists(dir))
        {
            BenchFolders.Recreate(Path.Combine(work, name));
            var clock = Stopwatch.StartNew();
            using var w = SearchIndex.OpenWriter(dir, extensions: [new DenseExtension()]);
            w.AddCorpus(ds.CorpusPath);
            w.Commit();
            using var model = EmbeddingModel.Load("arctic-xs");
            DenseIndexer.AddVectors(w, model);
            Console.WriteLine($"{name}: indexed with arctic-xs vectors in {clock.Elapsed.TotalSeconds:N1} s");
        }
        var qrels = Qrels.Load(ds.QrelsPath);
        var judged = new HashSet<string>(qrels.QueryIds, StringComparer.Ordinal);
        var queries = JsonlReader.ReadQueries(ds.QueriesPath).FindAll(q => judged.Contains(q.Id));
        var byText = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var (id, text) in queries)
        {
            var set = byText.TryGetValue(text.Trim(), out var s) ? s : byText[text.Trim()] = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (doc, g) in qrels.ForQuery(id)!) if (g > 0) set.Add(doc);
        }
        IReadOnlySet<string> Relevant(string text) => byText.TryGetValue(text.Trim(), out var s) ? s : new HashSet<string>();
        var evaluator = new Evaluator(qrels);
        string[] measures = ["ndcg_cut_10", "recall_100"];
        Console.WriteLine($"{name}: {queries.Count} judged queries, depth 100, beam {beam}, branching {branching}; 2 threads");
        Console.WriteLine("| tree | pipeline | nDCG@10 | R@100 | LLM calls/query | prompt tokens/query | ms/query |");
        Console.WriteLine("|---|---|---|---|---|---|---|");
        void Report(string tree, string pipeline, TrecRun run, double ms, LlmClient? llm)
        {
            var r = evaluator.Evaluate(run, measures);
            string calls = llm is null ? "–" : ((double)llm.Stats.Requests / queries.Count).ToString("F1", CultureInfo.InvariantCulture);
            string tokens = llm is null ? "–" : ((double)llm.Stats.PromptTokens / queries.Count).ToString("F0", CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {tree} | `{pipeline}` | {r.Mean("ndcg_cut_10"):F4} | {r.Mean("recall_100"):F4} | {calls} | {tokens} | {ms:F1} |"));
        }
        using (var index = SearchIndex.Open(dir, new SearchIndexOptions { Extensions = [new DenseExtension()] }))
        {
            var clock = Stopwatch.StartNew();
            var run = index.Run(queries, "dense(model=arctic-xs,exact=true)", 100, new RunOptions { Threads = 2 });
            Report("–", "dense(model=arctic-xs,exact=true)", run, clock.Elapsed.TotalMilliseconds / queries.Count, null);
        }
        foreach (var strategy in new[] { TreeStrategy.TopDown, TreeStrategy.BottomUp })
        {
            var clock = Stopwatch.StartNew();
            TreeBuildResult built;
            using (var w = IndexWriter.Open(dir))
            {
                built = TreeIndexer.Build(w, "arctic-xs", StoredVectors.ForTree("arctic-xs"), new TreeOptions(strategy, branching, 42));
            }
            string tree = $"{(strategy == TreeStrategy.TopDown ? "top-down" : "bottom-up")} (height {built.Height}, {built.Nodes:N0} nodes, built in {clock.Elapsed.TotalSeconds:N1} s)";
            var oracle = new LatticeOracle(dir, Relevant);
            using var dbl = new ChatTestDouble(oracle.Answer);
            foreach (var pipeline in new[] { $"lattice(beam={beam})", $"lattice(beam={beam},llm=true)" })
            {
                using var llm = new LlmClient(new LlmSettings(dbl.Endpoint, "oracle") { Concurrency = 8 });
                using var index = SearchIndex.Open(dir, new SearchIndexOptions { Extensions = [new DenseExtension(), new LlmExtension(llm)] });
                var t = Stopwatch.StartNew();
                var run = index.Run(queries, pipeline, 100, new RunOptions { Threads = 2 });
                Report(tree, pipeline, run, t.Elapsed.TotalMilliseconds / queries.Count, pipeline.Contains("llm") ? llm : null);
            }
        }
    }

    /// <summary>An oracle navigator: 1 for an item with a target under it, else 0; counts calls and items.</summary>
    private sealed class Oracle(SemanticTree tree, int[] parentOf, HashSet<int> targets) : ILatticeNavigator
    {
        public bool NeedsCalibration => true;

        public ValueTask<double[]> ScoreAsync(IReadOnlyList<int> items, CancellationToken cancellation)
        {
            var scores = new double[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                foreach (int t in targets)
                {
                    // a target is under item i when walking up from it meets the item
                    if (items[i] < 0 ? ~items[i] == t : Under(t, items[i])) { scores[i] = 1; break; }
                }
            }
            return ValueTask.FromResult(scores);
        }

        private bool Under(int doc, int node)
        {
            for (int p = parentOf[tree.NodeCount + doc]; p >= 0; p = parentOf[p])
                if (p == node) return true;
            return false;
        }
    }

    /// <summary>A navigator by cosine to a query vector (the embedding-only baseline, without an index).</summary>
    private sealed class Embedding(SemanticTree tree, float[] query, float[][] docs) : ILatticeNavigator
    {
        public bool NeedsCalibration => false;

        public ValueTask<double[]> ScoreAsync(IReadOnlyList<int> items, CancellationToken cancellation)
        {
            var scores = new double[items.Count];
            for (int i = 0; i < items.Count; i++)
                scores[i] = (1 + System.Numerics.Tensors.TensorPrimitives.Dot(items[i] >= 0 ? tree.Centroid(items[i]) : docs[~items[i]], query)) / 2;
            return ValueTask.FromResult(scores);
        }
    }

    private static void Synthetic(int n, int queryCount, int beam, int branching)
    {
        const int dim = 64;
        var rng = new Random(n);
        int clusters = Math.Max(10, n / 50);
        var centres = new float[clusters][];
        for (int c = 0; c < clusters; c++) centres[c] = Enumerable.Range(0, dim).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var vectors = new float[n][];
        for (int i = 0; i < n; i++)
        {
            var centre = centres[rng.Next(clusters)];
            var v = new float[dim];
            for (int j = 0; j < dim; j++) v[j] = centre[j] + (float)(rng.NextDouble() - 0.5) * 0.8f;
            vectors[i] = TreeBuilder.Normalized(v);
        }
        var clock = Stopwatch.StartNew();
        var shape = TreeBuilder.Build(vectors, new TreeOptions(TreeStrategy.TopDown, branching, 42));
        double buildSeconds = clock.Elapsed.TotalSeconds;
        var tree = new SemanticTree
        {
            Model = "synthetic", Strategy = TreeStrategy.TopDown, Branching = branching, Seed = 42, Generation = 0, LlmSummaries = false,
            DocIds = [.. Enumerable.Range(0, n).Select(i => i.ToString(CultureInfo.InvariantCulture))], Dimension = dim,
            ChildStart = shape.ChildStart, Children = shape.Children, Centroids = shape.Centroids, Summaries = new string[shape.NodeCount],
        };
        var parentOf = new int[tree.NodeCount + n];
        parentOf[0] = -1;
        for (int node = 0; node < tree.NodeCount; node++)
            foreach (int c in tree.ChildrenOf(node)) parentOf[c >= 0 ? c : tree.NodeCount + ~c] = node;
        var view = new TreeReader(tree);
        double calls10 = 0, items10 = 0, calls100 = 0, found = 0, embedRecall = 0;
        for (int q = 0; q < queryCount; q++)
        {
            var targets = new HashSet<int>();
            while (targets.Count < 1 + q % 3) targets.Add(rng.Next(n));
            var r10 = LatticeSearch.RunAsync(view, new Oracle(tree, parentOf, targets), new LatticeOptions(beam), 10, default).AsTask().Result;
            var r100 = LatticeSearch.RunAsync(view, new Oracle(tree, parentOf, targets), new LatticeOptions(beam), 100, default).AsTask().Result;
            calls10 += r10.Calls;
            items10 += r10.ItemsScored;
            calls100 += r100.Calls;
            found += r10.Documents.Take(targets.Count).Count(d => targets.Contains(d.Doc)) / (double)targets.Count;
            // embedding-only: the query is a target document's vector plus noise; recall@10 of exact search's top 10
            int target = targets.First();
            var query = TreeBuilder.Normalized(vectors[target].Select(x => x + (float)(rng.NextDouble() - 0.5) * 0.05f).ToArray());
            var exact = Enumerable.Range(0, n).OrderByDescending(i => System.Numerics.Tensors.TensorPrimitives.Dot(vectors[i], query)).Take(10).ToHashSet();
            var viaTree = LatticeSearch.RunAsync(view, new Embedding(tree, query, vectors), new LatticeOptions(beam), 10, default).AsTask().Result;
            embedRecall += viaTree.Documents.Count(d => exact.Contains(d.Doc)) / 10.0;
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {n:N0} | {tree.Height()} | {tree.NodeCount:N0} | {buildSeconds:F1} | {calls10 / queryCount:F1} | {items10 / queryCount:F0} | " +
            $"{calls100 / queryCount:F1} | {found / queryCount:F3} | {embedRecall / queryCount:F3} |"));
    }
}
