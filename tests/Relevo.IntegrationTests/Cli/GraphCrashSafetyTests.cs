using Relevo.Dense;
using Relevo.Index;
using Relevo.Sharding;
using static Relevo.IntegrationTests.Cli.GraphIndexes;

namespace Relevo.IntegrationTests.Cli;

/// <summary>HNSW graphs under crashes: a process killed (SIGKILL) at any stage of a commit that writes graphs leaves the
/// index at its last commit, every graph that commit names verifies, dense search walks them, and the next writer removes
/// the graph files the dead process left unnamed. The CLI's kill hook (RELEVO_TEST_KILL_AT) fires at the first commit of
/// `relevo index`, so the commits killed there are the ones that write graphs in that first commit: a log-policy merge of
/// segments with graphs (ordinary index) and new documents embedded and linked as they are added (sharded index). The
/// commit `relevo dense` makes (vectors and graphs of segments that lack them) has no hook in the CLI; it is stopped at
/// each stage in process and the folder as it was at that moment checked the same way.</summary>
public sealed class GraphCrashSafetyTests(MiniLmModel minilm) : IClassFixture<MiniLmModel>
{
    private static readonly HnswParameters Graph = new(8, 40);
    private static readonly Dictionary<string, string> NoKill = [];

    private EmbeddingModel Model => minilm.Encoder;

    private static Dictionary<string, string> KillAt(string stage) => new() { ["RELEVO_TEST_KILL_AT"] = stage };

    private static CliRunner.Result Cli(string[] args, Dictionary<string, string> env, bool succeed = true)
    {
        var r = CliRunner.Run(args, env);
        if (succeed) Assert.True(r.ExitCode == 0, $"relevo {string.Join(' ', args)}: {r.Stderr}");
        else Assert.True(r.ExitCode != 0, $"relevo {string.Join(' ', args)} was not killed: {r.Stdout}");
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
    [InlineData("segments-written", false)]
    [InlineData("deletes-written", false)]
    [InlineData("manifest-temp-written", false)]
    [InlineData("manifest-renamed", true)]
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
        Cli(run, KillAt(stage), succeed: false);

        var named = NamedGraphs(index);
        var orphans = GraphsOnDisk(index).Except(named).ToList();
        using (var reader = IndexReader.Open(index))
        {
            Assert.Equal(newCommitVisible ? 14 : 10, reader.LiveDocs);
            Assert.Equal(newCommitVisible ? 2 : 10, reader.Segments.Count);
        }
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
        OpenAndCloseWriter(index, Model);
        Assert.Equal(named, GraphsOnDisk(index));

        // and the vectors and graphs are then completed: the run again, or relevo dense where its documents went in
        if (newCommitVisible)
        {
            var r = Cli(["dense", "--index", index, "--model", GraphIndexes.Model, "--hnsw-m", "8", "--hnsw-ef-construction", "40"], NoKill);
            Assert.Contains("4 passages embedded in 1 segment(s)", r.Stdout);
        }
        else Cli([.. run, "--hnsw-m", "8", "--hnsw-ef-construction", "40"], NoKill);
        AssertEveryGraphVerifies(index, Graph);
        Assert.Equal(NamedGraphs(index), GraphsOnDisk(index));
        AssertGraphSearchWorks(index, 14, more: true);
    }

    /// <summary>A sharded index with vectors embeds the documents a run adds and builds their graphs (with the existing
    /// graphs' parameters) in each shard's prepared commit; the run is killed at each stage of the cluster-wide commit.</summary>
    [Theory]
    [InlineData("shards-prepared", false)]
    [InlineData("cluster-manifest-temp-written", false)]
    [InlineData("cluster-manifest-renamed", true)]
    public void KilledWhileAddingDocumentsWithGraphsToShards(string stage, bool newCommitVisible)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"], more = WriteCorpus(tmp["more.jsonl"], More);
        Cli(["index", "--corpus", WriteCorpus(tmp["first.jsonl"], First), "--index", index, "--shards", "2", "--dense", GraphIndexes.Model,
            "--hnsw-m", "8", "--hnsw-ef-construction", "40"], NoKill);
        long version = ShardedManifest.Read(index).Version;
        var before = NamedGraphs(index);
        Assert.Equal(2, before.Count);

        // --merge none: the shards' new segments get their vectors and graphs in the commit that adds them (with the
        // default --merge final they get none: each shard commits its merged new segment before the cluster-wide commit
        // completes the components of uncommitted segments, so there are none left to complete)
        string[] run = ["index", "--corpus", more, "--index", index, "--merge", "none"];
        Cli(run, KillAt(stage), succeed: false);

        Assert.Equal(newCommitVisible ? version + 1 : version, ShardedManifest.Read(index).Version);
        var named = NamedGraphs(index);
        var orphans = GraphsOnDisk(index).Except(named).ToList();
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
            // every shard that got a new document prepared a commit naming its graph; cluster.json does not name it
            Assert.NotEmpty(orphans);
        }
        AssertGraphSearchWorks(index, newCommitVisible ? 14 : 10, more: newCommitVisible);

        // the next writer returns the shards to the commits cluster.json names and removes the rest
        OpenAndCloseWriter(index, Model);
        Assert.Equal(named, GraphsOnDisk(index));
        if (!newCommitVisible) Cli(run, NoKill);
        AssertEveryGraphVerifies(index, Graph);
        Assert.Equal(NamedGraphs(index), GraphsOnDisk(index));
        AssertGraphSearchWorks(index, 14, more: true);
    }

    private sealed class Stopped : Exception;

    /// <summary>The commit of `relevo dense` (and of `relevo index --dense` after its documents): the vectors and graph of
    /// a segment that lacks them. Stopped in process at each stage, the folder copied as it is at that moment (what a
    /// SIGKILL there would leave), and the copy checked.</summary>
    [Theory]
    [InlineData("segments-written", false)]
    [InlineData("deletes-written", false)]
    [InlineData("manifest-temp-written", false)]
    [InlineData("manifest-renamed", true)]
    public void StoppedWhileCommittingNewVectorsAndGraphs(string stage, bool newCommitVisible)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"], crashed = tmp["crashed"];
        var extensions = new IRelevoExtension[] { new DenseExtension(_ => Model) };
        using (var w = SearchIndex.OpenWriter(index, new WriterOptions(), extensions))
        {
            w.AddRange(First);
            w.Commit();
            DenseIndexer.AddVectors(w, Model, graph: new GraphOptions(Graph));
            w.AddRange(More);
            w.Commit(); // a second segment, without vectors
        }
        var before = NamedGraphs(index);
        Assert.Single(before);

        void Stop(string at)
        {
            if (at != stage) return;
            Directory.CreateDirectory(crashed);
            foreach (var f in Directory.GetFiles(index))
                if (Path.GetFileName(f) != "write.lock") File.Copy(f, Path.Combine(crashed, Path.GetFileName(f)));
            throw new Stopped();
        }
        using (var w = SearchIndex.OpenWriter(index, new WriterOptions { CommitStage = Stop }, extensions))
            Assert.Throws<Stopped>(() => DenseIndexer.AddVectors(w, Model, graph: new GraphOptions(Graph)));

        var named = NamedGraphs(crashed);
        var orphans = GraphsOnDisk(crashed).Except(named).ToList();
        using (var reader = IndexReader.Open(crashed)) Assert.Equal(14, reader.LiveDocs);
        if (newCommitVisible)
        {
            Assert.Equal(2, named.Count);
            Assert.Empty(orphans);
            AssertEveryGraphVerifies(crashed, Graph);
            AssertGraphSearchWorks(crashed, 14, more: true);
        }
        else
        {
            Assert.Equal(before.Select(Path.GetFileName), named.Select(Path.GetFileName));
            Assert.True(orphans.Count == 1, $"the new segment's graph should be on disk, unnamed: {string.Join(", ", orphans)}");
            AssertNamedGraphsVerify(crashed);
            using var search = Open(crashed, Model);
            Assert.Contains("relevo dense", Assert.ThrowsAny<RelevoException>(() => search.Search(CatQuery, $"dense(model={GraphIndexes.Model},exact=false)", 5)).Message);
        }
        OpenAndCloseWriter(crashed, Model);
        Assert.Equal(named, GraphsOnDisk(crashed));
        if (!newCommitVisible)
        {
            var r = Cli(["dense", "--index", crashed, "--model", GraphIndexes.Model, "--hnsw-m", "8", "--hnsw-ef-construction", "40"], NoKill);
            Assert.Contains("4 passages embedded in 1 segment(s)", r.Stdout);
            AssertEveryGraphVerifies(crashed, Graph);
            Assert.Equal(NamedGraphs(crashed), GraphsOnDisk(crashed));
            AssertGraphSearchWorks(crashed, 14, more: true);
        }
    }
}
