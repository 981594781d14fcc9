using System.ComponentModel;
using Relevo.Server;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>`relevo serve`: the index as a JSON API and a search page (src/Relevo.Server; docs/server.md).</summary>
internal sealed class ServeCommand : Command<ServeCommand.Settings>
{
    public sealed class Settings : ServingSettings
    {
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

        [CommandOption("--max-embed-docs <N>")][DefaultValue(256)]
        [Description("Most documents one write may add when the index holds vectors (each is embedded in the commit); beyond, 413.")]
        public int MaxEmbedDocs { get; init; } = 256;
        [CommandOption("--mcp")]
        [Description("Also serve the MCP tools (as `relevo mcp` does on stdio) over streamable HTTP at /mcp; with --api-key, /mcp needs the key.")]
        public bool Mcp { get; init; }

        public override ValidationResult Validate()
        {
            if (ServingProblem() is { } problem) return problem;
            if (MaxEmbedDocs < 1) return ValidationResult.Error($"--max-embed-docs must be at least 1, found {MaxEmbedDocs}");
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
        var options = settings.ServerOptions(llm) with
        {
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
