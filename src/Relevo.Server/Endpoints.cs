using System.Diagnostics;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Microsoft.AspNetCore.Routing;
using Relevo.Analysis;
using Relevo.Index;

namespace Relevo.Server;

/// <summary>The JSON API under /api.</summary>
internal static class Endpoints
{
    public static void Map(IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");

        api.MapGet("/search", async (ServerContext s, HttpContext ctx, string? q, int? k, string? pipeline, bool? explain, string? syntax,
                    string? filter, string? facets, string? sort) =>
                TypedResults.Ok(await Search(s, new SearchRequest(q, k, pipeline, explain, syntax, filter, facets, sort), ctx.RequestAborted)))
            .Produces<ErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<ErrorResponse>(StatusCodes.Status429TooManyRequests)
            .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable)
            .WithName("SearchGet")
            .WithSummary("Search the index: q (the query), k (hits, default 10), pipeline (default: the index's first), explain (each hit's score decomposed: terms, fusion shares, token relevance), syntax (plain, the default: a bag of words; lucene: the Lucene query syntax; auto: the syntax when q uses any, as the search page asks), " +
                         "filter (typed fields in the Lucene syntax, applied inside retrieval: year:[2015 TO 2020] AND lang:en), facets (typed fields to count over every matching document: lang,year), " +
                         "sort (field:asc or field:desc: the first k matching documents by a field instead of by score).");
        api.MapPost("/search", async (ServerContext s, HttpContext ctx, IOptions<JsonOptions> json) =>
                TypedResults.Ok(await Search(s, ParseBody<SearchRequest>(BufferedBody.Of(ctx), json.Value.SerializerOptions, "{\"q\", \"k\", \"pipeline\", \"explain\", \"syntax\", \"filter\", \"facets\", \"sort\"}"), ctx.RequestAborted)))
            .WithMetadata(new TakesBody(BodyKind.Search))
            .JsonBody<SearchRequest>("The query and its options as a JSON object.")
            .Produces<ErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<ErrorResponse>(StatusCodes.Status408RequestTimeout)
            .Produces<ErrorResponse>(StatusCodes.Status413PayloadTooLarge)
            .Produces<ErrorResponse>(StatusCodes.Status415UnsupportedMediaType)
            .Produces<ErrorResponse>(StatusCodes.Status429TooManyRequests)
            .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable)
            .WithName("SearchPost")
            .WithSummary("Search with a JSON body {q, k, pipeline, explain}.");

        api.MapGet("/documents/{id}", async Task<Results<Ok<DocumentResponse>, NotFound<ErrorResponse>>> (ServerContext s, string id) =>
            {
                id = DecodeId(id);
                var doc = await s.Index.GetDocumentAsync(id);
                return doc is null
                    ? TypedResults.NotFound(new ErrorResponse($"no document with _id '{id}'", 404))
                    : TypedResults.Ok(new DocumentResponse(doc.Id, doc.Title, doc.Text)
                    {
                        Fields = doc.Fields is { } f ? System.Text.Json.JsonDocument.Parse(f).RootElement.Clone() : null,
                    });
            })
            .WithName("GetDocument")
            .WithSummary("A stored document by its _id.");

        api.MapPost("/documents", async (ServerContext s, HttpContext ctx) =>
            {
                Authorize(s, ctx);
                var docs = DocumentParser.Parse(BufferedBody.Of(ctx).Span);
                if (docs.Count > s.Options.MaxEmbeddedDocumentsPerWrite && s.Index.EmbedsOnWrite)
                    throw new ApiException(413, $"request body: {docs.Count} documents; this index holds vectors, so a write embeds what it adds, " +
                                                $"at most {s.Options.MaxEmbeddedDocumentsPerWrite} documents per request: send them in smaller requests");
                long generation = await s.Index.AddAsync(docs, ctx.RequestAborted);
                return TypedResults.Ok(new WriteResponse(docs.Count, generation));
            })
            .AddOpenApiOperationTransformer(async (operation, context, cancellation) =>
            {
                // Described here rather than with .Accepts(), which would also refuse other content types: the body
                // is read as JSON or JSON lines whatever the Content-Type says (curl -d sends a form type).
                var schema = await context.GetOrCreateSchemaAsync(typeof(DocumentInput[]), null, cancellation);
                operation.RequestBody = new OpenApiRequestBody
                {
                    Required = true,
                    Description = "A JSON array of documents, or JSON lines (one document object per line).",
                    Content = new Dictionary<string, OpenApiMediaType>
                    {
                        ["application/json"] = new() { Schema = schema },
                        ["application/x-ndjson"] = new() { Schema = schema },
                    },
                };
            })
            .Produces<ErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<ErrorResponse>(StatusCodes.Status403Forbidden)
            .Produces<ErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<ErrorResponse>(StatusCodes.Status408RequestTimeout)
            .Produces<ErrorResponse>(StatusCodes.Status413PayloadTooLarge)
            .WithMetadata(new TakesBody(BodyKind.Documents))
            .WithName("AddDocuments")
            .WithSummary("Add or replace (by _id) documents: a JSON array or JSON lines of {_id, title, text}. Needs the API key. A 200 means committed: durable and visible to the next search.");

        api.MapDelete("/documents/{id}", async Task<Results<Ok<DeleteResponse>, NotFound<ErrorResponse>>> (ServerContext s, HttpContext ctx, string id) =>
            {
                Authorize(s, ctx);
                id = DecodeId(id);
                var (deleted, generation) = await s.Index.DeleteAsync(id, ctx.RequestAborted);
                if (!deleted)
                    return TypedResults.NotFound(new ErrorResponse($"no document with _id '{id}'", 404));
                return TypedResults.Ok(new DeleteResponse(id, true, generation));
            })
            .Produces<ErrorResponse>(StatusCodes.Status401Unauthorized)
            .Produces<ErrorResponse>(StatusCodes.Status403Forbidden)
            .WithName("DeleteDocument")
            .WithSummary("Delete a document by _id and commit. Needs the API key.");

        api.MapGet("/health", async (ServerContext s) =>
            {
                var status = await s.Index.StatusAsync(withSize: false);
                return TypedResults.Ok(new HealthResponse("ok", status.Generation, status.Documents, s.Writable));
            })
            .WithName("Health")
            .WithSummary("Liveness: the served commit generation and document count.");

        api.MapGet("/stats", async (ServerContext s) =>
            {
                var r = await s.Index.StatusAsync(withSize: true);
                return TypedResults.Ok(new StatsResponse(r.Documents, r.Segments, r.SizeBytes, r.Generation, r.Analyzer,
                    s.Stats.QueriesServed, s.Stats.Summary(), Math.Round(s.Uptime.Elapsed.TotalSeconds, 1), s.Writable,
                    s.Choices(), r.Shards, s.Index.CanAnswer) { Fields = await s.Index.TypedFieldsAsync() });
            })
            .WithName("Stats")
            .WithSummary("Documents, segments, index size, queries served and search latency percentiles (last 8,192 queries); " +
                         "on a sharded index also the number of shards (segments is then the number of shards, and the size 0 when they are remote).");

        api.MapGet("/pipelines", (ServerContext s) =>
            {
                var choices = s.Choices();
                return TypedResults.Ok(new PipelinesResponse(s.Allowed is null ? choices[0].Pipeline : s.DefaultPipeline, choices, s.Index.CanAnswer));
            })
            .WithName("Pipelines")
            .WithSummary("The pipelines this index offers (BM25; dense and hybrid when the index has vectors), default first.");

        api.MapPost("/ask", async (ServerContext s, HttpContext ctx, IOptions<JsonOptions> json) =>
                TypedResults.Ok(await Ask(s, ParseBody<AskRequest>(BufferedBody.Of(ctx), json.Value.SerializerOptions, "{\"question\", \"pipeline\", \"depth\", \"passages\", \"threshold\", \"iterations\"}"), ctx.RequestAborted)))
            .WithMetadata(new TakesBody(BodyKind.Search))
            .JsonBody<AskRequest>("The question and how passages are found and chosen, as a JSON object.")
            .Produces<AskResponse>()
            .Produces<ErrorResponse>(StatusCodes.Status400BadRequest)
            .Produces<ErrorResponse>(StatusCodes.Status403Forbidden)
            .Produces<ErrorResponse>(StatusCodes.Status413PayloadTooLarge)
            .Produces<ErrorResponse>(StatusCodes.Status415UnsupportedMediaType)
            .Produces<ErrorResponse>(StatusCodes.Status429TooManyRequests)
            .Produces<ErrorResponse>(StatusCodes.Status501NotImplemented)
            .Produces<ErrorResponse>(StatusCodes.Status503ServiceUnavailable)
            .WithName("Ask")
            .WithSummary("Answer a question from the index's passages with [id] citations: retrieve (pipeline, depth), keep the passages the LLM finds " +
                         "relevant enough (threshold 0-10, at most `passages`), answer (iterations rounds). Needs a server started with --llm.");

        api.MapFallback((HttpContext ctx) => TypedResults.NotFound(new ErrorResponse($"no such endpoint: {ctx.Request.Method} {ctx.Request.Path}", 404)))
            .ExcludeFromDescription();
    }

    internal static Task<SearchResponse> Search(ServerContext s, SearchRequest r, CancellationToken cancellation) =>
        Search(s, r, null, cancellation);

    /// <summary>A search; <paramref name="allowedPipeline"/>, when given, is the canonical pipeline to run in place of the
    /// request's, already checked against the operator's list by the caller (the MCP fuse tool checks each input).</summary>
    internal static async Task<SearchResponse> Search(ServerContext s, SearchRequest r, string? allowedPipeline, CancellationToken cancellation)
    {
        var o = s.Options;
        string q = r.Q ?? throw new ApiException(400, "q: the query is required");
        if (q.Length > o.MaxQueryChars)
            throw new ApiException(400, $"q: the query has {q.Length} characters; the limit is {o.MaxQueryChars}");
        if (string.IsNullOrWhiteSpace(q)) throw new ApiException(400, "q: empty query");
        int k = r.K ?? 10;
        if (k < 1 || k > o.MaxK) throw new ApiException(400, $"k: must be between 1 and {o.MaxK}, found {k}");
        if (r.Pipeline is { Length: > 1024 }) throw new ApiException(400, "pipeline: longer than 1024 characters");
        bool explain = r.Explain ?? false;
        var syntax = r.Syntax switch
        {
            null or "plain" => QuerySyntax.Plain, // what every client sent before the syntax existed means what it meant
            "lucene" => QuerySyntax.Lucene,
            "auto" => QuerySyntax.Auto,
            _ => throw new ApiException(400, $"syntax: '{r.Syntax}' is not one of plain, lucene, auto"),
        };
        string pipeline = allowedPipeline ?? s.Pipeline(r.Pipeline);
        if (r.Filter is { } filterText && filterText.Length > o.MaxQueryChars)
            throw new ApiException(400, $"filter: {filterText.Length} characters; the limit is {o.MaxQueryChars}");
        if (r.Sort is { Length: > 256 }) throw new ApiException(400, "sort: longer than 256 characters");
        string[]? facetFields = null;
        if (!string.IsNullOrWhiteSpace(r.Facets))
        {
            facetFields = r.Facets.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (facetFields.Length > MaxFacets) throw new ApiException(400, $"facets: at most {MaxFacets} fields, found {facetFields.Length}");
        }

        long start = Stopwatch.GetTimestamp();
        var result = await s.WithinBudget("search", cancellation,
            budget => s.Index.SearchAsync(q, pipeline, k, new SearchOptions
            {
                Documents = true, Explain = explain, Syntax = syntax, Filter = r.Filter, Facets = facetFields, Sort = r.Sort,
            }, budget));
        var highlighter = new Highlighter(Analyzer.Create(result.Analyzer), result.QueryTerms);
        var hits = new SearchResultHit[result.Hits.Count];
        for (int i = 0; i < hits.Length; i++)
        {
            var h = result.Hits[i];
            if (!float.IsFinite(h.Score)) throw NotFinite(result.Pipeline, h.Id, h.Score);
            var doc = result.Documents![i] ?? new Document(h.Id, "", ""); // deleted between the search and the fetch (sharded)
            var title = highlighter.Full(doc.Title);
            var snippet = highlighter.Snippet(doc.Text.Length > 0 ? doc.Text : doc.Title);
            var stages = new Dictionary<string, float>(result.Stages.Count);
            for (int st = 0; st < result.Stages.Count; st++)
            {
                float v = result.StageScores(st)[i];
                if (float.IsInfinity(v)) throw NotFinite(result.Stages[st], h.Id, v);
                if (!float.IsNaN(v)) stages[result.Stages[st]] = v; // NaN: the stage did not rank this document
            }
            var explanation = result.Explanations?[i];
            if (explanation is not null && !Finite(explanation)) throw NotFinite(result.Pipeline, h.Id, explanation.Score);
            hits[i] = new SearchResultHit(i + 1, h.Id, doc.Title, snippet.Text, h.Score, stages, title.Highlights, snippet.Highlights,
                explanation) { Fields = doc.Fields is { } f ? System.Text.Json.JsonDocument.Parse(f).RootElement.Clone() : null };
        }
        double ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        s.Stats.Record(ms);
        return new SearchResponse(q, result.Pipeline, k, result.QueryTerms, result.Generation, Math.Round(ms, 3), hits)
        {
            Facets = result.Facets?.ToDictionary(f => f.Key, f => (IReadOnlyList<FacetCount>)f.Value.Select(v => new FacetCount(v.Value, v.Count)).ToList()),
            FacetsApproximate = result.ApproximateFacets,
            Matching = result.Matching,
        };
    }

    /// <summary>Most fields one search may count facets of.</summary>
    internal const int MaxFacets = 20;

    /// <summary>Describes a JSON object body in the OpenAPI document. Described here rather than with .Accepts(), whose
    /// content-type matching would answer another type with 404; RequestBodies answers it with 415.</summary>
    private static RouteHandlerBuilder JsonBody<T>(this RouteHandlerBuilder endpoint, string description) =>
        endpoint.AddOpenApiOperationTransformer(async (operation, context, cancellation) =>
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellation);
            operation.RequestBody = new OpenApiRequestBody
            {
                Required = true,
                Description = description,
                Content = new Dictionary<string, OpenApiMediaType> { ["application/json"] = new() { Schema = schema } },
            };
        });

    /// <summary>Limits of an answer's work (each passage scored is an LLM call).</summary>
    internal const int MaxAskDepth = 100, MaxAskPassages = 20, MaxAskIterations = 3;

    internal static async Task<AskResponse> Ask(ServerContext s, AskRequest r, CancellationToken cancellation)
    {
        if (!s.Index.CanAnswer)
            throw new ApiException(501, "this server answers no questions: it was started without an LLM (relevo serve --llm URL --llm-model NAME)");
        string question = r.Question ?? throw new ApiException(400, "question: required");
        if (string.IsNullOrWhiteSpace(question)) throw new ApiException(400, "question: empty");
        if (question.Length > s.Options.MaxQueryChars)
            throw new ApiException(400, $"question: {question.Length} characters; the limit is {s.Options.MaxQueryChars}");
        int depth = r.Depth ?? 20, passages = r.Passages ?? 5, iterations = r.Iterations ?? 1;
        double threshold = r.Threshold ?? 5;
        if (depth is < 1 or > MaxAskDepth) throw new ApiException(400, $"depth: must be between 1 and {MaxAskDepth}, found {depth}");
        if (passages is < 1 or > MaxAskPassages) throw new ApiException(400, $"passages: must be between 1 and {MaxAskPassages}, found {passages}");
        if (iterations is < 1 or > MaxAskIterations) throw new ApiException(400, $"iterations: must be between 1 and {MaxAskIterations}, found {iterations}");
        if (!double.IsFinite(threshold) || threshold is < 0 or > 10) throw new ApiException(400, "threshold: must be a number from 0 to 10");
        if (r.Pipeline is { Length: > 1024 }) throw new ApiException(400, "pipeline: longer than 1024 characters");
        string pipeline = s.Pipeline(r.Pipeline);
        long start = Stopwatch.GetTimestamp();
        var answer = await s.WithinBudget("answer", cancellation,
            budget => s.Index.AskAsync(question, new AskOptions(pipeline, depth, passages, threshold, iterations), budget));
        var read = new AskResponsePassage[answer.Passages.Count];
        for (int i = 0; i < read.Length; i++)
        {
            var p = answer.Passages[i];
            read[i] = new AskResponsePassage(p.DocId, p.Relevance, p.Title, p.Text);
        }
        return new AskResponse(answer.Question, answer.Answer, answer.Citations, answer.InvalidCitations, answer.Iterations, read,
            Math.Round(Stopwatch.GetElapsedTime(start).TotalMilliseconds, 3));
    }

    /// <summary>A JSON object body of type T; errors name the shape expected.</summary>
    private static T ParseBody<T>(ReadOnlyMemory<byte> body, JsonSerializerOptions options, string shape) where T : class
    {
        T? request;
        try
        {
            request = JsonSerializer.Deserialize<T>(body.Span, options);
        }
        catch (JsonException e)
        {
            throw new ApiException(400, $"request body: cannot be read as JSON {shape}: {e.Message}");
        }
        return request ?? throw new ApiException(400, $"request body: expected a JSON object {shape}, found null");
    }

    /// <summary>A score JSON cannot carry (infinite, or NaN): large weights multiplied through nested fusions overflow
    /// float. The answer is a 400 about the pipeline, never a response the JSON writer fails on.</summary>
    private static ApiException NotFinite(string pipeline, string id, float score) =>
        new(400, $"pipeline: '{pipeline}' gives document '{id}' the score {score.ToString(System.Globalization.CultureInfo.InvariantCulture)}, " +
                 "which is not a finite number; use smaller weights");

    private static bool Finite(Explanation e)
    {
        if (!float.IsFinite(e.Score) || e.K1 is { } k1 && !float.IsFinite(k1) || e.B is { } b && !float.IsFinite(b)) return false;
        foreach (var t in e.Terms ?? [])
            if (!float.IsFinite(t.QueryWeight) || !float.IsFinite(t.Idf) || !float.IsFinite(t.AverageLength) || !float.IsFinite(t.Score))
                return false;
        foreach (var part in e.Parts ?? [])
            if (part.InputScore is { } v && !float.IsFinite(v) || part.Share is { } sh && !double.IsFinite(sh) || part.Explanation is { } x && !Finite(x))
                return false;
        if (e.Tokens is { } a)
        {
            if (!float.IsFinite(a.Cosine) || !double.IsFinite(a.ConservationError)) return false;
            foreach (var t in a.DocumentTokens) if (!float.IsFinite(t.Relevance)) return false;
            foreach (var t in a.QueryTokens) if (!float.IsFinite(t.Relevance)) return false;
        }
        return true;
    }

    /// <summary>Writes need `Authorization: Bearer KEY`: 401 without it or with a wrong one, 403 on a read-only server.</summary>
    internal static void Authorize(ServerContext s, HttpContext ctx)
    {
        if (s.Options.ApiKey is not { } key)
            throw new ApiException(403, "this server is read-only: start it with --api-key to allow writes");
        string header = ctx.Request.Headers.Authorization.ToString();
        const string scheme = "Bearer ";
        if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase))
            throw new ApiException(401, "writes need the API key: send the header `Authorization: Bearer <key>`");
        var given = Encoding.UTF8.GetBytes(header[scheme.Length..].Trim());
        var expected = Encoding.UTF8.GetBytes(key);
        if (!CryptographicOperations.FixedTimeEquals(given, expected))
            throw new ApiException(401, "wrong API key");
    }

    /// <summary>Kestrel decodes every escape in the path except %2F; an id with a slash arrives as "a%2Fb".</summary>
    private static string DecodeId(string id) => id.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);
}

/// <summary>One document in POST /api/documents (for the OpenAPI description).</summary>
internal sealed record DocumentInput([property: JsonPropertyName("_id")] string Id, string? Title, string? Text);
