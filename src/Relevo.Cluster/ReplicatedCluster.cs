using Microsoft.Extensions.Logging;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>The silos run, but no index was copied onto them yet (a client that waits for the cluster keeps waiting).</summary>
internal sealed class ClusterNotCreatedException()
    : RelevoException("the cluster holds no index yet: create one with `relevo cluster create --cluster … --from SHARDED_INDEX`");

/// <summary>The writer grain's view of a cluster whose silos keep their own copies of the shards: the current cluster
/// manifest (which commit of each shard, and which nodes hold it, primary first), published to every live node's
/// folder. It replicates each commit from the primaries to the other copies before publishing it, drops copies of
/// nodes that died (the next copy becomes primary), copies shards onto live nodes until each has
/// <see cref="ShardedManifest.Replicas"/> copies again, and moves copies onto nodes that have fewer than the rest.
/// Used only inside the writer grain, whose calls run one at a time.</summary>
internal sealed class ReplicatedCluster(IGrainFactory grains, IClusterMembershipService membership, ILogger log) : IClusterManifestStore
{
    private ShardedManifest? _current;
    private readonly Dictionary<string, long> _reported = new(StringComparer.Ordinal);
    // a node that reported a newer manifest than the writer's (read at the next maintenance round)
    private string? _newer;
    private DateTime _lastMaintenance;

    public ShardedManifest Read() => _current ?? throw new ClusterNotCreatedException();

    public string Where => "the cluster manifest";

    private INodeGrain Node(string id) => grains.GetGrain<INodeGrain>(id);

    /// <summary>Names of the live silos (each a node), in ordinal order.</summary>
    public List<string> LiveNodes()
    {
        var names = new List<string>();
        foreach (var m in membership.CurrentSnapshot.Members.Values)
            if (m.Status == SiloStatus.Active && !string.IsNullOrEmpty(m.Name) && !names.Contains(m.Name)) names.Add(m.Name);
        names.Sort(StringComparer.Ordinal);
        return names;
    }

    /// <summary>Reads the newest manifest any live node has (the writer just activated).</summary>
    public async Task LoadAsync()
    {
        var reports = await Task.WhenAll(LiveNodes().Select(async n =>
        {
            try { return await Node(n).Report().WaitAsync(TimeSpan.FromSeconds(5)); }
            catch (Exception e) when (e is not RelevoException) { return null; }
        }));
        foreach (var r in reports)
        {
            if (r is null) continue;
            _reported[r.Node] = r.Version;
            AdoptIfNewer(r);
        }
        if (_current is not null) log.LogInformation("writer: cluster version {Version} read from the nodes", _current.Version);
    }

    /// <summary>Takes a node's manifest as the current one if it is newer; whether it did.</summary>
    private bool AdoptIfNewer(NodeReport r)
    {
        if (r.Manifest is not { } json || (_current is not null && r.Version <= _current.Version)) return false;
        _current = ShardedManifest.FromJson(json, $"node {r.Node}");
        return true;
    }

    /// <summary>A node said it is alive with manifest <paramref name="version"/>. A version newer than the writer's
    /// (a node that was not live when the writer read the nodes, e.g. after the whole cluster restarted) is read and
    /// adopted at the next maintenance round, before anything is published.</summary>
    public void Reported(string node, long version)
    {
        _reported[node] = version;
        if (version >= 0 && (_current is null || version > _current.Version)) _newer = node;
    }

    /// <summary>Adopts the newest manifest a node reported, if it is newer than the writer's.</summary>
    private async Task AdoptNewerAsync()
    {
        if (_newer is not { } node) return;
        _newer = null;
        try
        {
            var r = await Node(node).Report().WaitAsync(TimeSpan.FromSeconds(5));
            if (AdoptIfNewer(r)) log.LogInformation("writer: adopted cluster version {Version} from node {Node}", r.Version, r.Node);
        }
        catch (Exception e) when (e is not RelevoException)
        {
            if (LiveNodes().Contains(node)) _newer ??= node; // asked again at the next round (a node that left is not waited for)
        }
    }

    // ---------------------------------------------------------------- creation

    /// <summary>Which live nodes get the copies of a new cluster's shards: copy j of shard i on node (i + j) mod n.</summary>
    public string[][] PlanCreate(int shards, int replicas)
    {
        if (_current is not null) throw new RelevoException($"the cluster already holds an index (version {_current.Version}); create a new one on empty silos");
        var live = LiveNodes();
        if (replicas < 1) throw new RelevoException("--replicas must be at least 1");
        if (live.Count < replicas) throw new RelevoException($"--replicas {replicas}: the copies of a shard go to different silos, and {live.Count} are live");
        var plan = new string[shards][];
        for (int i = 0; i < shards; i++)
        {
            plan[i] = new string[replicas];
            for (int j = 0; j < replicas; j++) plan[i][j] = live[(i + j) % live.Count];
        }
        return plan;
    }

    public async Task<long> FinishCreateAsync(ShardedManifest manifest)
    {
        if (_current is not null) throw new RelevoException($"the cluster already holds an index (version {_current.Version})");
        if (manifest.Replicas < 1) throw new RelevoException("a replicated cluster manifest needs replicas ≥ 1");
        return await PublishToNodesAsync(manifest);
    }

    // ---------------------------------------------------------------- commits

    /// <summary>Copies every changed shard's prepared commit from its primary to its other copies, drops the copies that
    /// fail, refuses the commit (nothing published) when a changed shard keeps fewer than
    /// <see cref="ShardedManifest.RequiredCopies"/>, and publishes it.</summary>
    public async Task<long> PublishAsync(ShardedManifest next, Action<string>? stage)
    {
        if (_newer is not null)
            throw new RelevoException("commit refused: a node reported a newer cluster manifest than the writer's; nothing was committed — send the changes again");
        var current = Read();
        var shards = next.Shards.ToList();
        // the shards this commit changed (a prepared commit always has a new generation)
        var changed = new List<int>();
        for (int s = 0; s < shards.Count; s++)
            if (shards[s].Commit.Generation != current.Shards[s].Commit.Generation) changed.Add(s);
        var copies = new List<Task<(int Shard, string Node, Exception? Error)>>();
        foreach (int s in changed)
        {
            var list = shards[s].Copies ?? [];
            string commit = shards[s].Commit.ToJson();
            for (int c = 1; c < list.Count; c++) copies.Add(SyncAsync(s, list[c], list[0], commit));
        }
        foreach (var (s, n, error) in await Task.WhenAll(copies))
        {
            if (error is null) continue;
            log.LogWarning("writer: copy of shard {Shard} on node {Node} fell out of sync: {Error}", s, n, error.Message);
            shards[s] = shards[s] with { Copies = shards[s].Copies!.Where(x => x != n).ToList() };
        }
        foreach (int s in changed)
        {
            int have = shards[s].Copies?.Count ?? 0;
            if (have < next.RequiredCopies)
                throw new RelevoException($"commit refused: shard {s} has {have} in-sync {(have == 1 ? "copy" : "copies")}, {next.RequiredCopies} required " +
                                          "(a silo was lost; copies are being restored); nothing was committed — send the changes again");
        }
        stage?.Invoke("replicas-synced");
        long version = await PublishToNodesAsync(next with { Shards = shards });
        // the copies that took the version (a copy that failed to is no longer listed): a changed shard held by fewer
        // than required is visible but not acknowledged, as a write whose answer was lost
        var published = Read();
        foreach (int s in changed)
        {
            int have = published.Shards[s].Copies?.Count ?? 0;
            if (have < next.RequiredCopies)
                throw new RelevoException($"commit {version} is published, but shard {s} is held by {have} of the {next.RequiredCopies} copies required " +
                                          "(a silo was lost while publishing): not acknowledged; check whether the changes are there, and send them again if not");
        }
        return version;
    }

    private async Task<(int, string, Exception?)> SyncAsync(int shard, string node, string source, string commit)
    {
        try
        {
            await Node(node).Sync(shard, source, commit).WaitAsync(TimeSpan.FromSeconds(60));
            return (shard, node, null);
        }
        catch (Exception e) { return (shard, node, e); }
    }

    /// <summary>Publishes <paramref name="next"/> to every live node. A node that refuses for lack of a commit's files,
    /// or fails, loses its place as a copy in the next version, which is published again; a node ahead of it (a writer
    /// before this one published further) moves the version past it. Returns the version that stands.</summary>
    private async Task<long> PublishToNodesAsync(ShardedManifest next)
    {
        for (int attempt = 0; ; attempt++)
        {
            var nodes = LiveNodes();
            string json = next.ToJson();
            var answers = await Task.WhenAll(nodes.Select(async n =>
            {
                try { return (n, await Node(n).Publish(json).WaitAsync(TimeSpan.FromSeconds(10)), (Exception?)null); }
                catch (Exception e) { return (n, (NodePublished?)null, e); }
            }));
            bool accepted = false;
            long ahead = -1;
            var drop = new List<(int Shard, string Node)>();
            foreach (var (n, answer, error) in answers)
            {
                if (answer is { Accepted: true })
                {
                    accepted = true;
                    _reported[n] = next.Version;
                    continue;
                }
                if (answer is not null && answer.Incomplete.Length == 0) ahead = Math.Max(ahead, answer.Version);
                for (int s = 0; s < next.ShardCount; s++)
                    if (next.Shards[s].Copies?.Contains(n) == true && (answer is null || answer.Incomplete.Contains(s) || answer.Version < next.Version))
                        drop.Add((s, n));
                if (error is not null) log.LogWarning("writer: node {Node} did not take cluster version {Version}: {Error}", n, next.Version, error.Message);
            }
            if (accepted) _current = next;
            bool consistent = drop.Count == 0 && ahead < next.Version;
            if (accepted && consistent) return next.Version;
            var shards = next.Shards.ToList();
            foreach (var (s, n) in drop)
            {
                var left = shards[s].Copies!.Where(x => x != n).ToList();
                if (left.Count > 0) shards[s] = shards[s] with { Copies = left };
            }
            if (attempt >= 4)
            {
                // stands where it was taken; the copies that refused are not served from (the next round publishes again)
                if (accepted)
                {
                    _current = next with { Shards = shards };
                    return next.Version;
                }
                throw new RelevoException($"cluster version {next.Version} could not be published to any node");
            }
            next = next with { Version = Math.Max(next.Version, ahead) + 1, Shards = shards };
        }
    }

    // ---------------------------------------------------------------- maintenance

    /// <summary>Drops copies on nodes that are gone, restores the number of copies, balances them and brings lagging
    /// nodes to the current manifest. At most one round every half second.</summary>
    public async Task MaintainAsync()
    {
        if (DateTime.UtcNow - _lastMaintenance < TimeSpan.FromMilliseconds(500)) return;
        _lastMaintenance = DateTime.UtcNow;
        await AdoptNewerAsync();
        if (_current is null) return;
        var live = LiveNodes();
        if (live.Count == 0) return;
        var current = _current;
        var shards = current.Shards.ToList();
        bool changed = false;
        // 1. copies on nodes that are gone: the next copy is primary now
        for (int s = 0; s < shards.Count; s++)
        {
            var copies = shards[s].Copies ?? [];
            var alive = copies.Where(live.Contains).ToList();
            if (alive.Count == copies.Count) continue;
            if (alive.Count == 0)
            {
                log.LogError("writer: every copy of shard {Shard} is on a lost node ({Nodes}); it cannot be served until one returns", s, string.Join(", ", copies));
                continue;
            }
            log.LogWarning("writer: shard {Shard} lost its copies on {Nodes}; primary now {Primary}", s, string.Join(", ", copies.Except(alive)), alive[0]);
            shards[s] = shards[s] with { Copies = alive };
            changed = true;
        }
        // 2. too few copies: copy the shard onto the least loaded live node that lacks it
        int want = Math.Min(Math.Max(current.Replicas, 1), live.Count);
        for (int s = 0; s < shards.Count; s++)
        {
            var copies = shards[s].Copies ?? [];
            if (copies.Count == 0 || !live.Contains(copies[0])) continue;
            while (copies.Count < want)
            {
                var load = Load(shards, live);
                string? target = live.Where(n => !copies.Contains(n)).OrderBy(n => load[n]).ThenBy(n => n, StringComparer.Ordinal).FirstOrDefault();
                if (target is null) break;
                var (_, _, error) = await SyncAsync(s, target, copies[0], shards[s].Commit.ToJson());
                if (error is not null)
                {
                    log.LogWarning("writer: copying shard {Shard} to node {Node} failed: {Error}", s, target, error.Message);
                    break;
                }
                copies = [.. copies, target];
                shards[s] = shards[s] with { Copies = copies };
                changed = true;
                log.LogInformation("writer: shard {Shard} has a new copy on node {Node}", s, target);
            }
        }
        // 3. balance: one copy (not a primary) to the least loaded node, from the most loaded node that has such a copy
        // and at least two copies more (the most loaded may hold only primaries, which stay)
        if (!changed && live.Count > 1)
        {
            var load = Load(shards, live);
            string light = live.OrderBy(n => load[n]).ThenBy(n => n, StringComparer.Ordinal).First();
            bool failed = false; // a copy to the light node failed: no more tries this round (each may take a minute)
            foreach (string heavy in live.OrderByDescending(n => load[n]).ThenBy(n => n, StringComparer.Ordinal))
            {
                if (changed || failed || load[heavy] - load[light] < 2) break;
                for (int s = 0; s < shards.Count; s++)
                {
                    var copies = (shards[s].Copies ?? []).ToList();
                    int at = copies.IndexOf(heavy);
                    if (at <= 0 || copies.Contains(light)) continue;
                    var (_, _, error) = await SyncAsync(s, light, copies[0], shards[s].Commit.ToJson());
                    if (error is not null)
                    {
                        log.LogWarning("writer: moving a copy of shard {Shard} to node {Node} failed: {Error}", s, light, error.Message);
                        failed = true;
                        break;
                    }
                    var moved = copies;
                    moved[at] = light;
                    shards[s] = shards[s] with { Copies = moved };
                    changed = true;
                    log.LogInformation("writer: moved the copy of shard {Shard} from node {From} to node {To}", s, heavy, light);
                    break;
                }
            }
        }
        if (changed)
        {
            await PublishToNodesAsync(current with { Version = current.Version + 1, Shards = shards });
            return;
        }
        // 4. a live node behind the current manifest (it restarted, or missed a publish) gets it
        foreach (var n in live)
            if (_reported.TryGetValue(n, out long v) && v < current.Version)
            {
                try
                {
                    var answer = await Node(n).Publish(current.ToJson()).WaitAsync(TimeSpan.FromSeconds(10));
                    _reported[n] = answer.Version;
                    if (!answer.Accepted && answer.Incomplete.Length > 0)
                    {
                        // it lacks files of a commit it is listed for: it is not a copy any more (and is copied to again)
                        var fixedShards = current.Shards.ToList();
                        foreach (int s in answer.Incomplete)
                            if (fixedShards[s].Copies is { } c && c.Count > 1) fixedShards[s] = fixedShards[s] with { Copies = c.Where(x => x != n).ToList() };
                        await PublishToNodesAsync(current with { Version = current.Version + 1, Shards = fixedShards });
                        return;
                    }
                }
                catch (Exception e) when (e is not RelevoException)
                {
                    log.LogDebug(e, "writer: bringing node {Node} to version {Version} failed", n, current.Version);
                }
            }
    }

    private static Dictionary<string, int> Load(List<ShardSnapshot> shards, List<string> live)
    {
        var load = live.ToDictionary(n => n, _ => 0, StringComparer.Ordinal);
        foreach (var s in shards)
            foreach (var n in s.Copies ?? [])
                if (load.ContainsKey(n)) load[n]++;
        return load;
    }

    /// <summary>For `relevo cluster status`: the version and each shard's copies, primary first.</summary>
    public string Status()
    {
        if (_current is not { } m) return "no index yet";
        var live = LiveNodes();
        var lines = new List<string> { $"cluster version {m.Version}, {m.ShardCount} shards × {m.Replicas} copies, live nodes: {string.Join(", ", live)}" };
        for (int s = 0; s < m.ShardCount; s++)
            lines.Add($"shard {s}: commit {m.Shards[s].Commit.Generation}, copies {string.Join(", ", (m.Shards[s].Copies ?? []).Select((n, i) => i == 0 ? n + " (primary)" : n))}");
        return string.Join('\n', lines);
    }
}
