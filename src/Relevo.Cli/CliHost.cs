using Spectre.Console;

namespace Relevo.Cli;

/// <summary>Runs a command and turns user-facing errors into one clear line and exit code 1.</summary>
internal static class CliHost
{
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (RelevoException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        catch (Spectre.Console.Cli.CommandParseException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
        catch (Spectre.Console.Cli.CommandRuntimeException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 2;
        }
    }

    /// <summary>Crash-safety tests set RELEVO_TEST_KILL_AT to a commit stage; the process then kills itself there
    /// (SIGKILL, no clean-up), exactly as a power cut or OOM kill would.</summary>
    public static Action<string>? CommitStageHook()
    {
        string? at = Environment.GetEnvironmentVariable("RELEVO_TEST_KILL_AT");
        if (string.IsNullOrEmpty(at)) return null;
        return stage =>
        {
            if (stage == at) System.Diagnostics.Process.GetCurrentProcess().Kill();
        };
    }

    public static string[] NormalizeArguments(string[] args)
    {
        var result = new string[args.Length];
        for (int i = 0; i < args.Length; i++)
            result[i] = args[i] == "--k" ? "-k" : args[i].StartsWith("--k=", StringComparison.Ordinal) ? "-k=" + args[i][4..] : args[i];
        return result;
    }

    /// <summary>True when stdout is a terminal: progress bars then, plain log lines otherwise.</summary>
    public static bool Interactive => !Console.IsOutputRedirected && !Console.IsErrorRedirected && AnsiConsole.Profile.Capabilities.Interactive;
}
