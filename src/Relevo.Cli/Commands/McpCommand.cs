using System.ComponentModel;
using Relevo.Server;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>`relevo mcp`: the index's tools for LLM agents over the Model Context Protocol on stdio (docs/server.md).</summary>
internal sealed class McpCommand : Command<McpCommand.Settings>
{
    public sealed class Settings : LlmCommandSettings
    {
        [CommandOption("--index <DIR>")]
        [Description("The index folder: an ordinary index, or a sharded one (cluster.json), whose shards are then searched in this process.")]
        public string IndexDir { get; init; } = "";
        [CommandOption("--cluster <MEMBERSHIP>")]
        [Description("Instead of --index: the sharded index of an Orleans cluster, found through its membership store (e.g. redis://localhost:6379).")]
        public string? Cluster { get; init; }
        [CommandOption("--cluster-id <ID>")][DefaultValue(Relevo.Cluster.ClusterHosting.DefaultClusterId)]
        [Description("With --cluster: the Orleans cluster id the silos were started with.")]
        public string ClusterId { get; init; } = Relevo.Cluster.ClusterHosting.DefaultClusterId;
        [CommandOption("--request-timeout <SECONDS>")][DefaultValue(10)]
        [Description("Time budget of one tool call, LLM calls included; beyond, the work stops and the call is an error.")]
        public int RequestTimeout { get; init; } = 10;
        [CommandOption("--pipelines <LIST>")]
        [Description("The only pipelines the agent may run, separated by ';' (the first is the default). Without it, any pipeline the index can run.")]
        public string? Pipelines { get; init; }
        [CommandOption("--models <DIR>")]
        [Description("A folder of model folders that pipelines may name besides arctic-xs and minilm; the agent can never name a path.")]
        public string? Models { get; init; }

        public override ValidationResult Validate()
        {
            if (RequestTimeout is < 1 or > 3600) return ValidationResult.Error($"--request-timeout must be between 1 and 3600 seconds, found {RequestTimeout}");
            if (Pipelines is { } p && p.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length == 0)
                return ValidationResult.Error("--pipelines: name at least one pipeline");
            if (Models is { } m && !Directory.Exists(m)) return ValidationResult.Error($"--models: {m} is not a folder");
            if (IndexDir.Length > 0 && Cluster is not null)
                return ValidationResult.Error("--index and --cluster are mutually exclusive: serve an index folder or a cluster");
            if (IndexDir.Length == 0 && Cluster is null) return ValidationResult.Error("--index (or --cluster) is required");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var llm = LlmOptions.Create(settings);
        // the agent is a client: it names models from the operator's catalog only, never a path of this machine
        var catalog = new Relevo.Dense.ModelCatalog(settings.Models, allowPaths: false);
        IReadOnlyList<IRelevoExtension> extensions = [new Relevo.Dense.DenseExtension(catalog), new Relevo.Llm.LlmExtension(llm)];
        var options = new ServerOptions
        {
            IndexDirectory = settings.IndexDir,
            Connect = settings.Cluster is { } membership
                ? () => ClusterConnector.Connect(membership, settings.ClusterId, 30, extensions)
                : null,
            Extensions = extensions,
            RequestTimeout = TimeSpan.FromSeconds(settings.RequestTimeout),
            AllowedPipelines = settings.Pipelines?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            LogRequests = false,
        };
        RelevoMcpServer.RunAsync(options, cancellation: cancellation).GetAwaiter().GetResult();
        return 0;
    }
}
