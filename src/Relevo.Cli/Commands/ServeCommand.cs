using System.ComponentModel;
using Relevo.Server;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>`relevo serve`: the index as a JSON API and a search page (src/Relevo.Server; docs/server.md).</summary>
internal sealed class ServeCommand : Command<ServeCommand.Settings>
{
    public sealed class Settings : CommandSettings
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

        [CommandOption("--connect-timeout <SECONDS>")][DefaultValue(30)]
        [Description("With --cluster: how long to wait for the cluster to answer at start.")]
        public int ConnectTimeout { get; init; } = 30;
        [CommandOption("--urls <URLS>")][DefaultValue("http://127.0.0.1:5080")]
        [Description("Addresses to listen on, separated by ';'. Loopback unless told otherwise.")]
        public string Urls { get; init; } = "http://127.0.0.1:5080";
        [CommandOption("--api-key <KEY>")]
        [Description("Bearer token that writes need (or $RELEVO_API_KEY). Without one the server is read-only.")]
        public string? ApiKey { get; init; }
        [CommandOption("--max-body-mb <MB>")][DefaultValue(32)][Description("Largest request body.")] public int MaxBodyMb { get; init; } = 32;
        [CommandOption("--max-concurrent <N>")][DefaultValue(64)][Description("Requests served at once (a queue of 256 more wait; beyond, 429).")]
        public int MaxConcurrent { get; init; } = 64;

        public override ValidationResult Validate()
        {
            if (IndexDir.Length > 0 && Cluster is not null)
                return ValidationResult.Error("--index and --cluster are mutually exclusive: serve an index folder or a cluster");
            if (Cluster is { } c && string.IsNullOrWhiteSpace(c)) return ValidationResult.Error("--cluster: the membership address is empty");
            if (IndexDir.Length == 0 && Cluster is null) return ValidationResult.Error("--index (or --cluster) is required");
            if (MaxBodyMb < 1) return ValidationResult.Error("--max-body-mb must be at least 1");
            if (MaxConcurrent < 1) return ValidationResult.Error("--max-concurrent must be at least 1");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        string? key = settings.ApiKey ?? (Environment.GetEnvironmentVariable("RELEVO_API_KEY") is { Length: > 0 } k ? k : null);
        var options = new ServerOptions
        {
            IndexDirectory = settings.IndexDir,
            Connect = settings.Cluster is { } membership ? () => ClusterConnector.Connect(membership, settings.ClusterId, settings.ConnectTimeout) : null,
            Extensions = CliIndex.Extensions(),
            Urls = settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ApiKey = key,
            MaxBodyBytes = (long)settings.MaxBodyMb << 20,
            MaxConcurrentRequests = settings.MaxConcurrent,
        };
        return Run(options, cancellation).GetAwaiter().GetResult();
    }

    private static async Task<int> Run(ServerOptions options, CancellationToken cancellation)
    {
        await using var server = await RelevoServer.StartAsync(options, cancellation: cancellation);
        Console.Error.WriteLine($"relevo serve: {server.Serving} on {string.Join(", ", server.Addresses)} " +
                                $"({(options.ApiKey is null ? "read-only" : "writes need the API key")}); Ctrl+C stops");
        foreach (var address in server.Addresses)
            if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && !uri.IsLoopback)
                Console.Error.WriteLine($"relevo serve: warning: {address} is reachable from other machines; plain HTTP carries the API key in clear text");
        await server.WaitForShutdownAsync(cancellation);
        return 0;
    }
}
