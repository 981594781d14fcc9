using Spectre.Console.Cli;

namespace Relevo.Cli;

/// <summary>Every `relevo` sub-command, one line each.</summary>
internal static class Commands
{
    public static void Register(IConfigurator config)
    {
        config.AddCommand<EvalCommand>("eval").WithDescription("Evaluate runs against qrels with trec_eval-exact measures, significance tests and reports");
    }
}
