using System.Diagnostics;

namespace Relevo.Testing;

/// <summary>Runs the real `relevo` CLI (relevo.dll beside the tests) as a child process.</summary>
internal static class CliRunner
{
    public static string RelevoDll => Path.Combine(AppContext.BaseDirectory, "relevo.dll");

    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    public static Process Start(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(RelevoDll);
        foreach (var a in args) psi.ArgumentList.Add(a);
        if (env is not null) foreach (var (k, v) in env) psi.Environment[k] = v;
        return Process.Start(psi) ?? throw new InvalidOperationException("could not start relevo");
    }

    /// <summary>Runs the CLI (up to five minutes) and writes the command, its exit code, time and output to the test's
    /// output.</summary>
    public static Result Logged(Xunit.Abstractions.ITestOutputHelper output, params string[] args)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = Run(args, timeoutMs: 300_000);
        output.WriteLine($"relevo {string.Join(' ', args)}: exit {r.ExitCode} in {clock.Elapsed.TotalSeconds:F1} s\n{r.Stdout}{r.Stderr}");
        return r;
    }

    public static Result Run(IEnumerable<string> args, IDictionary<string, string>? env = null, int timeoutMs = 120_000)
    {
        using var p = Start(args, env);
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeoutMs))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException("relevo " + string.Join(' ', args));
        }
        return new Result(p.ExitCode, stdout.Result, stderr.Result);
    }
}
