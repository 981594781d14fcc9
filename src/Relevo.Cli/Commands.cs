using Spectre.Console.Cli;

namespace Relevo.Cli;

/// <summary>Every `relevo` sub-command, one line each.</summary>
internal static class Commands
{
    public static void Register(IConfigurator config)
    {
    }
}
