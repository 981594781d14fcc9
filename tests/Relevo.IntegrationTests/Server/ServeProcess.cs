using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Relevo.IntegrationTests.Server;

/// <summary>A real `relevo serve` process, optionally under a descriptor limit (`ulimit -n`), with its address and its
/// stdout so far.</summary>
internal sealed partial class ServeProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout;

    private ServeProcess(Process process, string address, StringBuilder stdout)
    {
        _process = process;
        Address = address;
        _stdout = stdout;
    }

    public string Address { get; }
    public Process Process => _process;
    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }

    [GeneratedRegex(@"relevo serve: .* on (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();

    /// <summary>Starts `relevo serve ARGS --urls http://127.0.0.1:0` and waits until it listens.</summary>
    public static ServeProcess Start(IReadOnlyList<string> args, int? fileDescriptorLimit = null)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "relevo.dll");
        var command = new StringBuilder();
        if (fileDescriptorLimit is { } n) command.Append($"ulimit -n {n} && ");
        command.Append("exec dotnet ").Append(Quote(dll)).Append(" serve");
        foreach (var a in args) command.Append(' ').Append(Quote(a));
        command.Append(" --urls http://127.0.0.1:0");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("-c");
        psi.ArgumentList.Add(command.ToString());
        psi.Environment.Remove("RELEVO_API_KEY");
        var p = Process.Start(psi)!;
        var stdout = new StringBuilder();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (stdout)
            {
                stdout.AppendLine(e.Data);
                Monitor.PulseAll(stdout);
            }
        };
        p.BeginOutputReadLine();
        var stderr = new StringBuilder();
        while (true)
        {
            var read = p.StandardError.ReadLineAsync();
            if (!read.Wait(TimeSpan.FromSeconds(60)) || read.Result is null) break;
            stderr.AppendLine(read.Result);
            var m = Listening().Match(read.Result);
            if (m.Success)
            {
                _ = p.StandardError.ReadToEndAsync();
                return new ServeProcess(p, m.Groups[1].Value, stdout);
            }
        }
        if (!p.HasExited) p.Kill(entireProcessTree: true);
        throw new Xunit.Sdk.XunitException("relevo serve did not start: " + stderr);
    }

    /// <summary>Waits (without spinning) until the output so far satisfies <paramref name="done"/>, or the process
    /// exits, or the timeout passes; the caller asserts on the output afterwards.</summary>
    public void WaitForOutput(Func<string, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_stdout)
            while (!done(_stdout.ToString()) && !_process.HasExited && DateTime.UtcNow < deadline)
                Monitor.Wait(_stdout, TimeSpan.FromMilliseconds(250)); // pulsed by each line read
    }

    private static string Quote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>SIGKILL: no shutdown, no flush.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
