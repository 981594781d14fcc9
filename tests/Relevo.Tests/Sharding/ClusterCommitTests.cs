using Relevo.Analysis;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Search.Similarities;
using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>Cluster-wide commits in process: a commit is seen whole or not at all, a failed or incomplete one leaves
/// cluster.json and every shard where they were, writes go to the shard that owns the _id, and a reader that
/// searched version V can still fetch V's documents after V+1 is committed.</summary>
public sealed class ClusterCommitTests : IDisposable
{
    private const int Shards = 4;
    private readonly TempDir _dir = new();
    private readonly List<IDisposable> _open = [];

    private string Root => _dir["sharded"];

    public void Dispose()
    {
        foreach (var d in _open) d.Dispose();
        _dir.Dispose();
    }

    private static Document Doc(int i, string extra = "") =>
        new($"doc-{i}", $"title {i}", $"common words for every document plus unique{i} {extra}".Trim());

    private static IEnumerable<Document> Docs(int from, int count) => Enumerable.Range(from, count).Select(i => Doc(i));

    private ShardHost[] Hosts()
    {
        var hosts = ShardedFolders.OpenLocal(Root, ExtensionRegistry.Core);
        _open.AddRange(hosts);
        return hosts;
    }

    /// <summary>A coordinator's view over freshly opened hosts (a new process, as far as the shards are concerned); it
    /// keeps the cluster-wide version its last search used, as one query's target does.</summary>
    private sealed class Searcher(IReadOnlyList<IShardService> shards, string analyzer)
    {
        private static readonly Bm25Stage Bm25 = new(new Bm25Parameters());
        private readonly ShardedTarget _target = new(shards, Analyzer.Create(analyzer), new GlobalStatisticsCache());

        public long Version => _target.Version;

        public async Task<IReadOnlyList<Hit>> SearchAsync(string text, int k) =>
            await _target.RetrieveAsync(Bm25, new RetrievalRequest(Query.Parse(text, _target.Analyzer)), k, default);

        public async Task<Document?[]> DocumentsAsync(IReadOnlyList<Hit> hits) => await _target.DocumentsAsync(hits, default);

        public Task<Document?> GetDocumentAsync(string id) =>
            shards[ShardRouter.ShardOf(id, shards.Count)].DocumentAsync(ShardVersion.Latest, id);

        public async Task<long> LiveDocsAsync()
        {
            long n = 0;
            foreach (var s in shards) n += (await s.LiveDocsAsync(ShardVersion.Latest)).LiveDocs;
            return n;
        }
    }

    private Searcher NewSearcher() => new(Hosts(), ShardedManifest.Read(Root).Analyzer);

    private static Task<IReadOnlyList<Hit>> Search(Searcher s, string text, int k = 100) => s.SearchAsync(text, k);

    private static HashSet<string> Ids(IEnumerable<Hit> hits) => new(hits.Select(h => h.Id), StringComparer.Ordinal);

    private static Task<long> Live(Searcher s) => s.LiveDocsAsync();

    private async Task<(ShardHost[] Hosts, ShardedWriter Writer)> CreateWith(int docs)
    {
        ShardedFolders.CreateOrOpen(Root, Shards);
        var hosts = Hosts();
        var writer = new ShardedWriter(Root, hosts);
        await writer.AddAsync(Docs(0, docs), replace: false);
        Assert.Equal(1, await writer.CommitAsync());
        return (hosts, writer);
    }

    /// <summary>The segments of each shard's own latest commit, against those cluster.json names for it.</summary>
    private void AssertShardsAtClusterCommit()
    {
        var cluster = ShardedManifest.Read(Root);
        foreach (var shard in cluster.Shards)
        {
            var own = Manifest.Read(Path.Combine(Root, shard.Folder));
            Assert.Equal(Describe(shard.Commit), Describe(own));
        }
    }

    private static string Describe(Manifest m) =>
        string.Join("; ", m.Segments.Select(s => $"{s.Name} docs {s.MaxDoc} deletes {s.DeleteCount}@{s.DeleteGeneration} components [{string.Join(",", s.Components.Select(c => $"{c.Component}/{c.Key}"))}]"));

    [Fact]
    public async Task A_commit_becomes_visible_to_every_shard_at_once()
    {
        ShardedFolders.CreateOrOpen(Root, Shards);
        var hosts = Hosts();
        var writer = new ShardedWriter(Root, hosts);
        var before = NewSearcher();
        Assert.Equal(0, await Live(before));

        await writer.AddAsync(Docs(0, 40), replace: false);
        Assert.Equal(0, await Live(NewSearcher()));
        Assert.Empty(await Search(NewSearcher(), "common"));

        long version = await writer.CommitAsync();
        Assert.Equal(1, version);
        Assert.Equal(1, ShardedManifest.Read(Root).Version);
        foreach (var s in new[] { NewSearcher(), before }) // a new searcher, and one opened before the commit
        {
            Assert.Equal(40, await Live(s));
            var hits = await Search(s, "common");
            Assert.Equal(40, hits.Count);
            Assert.Equal(1, s.Version);
            Assert.Equal(Shards, hits.Select(h => h.Segment).Distinct().Count()); // every shard answered
            foreach (var h in hits) Assert.Equal(ShardRouter.ShardOf(h.Id, Shards), h.Segment);
        }
    }

    private enum Failure { BeforePrepare, AfterPrepare }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task A_shard_failing_to_prepare_leaves_the_cluster_and_every_shard_at_the_old_commit(int mode)
    {
        var failure = (Failure)mode;
        ShardedFolders.CreateOrOpen(Root, Shards);
        var hosts = Hosts();
        var faulty = new FaultyShard(hosts[2]);
        var services = new IShardService[] { hosts[0], hosts[1], faulty, hosts[3] };
        var writer = new ShardedWriter(Root, services);
        await writer.AddAsync(Docs(0, 40), replace: false);
        Assert.Equal(1, await writer.CommitAsync());
        var reader = NewSearcher();
        var oldHits = Ids(await Search(reader, "common"));
        Assert.Equal(40, oldHits.Count);

        await writer.AddAsync(Docs(40, 40), replace: false);
        await writer.DeleteAsync(["doc-0", "doc-1", "doc-2", "doc-3"]);
        if (failure == Failure.BeforePrepare) faulty.FailPrepareBefore = true; else faulty.FailPrepareAfter = true;
        var e = await Assert.ThrowsAnyAsync<Exception>(() => writer.CommitAsync());
        Assert.Contains("prepare failed", e.Message);

        Assert.Equal(1, ShardedManifest.Read(Root).Version);
        AssertShardsAtClusterCommit();
        Assert.Equal(oldHits, Ids(await Search(reader, "common")));
        Assert.Equal(oldHits, Ids(await Search(NewSearcher(), "common")));
        Assert.Equal(40, await Live(NewSearcher()));

        // the failed batch is gone from every shard: sending it again is not a duplicate, and the next commit works
        faulty.FailPrepareBefore = faulty.FailPrepareAfter = false;
        await writer.AddAsync(Docs(40, 40), replace: false);
        Assert.Equal(2, await writer.CommitAsync());
        Assert.Equal(80, await Live(reader));
        Assert.Equal(80, (await Search(NewSearcher(), "common")).Count);
        AssertShardsAtClusterCommit();
    }

    [Fact]
    public async Task A_lost_change_refuses_the_commit_and_nothing_becomes_visible()
    {
        ShardedFolders.CreateOrOpen(Root, Shards);
        var hosts = Hosts();
        var lossy = new FaultyShard(hosts[1]);
        var writer = new ShardedWriter(Root, [hosts[0], lossy, hosts[2], hosts[3]]);
        await writer.AddAsync(Docs(0, 40), replace: false);
        await writer.CommitAsync();

        lossy.DropNextAdd = true; // the shard's host "restarts" and loses one batch it acknowledged
        await writer.AddAsync(Docs(40, 40), replace: false);
        Assert.Equal(1, lossy.Dropped);
        var e = await Assert.ThrowsAsync<RelevoException>(() => writer.CommitAsync());
        Assert.Contains("commit aborted: shard 1 applied 0 of the", e.Message);
        Assert.Contains("nothing was committed", e.Message);

        Assert.Equal(1, ShardedManifest.Read(Root).Version);
        AssertShardsAtClusterCommit();
        var s = NewSearcher();
        Assert.Equal(40, await Live(s));
        Assert.All(await Search(s, "common"), h => Assert.True(int.Parse(h.Id[4..], System.Globalization.CultureInfo.InvariantCulture) < 40, h.Id));

        // sent again, everything arrives
        await writer.AddAsync(Docs(40, 40), replace: false);
        Assert.Equal(2, await writer.CommitAsync());
        Assert.Equal(80, await Live(NewSearcher()));
    }

    [Fact]
    public async Task Deletes_and_replaces_go_to_the_owning_shard_and_show_only_after_commit()
    {
        var (hosts, writer) = await CreateWith(40);
        var reader = NewSearcher();
        string[] victims = ["doc-3", "doc-17", "doc-28"];
        const string replaced = "doc-5";
        int owner = ShardRouter.ShardOf(replaced, Shards);
        for (int s = 0; s < Shards; s++)
            Assert.Equal(s == owner, await hosts[s].DocumentAsync(ShardVersion.Latest, replaced) is not null);

        Assert.Equal(3, await writer.DeleteAsync([.. victims, "no-such-doc"]));
        await writer.AddAsync([new Document(replaced, "new title", "zanzibar replaced text")], replace: true);
        await Assert.ThrowsAsync<DuplicateDocumentIdException>(() =>
            writer.AddAsync([new Document("doc-6", "dup", "dup")], replace: false));

        // not visible before the commit
        Assert.Superset(new HashSet<string>(victims), Ids(await Search(reader, "common")));
        Assert.Empty(await Search(reader, "zanzibar"));
        Assert.Equal("title 5", (await reader.GetDocumentAsync(replaced))?.Title);

        Assert.Equal(2, await writer.CommitAsync());

        var after = Ids(await Search(reader, "common"));
        Assert.Equal(36, after.Count); // 40 - 3 deleted - 1 replaced (which no longer says "common")
        foreach (var v in victims) Assert.DoesNotContain(v, after);
        Assert.Equal([replaced], Ids(await Search(reader, "zanzibar")));
        Assert.Equal(37, await Live(reader));
        for (int s = 0; s < Shards; s++)
        {
            var doc = await hosts[s].DocumentAsync(ShardVersion.Latest, replaced);
            Assert.Equal(s == owner ? "new title" : null, doc?.Title);
            foreach (var v in victims) Assert.Null(await hosts[s].DocumentAsync(ShardVersion.Latest, v));
        }
        Assert.Equal("new title", (await NewSearcher().GetDocumentAsync(replaced))?.Title);
    }

    [Fact]
    public async Task A_reader_at_version_v_still_fetches_v_documents_after_v_plus_1_is_committed()
    {
        var (_, writer) = await CreateWith(40);
        var reader = NewSearcher();
        var hits = await Search(reader, "common unique7 unique8", k: 10);
        Assert.Equal(1, reader.Version);
        var atV = await reader.DocumentsAsync(hits);
        Assert.All(atV, d => Assert.NotNull(d));

        // V+1 deletes some of those documents and replaces others
        await writer.DeleteAsync([hits[0].Id, hits[1].Id]);
        await writer.AddAsync([new Document(hits[2].Id, "rewritten", "rewritten text")], replace: true);
        Assert.Equal(2, await writer.CommitAsync());
        Assert.Equal(38, await Live(reader)); // the reader's shards have opened V+1
        Assert.Equal(1, reader.Version);

        var stillV = await reader.DocumentsAsync(hits);
        Assert.Equal(atV.Select(d => d!.Title), stillV.Select(d => d?.Title));
        Assert.Equal(atV.Select(d => d!.Id), hits.Select(h => h.Id));

        // a new search moves the reader to V+1
        var newHits = await Search(reader, "common unique7 unique8", k: 10);
        Assert.Equal(2, reader.Version);
        Assert.DoesNotContain(newHits, h => h.Id == hits[0].Id || h.Id == hits[1].Id);
    }

    [Fact]
    public async Task Searches_running_during_commits_see_whole_versions()
    {
        var (_, writer) = await CreateWith(10);
        var shared = NewSearcher(); // one searcher used by both threads at once, as a server would
        var own = NewSearcher();
        using var done = new CancellationTokenSource();
        var problems = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int searches = 0;
        using var finished = new SemaphoreSlim(0); // released once per finished search

        async Task Reader(Searcher s)
        {
            while (!done.IsCancellationRequested)
            {
                var hits = await Task.Run(() => Search(s, "common", k: 1000));
                Interlocked.Increment(ref searches);
                finished.Release();
                var ids = Ids(hits);
                var expected = Enumerable.Range(0, hits.Count).Select(i => $"doc-{i}");
                if (hits.Count % 10 != 0 || !ids.SetEquals(expected))
                    problems.Enqueue($"{hits.Count} hits at version {s.Version}: not one whole commit");
                if (hits.Any(h => h.Score != hits[0].Score))
                    problems.Enqueue($"{hits.Count} hits at version {s.Version}: scores from different statistics");
            }
        }

        var readers = new[] { Reader(shared), Reader(shared), Reader(own) };
        for (int v = 1; v <= 15; v++)
        {
            await writer.AddAsync(Docs(10 * v, 10), replace: false);
            Assert.Equal(v + 1, await writer.CommitAsync());
            // let a search finish after each commit (on a busy machine the commits could otherwise outrun the readers)
            while (finished.CurrentCount > 0) await finished.WaitAsync(); // searches that finished before the commit
            Assert.True(await finished.WaitAsync(TimeSpan.FromSeconds(30)), "no search finished within 30 s of a commit");
        }
        await done.CancelAsync();
        await Task.WhenAll(readers);
        Assert.Empty(problems);
        Assert.True(searches >= 15, $"only {searches} searches ran");
        Assert.Equal(160, (await Search(own, "common", k: 1000)).Count);
    }

    /// <summary>A shard service that fails or loses work on demand.</summary>
    private sealed class FaultyShard(IShardService inner) : IShardService
    {
        public bool FailPrepareBefore { get; set; }
        public bool FailPrepareAfter { get; set; }
        public bool DropNextAdd { get; set; }
        public int Dropped { get; private set; }

        public Task<ShardStatistics> StatisticsAsync(long version, string[] terms) => inner.StatisticsAsync(version, terms);
        public Task<ShardHits> SearchAsync(ShardRetrieval query) => inner.SearchAsync(query);
        public Task<Document?[]> DocumentsAsync(long version, int[] docs) => inner.DocumentsAsync(version, docs);
        public Task<Document?> DocumentAsync(long version, string id) => inner.DocumentAsync(version, id);
        public Task<ShardFetched> FetchAsync(ShardFetch fetch) => inner.FetchAsync(fetch);
        public Task<(long Version, int LiveDocs)> LiveDocsAsync(long version) => inner.LiveDocsAsync(version);
        public Task<ShardMatched> MatchAsync(ShardMatch request, CancellationToken cancellation) => inner.MatchAsync(request, cancellation);
        public Task<(long Version, Dictionary<string, string>? Schema)> SchemaAsync(long version) => inner.SchemaAsync(version);
        public Task<int> DeleteAsync(string[] ids) => inner.DeleteAsync(ids);
        public Task<Dictionary<string, string>?> DeclareTypesAsync(Dictionary<string, string> types) => inner.DeclareTypesAsync(types);
        public Task AbortAsync() => inner.AbortAsync();

        public Task AddAsync(Document[] documents, long[] ordinals, bool replace)
        {
            if (!DropNextAdd) return inner.AddAsync(documents, ordinals, replace);
            DropNextAdd = false;
            Dropped++;
            return Task.CompletedTask;
        }

        public async Task<ShardPrepared> PrepareAsync()
        {
            if (FailPrepareBefore) throw new IOException("prepare failed (before the shard committed)");
            var prepared = await inner.PrepareAsync();
            if (FailPrepareAfter) throw new IOException("prepare failed (after the shard committed: the answer was lost)");
            return prepared;
        }
    }
}
