using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Relevo.IntegrationTests.Server;

/// <summary>One HTTP/1.1 connection written by hand, for requests HttpClient will not send: a Content-Length its bytes
/// never reach, a body that stalls, an endless chunked body. Every wait has a generous limit that only a real failure
/// reaches.</summary>
internal sealed class RawConnection : IAsyncDisposable
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly List<byte> _received = [];

    private RawConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public static async Task<RawConnection> OpenAsync(Uri server)
    {
        var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port);
        return new RawConnection(tcp);
    }

    public Task SendAsync(string text) => SendAsync(Encoding.UTF8.GetBytes(text));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends chunks of a chunked body until <paramref name="maxBytes"/> or until the server stops taking them
    /// (it answered and closed the connection); returns how many bytes it sent.</summary>
    public async Task<long> PumpChunksAsync(long maxBytes)
    {
        var chunk = Encoding.ASCII.GetBytes("4000\r\n" + new string('a', 0x4000) + "\r\n");
        long sent = 0;
        try
        {
            while (sent < maxBytes)
            {
                await _stream.WriteAsync(chunk);
                sent += 0x4000;
            }
        }
        catch (IOException) { }
        catch (ObjectDisposedException) { }
        return sent;
    }

    /// <summary>Reads until the text received so far contains <paramref name="marker"/>.</summary>
    public async Task ReadUntilAsync(string marker)
    {
        using var limit = new CancellationTokenSource(Patience);
        while (!Encoding.ASCII.GetString([.. _received]).Contains(marker, StringComparison.Ordinal))
            if (await ReadSomeAsync(limit.Token) == 0) throw new IOException($"the connection closed before '{marker}'");
    }

    /// <summary>Reads one whole response (after any "100 Continue"): its status, headers and the "error" of its JSON body.</summary>
    public async Task<Answer> ReadAnswerAsync()
    {
        using var limit = new CancellationTokenSource(Patience);
        while (true)
        {
            if (TryParse(out var answer)) return answer;
            if (await ReadSomeAsync(limit.Token) == 0)
                throw new IOException("the connection closed before a whole response: " + Encoding.UTF8.GetString([.. _received]));
        }
    }

    /// <summary>Whether the server closes the connection (end of stream or a reset) within the patience limit.</summary>
    public async Task<bool> ClosedByServerAsync()
    {
        using var limit = new CancellationTokenSource(Patience);
        try
        {
            while (await ReadSomeAsync(limit.Token) > 0) { }
            return true;
        }
        catch (IOException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task<int> ReadSomeAsync(CancellationToken cancellation)
    {
        var buffer = new byte[16 << 10];
        int n = await _stream.ReadAsync(buffer, cancellation);
        _received.AddRange(buffer.AsSpan(0, n));
        return n;
    }

    private bool TryParse(out Answer answer)
    {
        answer = null!;
        string text = Encoding.UTF8.GetString([.. _received]);
        while (text.StartsWith("HTTP/1.1 100 ", StringComparison.Ordinal))
        {
            int end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end < 0) return false;
            text = text[(end + 4)..];
        }
        int headEnd = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (headEnd < 0) return false;
        var lines = text[..headEnd].Split("\r\n");
        int status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }
        string rest = text[(headEnd + 4)..];
        string body;
        if (headers.TryGetValue("Content-Length", out var length))
        {
            int n = int.Parse(length, System.Globalization.CultureInfo.InvariantCulture);
            if (Encoding.UTF8.GetByteCount(rest) < n) return false;
            body = rest;
        }
        else
        {
            if (!rest.Contains("0\r\n\r\n", StringComparison.Ordinal)) return false; // the last chunk
            var sb = new StringBuilder();
            int at = 0;
            while (true)
            {
                int nl = rest.IndexOf("\r\n", at, StringComparison.Ordinal);
                int size = Convert.ToInt32(rest[at..nl], 16);
                if (size == 0) break;
                sb.Append(rest, nl + 2, size); // the error bodies are ASCII, so characters are bytes
                at = nl + 2 + size + 2;
            }
            body = sb.ToString();
        }
        using var json = JsonDocument.Parse(body);
        answer = new Answer(status, headers, json.RootElement.GetProperty("error").GetString()!);
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }

    /// <summary>A parsed response: the status, the headers and the JSON body's "error".</summary>
    public sealed record Answer(int Status, IReadOnlyDictionary<string, string> Headers, string Error);
}
