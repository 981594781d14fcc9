using Orleans.Runtime;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>A shard grain as the coordinator's <see cref="IShardService"/>. Reads are retried while the cluster
/// recovers from a lost silo (a call to a dead silo times out or is rejected until membership declares the silo dead;
/// the next call re-activates the shard on a survivor). Writes are not retried here: a failed write aborts the
/// cluster-wide commit instead.</summary>
internal sealed class GrainShard(IShardGrain grain, bool retry = true) : IShardService
{
    /// <summary>How long a read keeps retrying before the error reaches the caller.</summary>
    public static TimeSpan RetryFor { get; set; } = TimeSpan.FromSeconds(60);

    public Task<ShardStatistics> StatisticsAsync(long version, string[] terms) => Read(() => grain.Statistics(version, terms));
    public Task<ShardHits> SearchAsync(ShardRetrieval query) => Read(() => grain.Search(query));
    public Task<Document?[]> DocumentsAsync(long version, int[] docs) => Read(() => grain.Documents(version, docs));
    public Task<Document?> DocumentAsync(long version, string id) => Read(() => grain.Document(version, id));
    public Task<ShardFetched> FetchAsync(ShardFetch fetch) => Read(() => grain.Fetch(fetch));
    public Task<(long Version, int LiveDocs)> LiveDocsAsync(long version) => Read(() => grain.LiveDocs(version));
    public Task<ShardMatched> MatchAsync(ShardMatch request, CancellationToken cancellation) => Read(() => grain.Match(request, cancellation), cancellation);
    public Task<(long Version, Dictionary<string, string>? Schema)> SchemaAsync(long version) => Read(() => grain.Schema(version));
    public Task AddAsync(Document[] documents, long[] ordinals, bool replace) => grain.Add(documents, ordinals, replace);
    public Task<int> DeleteAsync(string[] ids) => grain.Delete(ids);
    public Task<Dictionary<string, string>?> DeclareTypesAsync(Dictionary<string, string> types) => grain.DeclareTypes(types);
    public Task<ShardPrepared> PrepareAsync() => grain.Prepare();
    public Task AbortAsync() => grain.Abort();

    private async Task<T> Read<T>(Func<Task<T>> call, CancellationToken cancellation = default)
    {
        if (!retry) return await call().ConfigureAwait(false);
        var deadline = DateTime.UtcNow + RetryFor;
        int delayMs = 50;
        while (true)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(delayMs, cancellation).ConfigureAwait(false);
                delayMs = Math.Min(delayMs * 2, 1000);
            }
        }
    }

    /// <summary>Failures of the cluster rather than of the request: Relevo's own errors (bad input, a damaged file)
    /// are not retried.</summary>
    private static bool IsTransient(Exception e) => e switch
    {
        RelevoException => false,
        ArgumentException => false,
        TimeoutException => true,
        SiloUnavailableException => true,
        OrleansMessageRejectionException => true,
        OrleansException => true,
        ObjectDisposedException => true,
        InvalidOperationException => true,
        System.Net.Sockets.SocketException => true,
        _ => e.InnerException is { } inner && IsTransient(inner),
    };
}

/// <summary>Where a client sends each shard's reads on a cluster of node silos: the copies of the current version
/// (<see cref="IClusterWriterGrain.Routing"/>), fetched again when an answer carries a newer version or every copy
/// failed.</summary>
internal sealed class ShardRoutes(IClusterWriterGrain writer, ClusterRouting initial)
{
    private volatile ClusterRouting _current = initial;
    private int _refreshing;

    public long Version => _current.Version;

    /// <summary>The routing now (read once by whoever plans over several shards).</summary>
    public ClusterRouting Current => _current;

    public string[] CopiesOf(int shard) => _current.Copies is { } c && shard < c.Length ? c[shard] : [];

    /// <summary>An answer carried <paramref name="version"/>: newer than the routing, fetch it again (in the background).</summary>
    public void Saw(long version)
    {
        if (version > _current.Version) _ = RefreshAsync();
    }

    public async Task RefreshAsync()
    {
        if (Interlocked.Exchange(ref _refreshing, 1) == 1) return;
        try
        {
            var next = await writer.Routing().WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
            if (next.Copies is not null && next.Version >= _current.Version) _current = next;
        }
        catch (Exception e) when (e is not RelevoException)
        {
            // the writer is moving to another silo: keep the routing we have
        }
        finally { Volatile.Write(ref _refreshing, 0); }
    }
}

/// <summary>A shard of a cluster of node silos as a coordinator reads it: each read goes to one of the shard's copies
/// (its copy on the coordinator's own silo if there is one; otherwise taking turns, so the copies share the load), and
/// to the next when a copy fails, is not a copy any more, or answers from an older version than asked (a node the
/// newest manifest has not reached yet); when every copy failed, the routing is fetched again and the read retried with
/// back-off, up to <see cref="GrainShard.RetryFor"/>. Every copy holds the same files, so any copy's answer is the
/// primary's. Writes go through the writer grain.</summary>
internal sealed class ReplicatedShard(IGrainFactory grains, ShardRoutes routes, int shard, string? localNode = null) : IShardService
{
    private int _turn;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, IShardGrain> _copies = new(StringComparer.Ordinal);

    private IShardGrain Copy(string node) => _copies.GetOrAdd(node, static (n, s) => s.Grains.GetGrain<IShardGrain>(s.Shard, n), (Grains: grains, Shard: shard));

    public Task<ShardStatistics> StatisticsAsync(long version, string[] terms) => Read(g => g.Statistics(version, terms), version, static r => r.Version);
    public Task<ShardHits> SearchAsync(ShardRetrieval query) => Read(g => g.Search(query), query.Version, static r => r.Version);
    public Task<Document?[]> DocumentsAsync(long version, int[] docs) => Read(g => g.Documents(version, docs), version, null);
    // at "latest", at least the routing's version: a copy the newest manifest has not reached refuses it
    public Task<Document?> DocumentAsync(long version, string id) =>
        Read(g => g.Document(version == ShardVersion.Latest ? routes.Version : version, id), version, null);
    public Task<ShardFetched> FetchAsync(ShardFetch fetch) => Read(g => g.Fetch(fetch), fetch.Version, static r => r.Version);
    public Task<(long Version, int LiveDocs)> LiveDocsAsync(long version) => Read(g => g.LiveDocs(version), version, static r => r.Version);
    public Task<ShardMatched> MatchAsync(ShardMatch request, CancellationToken cancellation) =>
        Read(g => g.Match(request, cancellation), request.Version, static r => r.Version, cancellation);
    public Task<(long Version, Dictionary<string, string>? Schema)> SchemaAsync(long version) => Read(g => g.Schema(version), version, static r => r.Version);

    public Task AddAsync(Document[] documents, long[] ordinals, bool replace) => throw WrittenByWriter();
    public Task<int> DeleteAsync(string[] ids) => throw WrittenByWriter();
    public Task<Dictionary<string, string>?> DeclareTypesAsync(Dictionary<string, string> types) => throw WrittenByWriter();
    public Task<ShardPrepared> PrepareAsync() => throw WrittenByWriter();
    public Task AbortAsync() => throw WrittenByWriter();

    /// <summary>A failure of a copy rather than of the request (Relevo's own errors, bad arguments and cancellation
    /// reach the caller; anything else: another copy is asked).</summary>
    internal static bool CopyFailed(Exception e) => e is not RelevoException and not ArgumentException and not OperationCanceledException;

    private static InvalidOperationException WrittenByWriter() => new("a cluster of node silos is written through its writer grain");

    private async Task<T> Read<T>(Func<IShardGrain, Task<T>> call, long version, Func<T, long>? versionOf, CancellationToken cancellation = default)
    {
        var deadline = DateTime.UtcNow + GrainShard.RetryFor;
        int delayMs = 20;
        Exception? last = null;
        while (true)
        {
            var copies = routes.CopiesOf(shard);
            // a copy on this process's own silo first (no network); otherwise the copies take turns
            int local = localNode is null ? -1 : Array.IndexOf(copies, localNode);
            int start = local >= 0 ? local : copies.Length == 0 ? 0 : (int)((uint)Interlocked.Increment(ref _turn) % (uint)copies.Length);
            for (int i = 0; i < copies.Length; i++)
            {
                cancellation.ThrowIfCancellationRequested();
                string node = copies[(start + i) % copies.Length];
                try
                {
                    var answer = await call(Copy(node)).ConfigureAwait(false);
                    if (versionOf is not null)
                    {
                        long answered = versionOf(answer);
                        routes.Saw(answered);
                        // a node the newest manifest has not reached yet: another copy has it
                        if (version != ShardVersion.Latest && answered < version) continue;
                    }
                    return answer;
                }
                catch (Exception e) when (CopyFailed(e))
                {
                    last = e;
                }
            }
            if (DateTime.UtcNow >= deadline)
                throw last ?? new ShardCopyUnavailableException($"shard {shard}: no copy answered at cluster version {version}");
            await routes.RefreshAsync().ConfigureAwait(false);
            await Task.Delay(delayMs, cancellation).ConfigureAwait(false);
            delayMs = Math.Min(delayMs * 2, 500);
        }
    }
}

/// <summary>The shards of a cluster of node silos as a coordinator reads them for one query: each search (and each
/// gathering of statistics) asks a few silos that together hold a copy of every shard, one call per silo for all the
/// shards read there, instead of one call per shard. Copies on the coordinator's own silo are read in process, without
/// a message; how the other silos are chosen is <see cref="Plan"/>'s. A silo that fails, or answers a shard from an older version than asked, has
/// that shard read on its own as <see cref="ReplicatedShard"/> reads it (the next copy, retries, fresh routing).</summary>
internal sealed class ReplicatedShardSet : IReadOnlyList<IShardService>, IShardBatch
{
    private readonly ReplicatedShard[] _shards;
    private readonly IGrainFactory _grains;
    private readonly ShardRoutes _routes;
    private readonly string? _localNode;
    private readonly NodeShards? _local;
    private int _turn;

    /// <param name="local">The shard hosts of the silo in this process (<paramref name="localNode"/>), if any.</param>
    public ReplicatedShardSet(IGrainFactory grains, ShardRoutes routes, int shards, string? localNode, NodeShards? local)
    {
        _grains = grains;
        _routes = routes;
        _localNode = localNode;
        _local = localNode is null ? null : local;
        _shards = new ReplicatedShard[shards];
        for (int i = 0; i < shards; i++) _shards[i] = new ReplicatedShard(grains, routes, i, localNode);
    }

    public IShardService this[int index] => _shards[index];
    public int Count => _shards.Length;
    public IEnumerator<IShardService> GetEnumerator() => ((IEnumerable<IShardService>)_shards).GetEnumerator();
    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => _shards.GetEnumerator();

    public Task<ShardHits[]> SearchEachAsync(ShardRetrieval query) =>
        ReadEachAsync(query.Version, (node, shards) => node.Search(shards, query), host => host.Search(query),
            shard => shard.SearchAsync(query), static r => r.Version);

    public Task<ShardStatistics[]> StatisticsEachAsync(long version, string[] terms) =>
        ReadEachAsync(version, (node, shards) => node.Statistics(shards, version, terms), host => host.Statistics(version, terms),
            shard => shard.StatisticsAsync(version, terms), static r => r.Version);

    private async Task<T[]> ReadEachAsync<T>(long version, Func<INodeGrain, int[], Task<T?[]>> remote, Func<ShardHost, T> local,
        Func<IShardService, Task<T>> alone, Func<T, long> versionOf) where T : class
    {
        var result = new T?[_shards.Length];
        var (localShards, groups) = Plan();
        // the other silos' calls go out first; the copies here are read while they travel, side by side (the first on
        // this thread)
        var pending = new List<Task>((groups?.Count ?? 0) + (localShards?.Count ?? 0));
        if (groups is not null)
            foreach (var (node, shards) in groups) pending.Add(AskAsync(node, shards));
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failed = null;
        if (localShards is not null)
        {
            for (int i = 1; i < localShards.Count; i++)
            {
                int s = localShards[i];
                pending.Add(Task.Run(() => ReadHere(s)));
            }
            try { ReadHere(localShards[0]); }
            catch (Exception e) { failed = System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e); }
        }
        await Task.WhenAll(pending).ConfigureAwait(false);
        failed?.Throw();
        // shards not answered (a silo failed, a copy moved) or answered from an older version: read on their own
        List<(int Shard, Task<T> Read)>? again = null;
        for (int s = 0; s < result.Length; s++)
        {
            if (result[s] is { } answer)
            {
                long answered = versionOf(answer);
                _routes.Saw(answered);
                if (version == ShardVersion.Latest || answered >= version) continue;
            }
            (again ??= []).Add((s, alone(_shards[s])));
        }
        if (again is not null)
        {
            await Task.WhenAll(again.Select(a => a.Read)).ConfigureAwait(false);
            foreach (var (s, read) in again) result[s] = read.Result;
        }
        return result!;

        void ReadHere(int s)
        {
            try { result[s] = local(_local!.Get(s)); }
            catch (Exception e) when (ReplicatedShard.CopyFailed(e)) { } // read on its own
        }

        async Task AskAsync(string node, int[] shards)
        {
            try
            {
                var answers = await remote(_grains.GetGrain<INodeGrain>(node), shards).ConfigureAwait(false);
                if (answers.Length != shards.Length) return;
                for (int i = 0; i < shards.Length; i++) result[shards[i]] = answers[i];
            }
            catch (Exception e) when (ReplicatedShard.CopyFailed(e)) { } // its shards are read on their own
        }
    }

    /// <summary>Which shards are read here, and which silo each other shard is read from (grouped by silo), from one
    /// reading of the routing. The first silo asked takes turns over every silo holding a shard not read here (and gets
    /// all the shards it holds); each next one is the silo holding the most of the shards left, silos holding equally
    /// many taking turns. For copy j of shard i on node (i + j) mod n, as `relevo cluster create` places them, that
    /// spreads the reads over the copies about evenly and asks 2 silos per query for 4, 8 or 16 shards × 2 copies on 3
    /// or 4 silos (2.6 on average for 4 shards × 2 copies on 5 silos, where a greedy cover alone asks 2.3 but sends a
    /// node 3 times its share). Shards whose copies
    /// the routing does not know yet are in neither list: they are read on their own.</summary>
    internal (List<int>? Local, List<(string Node, int[] Shards)>? Groups) Plan()
    {
        var copiesOf = _routes.Current.Copies ?? [];
        string[] CopiesOf(int shard) => shard < copiesOf.Length ? copiesOf[shard] ?? [] : [];
        List<int>? local = null;
        List<int>? remaining = null;
        for (int s = 0; s < _shards.Length; s++)
        {
            var copies = CopiesOf(s);
            if (copies.Length == 0) continue;
            if (_local is not null && Array.IndexOf(copies, _localNode) >= 0) (local ??= []).Add(s);
            else (remaining ??= []).Add(s);
        }
        if (remaining is null) return (local, null);
        var groups = new List<(string, int[])>();
        uint turn = (uint)Interlocked.Increment(ref _turn);
        var nodes = new List<string>();
        var counts = new List<int>();
        while (remaining.Count > 0)
        {
            // the silos holding the remaining shards, and how many of them each holds
            nodes.Clear();
            counts.Clear();
            foreach (int s in remaining)
                foreach (string n in CopiesOf(s))
                {
                    int at = nodes.IndexOf(n);
                    if (at < 0) { nodes.Add(n); counts.Add(1); }
                    else counts[at]++;
                }
            string chosen;
            if (groups.Count == 0) chosen = nodes[(int)(turn % (uint)nodes.Count)];
            else
            {
                int most = 0, tied = 0;
                foreach (int c in counts)
                    if (c > most) (most, tied) = (c, 1);
                    else if (c == most) tied++;
                int pick = (int)(turn % (uint)tied);
                chosen = nodes[0];
                for (int i = 0; i < nodes.Count; i++)
                    if (counts[i] == most && pick-- == 0) { chosen = nodes[i]; break; }
            }
            turn++;
            // the chosen silo's shards go to its group; the others stay, in order
            var group = new List<int>();
            int kept = 0;
            for (int i = 0; i < remaining.Count; i++)
            {
                int s = remaining[i];
                if (Array.IndexOf(CopiesOf(s), chosen) >= 0) group.Add(s);
                else remaining[kept++] = s;
            }
            remaining.RemoveRange(kept, remaining.Count - kept);
            groups.Add((chosen, group.ToArray()));
        }
        return (local, groups);
    }
}
