using System.ComponentModel;
using Relevo.Server;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>What `relevo serve` and `relevo mcp` both take: the index (a folder or a cluster), the operator's limits on
/// what clients may run, and the LLM endpoint.</summary>
internal abstract class ServingSettings : LlmCommandSettings
{
    [CommandOption("--index <DIR>")]
    [Description("The index folder: an ordinary index, or a sharded one (cluster.json), whose shards are then served in this process.")]
    public string IndexDir { get; init; } = "";
    [CommandOption("--cluster <MEMBERSHIP>")]
    [Description("Instead of --index: serve the sharded index of an Orleans cluster, found through its membership store (e.g. redis://localhost:6379).")]
    public string? Cluster { get; init; }
    [CommandOption("--cluster-id <ID>")][DefaultValue(Relevo.Cluster.ClusterHosting.DefaultClusterId)]
    [Description("With --cluster: the Orleans cluster id the silos were started with.")]
    public string ClusterId { get; init; } = Relevo.Cluster.ClusterHosting.DefaultClusterId;
    [CommandOption("--silo-data <DIR>")]
    [Description("With --cluster: also run a silo in this process with DIR as its own folder (a node; it may hold copies of shards), so that searches reach the shards without a gateway hop. For clusters whose silos keep their own folders.")]
    public string? SiloData { get; init; }
    [CommandOption("--connect-timeout <SECONDS>")][DefaultValue(30)]
    [Description("With --cluster: how long to wait for the cluster to answer at start.")]
    public int ConnectTimeout { get; init; } = 30;
    [CommandOption("--request-timeout <SECONDS>")][DefaultValue(10)]
    [Description("Time budget of a search, an answer or a tool call, LLM calls included; beyond, the work stops and the client gets an error (HTTP 503).")]
    public int RequestTimeout { get; init; } = 10;
    [CommandOption("--pipelines <LIST>")]
    [Description("The only pipelines clients may run, separated by ';' (the first is the default), e.g. \"bm25;fuse(rrf,bm25,dense(model=arctic-xs))\". Others are refused (HTTP 403).")]
    public string? Pipelines { get; init; }
    [CommandOption("--models <DIR>")]
    [Description("A folder of model folders that pipelines may name (dense(model=NAME), rerank(cross(model=NAME))) besides arctic-xs and minilm; clients can never name a path.")]
    public string? Models { get; init; }

    /// <summary>The shared options' problem, or null.</summary>
    protected ValidationResult? ServingProblem()
    {
        if (RequestTimeout is < 1 or > 3600) return ValidationResult.Error($"--request-timeout must be between 1 and 3600 seconds, found {RequestTimeout}");
        if (Pipelines is { } p && p.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length == 0)
            return ValidationResult.Error("--pipelines: name at least one pipeline");
        if (Models is { } m && !Directory.Exists(m)) return ValidationResult.Error($"--models: {m} is not a folder");
        if (IndexDir.Length > 0 && Cluster is not null)
            return ValidationResult.Error("--index and --cluster are mutually exclusive: serve an index folder or a cluster");
        if (Cluster is { } c && string.IsNullOrWhiteSpace(c)) return ValidationResult.Error("--cluster: the membership address is empty");
        if (IndexDir.Length == 0 && Cluster is null) return ValidationResult.Error("--index (or --cluster) is required");
        if (SiloData is not null && Cluster is null) return ValidationResult.Error("--silo-data goes with --cluster");
        return null;
    }

    /// <summary>The server options these settings give, with the dense and LLM extensions: clients name models from the
    /// operator's catalog only (built-ins and --models), never a path of this machine.</summary>
    public ServerOptions ServerOptions(Relevo.Llm.LlmClient? llm)
    {
        var catalog = new Relevo.Dense.ModelCatalog(Models, allowPaths: false);
        IReadOnlyList<IRelevoExtension> extensions = [new Relevo.Dense.DenseExtension(catalog), new Relevo.Llm.LlmExtension(llm), new ServedModels(Models)];
        return new ServerOptions
        {
            IndexDirectory = IndexDir,
            Connect = Cluster is not { } membership ? null
                : SiloData is { } silo ? () => ClusterConnector.Join(membership, silo, ClusterId, ConnectTimeout, extensions)
                : () => ClusterConnector.Connect(membership, ClusterId, ConnectTimeout, extensions),
            Extensions = extensions,
            RequestTimeout = TimeSpan.FromSeconds(RequestTimeout),
            AllowedPipelines = Pipelines?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        };
    }
}
