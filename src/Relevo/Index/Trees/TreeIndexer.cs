using System.Numerics.Tensors;
using System.Text;

namespace Relevo.Index.Trees;

/// <summary>A document's stored vector in one commit (segment, document number), unit length or not.</summary>
internal delegate ReadOnlySpan<float> DocumentVectors(int segment, int doc);

/// <summary>Writes a node's summary from what it holds (its child nodes' summaries, or its documents' passages):
/// registered by the LLM layer; null when the model gave nothing usable (the extractive summary stays).</summary>
internal interface ITreeSummarizer
{
    Task<string?> SummarizeAsync(IReadOnlyList<string> children, CancellationToken cancellation);
}

/// <summary>What a build or an extension did.</summary>
internal sealed record TreeBuildResult(int Documents, int Nodes, int Height, int LlmSummaries, int LlmFailures, int Added, TimeSpan Elapsed);

/// <summary>Builds an index's semantic tree (or extends it with documents added since) and commits it with the index:
/// the tree file <c>tree.{generation}.lattice</c> is written and fsynced, then named in the manifest of the next
/// commit, so a crash leaves the previous tree (or none) in force and the new file is removed as unreferenced.</summary>
internal static class TreeIndexer
{
    public const int CentralTitles = 3, SampleDocs = 12, SummaryTerms = 8;

    /// <param name="vectors">The stored vectors of the commit the build reads (opened by the build).</param>
    /// <param name="progress">Hears (step, fraction of the step done, items done): "cluster" (documents), "summaries"
    /// and "llm summaries" (nodes).</param>
    public static TreeBuildResult Build(IndexWriter writer, string model, Func<IndexReader, DocumentVectors> vectors, TreeOptions options,
        ITreeSummarizer? llm = null, Action<string, double, long>? progress = null, CancellationToken cancellation = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var reader = ReaderOf(writer);
        var (ids, docVectors) = LiveDocuments(reader, vectors(reader), covered: null);
        if (ids.Count == 0) throw new RelevoException($"{writer.Directory}: the index has no documents to organise into a tree");
        progress?.Invoke("cluster", 0, 0);
        var shape = TreeBuilder.Build(docVectors, options, cancellation);
        progress?.Invoke("cluster", 1, ids.Count);
        var summaries = ExtractiveSummaries(reader, shape, ids, docVectors, progress, cancellation);
        int written = 0, failed = 0;
        if (llm is not null) (written, failed) = LlmSummaries(reader, shape, ids, summaries, llm, progress, cancellation);
        var tree = new SemanticTree
        {
            Model = model, Strategy = options.Strategy, Branching = options.Branching, Seed = options.Seed,
            Generation = reader.Manifest.Generation, LlmSummaries = llm is not null, DocIds = [.. ids], Dimension = shape.Dimension,
            ChildStart = shape.ChildStart, Children = shape.Children, Centroids = shape.Centroids, Summaries = summaries,
        };
        Commit(writer, tree);
        return new TreeBuildResult(ids.Count, tree.NodeCount, tree.Height(), written, failed, ids.Count, clock.Elapsed);
    }

    /// <summary>Adds the live documents the tree lacks: each descends from the root to the node whose centroid is most
    /// similar at every level, and becomes one more child of the lowest node it reaches. Centroids and summaries stay as
    /// built (and nodes may pass the branching factor), so a tree extended by much more than a tenth of its size is
    /// better rebuilt. Deleted documents stay in the tree and are skipped when reached.</summary>
    public static TreeBuildResult Extend(IndexWriter writer, Func<IndexReader, DocumentVectors> vectors, CancellationToken cancellation = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var reader = ReaderOf(writer);
        var view = TreeReader.For(reader) ?? throw new RelevoException($"{writer.Directory}: the index has no tree to extend (relevo tree build)");
        var tree = view.Tree;
        var covered = new HashSet<string>(tree.DocIds, StringComparer.Ordinal);
        var (ids, docVectors) = LiveDocuments(reader, vectors(reader), covered);
        if (ids.Count == 0) return new TreeBuildResult(tree.DocIds.Length, tree.NodeCount, tree.Height(), 0, 0, 0, clock.Elapsed);
        if (docVectors[0].Length != tree.Dimension)
            throw new RelevoException($"{writer.Directory}: the tree's vectors have {tree.Dimension} dimensions, the model's {docVectors[0].Length}; rebuild the tree");
        var extra = new List<int>[tree.NodeCount];
        for (int i = 0; i < ids.Count; i++)
        {
            cancellation.ThrowIfCancellationRequested();
            int node = 0;
            while (true)
            {
                int best = -1;
                float bestSim = float.NegativeInfinity;
                foreach (int c in tree.ChildrenOf(node))
                {
                    if (c < 0) continue;
                    float s = TensorPrimitives.Dot(tree.Centroid(c), docVectors[i]);
                    if (s > bestSim) { bestSim = s; best = c; }
                }
                if (best < 0 || HasDocuments(tree, node)) break;
                node = best;
            }
            (extra[node] ??= []).Add(~(tree.DocIds.Length + i));
        }
        var start = new int[tree.NodeCount + 1];
        var children = new List<int>(tree.Children.Length + ids.Count);
        for (int n = 0; n < tree.NodeCount; n++)
        {
            start[n] = children.Count;
            foreach (int c in tree.ChildrenOf(n)) children.Add(c);
            if (extra[n] is { } more) children.AddRange(more);
        }
        start[tree.NodeCount] = children.Count;
        var extended = new SemanticTree
        {
            Model = tree.Model, Strategy = tree.Strategy, Branching = tree.Branching, Seed = tree.Seed, Generation = tree.Generation,
            LlmSummaries = tree.LlmSummaries, DocIds = [.. tree.DocIds, .. ids], Dimension = tree.Dimension, ChildStart = start,
            Children = [.. children], Centroids = tree.Centroids, Summaries = tree.Summaries,
        };
        Commit(writer, extended);
        return new TreeBuildResult(extended.DocIds.Length, extended.NodeCount, extended.Height(), 0, 0, ids.Count, clock.Elapsed);
    }

    private static bool HasDocuments(SemanticTree tree, int node)
    {
        foreach (int c in tree.ChildrenOf(node))
            if (c < 0) return true;
        return false;
    }

    private static IndexReader ReaderOf(IndexWriter writer)
    {
        var reader = IndexReader.Open(writer.Directory);
        if (reader.Manifest.Generation != writer.LastCommit.Generation)
        {
            reader.Dispose();
            throw new RelevoException($"{writer.Directory}: the writer has changes newer than its last commit; commit them first");
        }
        return reader;
    }

    /// <summary>The live documents (not in <paramref name="covered"/>), in commit order, with their vectors.</summary>
    private static (List<string> Ids, List<float[]> Vectors) LiveDocuments(
        IndexReader reader, DocumentVectors vectors, HashSet<string>? covered)
    {
        var ids = new List<string>();
        var list = new List<float[]>();
        for (int s = 0; s < reader.Segments.Count; s++)
        {
            var seg = reader.Segments[s];
            for (int d = 0; d < seg.MaxDoc; d++)
            {
                if (seg.IsDeleted(d)) continue;
                string id = seg.GetId(d);
                if (covered is not null && covered.Contains(id)) continue;
                ids.Add(id);
                list.Add(TreeBuilder.Normalized(vectors(s, d)));
            }
        }
        return (ids, list);
    }

    private static void Commit(IndexWriter writer, SemanticTree tree)
    {
        string name = $"tree.{writer.LastCommit.Generation + 1}.lattice";
        string path = Path.Combine(writer.Directory, name);
        if (File.Exists(path)) File.Delete(path); // a leftover of a build that crashed before its commit (no commit names it)
        tree.Write(path);
        writer.SetIndexComponent(new ComponentData(SemanticTree.ComponentName, "lattice", [name]));
        writer.Commit();
    }

    // --- Summaries ---

    /// <summary>Every internal node's extractive summary: its most distinctive terms (share of its most central
    /// documents that contain a term × the term's idf in the collection) and the titles of its three most central
    /// documents (the first words where a document has no title).</summary>
    private static string[] ExtractiveSummaries(IndexReader reader, TreeShape shape, List<string> ids, List<float[]> vectors,
        Action<string, double, long>? progress, CancellationToken cancellation)
    {
        var docsUnder = DocumentsUnder(shape);
        var summaries = new string[shape.NodeCount];
        var analyzer = reader.AnalyzerInstance;
        long n = Math.Max(1, reader.Statistics.DocCount);
        int done = 0;
        Parallel.For(0, shape.NodeCount, new ParallelOptions { CancellationToken = cancellation }, node =>
        {
            var centroid = shape.Centroids.AsSpan(node * shape.Dimension, shape.Dimension);
            var members = docsUnder[node];
            var sims = new float[members.Length];
            for (int i = 0; i < members.Length; i++) sims[i] = TensorPrimitives.Dot(centroid, vectors[members[i]]);
            var order = (int[])members.Clone();
            Array.Sort(sims, order); // ascending: most central last
            var titles = new List<string>();
            var df = new Dictionary<string, int>(StringComparer.Ordinal);
            int sample = Math.Min(SampleDocs, order.Length);
            for (int i = 0; i < sample; i++)
            {
                int d = order[^(i + 1)];
                var doc = reader.GetDocument(ids[d]);
                if (doc is null) continue;
                if (titles.Count < CentralTitles) titles.Add(Short(doc.Title.Length > 0 ? doc.Title : doc.Text, 12));
                string text = doc.Title + " " + (doc.Text.Length > 2000 ? doc.Text[..2000] : doc.Text);
                foreach (var term in new HashSet<string>(analyzer.Terms(text), StringComparer.Ordinal))
                    df[term] = df.GetValueOrDefault(term) + 1;
            }
            var scored = new List<(double Score, string Term)>();
            foreach (var (term, count) in df)
            {
                if (sample >= 4 && count < 2) continue;
                double idf = Math.Log((double)n / Math.Max(1, reader.Statistics.DocFreq(term)));
                scored.Add(((double)count / sample * idf, term));
            }
            scored.Sort((a, b) => b.Score != a.Score ? b.Score.CompareTo(a.Score) : string.CompareOrdinal(a.Term, b.Term));
            var sb = new StringBuilder("Topics: ");
            for (int i = 0; i < Math.Min(SummaryTerms, scored.Count); i++) sb.Append(i > 0 ? ", " : "").Append(scored[i].Term);
            sb.Append(". Examples: ").AppendJoin("; ", titles);
            summaries[node] = sb.ToString();
            int now = Interlocked.Increment(ref done);
            if (now % 64 == 0) progress?.Invoke("summaries", (double)now / shape.NodeCount, now);
        });
        progress?.Invoke("summaries", 1, shape.NodeCount);
        return summaries;
    }

    /// <summary>Summaries written by the LLM from the children's texts, children first (bottom-up); a node whose call
    /// fails keeps its extractive summary.</summary>
    private static (int Written, int Failed) LlmSummaries(IndexReader reader, TreeShape shape, List<string> ids, string[] summaries,
        ITreeSummarizer llm, Action<string, double, long>? progress, CancellationToken cancellation)
    {
        var height = new int[shape.NodeCount];
        for (int node = shape.NodeCount - 1; node >= 0; node--)
            foreach (int c in shape.ChildrenOf(node))
                if (c >= 0) height[node] = Math.Max(height[node], height[c] + 1);
        int written = 0, failed = 0, done = 0;
        int top = height.Length == 0 ? 0 : height.Max();
        for (int h = 0; h <= top; h++)
        {
            var level = new List<int>();
            for (int node = 0; node < shape.NodeCount; node++) if (height[node] == h) level.Add(node);
            Parallel.ForEach(level, new ParallelOptions { CancellationToken = cancellation, MaxDegreeOfParallelism = 8 }, node =>
            {
                var texts = new List<string>();
                foreach (int c in shape.ChildrenOf(node))
                    texts.Add(c >= 0 ? summaries[c] : reader.GetDocument(ids[~c]) is { } doc ? Short((doc.Title + " " + doc.Text).Trim(), 60) : "");
                string? summary = null;
                try
                {
                    summary = llm.SummarizeAsync(texts, cancellation).GetAwaiter().GetResult();
                }
                catch (RelevoException)
                {
                }
                if (string.IsNullOrWhiteSpace(summary)) Interlocked.Increment(ref failed);
                else
                {
                    summaries[node] = Short(summary.Trim().ReplaceLineEndings(" "), 80);
                    Interlocked.Increment(ref written);
                }
                int finished = Interlocked.Increment(ref done);
                progress?.Invoke("llm summaries", (double)finished / shape.NodeCount, finished);
            });
        }
        return (written, failed);
    }

    /// <summary>The documents (indexes into the build's lists) under each node.</summary>
    private static int[][] DocumentsUnder(TreeShape shape)
    {
        var under = new int[shape.NodeCount][];
        for (int node = shape.NodeCount - 1; node >= 0; node--)
        {
            var list = new List<int>();
            foreach (int c in shape.ChildrenOf(node))
                if (c >= 0) list.AddRange(under[c]); else list.Add(~c);
            under[node] = [.. list];
        }
        return under;
    }

    /// <summary>The first <paramref name="words"/> words of a text, with "…" when cut.</summary>
    internal static string Short(string text, int words)
    {
        var parts = text.Split((char[]?)null, words + 1, StringSplitOptions.RemoveEmptyEntries);
        return parts.Length <= words ? string.Join(' ', parts) : string.Join(' ', parts[..words]) + " …";
    }
}
