using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Relevo.Server;

/// <summary>The search page: three files embedded in this assembly (Web/), served at / with no outside resources,
/// so it works offline. A strict Content-Security-Policy backs up the page's rule of rendering document text as text.</summary>
internal static class WebPage
{
    private const string Csp = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static void Map(IEndpointRouteBuilder app)
    {
        var html = Load("index.html");
        var js = Load("app.js");
        var css = Load("app.css");
        app.MapGet("/", (HttpContext ctx) => Serve(ctx, html, "text/html; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/index.html", (HttpContext ctx) => Serve(ctx, html, "text/html; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/app.js", (HttpContext ctx) => Serve(ctx, js, "text/javascript; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/app.css", (HttpContext ctx) => Serve(ctx, css, "text/css; charset=utf-8")).ExcludeFromDescription();
        app.MapGet("/favicon.ico", () => Results.NoContent()).ExcludeFromDescription();
    }

    private static Task Serve(HttpContext ctx, byte[] body, string contentType)
    {
        var h = ctx.Response.Headers;
        h.ContentSecurityPolicy = Csp;
        h.XContentTypeOptions = "nosniff";
        h.CacheControl = "no-cache";
        h["Referrer-Policy"] = "no-referrer";
        ctx.Response.ContentType = contentType;
        ctx.Response.ContentLength = body.Length;
        return ctx.Response.Body.WriteAsync(body).AsTask();
    }

    private static byte[] Load(string name)
    {
        using var stream = typeof(WebPage).Assembly.GetManifestResourceStream("web/" + name)
            ?? throw new InvalidOperationException($"embedded resource web/{name} is missing");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
