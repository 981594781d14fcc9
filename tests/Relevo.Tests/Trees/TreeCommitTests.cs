using Relevo.Index;
using Relevo.Index.Trees;
using Relevo.Pipelines;

namespace Relevo.Tests.Trees;

/// <summary>The tree is index data: committed atomically with the index, kept by every writer, stale after writes
/// (and says so), extended or rebuilt; and the lattice stage runs on it through the core's judge service.</summary>
public sealed class TreeCommitTests
{
    private static readonly string[] Topics = ["protein folding enzyme", "galaxy star telescope", "river flood rainfall", "bond market inflation"];

    private static Document Doc(int i) => new($"d{i}", $"title {i} {Topics[i % 4].Split(' ')[0]}", $"{Topics[i % 4]} report number {i} {Topics[i % 4]}");

    /// <summary>A vector that puts each topic in its own direction (plus a little per-document spread).</summary>
    private static float[] FakeVector(string id)
    {
        int i = int.Parse(id[1..]);
        var v = new float[8];
        v[i % 4] = 1;
        v[4 + i % 4] = (i % 7) * 0.01f;
        return v;
    }

    private static Func<IndexReader, DocumentVectors> Vectors => reader => (s, d) => FakeVector(reader.Segments[s].GetId(d));

    private static void Write(string dir, IEnumerable<Document> docs, IEnumerable<string>? deletes = null)
    {
        using var w = IndexWriter.Open(dir);
        foreach (var d in docs) w.Add(d);
        foreach (var id in deletes ?? []) w.Delete(id);
        w.Commit();
    }

    private static TreeBuildResult Build(string dir, IndexWriterOptions? options = null)
    {
        using var w = IndexWriter.Open(dir, options);
        return TreeIndexer.Build(w, "fake", Vectors, new TreeOptions(TreeStrategy.TopDown, 4, 1));
    }

    [Fact]
    public void TheTreeIsCommittedWithTheIndexAndKeptByLaterWriters()
    {
        using var dir = new TempDir();
        Write(dir.Path, Enumerable.Range(0, 40).Select(Doc));
        var built = Build(dir.Path);
        Assert.Equal(40, built.Documents);
        var manifest = Manifest.Read(dir.Path);
        string file = Assert.Single(manifest.IndexComponent(SemanticTree.ComponentName)!.Files);
        Assert.Equal($"tree.{manifest.Generation}.lattice", file);
        using (var reader = IndexReader.Open(dir.Path))
        {
            var view = TreeReader.For(reader)!;
            Assert.False(view.IsStale);
            Assert.Contains("up to date", view.Describe());
            // extractive summaries: the node's distinctive (analysed) terms and its central titles
            Assert.Contains(view.Tree.Summaries, s => s.Contains("galaxi") && s.Contains("Examples: title"));
        }

        Write(dir.Path, [Doc(40), Doc(41)], deletes: ["d3"]);
        Assert.True(File.Exists(Path.Combine(dir.Path, file)), "a later commit removed the tree file");
        using (var reader = IndexReader.Open(dir.Path))
        {
            var view = TreeReader.For(reader)!;
            Assert.Equal((2, 1), (view.Uncovered, view.Deleted));
            Assert.Contains("stale — 2 live document(s) not in the tree, 1 tree document(s) deleted", view.Describe());
        }

        using (var w = IndexWriter.Open(dir.Path))
            Assert.Equal(2, TreeIndexer.Extend(w, Vectors).Added);
        using (var reader = IndexReader.Open(dir.Path))
        {
            var view = TreeReader.For(reader)!;
            Assert.Equal(0, view.Uncovered);
            Assert.Equal(42, view.Tree.DocIds.Length);
            // each new document joined a node of its own topic
            foreach (var id in new[] { "d40", "d41" })
            {
                int d = Array.IndexOf(view.Tree.DocIds, id);
                int parent = Enumerable.Range(0, view.Tree.NodeCount).Single(n => view.Tree.ChildrenOf(n).Contains(~d));
                var siblings = view.Tree.ChildrenOf(parent).ToArray().Where(c => c < 0 && ~c != d).Select(c => int.Parse(view.Tree.DocIds[~c][1..]) % 4);
                Assert.All(siblings, t => Assert.Equal(int.Parse(id[1..]) % 4, t));
            }
        }
        Assert.False(File.Exists(Path.Combine(dir.Path, file)), "the replaced tree file was left behind");
    }

    [Fact]
    public void ACrashBeforeTheCommitLeavesThePreviousTree()
    {
        using var dir = new TempDir();
        Write(dir.Path, Enumerable.Range(0, 30).Select(Doc));
        Build(dir.Path);
        var before = Manifest.Read(dir.Path);
        Write(dir.Path, [Doc(30)]);
        var crash = new IndexWriterOptions { CommitStage = s => { if (s == "manifest-temp-written") throw new IOException("power cut"); } };
        Assert.Throws<IOException>(() => Build(dir.Path, crash));
        var after = Manifest.Read(dir.Path);
        Assert.Equal(before.IndexComponents.Single().Files, after.IndexComponents.Single().Files);
        using (var reader = IndexReader.Open(dir.Path)) Assert.Equal(1, TreeReader.For(reader)!.Uncovered);
        // the next writer removes the orphaned tree file (Relevo's own name pattern, named by no commit)
        using (var w = IndexWriter.Open(dir.Path)) w.Commit();
        var trees = Directory.GetFiles(dir.Path, "tree.*.lattice").Select(f => Path.GetFileName(f)!).ToList();
        Assert.Equal(after.IndexComponents.Single().Files, trees);
    }

    [Fact]
    public void AnLlmWritesTheSummariesBottomUpAndAFailedCallKeepsTheExtractiveOne()
    {
        using var dir = new TempDir();
        Write(dir.Path, Enumerable.Range(0, 60).Select(Doc));
        var prompts = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var dbl = new ChatTestDouble(call =>
        {
            prompts.Add(call.Prompt);
            var children = Oracle.Bracketed(call.Prompt);
            // the model "fails" (an empty reply) on groups of river documents
            if (children.Any(c => c.Text.Contains("river", StringComparison.Ordinal))) return new ChatAnswer("");
            return new ChatAnswer($"LLM summary of {children.Count} entries, first: {children[0].Text.Split(' ')[0]}");
        });
        using var client = new Relevo.Llm.LlmClient(new Relevo.Llm.LlmSettings(dbl.Endpoint, "double") { RetryDelay = TimeSpan.FromMilliseconds(1) });
        TreeBuildResult built;
        using (var w = IndexWriter.Open(dir.Path))
            built = TreeIndexer.Build(w, "fake", Vectors, new TreeOptions(TreeStrategy.TopDown, 4, 1), new Relevo.Llm.LlmLattice(client));
        using var reader = IndexReader.Open(dir.Path);
        var tree = TreeReader.For(reader)!.Tree;
        Assert.True(tree.LlmSummaries);
        Assert.Equal(tree.NodeCount, built.LlmSummaries + built.LlmFailures);
        Assert.True(built.LlmSummaries > 0 && built.LlmFailures > 0, $"{built.LlmSummaries} written, {built.LlmFailures} failed");
        Assert.Equal(built.LlmSummaries, tree.Summaries.Count(t => t.StartsWith("LLM summary of", StringComparison.Ordinal)));
        Assert.Equal(built.LlmFailures, tree.Summaries.Count(t => t.StartsWith("Topics:", StringComparison.Ordinal)));
        // bottom-up: a parent's prompt shows its children's summaries, LLM-written where they were
        Assert.Contains(prompts, p => p.StartsWith("Summarize", StringComparison.Ordinal) && p.Contains("] LLM summary of", StringComparison.Ordinal));
        // documents are shown by their first words
        Assert.Contains(prompts, p => p.Contains("] title 1 galaxy galaxy star telescope report number 1", StringComparison.Ordinal));
    }

    /// <summary>A judge that knows which documents are relevant: 10 for a summary or passage with one under it.</summary>
    private sealed class KnowingJudge(Func<string, bool> leadsToRelevant) : ILatticeJudge
    {
        public int Calls;

        public ValueTask<double?[]> JudgeAsync(string query, IReadOnlyList<string> texts, CancellationToken cancellation)
        {
            Interlocked.Increment(ref Calls);
            return ValueTask.FromResult(texts.Select(t => (double?)(leadsToRelevant(t) ? 10 : 0)).ToArray());
        }
    }

    private sealed class JudgeExtension(ILatticeJudge judge) : IRelevoExtension
    {
        public void Register(ExtensionRegistry registry) => registry.AddBorrowedService(judge);
    }

    [Fact]
    public void TheLatticeStageFollowsTheJudgeToTheRelevantDocuments()
    {
        using var dir = new TempDir();
        Write(dir.Path, Enumerable.Range(0, 60).Select(Doc));
        Build(dir.Path);
        SemanticTree tree;
        using (var reader = IndexReader.Open(dir.Path)) tree = TreeReader.For(reader)!.Tree;
        // "relevant": the galaxy documents 1, 5 and 9
        var relevant = new HashSet<string> { "d1", "d5", "d9" };
        var leads = new HashSet<string>(StringComparer.Ordinal);
        for (int n = 0; n < tree.NodeCount; n++)
            if (TreeBuilderTests.DocumentsUnder(tree, n).Any(d => relevant.Contains(tree.DocIds[d]))) leads.Add(tree.Summaries[n]);
        foreach (var id in relevant)
        {
            int i = int.Parse(id[1..]);
            leads.Add(LatticeStage.PassageText(Doc(i)));
        }
        var judge = new KnowingJudge(leads.Contains);
        using var index = SearchIndex.Open(dir.Path, new SearchIndexOptions { Extensions = [new JudgeExtension(judge)] });
        var hits = index.Search("which stars?", "lattice(beam=4,llm=true)", 10).Hits;
        Assert.Equal(relevant, hits.Take(3).Select(h => h.Id).ToHashSet());
        Assert.InRange(judge.Calls, 1, 4 * 2 * tree.Height() + 4);
        Assert.Equal("lattice(beam=4,llm=true)", index.CanonicalPipeline("lattice(llm=true, beam=4)"));
    }

    [Fact]
    public void WithoutATreeTheStageSaysHowToBuildOne()
    {
        using var dir = new TempDir();
        Write(dir.Path, Enumerable.Range(0, 5).Select(Doc));
        using var index = SearchIndex.Open(dir.Path);
        var e = Assert.Throws<RelevoException>(() => index.Search("stars", "lattice(beam=2)", 10));
        Assert.Contains("has no semantic tree; build one with: relevo tree build --index", e.Message);
        var judgeMissing = Assert.Throws<RelevoException>(() =>
        {
            Build(dir.Path);
            using var again = SearchIndex.Open(dir.Path);
            again.Search("stars", "lattice(llm=true)", 10);
        });
        Assert.Contains("lattice(llm=true) navigates with an LLM: pass --llm ENDPOINT", judgeMissing.Message);
    }
}
