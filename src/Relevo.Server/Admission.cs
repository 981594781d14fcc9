using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;

namespace Relevo.Server;

/// <summary>Admission: at most <see cref="ServerOptions.MaxConcurrentRequests"/> requests are served at once; more
/// wait, oldest first, in a queue of <see cref="ServerOptions.RequestQueueLimit"/> for at most
/// <see cref="ServerOptions.QueueTimeout"/>. A request beyond the queue gets 429 and one that waited too long 503,
/// both with Retry-After. Health checks are always admitted (a load balancer must reach them). Runs after the body is
/// read (<see cref="RequestBodies"/>), so a place is held only while the request is served.</summary>
internal sealed class Admission : IDisposable
{
    /// <summary>The Retry-After of a refused request, in seconds.</summary>
    public const int RetryAfterSeconds = 1;

    private readonly ServerOptions _options;
    private readonly ConcurrencyLimiter _places;

    public Admission(ServerOptions options)
    {
        _options = options;
        _places = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
        {
            PermitLimit = options.MaxConcurrentRequests,
            QueueLimit = options.RequestQueueLimit,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
        });
    }

    /// <summary>The middleware: serves the request once it holds a place.</summary>
    public async Task HandleAsync(HttpContext ctx, RequestDelegate next)
    {
        if (ctx.Request.Path.StartsWithSegments("/api/health"))
        {
            await next(ctx);
            return;
        }
        using var place = await WaitForPlaceAsync(ctx);
        await next(ctx);
    }

    private async ValueTask<RateLimitLease> WaitForPlaceAsync(HttpContext ctx)
    {
        var lease = _places.AttemptAcquire();
        if (lease.IsAcquired) return lease;
        lease.Dispose();
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(ctx.RequestAborted);
        wait.CancelAfter(_options.QueueTimeout);
        try
        {
            lease = await _places.AcquireAsync(1, wait.Token);
        }
        catch (OperationCanceledException) when (!ctx.RequestAborted.IsCancellationRequested)
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable,
                $"the server is busy: no place to serve the request within " +
                $"{_options.QueueTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s " +
                $"(limit {_options.MaxConcurrentRequests} at once); retry later")
            {
                RetryAfterSeconds = RetryAfterSeconds,
            };
        }
        if (lease.IsAcquired) return lease;
        lease.Dispose();
        throw new ApiException(StatusCodes.Status429TooManyRequests,
            $"too many concurrent requests (limit {_options.MaxConcurrentRequests}, queue {_options.RequestQueueLimit}); retry later")
        {
            RetryAfterSeconds = RetryAfterSeconds,
        };
    }

    public void Dispose() => _places.Dispose();
}
