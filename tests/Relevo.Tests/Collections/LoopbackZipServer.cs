using System.Net;
using System.Net.Sockets;

namespace Relevo.Tests.Collections;

/// <summary>A tiny HTTP server on 127.0.0.1 that serves fixed files by path and answers 404 for anything else, so
/// download tests never leave the machine.</summary>
internal sealed class LoopbackZipServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Dictionary<string, byte[]> _files;
    private readonly Task _loop;
    private int _requests;

    public LoopbackZipServer(Dictionary<string, byte[]> files)
    {
        _files = files;
        int port = FreePort();
        BaseAddress = new Uri($"http://127.0.0.1:{port}/datasets/");
        _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        _listener.Start();
        _loop = Task.Run(ServeAsync);
    }

    public Uri BaseAddress { get; }

    public int Requests => Volatile.Read(ref _requests);

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }
            Interlocked.Increment(ref _requests);
            using HttpListenerResponse response = context.Response;
            if (_files.TryGetValue(context.Request.Url!.AbsolutePath, out byte[]? body))
            {
                response.StatusCode = 200;
                response.ContentType = "application/zip";
                response.ContentLength64 = body.Length;
                await response.OutputStream.WriteAsync(body);
            }
            else
            {
                response.StatusCode = 404;
            }
        }
    }

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        _loop.Wait(TimeSpan.FromSeconds(5));
    }
}
