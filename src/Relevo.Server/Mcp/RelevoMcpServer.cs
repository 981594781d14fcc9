using System.Diagnostics;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;
using Relevo.Server.Mcp;

namespace Relevo.Server;

/// <summary>`relevo mcp`: an index's search, documents, fusion, evaluation and explanations as Model Context Protocol
/// tools for LLM agents, over stdio (one client: the process that started it). The same tools are served over
/// streamable HTTP at /mcp by <see cref="RelevoServer"/> when <see cref="ServerOptions.Mcp"/> is set.</summary>
public static class RelevoMcpServer
{
    /// <summary>Opens the index the options name and serves MCP on <paramref name="input"/> and
    /// <paramref name="output"/> (standard input and output when null) until the client closes its end or
    /// <paramref name="cancellation"/> fires. Logs go to standard error.</summary>
    public static async Task RunAsync(ServerOptions options, Stream? input = null, Stream? output = null,
        CancellationToken cancellation = default)
    {
        options.Validate();
        if ((input is null) != (output is null)) throw new ArgumentException("give both streams or neither");
        var problems = new RelevoServer.ProblemLog();
        using var index = RelevoServer.Open(options, problems);
        var context = new ServerContext(options, index, new QueryStats(), Stopwatch.StartNew()) { Allowed = RelevoServer.Allowed(options, index) };

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ApplicationName = "relevo-mcp",
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        // stdout carries the protocol: every log line goes to stderr
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var mcp = builder.Services.AddMcpServer(o => Configure(o, context));
        if (input is null) mcp.WithStdioServerTransport();
        else mcp.WithStreamServerTransport(input, output!);
        AddTools(mcp, context);
        using var host = builder.Build();
        problems.Log = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Relevo.Mcp");
        await host.RunAsync(cancellation);
    }

    /// <summary>Names the server and tells an agent what it serves.</summary>
    internal static void Configure(McpServerOptions o, ServerContext context)
    {
        string version = typeof(RelevoMcpServer).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
        int plus = version.IndexOf('+', StringComparison.Ordinal);
        o.ServerInfo = new Implementation { Name = "relevo", Title = "Relevo", Version = plus < 0 ? version : version[..plus] };
        o.ServerInstructions =
            $"Relevo searches one index ({context.Index.Description}) with exact BM25 and the other pipelines index_info lists. " +
            "search returns ranked ids with snippets; get_document reads a whole document; fuse combines rankings; explain " +
            "breaks a BM25 score into its terms; evaluate scores a TREC run against judgments with trec_eval's measures" +
            (context.Index.CanAnswer ? "; ask answers a question with citations." : ".");
    }

    /// <summary>The tools: all but ask always, ask when the index can answer (an LLM endpoint was given).</summary>
    internal static void AddTools(IMcpServerBuilder mcp, ServerContext context)
    {
        mcp.WithTools(new McpTools(context));
        if (context.Index.CanAnswer) mcp.WithTools(new McpAskTool(context));
        mcp.WithRequestFilters(f => f.AddCallToolFilter(McpArguments.Filter));
    }
}
