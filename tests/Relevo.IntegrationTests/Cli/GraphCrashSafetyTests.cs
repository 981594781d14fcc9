using Relevo.Dense;
using Relevo.Index;
using Relevo.Sharding;
using static Relevo.IntegrationTests.Cli.GraphIndexes;

namespace Relevo.IntegrationTests.Cli;

/// <summary>HNSW graphs under crashes: a process killed (SIGKILL, through the CLI's RELEVO_TEST_KILL_AT hook) at any
/// stage of a commit that writes graphs leaves the index at its last commit, every graph that commit names verifies,
/// dense search walks them, and the next writer removes the graph files the dead process left unnamed. The commits
/// killed: `relevo index` merging segments with graphs (log policy) and adding documents with graphs to a sharded index
/// (both merge modes); `relevo dense` adding the vectors and graph of a segment that lacks them; `relevo optimize`
/// merging segments with graphs.</summary>
public sealed class GraphCrashSafetyTests(MiniLmModel minilm) : IClassFixture<MiniLmModel>
{
    private static readonly HnswParameters Graph = new(8, 40);
    private static readonly Dictionary<string, string> NoKill = [];

    private EmbeddingModel Model => minilm.Encoder;

    /// <summary>The stages of an index commit a process is killed at, and whether the new commit is visible after.</summary>
    public static TheoryData<string, bool> CommitStages => new()
    {
        { "segments-written", false },
        { "deletes-written", false },
        { "manifest-temp-written", false },
        { "manifest-renamed", true },
    };

    /// <summary>The CLI flags of <see cref="Graph"/>.</summary>
    private static readonly string[] GraphFlags = ["--hnsw-m", "8", "--hnsw-ef-construction", "40"];

    private static Dictionary<string, string> KillAt(string stage) => new() { ["RELEVO_TEST_KILL_AT"] = stage };

    /// <summary>Runs the command, killed at <paramref name="stage"/>; then the graphs the index's last commit names, and
    /// the graph files on disk that it does not name.</summary>
    private static (SortedSet<string> Named, List<string> Orphans) Killed(string index, string[] args, string stage)
    {
        Cli(args, KillAt(stage), succeed: false);
        var named = NamedGraphs(index);
        return (named, GraphsOnDisk(index).Except(named).ToList());
    }

    /// <summary>The next writer removes the graph files the dead process left unnamed, and nothing else.</summary>
    private void AssertNextWriterCleansUp(string index, SortedSet<string> named)
    {
        OpenAndCloseWriter(index, Model);
        Assert.Equal(named, GraphsOnDisk(index));
    }

    private static void AssertLastCommit(string index, int liveDocs, int segments)
    {
        using var reader = IndexReader.Open(index);
        Assert.Equal(liveDocs, reader.LiveDocs);
        Assert.Equal(segments, reader.Segments.Count);
    }

    private static CliRunner.Result Cli(string[] args, Dictionary<string, string> env, bool succeed = true)
    {
        var r = CliRunner.Run(args, env);
        if (succeed) Assert.True(r.ExitCode == 0, $"relevo {string.Join(' ', args)}: {r.Stderr}");
        else Assert.True(r.ExitCode == 137, $"relevo {string.Join(' ', args)} was not killed (SIGKILL) but exited with {r.ExitCode}: {r.Stdout}{r.Stderr}");
        return r;
    }

    /// <summary>Ten segments of one document each, every one with minilm vectors and an (8, 40) graph, so that the
    /// log merge policy merges them at the next commit (ten alike segments of level 0).</summary>
    private void TenSegmentsWithGraphs(string index)
    {
        using var w = SearchIndex.OpenWriter(index, new WriterOptions { MergeSegments = false }, [new DenseExtension(_ => Model)]);
        foreach (var d in First)
        {
            w.Add(d);
            w.Commit();
            DenseIndexer.AddVectors(w, Model, graph: new GraphOptions(Graph));
        }
    }

    /// <summary>The dense search that walks every graph: k = every live document (a walk of a tiny graph reaches all).</summary>
    private void AssertGraphSearchWorks(string index, int live, bool more)
    {
        using var search = Open(index, Model);
        var hits = search.Search(CatQuery, $"dense(model={GraphIndexes.Model},exact=false)", 20).Hits;
        Assert.Equal(live, hits.Count);
        Assert.Equal(live, hits.Select(h => h.Id).Distinct().Count());
        Assert.Equal("d2", hits[0].Id);
        if (more) Assert.Equal("m3", search.Search(BeeQuery, $"dense(model={GraphIndexes.Model},exact=false)", 1).Hits[0].Id);
    }

    [Theory]
    [MemberData(nameof(CommitStages))]
    public void KilledWhileMergingSegmentsWithGraphs(string stage, bool newCommitVisible)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"], more = WriteCorpus(tmp["more.jsonl"], More);
        TenSegmentsWithGraphs(index);
        var before = NamedGraphs(index);
        Assert.Equal(10, before.Count);

        // the run flushes the new documents, merges the ten segments (vectors and graph carried into the merged
        // segment), and dies at the stage; its vectors commit never comes
        string[] run = ["index", "--corpus", more, "--index", index, "--merge", "log", "--dense", GraphIndexes.Model];
        var (named, orphans) = Killed(index, run, stage);
        AssertLastCommit(index, newCommitVisible ? 14 : 10, newCommitVisible ? 2 : 10);
        AssertNamedGraphsVerify(index);
        if (newCommitVisible)
        {
            // the merged segment's graph, with the parameters of its sources, and the ten it replaced left behind
            var merged = Vectors(index).First();
            Assert.Equal(10, merged.Segment.MaxDoc);
            Assert.Equal(Graph, SegmentGraphs.ParametersOf(merged.Folder, merged.Vectors!));
            Assert.Single(named);
            Assert.Equal(before, new SortedSet<string>(orphans, StringComparer.Ordinal));
            // the new documents were committed before their vectors: dense search says what to run
            using var search = Open(index, Model);
            var e = Assert.ThrowsAny<RelevoException>(() => search.Search(CatQuery, $"dense(model={GraphIndexes.Model},exact=false)", 5));
            Assert.Contains("relevo dense", e.Message);
        }
        else
        {
            Assert.Equal(before, named);
            Assert.True(orphans.Count == 1, $"the merged segment's graph should be on disk, unnamed: {string.Join(", ", orphans)}");
            AssertEveryGraphVerifies(index, Graph);
            AssertGraphSearchWorks(index, 10, more: false);
        }

        // the next writer removes what the dead one left
        AssertNextWriterCleansUp(index, named);

        // and the vectors and graphs are then completed: the run again, or relevo dense where its documents went in
        if (newCommitVisible)
        {
            var r = Cli(["dense", "--index", index, "--model", GraphIndexes.Model, .. GraphFlags], NoKill);
            Assert.Contains("4 passages embedded in 1 segment(s)", r.Stdout);
        }
        else Cli([.. run, .. GraphFlags], NoKill);
        AssertEveryGraphVerifies(index, Graph);
        Assert.Equal(NamedGraphs(index), GraphsOnDisk(index));
        AssertGraphSearchWorks(index, 14, more: true);
    }

    /// <summary>A sharded index with vectors embeds the documents a run adds and builds their graphs (with the existing
    /// graphs' parameters) before the cluster-wide commit publishes them; the run is killed at each stage of that commit.
    /// With the default --merge final each shard completes and merges its new segments and commits them as a shard
    /// commit first (ShardHost.MergeNewSegments), so the graphs are on disk, named by the shards' own latest commits
    /// but not by cluster.json, from the first stage on; with --merge none they are built as each shard prepares its
    /// commit (ShardHost.PrepareAsync), within the cluster-wide commit. Both paths write graphs, so both are killed.</summary>
    [Theory]
    [InlineData("final", "shards-prepared", false)]
    [InlineData("final", "cluster-manifest-temp-written", false)]
    [InlineData("final", "cluster-manifest-renamed", true)]
    [InlineData("none", "shards-prepared", false)]
    [InlineData("none", "cluster-manifest-temp-written", false)]
    [InlineData("none", "cluster-manifest-renamed", true)]
    public void KilledWhileAddingDocumentsWithGraphsToShards(string merge, string stage, bool newCommitVisible)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"], more = WriteCorpus(tmp["more.jsonl"], More);
        Cli(["index", "--corpus", WriteCorpus(tmp["first.jsonl"], First), "--index", index, "--shards", "2", "--dense", GraphIndexes.Model,
            .. GraphFlags], NoKill);
        long version = ShardedManifest.Read(index).Version;
        var before = NamedGraphs(index);
        Assert.Equal(2, before.Count);

        string[] run = merge == "final" ? ["index", "--corpus", more, "--index", index] : ["index", "--corpus", more, "--index", index, "--merge", merge];
        var (named, orphans) = Killed(index, run, stage);
        Assert.Equal(newCommitVisible ? version + 1 : version, ShardedManifest.Read(index).Version);
        AssertEveryGraphVerifies(index, Graph);
        if (newCommitVisible)
        {
            Assert.True(named.IsSupersetOf(before));
            Assert.True(named.Count > before.Count, "the new segments should have graphs");
            Assert.Empty(orphans);
        }
        else
        {
            Assert.Equal(before, named);
            // every shard that got a new document wrote a shard commit naming its graph (committed by the merge, or
            // prepared); cluster.json does not name it
            Assert.NotEmpty(orphans);
            var latest = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var shard in ShardedManifest.Read(index).Shards)
            {
                string folder = Path.Combine(index, shard.Folder);
                foreach (var segment in Manifest.Read(folder).Segments)
                    if (segment.Component(VectorComponent.ComponentName, GraphIndexes.Model) is { } v && SegmentGraphs.GraphFile(v) is { } file)
                        latest.Add(Path.Combine(folder, file));
            }
            Assert.Equal(new SortedSet<string>(named.Concat(orphans), StringComparer.Ordinal), latest);
        }
        AssertGraphSearchWorks(index, newCommitVisible ? 14 : 10, more: newCommitVisible);

        // the next writer returns the shards to the commits cluster.json names and removes the rest
        AssertNextWriterCleansUp(index, named);
        if (!newCommitVisible) Cli(run, NoKill);
        AssertComplete(index);
    }

    /// <summary>The commit of `relevo dense`: the vectors and graph of a segment that lacks them (the index's other
    /// segment has both). The process is killed at each stage of that commit.</summary>
    [Theory]
    [MemberData(nameof(CommitStages))]
    public void KilledWhileCommittingNewVectorsAndGraphs(string stage, bool newCommitVisible)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        using (var w = SearchIndex.OpenWriter(index, new WriterOptions(), [new DenseExtension(_ => Model)]))
        {
            w.AddRange(First);
            w.Commit();
            DenseIndexer.AddVectors(w, Model, graph: new GraphOptions(Graph));
            w.AddRange(More);
            w.Commit(); // a second segment, without vectors
        }
        var before = NamedGraphs(index);
        Assert.Single(before);
        long generation = Manifest.Read(index).Generation;

        string[] dense = ["dense", "--index", index, "--model", GraphIndexes.Model, .. GraphFlags];
        var (named, orphans) = Killed(index, dense, stage);
        Assert.Equal(newCommitVisible ? generation + 1 : generation, Manifest.Read(index).Generation);
        AssertLastCommit(index, 14, 2);
        if (newCommitVisible)
        {
            Assert.Equal(2, named.Count);
            Assert.True(named.IsSupersetOf(before));
            Assert.Empty(orphans);
            AssertEveryGraphVerifies(index, Graph);
            AssertGraphSearchWorks(index, 14, more: true);
        }
        else
        {
            Assert.Equal(before, named);
            Assert.True(orphans.Count == 1, $"the new segment's graph should be on disk, unnamed: {string.Join(", ", orphans)}");
            AssertNamedGraphsVerify(index);
            // the last commit: one segment without vectors, and dense search says what to run
            using var search = Open(index, Model);
            Assert.Contains("relevo dense", Assert.ThrowsAny<RelevoException>(() => search.Search(CatQuery, $"dense(model={GraphIndexes.Model},exact=false)", 5)).Message);
        }

        // the next writer removes what the dead one left
        AssertNextWriterCleansUp(index, named);

        // and the run again completes the index (nothing left to do where the killed commit became visible)
        var r = Cli(dense, NoKill);
        Assert.Contains(newCommitVisible ? "0 passages embedded in 0 segment(s) (2 already had vectors)" : "4 passages embedded in 1 segment(s)", r.Stdout);
        Assert.Contains($"built for {(newCommitVisible ? 0 : 1)} segment(s)", r.Stdout);
        AssertComplete(index);
    }

    /// <summary>`relevo optimize` merges a segment of ten documents and one of four (one of them deleted), each with
    /// vectors and a graph: the merged graph starts from the ten documents' graph (the largest source lost no
    /// documents: the merge-insert path) and links the other three into it. The process is killed at each stage of the
    /// commit that names the merged segment.</summary>
    [Theory]
    [MemberData(nameof(CommitStages))]
    public void KilledWhileOptimizingSegmentsWithGraphs(string stage, bool newCommitVisible)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        using (var w = SearchIndex.OpenWriter(index, new WriterOptions { MergeSegments = false }, [new DenseExtension(_ => Model)]))
        {
            w.AddRange(First);
            w.Commit();
            DenseIndexer.AddVectors(w, Model, graph: new GraphOptions(Graph));
            w.AddRange(More);
            w.Commit();
            DenseIndexer.AddVectors(w, Model, graph: new GraphOptions(Graph));
            Assert.True(w.Delete("m4"));
            w.Commit();
        }
        var segments = Manifest.Read(index).Segments;
        Assert.Equal(new[] { (10, 0), (4, 1) }, segments.Select(s => (s.MaxDoc, s.DeleteCount)));
        var before = NamedGraphs(index);
        Assert.Equal(2, before.Count);
        AssertEveryGraphVerifies(index, Graph);
        long generation = Manifest.Read(index).Generation;

        string[] optimize = ["optimize", "--index", index];
        var (named, orphans) = Killed(index, optimize, stage);
        Assert.Equal(newCommitVisible ? generation + 1 : generation, Manifest.Read(index).Generation);
        AssertLastCommit(index, 13, newCommitVisible ? 1 : 2);
        AssertEveryGraphVerifies(index, Graph);
        AssertGraphSearchWorks(index, 13, more: true); // the commit the reader sees, through its graphs
        if (newCommitVisible)
        {
            Assert.Single(named);
            Assert.Equal(before, new SortedSet<string>(orphans, StringComparer.Ordinal)); // the sources' graphs
        }
        else
        {
            Assert.Equal(before, named);
            Assert.True(orphans.Count == 1, $"the merged segment's graph should be on disk, unnamed: {string.Join(", ", orphans)}");
        }

        // the next writer removes what the dead one left
        AssertNextWriterCleansUp(index, named);

        // optimize again: one segment of the thirteen live documents, its graph verifies and walks to the exact answer
        var r = Cli(optimize, NoKill);
        Assert.Contains($"merged {(newCommitVisible ? 1 : 2)} segment(s) into 1; 13 documents", r.Stdout);
        var merged = Assert.Single(Manifest.Read(index).Segments);
        Assert.Equal((13, 0), (merged.MaxDoc, merged.DeleteCount));
        AssertEveryGraphVerifies(index, Graph);
        Assert.Single(NamedGraphs(index));
        Assert.Equal(NamedGraphs(index), GraphsOnDisk(index));
        AssertGraphSearchWorks(index, 13, more: true);
        AssertGraphSearchEqualsExact(index, Model, 20);
    }

    /// <summary>After the rerun: all 14 documents, every graph verifying and named, none left over, the walk finding
    /// what the scan finds.</summary>
    private void AssertComplete(string index)
    {
        AssertEveryGraphVerifies(index, Graph);
        Assert.Equal(NamedGraphs(index), GraphsOnDisk(index));
        AssertGraphSearchWorks(index, 14, more: true);
        AssertGraphSearchEqualsExact(index, Model, 20);
    }
}
