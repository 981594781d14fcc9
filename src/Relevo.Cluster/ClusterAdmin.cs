using Microsoft.Extensions.DependencyInjection;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>`relevo cluster create` and `relevo cluster status`: a cluster of silos that keep their own copies of the
/// shards, created from a sharded index built in this process (docs/cluster.md, "Replicas on each silo's disk").</summary>
internal static class ClusterAdmin
{
    /// <summary>Copies every shard of the sharded index in <paramref name="from"/> onto <paramref name="replicas"/> live
    /// silos each (their own empty folders) and publishes the cluster's first manifest; returns its version.</summary>
    public static async Task<long> CreateAsync(IGrainFactory grains, string from, int replicas, int acks, Action<string>? progress = null)
    {
        var source = ShardedManifest.Read(from);
        if (source.Replicas != 0) throw new RelevoException($"{from}: a node's folder, not a sharded index built with `relevo index --shards N`");
        if (acks < 0 || acks > replicas) throw new RelevoException($"--acks must be between 0 (every in-sync copy) and --replicas ({replicas})");
        var writer = grains.GetGrain<IClusterWriterGrain>(0);
        var plan = await writer.PlanCreate(source.ShardCount, replicas).ConfigureAwait(false);
        var shards = new List<ShardSnapshot>(source.ShardCount);
        for (int s = 0; s < source.ShardCount; s++)
        {
            string folder = Path.Combine(from, source.Shards[s].Folder);
            var commit = source.Shards[s].Commit;
            var files = ShardCopy.FilesOf(folder, commit);
            string commitJson = commit.ToJson();
            foreach (string node in plan[s])
            {
                var target = grains.GetGrain<INodeGrain>(node);
                foreach (var f in files)
                {
                    long offset = 0;
                    do
                    {
                        int count = (int)Math.Min(ShardCopy.ChunkBytes, f.Length - offset);
                        byte[] chunk = ShardCopy.Read(folder, f.Name, offset, count);
                        await target.Write(s, f.Name, offset, chunk).ConfigureAwait(false);
                        offset += count;
                    }
                    while (offset < f.Length);
                }
                await target.Install(s, NodeFiles.Of(files), commitJson).ConfigureAwait(false);
                progress?.Invoke($"shard {s}: {files.Length} files ({files.Sum(f => f.Length):N0} bytes) copied to node {node}");
            }
            shards.Add(new ShardSnapshot(ShardedManifest.FolderName(s), commit) { Copies = plan[s] });
        }
        var manifest = source with { Shards = shards, Replicas = replicas, Acks = acks };
        return await writer.FinishCreate(manifest.ToJson()).ConfigureAwait(false);
    }

    /// <summary>Connects to the cluster and runs <paramref name="action"/> with its grains.</summary>
    public static async Task<T> WithClusterAsync<T>(string membership, string clusterId, TimeSpan timeout, Func<IGrainFactory, Task<T>> action)
    {
        var parsed = Membership.Parse(membership);
        var deadline = DateTime.UtcNow + timeout;
        using var host = await OrleansShards.StartClientAsync(parsed, clusterId, deadline).ConfigureAwait(false);
        var grains = host.Services.GetRequiredService<IClusterClient>();
        // the writer answers once a silo is up
        while (true)
        {
            try
            {
                await grains.GetGrain<IClusterWriterGrain>(0).Status().ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && e is not RelevoException)
            {
                await Task.Delay(500).ConfigureAwait(false);
            }
        }
        try { return await action(grains).ConfigureAwait(false); }
        finally { await host.StopAsync().ConfigureAwait(false); }
    }
}
