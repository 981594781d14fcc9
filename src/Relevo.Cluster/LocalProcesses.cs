using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Relevo.Cluster;

/// <summary>A throw-away redis-server on a free loopback port, without persistence: cluster membership for tests,
/// benchmarks and trying a cluster on one machine (docs/cluster.md). Needs `redis-server` on the PATH (Debian's
/// package redis-server).</summary>
internal sealed class RedisServerProcess : IDisposable
{
    /// <summary>An already running Redis to use instead of starting one (host:port), e.g. the one .ci/run starts.</summary>
    public const string ExistingVariable = "RELEVO_TEST_REDIS";

    private readonly Process? _process;
    public string Host { get; } = "127.0.0.1";
    public int Port { get; }
    public string Membership => $"redis://{Host}:{Port}";

    private RedisServerProcess(Process? p, string host, int port) { _process = p; Host = host; Port = port; }

    /// <summary>Starts a redis-server on a free loopback port, or uses the one <c>$RELEVO_TEST_REDIS</c> names
    /// (clusters on it must use distinct cluster ids, as the tests and benchmarks do).</summary>
    public static RedisServerProcess Start()
    {
        if (Environment.GetEnvironmentVariable(ExistingVariable) is { Length: > 0 } existing)
        {
            int colon = existing.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(existing[(colon + 1)..], out int p0))
                throw new RelevoException($"${ExistingVariable}: '{existing}' is not host:port");
            string host = existing[..colon];
            if (!Ping(host, p0)) throw new RelevoException($"${ExistingVariable}: no Redis answers PING at {existing}");
            return new RedisServerProcess(null, host, p0);
        }
        string exe = FindOnPath("redis-server")
            ?? throw new RelevoException("redis-server is not installed: a local cluster keeps Orleans membership in Redis " +
                                         "(apt-get install -y redis-server; .ci/run does this)");
        int port = ClusterHosting.FreePort();
        var psi = new ProcessStartInfo(exe) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "--port", port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no" }) psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new RelevoException("could not start redis-server");
        p.OutputDataReceived += (_, _) => { };
        p.ErrorDataReceived += (_, _) => { };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!Ping("127.0.0.1", port))
        {
            if (DateTime.UtcNow > deadline || p.HasExited)
            {
                try { p.Kill(); } catch (InvalidOperationException) { }
                throw new RelevoException($"redis-server did not answer PING on port {port}");
            }
            Thread.Sleep(100);
        }
        return new RedisServerProcess(p, "127.0.0.1", port);
    }

    private static bool Ping(string host, int port)
    {
        try
        {
            using var c = new TcpClient(host, port);
            var s = c.GetStream();
            s.Write("PING\r\n"u8);
            var buf = new byte[16];
            int n = s.Read(buf);
            return Encoding.ASCII.GetString(buf, 0, n).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (SocketException)
        {
            return false;
        }
        catch (IOException)
        {
            return false;
        }
    }

    internal static string? FindOnPath(string name)
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
        {
            if (dir.Length == 0) continue;
            string candidate = Path.Combine(dir, name);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public void Dispose()
    {
        if (_process is null) return;
        try { if (!_process.HasExited) _process.Kill(); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}

/// <summary>A `relevo silo` child process (the CLI's relevo.dll run with `dotnet`).</summary>
internal sealed class SiloProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _log;

    public int SiloPort { get; }
    public int ProcessId => _process.Id;

    private SiloProcess(Process p, int port, StringBuilder log) { _process = p; SiloPort = port; _log = log; }

    /// <summary>Whether a grain's silo identity (e.g. S127.0.0.1:34567:123456) is this process.</summary>
    public bool Hosts(string siloIdentity) => siloIdentity.Contains($":{SiloPort}:", StringComparison.Ordinal);

    /// <summary>The node id the silo printed (a silo with its own folder), or null.</summary>
    public string? Node
    {
        get
        {
            var m = System.Text.RegularExpressions.Regex.Match(Log, @"^silo ready: .*, node (n[0-9a-f]+),", System.Text.RegularExpressions.RegexOptions.Multiline);
            return m.Success ? m.Groups[1].Value : null;
        }
    }

    /// <summary>What the silo printed so far.</summary>
    public string Log { get { lock (_log) return _log.ToString(); } }

    /// <summary>Starts a silo and waits for its "silo ready" line.</summary>
    public static SiloProcess Start(string relevoDll, string membership, string data, string clusterId, TimeSpan? timeout = null)
    {
        int port = ClusterHosting.FreePort();
        var psi = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { relevoDll, "silo", "--cluster", membership, "--data", data, "--cluster-id", clusterId, "--port", port.ToString() })
            psi.ArgumentList.Add(a);
        var p = Process.Start(psi) ?? throw new RelevoException("could not start relevo silo");
        var ready = new TaskCompletionSource();
        var log = new StringBuilder();
        p.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null) return;
            lock (log) log.AppendLine(e.Data);
            if (e.Data.StartsWith("silo ready", StringComparison.Ordinal)) ready.TrySetResult();
        };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (log) log.AppendLine(e.Data); };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!ready.Task.Wait(timeout ?? TimeSpan.FromSeconds(90)))
        {
            try { p.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            lock (log) throw new RelevoException("relevo silo did not start:\n" + log);
        }
        return new SiloProcess(p, port, log);
    }

    /// <summary>SIGKILL: the silo leaves without telling the cluster.</summary>
    public void Kill() => _process.Kill();

    public void Dispose()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
        _process.Dispose();
    }
}
