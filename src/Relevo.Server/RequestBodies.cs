using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Relevo.Server;

/// <summary>Which body an endpoint takes (see <see cref="TakesBody"/>).</summary>
internal enum BodyKind
{
    /// <summary>POST /api/search: a JSON object of at most <see cref="ServerOptions.MaxSearchBodyBytes"/>.</summary>
    Search,

    /// <summary>POST /api/documents: up to <see cref="ServerOptions.MaxBodyBytes"/>, read only once the API key is checked.</summary>
    Documents,

    /// <summary>/mcp: a JSON-RPC message of at most <see cref="ServerOptions.MaxMcpBodyBytes"/>, read once the API key is
    /// checked (when the server has one).</summary>
    Mcp,
}

/// <summary>Endpoint metadata: the endpoint takes a body of this kind, which <see cref="RequestBodies"/> reads before
/// the endpoint runs. Endpoints without it take no body.</summary>
internal sealed record TakesBody(BodyKind Kind);

/// <summary>A request body read in full by <see cref="RequestBodies"/>, for the endpoint.</summary>
internal sealed class BufferedBody(ReadOnlyMemory<byte> bytes)
{
    public ReadOnlyMemory<byte> Bytes { get; } = bytes;

    /// <summary>The body of the current request; only endpoints marked with <see cref="TakesBody"/> have one.</summary>
    public static ReadOnlyMemory<byte> Of(HttpContext ctx) =>
        ctx.Features.Get<BufferedBody>()?.Bytes ?? throw new InvalidOperationException("the endpoint has no TakesBody metadata");
}

/// <summary>Request bodies, handled before a request waits for one of the concurrent places, so that neither a large
/// body nor a slow one holds a place or more memory than its limit: every request has a body limit (the endpoint's,
/// or <see cref="ServerOptions.MaxSearchBodyBytes"/> for endpoints that take none), a body declared larger is refused
/// at once, a body is read within <see cref="ServerOptions.BodyTimeout"/>, and only its first limit's worth of bytes
/// is ever kept.</summary>
internal static class RequestBodies
{
    /// <summary>The per-request cap Kestrel enforces: after an answer that left the body unread (a 413, a 401, ...),
    /// Kestrel reads up to this much of it and throws it away (for at most 5 s), so that a client whose body is a
    /// little too large finishes sending and reads a clean answer instead of a reset connection; a larger body closes
    /// the connection.</summary>
    internal static long DrainLimit(long limit) => limit * 4 + (1 << 20);

    /// <summary>The middleware: after routing, before admission.</summary>
    public static async Task HandleAsync(HttpContext ctx, RequestDelegate next, ServerContext s)
    {
        var kind = ctx.GetEndpoint()?.Metadata.GetMetadata<TakesBody>()?.Kind;
        var o = s.Options;
        // Until the request is known to be an authorized write, Kestrel stops any body at the small limit's drain size.
        SetKestrelLimit(ctx, DrainLimit(o.MaxSearchBodyBytes));
        if (kind == BodyKind.Mcp && o.ApiKey is not null) Endpoints.Authorize(s, ctx); // every /mcp request, before its body
        if (kind is null || (kind == BodyKind.Mcp && !HttpMethods.IsPost(ctx.Request.Method))) // MCP's GET and DELETE take none
        {
            RefuseDeclaredOver(ctx, o.MaxSearchBodyBytes); // a body nobody reads is never buffered, only bounded
            await next(ctx);
            return;
        }
        long limit;
        if (kind == BodyKind.Documents)
        {
            Endpoints.Authorize(s, ctx); // before reading: an anonymous client cannot make the server read a large body
            limit = o.MaxBodyBytes;
        }
        else
        {
            RequireJson(ctx);
            limit = kind == BodyKind.Mcp ? o.MaxMcpBodyBytes : o.MaxSearchBodyBytes;
        }
        SetKestrelLimit(ctx, DrainLimit(limit));
        RefuseDeclaredOver(ctx, limit);
        var (buffer, length) = await ReadAsync(ctx, limit, o.BodyTimeout);
        ctx.Features.Set(new BufferedBody(buffer.AsMemory(0, length)));
        ctx.Request.Body = new MemoryStream(buffer, 0, length, writable: false);
        await next(ctx);
    }

    /// <summary>415 unless the request says its body is JSON (application/json, or a type ending in +json).</summary>
    private static void RequireJson(HttpContext ctx)
    {
        if (ctx.Request.HasJsonContentType()) return;
        string given = string.IsNullOrEmpty(ctx.Request.ContentType) ? "none" : $"'{ctx.Request.ContentType}'";
        throw new ApiException(StatusCodes.Status415UnsupportedMediaType,
            $"Content-Type: {ctx.Request.Method} {ctx.Request.Path} takes a JSON body; send Content-Type: application/json (found {given})");
    }

    /// <summary>413 at once, before reading any of it, when the declared Content-Length is over the limit (and the
    /// connection closed when the body is too large even to throw away).</summary>
    private static void RefuseDeclaredOver(HttpContext ctx, long limit)
    {
        if (ctx.Request.ContentLength is { } declared && declared > limit)
            throw new ApiException(StatusCodes.Status413PayloadTooLarge, $"request body is {declared} bytes; the limit is {limit}")
            {
                CloseConnection = declared > DrainLimit(limit),
            };
    }

    private static void SetKestrelLimit(HttpContext ctx, long bytes)
    {
        if (ctx.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size) size.MaxRequestBodySize = bytes;
    }

    /// <summary>Reads the whole body within <paramref name="timeout"/>; 413 as soon as more than
    /// <paramref name="limit"/> bytes arrive (without a Content-Length), so no more than that is ever kept.</summary>
    private static async Task<(byte[] Buffer, int Length)> ReadAsync(HttpContext ctx, long limit, TimeSpan timeout)
    {
        long? declared = ctx.Request.ContentLength;
        using var kept = new MemoryStream((int)Math.Min(declared ?? 4096, limit));
        var reader = ctx.Request.BodyReader;
        long total = 0;
        bool timedOut = false;
        // The timeout stops the pending read (rather than cancelling it through a token, which would leave Kestrel's
        // body reader unusable for the connection's clean-up).
        using (var timer = new CancellationTokenSource(timeout))
        using (timer.Token.Register(static r => ((PipeReader)r!).CancelPendingRead(), reader))
        {
            try
            {
                while (true)
                {
                    var result = await reader.ReadAsync(ctx.RequestAborted);
                    foreach (var segment in result.Buffer)
                    {
                        total += segment.Length;
                        if (total > limit) break;
                        kept.Write(segment.Span);
                    }
                    reader.AdvanceTo(result.Buffer.End);
                    if (total > limit)
                        throw new ApiException(StatusCodes.Status413PayloadTooLarge, $"request body is larger than the limit of {limit} bytes");
                    if (result.IsCompleted) break;
                    if (result.IsCanceled)
                    {
                        timedOut = true;
                        break;
                    }
                }
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
            {
                throw new ApiException(413, $"request body is larger than the limit of {limit} bytes") { CloseConnection = true };
            }
            catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status408RequestTimeout)
            {
                // Kestrel's minimum data rate: the client sends too slowly to finish in any reasonable time.
                throw new ApiException(408, $"request body: arriving too slowly ({total} bytes in); {e.Message}") { CloseConnection = true };
            }
            catch (BadHttpRequestException e)
            {
                throw new ApiException(e.StatusCode, $"request body: {e.Message}") { CloseConnection = true };
            }
        }
        if (timedOut)
            throw new ApiException(StatusCodes.Status408RequestTimeout,
                $"request body: not received within {Seconds(timeout)} s ({total} bytes arrived); send it faster")
            {
                CloseConnection = true,
            };
        return (kept.GetBuffer(), (int)kept.Length);
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
}
