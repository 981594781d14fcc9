using System.ComponentModel;
using Relevo.Server;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>`relevo serve`: the index as a JSON API and a search page (src/Relevo.Server; docs/server.md).</summary>
internal sealed class ServeCommand : Command<ServeCommand.Settings>
{
    public sealed class Settings : LlmCommandSettings
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
        [CommandOption("--max-body-mb <MB>")][DefaultValue(32)][Description("Largest body of a write (POST /api/documents); beyond, 413.")]
        public int MaxBodyMb { get; init; } = 32;
        [CommandOption("--max-search-body-kb <KB>")][DefaultValue(16)]
        [Description("Largest body of any other request (a POST /api/search body); beyond, 413.")]
        public int MaxSearchBodyKb { get; init; } = 16;
        [CommandOption("--body-timeout <SECONDS>")][DefaultValue(30)]
        [Description("Longest time to receive a request body; beyond, 408 and the connection is closed.")]
        public int BodyTimeout { get; init; } = 30;
        [CommandOption("--max-concurrent <N>")][DefaultValue(64)][Description("Requests served at once (more wait in the queue).")]
        public int MaxConcurrent { get; init; } = 64;
        [CommandOption("--max-queue <N>")][DefaultValue(256)][Description("Requests that wait for a place; beyond, 429 with Retry-After.")]
        public int MaxQueue { get; init; } = 256;
        [CommandOption("--queue-timeout <SECONDS>")][DefaultValue(10)]
        [Description("Longest wait in the queue; beyond, 503 with Retry-After.")]
        public int QueueTimeout { get; init; } = 10;

        [CommandOption("--request-timeout <SECONDS>")][DefaultValue(10)]
        [Description("Time budget of a search or an answer, LLM calls included; beyond, the work stops and the answer is 503.")]
        public int RequestTimeout { get; init; } = 10;
        [CommandOption("--pipelines <LIST>")]
        [Description("The only pipelines clients may run, separated by ';' (the first is the default), e.g. \"bm25;fuse(rrf,bm25,dense(model=arctic-xs))\". Others answer 403.")]
        public string? Pipelines { get; init; }
        [CommandOption("--models <DIR>")]
        [Description("A folder of model folders that pipelines may name (dense(model=NAME), rerank(cross(model=NAME))) besides arctic-xs and minilm; clients can never name a path.")]
        public string? Models { get; init; }
        [CommandOption("--max-embed-docs <N>")][DefaultValue(256)]
        [Description("Most documents one write may add when the index holds vectors (each is embedded in the commit); beyond, 413.")]
        public int MaxEmbedDocs { get; init; } = 256;
        [CommandOption("--mcp")]
        [Description("Also serve the MCP tools (as `relevo mcp` does on stdio) over streamable HTTP at /mcp; with --api-key, /mcp needs the key.")]
        public bool Mcp { get; init; }

        public override ValidationResult Validate()
        {
            if (RequestTimeout is < 1 or > 3600) return ValidationResult.Error($"--request-timeout must be between 1 and 3600 seconds, found {RequestTimeout}");
            if (MaxEmbedDocs < 1) return ValidationResult.Error($"--max-embed-docs must be at least 1, found {MaxEmbedDocs}");
            if (Pipelines is { } p && p.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length == 0)
                return ValidationResult.Error("--pipelines: name at least one pipeline");
            if (Models is { } m && !Directory.Exists(m)) return ValidationResult.Error($"--models: {m} is not a folder");
            if (IndexDir.Length > 0 && Cluster is not null)
                return ValidationResult.Error("--index and --cluster are mutually exclusive: serve an index folder or a cluster");
            if (Cluster is { } c && string.IsNullOrWhiteSpace(c)) return ValidationResult.Error("--cluster: the membership address is empty");
            if (IndexDir.Length == 0 && Cluster is null) return ValidationResult.Error("--index (or --cluster) is required");
            if (MaxBodyMb is < 1 or > 1024) return ValidationResult.Error($"--max-body-mb must be between 1 and 1024, found {MaxBodyMb}");
            if (MaxSearchBodyKb is < 1 or > 1024)
                return ValidationResult.Error($"--max-search-body-kb must be between 1 and 1024, found {MaxSearchBodyKb}");
            if (BodyTimeout is < 1 or > 3600) return ValidationResult.Error($"--body-timeout must be between 1 and 3600 seconds, found {BodyTimeout}");
            if (MaxConcurrent < 1) return ValidationResult.Error("--max-concurrent must be at least 1");
            if (MaxQueue < 0) return ValidationResult.Error($"--max-queue must be at least 0, found {MaxQueue}");
            if (QueueTimeout is < 1 or > 3600) return ValidationResult.Error($"--queue-timeout must be between 1 and 3600 seconds, found {QueueTimeout}");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        string? key = settings.ApiKey ?? (Environment.GetEnvironmentVariable("RELEVO_API_KEY") is { Length: > 0 } k ? k : null);
        using var llm = LlmOptions.Create(settings);
        // clients name models from the operator's catalog only (built-ins and --models), never a path of this machine
        var catalog = new Relevo.Dense.ModelCatalog(settings.Models, allowPaths: false);
        IReadOnlyList<IRelevoExtension> extensions = [new Relevo.Dense.DenseExtension(catalog), new Relevo.Llm.LlmExtension(llm)];
        var options = new ServerOptions
        {
            IndexDirectory = settings.IndexDir,
            Connect = settings.Cluster is { } membership
                ? () => ClusterConnector.Connect(membership, settings.ClusterId, settings.ConnectTimeout, extensions)
                : null,
            Extensions = extensions,
            RequestTimeout = TimeSpan.FromSeconds(settings.RequestTimeout),
            AllowedPipelines = settings.Pipelines?.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            MaxEmbeddedDocumentsPerWrite = settings.MaxEmbedDocs,
            Urls = settings.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            ApiKey = key,
            MaxBodyBytes = (long)settings.MaxBodyMb << 20,
            MaxSearchBodyBytes = (long)settings.MaxSearchBodyKb << 10,
            BodyTimeout = TimeSpan.FromSeconds(settings.BodyTimeout),
            MaxConcurrentRequests = settings.MaxConcurrent,
            RequestQueueLimit = settings.MaxQueue,
            QueueTimeout = TimeSpan.FromSeconds(settings.QueueTimeout),
            Mcp = settings.Mcp,
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
