using Relevo.Server;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>`relevo mcp`: the index's tools for LLM agents over the Model Context Protocol on stdio (docs/server.md).</summary>
internal sealed class McpCommand : Command<McpCommand.Settings>
{
    public sealed class Settings : ServingSettings
    {
        public override ValidationResult Validate() => ServingProblem() ?? ValidationResult.Success();
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        using var llm = LlmOptions.Create(settings);
        // the agent is a client like any other: the operator's models and pipelines only
        var options = settings.ServerOptions(llm) with { LogRequests = false };
        RelevoMcpServer.RunAsync(options, cancellation: cancellation).GetAwaiter().GetResult();
        return 0;
    }
}
