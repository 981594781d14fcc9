using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>The coordinator of a sharded search holds no thread while shards answer: with every shard call held open,
/// one thread starts many searches one after the other (each call returns at its first wait on a shard), and once the
/// shards answer, every search ranks as the undelayed sharded index does.</summary>
public sealed class AsyncCoordinatorTests
{
    /// <summary>A shard whose calls wait for <see cref="Release"/> (counting how many are waiting).</summary>
    private sealed class HeldShard(IShardService inner, Task gate, Action entered) : IShardService
    {
        private async Task<T> Held<T>(Func<Task<T>> call)
        {
            entered();
            await gate.ConfigureAwait(false);
            return await call().ConfigureAwait(false);
        }

        private async Task Held(Func<Task> call)
        {
            entered();
            await gate.ConfigureAwait(false);
            await call().ConfigureAwait(false);
        }

        public Task<ShardStatistics> StatisticsAsync(long version, string[] terms) => Held(() => inner.StatisticsAsync(version, terms));
        public Task<ShardHits> SearchAsync(ShardRetrieval query) => Held(() => inner.SearchAsync(query));
        public Task<Document?[]> DocumentsAsync(long version, int[] docs) => Held(() => inner.DocumentsAsync(version, docs));
        public Task<Document?> DocumentAsync(long version, string id) => Held(() => inner.DocumentAsync(version, id));
        public Task<ShardFetched> FetchAsync(ShardFetch fetch) => Held(() => inner.FetchAsync(fetch));
        public Task<(long Version, int LiveDocs)> LiveDocsAsync(long version) => Held(() => inner.LiveDocsAsync(version));
        public Task<ShardMatched> MatchAsync(ShardMatch request, CancellationToken cancellation) => Held(() => inner.MatchAsync(request, cancellation));
        public Task<(long Version, Dictionary<string, string>? Schema)> SchemaAsync(long version) => Held(() => inner.SchemaAsync(version));
        public Task AddAsync(Document[] documents, long[] ordinals, bool replace) => Held(() => inner.AddAsync(documents, ordinals, replace));
        public Task<int> DeleteAsync(string[] ids) => Held(() => inner.DeleteAsync(ids));
        public Task<Dictionary<string, string>?> DeclareTypesAsync(Dictionary<string, string> types) => Held(() => inner.DeclareTypesAsync(types));
        public Task<ShardPrepared> PrepareAsync() => Held(() => inner.PrepareAsync());
        public Task AbortAsync() => Held(() => inner.AbortAsync());
    }

    private sealed class HeldShards(LocalShards inner, Task gate, Action entered) : IShardedConnection
    {
        public string Description => "held " + inner.Description;
        public string Analyzer => inner.Analyzer;
        public IReadOnlyList<IShardService> Shards { get; } = [.. inner.Shards.Select(s => new HeldShard(s, gate, entered))];
        public IShardedWrites Writes => inner.Writes;
        public IReadOnlyList<Manifest>? LocalCommits() => inner.LocalCommits();
        public DocumentWriter OpenWriter(WriterOptions options, Action? committed) => inner.OpenWriter(options, committed);
        public void Dispose() => inner.Dispose();
    }

    [Fact]
    public async Task Many_searches_wait_on_held_shards_without_holding_a_thread_each()
    {
        using var data = new ShardedPair(TestData.Dataset("cranfield"));
        data.Close();
        var queries = data.Queries.Take(32).ToList();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int waiting = 0;
        using var held = new SearchIndex(new ShardedIndexSource(new HeldShards(new LocalShards(data.ShardedDir, ExtensionRegistry.Core),
            release.Task, () => Interlocked.Increment(ref waiting))), ExtensionRegistry.Core);
        using var plain = new SearchIndex(new ShardedIndexSource(new LocalShards(data.ShardedDir, ExtensionRegistry.Core)), ExtensionRegistry.Core);

        // one thread starts all of them; a coordinator that blocked on a shard would stall this loop at the first query
        var searches = new Task<SearchResult>[queries.Count];
        var starter = new Thread(() =>
        {
            for (int i = 0; i < queries.Count; i++) searches[i] = held.SearchAsync(queries[i].Text, "fuse(rrf,bm25,ql)", 10);
        });
        starter.Start();
        bool started = starter.Join(TimeSpan.FromSeconds(60));
        if (!started)
        {
            release.TrySetResult(); // let the stalled loop finish before failing (and before the index is disposed)
            starter.Join();
        }
        Assert.True(started, "starting 32 searches did not return while the shards held their answers: a thread waits on a shard");
        Assert.All(searches, s => Assert.False(s.IsCompleted, "a search finished while every shard call was held"));
        Assert.True(Volatile.Read(ref waiting) >= queries.Count, $"{waiting} shard calls waiting for {queries.Count} searches");

        release.SetResult();
        var results = await Task.WhenAll(searches).WaitAsync(TimeSpan.FromSeconds(120));
        for (int i = 0; i < queries.Count; i++)
        {
            var expected = (await plain.SearchAsync(queries[i].Text, "fuse(rrf,bm25,ql)", 10)).Hits;
            Assert.Equal(expected.Select(h => (h.Id, h.Score)), results[i].Hits.Select(h => (h.Id, h.Score)));
        }
    }
}
