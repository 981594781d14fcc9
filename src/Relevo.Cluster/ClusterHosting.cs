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
    public static void AddRelevoSerialization(IServiceCollection services)
    {
        services.AddSerializer(b => b.AddAssembly(typeof(ShardHitsConverter).Assembly));
        // Relevo's own errors keep their type across processes (Orleans otherwise sends an unknown exception type as a
        // codec failure), so that a caller tells a bad request (not retried) from a failed copy (asked elsewhere)
        services.Configure<ExceptionSerializationOptions>(o => o.SupportedNamespacePrefixes.Add("Relevo"));
    }

    /// <summary>Configures a silo that serves the sharded index in <paramref name="dataDirectory"/>.</summary>
    public static ISiloBuilder ConfigureSilo(ISiloBuilder silo, Membership membership, string dataDirectory, ExtensionRegistry registry,
        int siloPort, int gatewayPort, string clusterId = DefaultClusterId, IPAddress? advertise = null)
    {
        string data = Path.GetFullPath(dataDirectory);
        // a sharded index every silo reads, or this silo's own folder (empty, or a node folder): a node of a cluster
        // whose silos keep their own copies of the shards
        string? node = ShardedManifest.Exists(data) && !NodeFolder.Exists(data) ? null : NodeFolder.OpenOrCreate(data);
        silo.UseRedisClustering(membership.RedisConnection);
        silo.Configure<ClusterOptions>(o => { o.ClusterId = clusterId; o.ServiceId = clusterId; });
        if (node is not null) silo.Configure<SiloOptions>(o => o.SiloName = node);
        silo.ConfigureEndpoints(advertise ?? IPAddress.Loopback, siloPort, gatewayPort, listenOnAnyHostAddress: advertise is null ? false : true);
        ConfigureServices(silo.Services, data, registry, node);
        return silo;
    }

    /// <summary>The node id of a silo's own folder, if <paramref name="dataDirectory"/> is one (or empty); null for a
    /// sharded folder every silo reads. For the "silo ready" line.</summary>
    public static string? NodeOf(string dataDirectory) =>
        NodeFolder.Exists(dataDirectory) ? NodeFolder.OpenOrCreate(dataDirectory) : null;

    /// <summary>Services every Relevo silo needs (the test cluster calls this too); <paramref name="node"/>: the node id
    /// when <paramref name="dataDirectory"/> is the silo's own folder.</summary>
    public static void ConfigureServices(IServiceCollection services, string dataDirectory, ExtensionRegistry registry, string? node = null)
    {
        services.Configure<RelevoSiloOptions>(o =>
        {
            o.DataDirectory = dataDirectory;
            o.Registry = registry;
            o.Node = node;
        });
        AddRelevoSerialization(services);
        ConfigureFailureDetection(services);
        services.AddPlacementDirector<ShardPlacement, ShardPlacementDirector>();
        services.AddPlacementDirector<NodePlacement, NodePlacementDirector>();
        if (node is not null)
        {
            services.AddSingleton(sp => new NodeState(dataDirectory, node, sp.GetRequiredService<ILogger<NodeState>>()));
            services.AddSingleton<NodeShards>();
            services.AddHostedService<NodeHeartbeat>();
        }
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
    private readonly ShardRoutes? _routes;

    /// <param name="routing">From the writer grain: the shard count, and on a cluster of node silos where each
    /// shard's copies are (null: the silos share one folder).</param>
    /// <param name="localNode">The node of the silo this process runs (a server joined as a silo): its copies are read
    /// first, in process.</param>
    /// <param name="local">The shard hosts of that silo, read without a message.</param>
    public OrleansShards(IGrainFactory grains, ClusterRouting routing, string description, IHost? host = null, string? localNode = null,
        NodeShards? local = null)
    {
        _grains = grains;
        _host = host;
        Analyzer = routing.Analyzer;
        Description = description;
        _writer = grains.GetGrain<IClusterWriterGrain>(0);
        if (routing.Copies is not null)
        {
            _routes = new ShardRoutes(_writer, routing);
            Shards = new ReplicatedShardSet(grains, _routes, routing.Shards, localNode, local);
        }
        else
        {
            var shards = new IShardService[routing.Shards];
            for (int i = 0; i < shards.Length; i++) shards[i] = new GrainShard(grains.GetGrain<IShardGrain>(i, ShardPlacement.Shared));
            Shards = shards;
        }
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

    /// <summary>The silo each shard is active on right now (activating it if needed); on a cluster of node silos, its
    /// primary's.</summary>
    public async Task<string[]> ShardSilosAsync()
    {
        var silos = new string[Shards.Count];
        for (int i = 0; i < silos.Length; i++)
            silos[i] = await _grains.GetGrain<IShardGrain>(i, _routes is null ? ShardPlacement.Shared : _routes.CopiesOf(i)[0]).Silo();
        return silos;
    }

    /// <summary>The writer's routing now (version and copies), for tests and `relevo cluster status`.</summary>
    public Task<ClusterRouting> RoutingAsync() => _writer.Routing();

    public Task<string> StatusAsync() => _writer.Status();

    internal IGrainFactory Grains => _grains;

    /// <summary>Starts an Orleans client for the cluster and returns the sharded index it serves (shard count and
    /// analyzer as the cluster's writer grain reads them from the cluster manifest). Waits up to
    /// <paramref name="timeout"/> for the cluster to answer.</summary>
    public static async Task<OrleansShards> ConnectAsync(Membership membership, string clusterId = ClusterHosting.DefaultClusterId,
        TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        var host = await StartClientAsync(membership, clusterId, deadline).ConfigureAwait(false);
        try
        {
            return await OpenAsync(host, clusterId, deadline, $"membership redis {membership.RedisConnection}").ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>Starts a silo in this process, with <paramref name="dataDirectory"/> as its own folder (a node: it may be
    /// given copies of shards like any other), and returns the cluster's sharded index as this silo sees it. Its calls
    /// go straight to the silos hosting the shards (and to its own copies in process), where a client's go through a
    /// gateway silo that forwards them: one hop less per call (docs/benchmarks.md, "Scale-out").</summary>
    public static async Task<OrleansShards> JoinAsync(Membership membership, string dataDirectory, ExtensionRegistry registry,
        string clusterId = ClusterHosting.DefaultClusterId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        var host = await StartSiloAsync(membership, dataDirectory, registry, clusterId).ConfigureAwait(false);
        try
        {
            return await OpenAsync(host, clusterId, deadline).ConfigureAwait(false);
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>A silo in this process with <paramref name="dataDirectory"/> as its own folder, started.</summary>
    public static async Task<IHost> StartSiloAsync(Membership membership, string dataDirectory, ExtensionRegistry registry, string clusterId)
    {
        string data = Path.GetFullPath(dataDirectory);
        if (ShardedManifest.Exists(data) && !NodeFolder.Exists(data))
            throw new RelevoException($"{data}: a sharded folder; a process that joins the cluster as a silo needs its own folder (empty at first)");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Relevo", LogLevel.Information);
        builder.UseOrleans(silo => ClusterHosting.ConfigureSilo(silo, membership, data, registry, ClusterHosting.FreePort(), ClusterHosting.FreePort(), clusterId));
        var host = builder.Build();
        try
        {
            await host.StartAsync().ConfigureAwait(false);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }

    /// <summary>The cluster's sharded index as <paramref name="host"/> (a client, or a silo in this process) sees it, once
    /// the writer answers (until <paramref name="deadline"/>; a cluster whose index is not created yet is waited for);
    /// disposing it stops the host. <paramref name="via"/> ends its description.</summary>
    public static async Task<OrleansShards> OpenAsync(IHost host, string clusterId, DateTime deadline, string via = "served from a silo in this process")
    {
        var grains = host.Services.GetRequiredService<IGrainFactory>();
        ClusterRouting info;
        while (true)
        {
            try
            {
                info = await grains.GetGrain<IClusterWriterGrain>(0).Routing().ConfigureAwait(false);
                break;
            }
            catch (Exception e) when (DateTime.UtcNow < deadline && (e is not RelevoException || e is ClusterNotCreatedException))
            {
                await Task.Delay(500).ConfigureAwait(false);
            }
        }
        return new OrleansShards(grains, info,
            $"{info.Shards} shards{(info.Copies is { } c ? $" × {c.Max(x => x.Length)} copies" : "")} on cluster '{clusterId}' ({via})", host,
            host.Services.GetService<NodeState>()?.Id, host.Services.GetService<NodeShards>());
    }

    /// <summary>An Orleans client of the cluster, started (retried until <paramref name="deadline"/>).</summary>
    public static async Task<IHost> StartClientAsync(Membership membership, string clusterId, DateTime deadline)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.UseOrleansClient(c => ClusterHosting.ConfigureClient(c, membership, clusterId));
        var host = builder.Build();
        try
        {
            while (true)
            {
                try
                {
                    await host.StartAsync().ConfigureAwait(false);
                    return host;
                }
                catch (Exception e) when (DateTime.UtcNow < deadline && e is not RelevoException)
                {
                    await Task.Delay(500).ConfigureAwait(false);
                }
            }
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

    /// <summary>Like <see cref="ConnectAsync"/>, but this process joins the cluster as a silo with its own folder
    /// <paramref name="dataDirectory"/> (a node, which may hold copies of shards), so that its searches reach the shards
    /// without a gateway hop. The cluster's silos must keep their own folders (`relevo cluster create`).</summary>
    public static async Task<SearchIndex> JoinAsync(string membership, string dataDirectory, SearchIndexOptions? options = null,
        string clusterId = "relevo", TimeSpan? timeout = null)
    {
        var parsed = Membership.Parse(membership);
        var wait = timeout ?? TimeSpan.FromSeconds(30);
        var registry = ExtensionRegistry.Create((options ?? new SearchIndexOptions()).Extensions);
        OrleansShards shards;
        try
        {
            shards = await OrleansShards.JoinAsync(parsed, dataDirectory, registry, clusterId, wait).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not RelevoException)
        {
            string reason = e.Message.Split('\n')[0].Trim();
            throw new RelevoException($"--cluster {membership}: could not join cluster '{clusterId}' within {wait.TotalSeconds:0} s ({e.GetType().Name}: {reason})", e);
        }
        return new SearchIndex(new ShardedIndexSource(shards), registry);
    }
}
