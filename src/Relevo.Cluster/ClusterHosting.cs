using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Serialization;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>Where cluster membership lives. Today: Redis (<c>redis://host:port</c>, or a StackExchange.Redis
/// connection string after <c>redis:</c>), through Orleans' Redis clustering provider.</summary>
internal sealed record Membership(string RedisConnection)
{
    public static Membership Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new RelevoException("--cluster: empty membership (e.g. redis://localhost:6379)");
        if (text.StartsWith("redis://", StringComparison.OrdinalIgnoreCase))
        {
            string rest = text["redis://".Length..].TrimEnd('/');
            if (rest.Length == 0) throw new RelevoException($"--cluster '{text}': no host (e.g. redis://localhost:6379)");
            return new Membership(rest);
        }
        if (text.StartsWith("redis:", StringComparison.OrdinalIgnoreCase)) return new Membership(text["redis:".Length..]);
        throw new RelevoException($"--cluster '{text}': unknown membership; use redis://HOST:PORT (Orleans' Redis clustering)");
    }
}

/// <summary>How Relevo's silos and clients are configured: one cluster id, Redis membership, JSON for Relevo's
/// message records, fast failure detection (a silo killed with SIGKILL is declared dead within seconds), and short
/// response timeouts so a call to a dead silo fails fast and is retried on a survivor.</summary>
internal static class ClusterHosting
{
    public const string DefaultClusterId = "relevo";

    /// <summary>Failure detection and timeouts, shared by silos built here and by the test cluster.</summary>
    public static void ConfigureFailureDetection(IServiceCollection services)
    {
        services.Configure<ClusterMembershipOptions>(o =>
        {
            o.ProbeTimeout = TimeSpan.FromSeconds(1);
            o.NumMissedProbesLimit = 2;
            o.NumVotesForDeathDeclaration = 1;
            o.TableRefreshTimeout = TimeSpan.FromSeconds(2);
            o.IAmAliveTablePublishTimeout = TimeSpan.FromSeconds(5);
        });
        services.Configure<SiloMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
    }

    /// <summary>Relevo's shard messages go through Orleans' generated serializers (ShardSerialization.cs); the
    /// converters register themselves, so this only makes sure the serializer sees this assembly.</summary>
    public static void AddRelevoSerialization(IServiceCollection services) =>
        services.AddSerializer(b => b.AddAssembly(typeof(ShardHitsConverter).Assembly));

    /// <summary>Configures a silo that serves the sharded index in <paramref name="dataDirectory"/>.</summary>
    public static ISiloBuilder ConfigureSilo(ISiloBuilder silo, Membership membership, string dataDirectory, ExtensionRegistry registry,
        int siloPort, int gatewayPort, string clusterId = DefaultClusterId, IPAddress? advertise = null)
    {
        string data = Path.GetFullPath(dataDirectory);
        if (!ShardedManifest.Exists(data))
            throw new RelevoException($"{Path.Combine(data, ShardedManifest.FileName)}: --data must be a sharded index (create one with `relevo index --shards N`)");
        silo.UseRedisClustering(membership.RedisConnection);
        silo.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = clusterId; });
        silo.ConfigureEndpoints(advertise ?? IPAddress.Loopback, siloPort, gatewayPort, listenOnAnyHostAddress: advertise is null ? false : true);
        ConfigureServices(silo.Services, data, registry);
        return silo;
    }

    /// <summary>Services every Relevo silo needs (the test cluster calls this too).</summary>
    public static void ConfigureServices(IServiceCollection services, string dataDirectory, ExtensionRegistry registry)
    {
        services.Configure<RelevoSiloOptions>(o =>
        {
            o.DataDirectory = dataDirectory;
            o.Registry = registry;
        });
        AddRelevoSerialization(services);
        ConfigureFailureDetection(services);
        services.AddPlacementDirector<ShardPlacement, ShardPlacementDirector>();
    }

    /// <summary>Configures a client of the cluster (the gateway `relevo serve --cluster` runs).</summary>
    public static IClientBuilder ConfigureClient(IClientBuilder client, Membership membership, string clusterId = DefaultClusterId)
    {
        client.UseRedisClustering(membership.RedisConnection);
        client.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = clusterId; });
        client.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
        client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(1));
        AddRelevoSerialization(client.Services);
        return client;
    }

    /// <summary>A free TCP port on loopback (for `--port 0`).</summary>
    public static int FreePort()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        int port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}

/// <summary>A sharded index served by an Orleans cluster, as the HTTP server and the CLI see it: shard grains behind
/// <see cref="IShardService"/>, writes through the writer grain.</summary>
internal sealed class OrleansShards : IShardedConnection, IShardedWrites
{
    private readonly IGrainFactory _grains;
    private readonly IHost? _host;
    private readonly IClusterWriterGrain _writer;

    /// <param name="shardCount">From the cluster manifest (a client that can read the folder) or given.</param>
    public OrleansShards(IGrainFactory grains, int shardCount, string analyzer, string description, IHost? host = null)
    {
        _grains = grains;
        _host = host;
        Analyzer = analyzer;
        Description = description;
        var shards = new IShardService[shardCount];
        for (int i = 0; i < shards.Length; i++) shards[i] = new GrainShard(grains.GetGrain<IShardGrain>(i));
        Shards = shards;
        _writer = grains.GetGrain<IClusterWriterGrain>(0);
    }

    public string Description { get; }
    public string Analyzer { get; }
    public IReadOnlyList<IShardService> Shards { get; }
    public IShardedWrites Writes => this;

    /// <summary>The shards' folders are the silos' own.</summary>
    public IReadOnlyList<Manifest>? LocalCommits() => null;

    public DocumentWriter OpenWriter(WriterOptions options, Action? committed) =>
        throw new RelevoException($"{Description}: a cluster is written through its writer grain (the HTTP API of `relevo serve --cluster`), " +
                                  "or index into the sharded folder before starting the silos");

    public Task<long> AddAndCommitAsync(Document[] documents) => _writer.AddAndCommit(documents);
    public Task<(bool Deleted, long Version)> DeleteAndCommitAsync(string id) => _writer.DeleteAndCommit(id);

    /// <summary>The silo each shard is active on right now (activating it if needed).</summary>
    public async Task<string[]> ShardSilosAsync()
    {
        var silos = new string[Shards.Count];
        for (int i = 0; i < silos.Length; i++) silos[i] = await _grains.GetGrain<IShardGrain>(i).Silo();
        return silos;
    }

    /// <summary>Starts an Orleans client for the cluster and returns the sharded index it serves (shard count and
    /// analyzer as the cluster's writer grain reads them from the cluster manifest). Waits up to
    /// <paramref name="timeout"/> for the cluster to answer.</summary>
    public static async Task<OrleansShards> ConnectAsync(Membership membership, string clusterId = ClusterHosting.DefaultClusterId,
        TimeSpan? timeout = null)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(c => ClusterHosting.ConfigureClient(c, membership, clusterId));
        var host = builder.Build();
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        try
        {
            while (true)
            {
                try
                {
                    await host.StartAsync().ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (DateTime.UtcNow < deadline && e is not RelevoException)
                {
                    await Task.Delay(500).ConfigureAwait(false);
                }
            }
            var grains = host.Services.GetRequiredService<IClusterClient>();
            (int Shards, string Analyzer, long Version) info;
            while (true)
            {
                try
                {
                    info = await grains.GetGrain<IClusterWriterGrain>(0).Describe().ConfigureAwait(false);
                    break;
                }
                catch (Exception e) when (DateTime.UtcNow < deadline && e is not RelevoException)
                {
                    await Task.Delay(500).ConfigureAwait(false);
                }
            }
            return new OrleansShards(grains, info.Shards, info.Analyzer,
                $"{info.Shards} shards on cluster '{clusterId}' (membership redis {membership.RedisConnection})", host);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        if (_host is null) return;
        _host.StopAsync().GetAwaiter().GetResult();
        _host.Dispose();
    }
}

/// <summary>Relevo's sharded index served by an Orleans cluster (silos started with `relevo silo`; docs/cluster.md), as a
/// client sees it.</summary>
public static class RelevoCluster
{
    /// <summary>Connects to the cluster whose membership store is <paramref name="membership"/> (e.g.
    /// <c>redis://localhost:6379</c>) and returns its sharded index, searched and written through the shard and writer
    /// grains exactly as one index would rank. Waits up to <paramref name="timeout"/> (default 30 s) for it to answer.</summary>
    public static async Task<SearchIndex> ConnectAsync(string membership, SearchIndexOptions? options = null,
        string clusterId = "relevo", TimeSpan? timeout = null)
    {
        var parsed = Membership.Parse(membership);
        var wait = timeout ?? TimeSpan.FromSeconds(30);
        OrleansShards shards;
        try
        {
            shards = await OrleansShards.ConnectAsync(parsed, clusterId, wait).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RelevoException)
        {
            string reason = e.Message.Split('\n')[0].Trim();
            throw new RelevoException($"--cluster {membership}: no Relevo cluster '{clusterId}' answered within {wait.TotalSeconds:0} s ({e.GetType().Name}: {reason})", e);
        }
        var registry = ExtensionRegistry.Create((options ?? new SearchIndexOptions()).Extensions);
        return new SearchIndex(new ShardedIndexSource(shards), registry);
    }
}
