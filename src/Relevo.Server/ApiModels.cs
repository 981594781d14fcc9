using System.Text.Json.Serialization;

namespace Relevo.Server;

/// <summary>The body of POST /api/search (GET takes the same as query parameters).</summary>
internal sealed record SearchRequest(string? Q, int? K = null, string? Pipeline = null, bool? Explain = null, string? Syntax = null,
    string? Filter = null, string? Facets = null, string? Sort = null);

/// <summary>The answer to a search: the hits, the canonical pipeline, the analyzed query terms, the commit
/// generation searched and the time taken (milliseconds, server side).</summary>
internal sealed record SearchResponse(string Query, string Pipeline, int K, IReadOnlyList<string> Terms, long Generation,
    double TookMs, IReadOnlyList<SearchResultHit> Hits)
{
    /// <summary>Per field asked for (facets=a,b), its most frequent values among the matching documents.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, IReadOnlyList<FacetCount>>? Facets { get; init; }

    /// <summary>Facet fields whose counts may be too low (a shard of a sharded index had more than 10,000 distinct values
    /// among its matching documents and sent its most frequent); absent when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? FacetsApproximate { get; init; }

    /// <summary>Documents matching the query within the filter (when facets or a sort were asked for).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? Matching { get; init; }
}

/// <summary>One value of a facet and how many matching documents have it.</summary>
internal sealed record FacetCount(string Value, long Count);

/// <summary>One hit. Highlights are [start, length] ranges (UTF-16 offsets) of the title and snippet that match a
/// query term; stages holds each pipeline stage's score; explanation is there when asked for (explain=true).</summary>
internal sealed record SearchResultHit(int Rank, string Id, string Title, string Snippet, float Score,
    IReadOnlyDictionary<string, float> Stages, int[][] TitleHighlights, int[][] SnippetHighlights, Explanation? Explanation)
{
    /// <summary>The document's other keys (typed fields) as it was indexed with them; absent when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public System.Text.Json.JsonElement? Fields { get; init; }
}

internal sealed record DocumentResponse(string Id, string Title, string Text)
{
    /// <summary>The document's other keys (typed fields); absent when it has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public System.Text.Json.JsonElement? Fields { get; init; }
}

internal sealed record WriteResponse(int Written, long Generation);

internal sealed record DeleteResponse(string Id, bool Deleted, long Generation);

internal sealed record HealthResponse(string Status, long Generation, int Documents, bool Writable);

/// <summary>/api/stats. On a sharded index <see cref="Shards"/> is the number of shards (absent otherwise),
/// <see cref="Segments"/> is that number too, and <see cref="IndexSizeBytes"/> is 0 when the shards are on other machines.</summary>
internal sealed record StatsResponse(int Documents, int Segments, long IndexSizeBytes, long Generation, string Analyzer,
    long QueriesServed, LatencySummary Latency, double UptimeSeconds, bool Writable, IReadOnlyList<PipelineChoice> Pipelines,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Shards = null, bool Ask = false)
{
    /// <summary>The index's typed fields and their types (what filter=, facets= and sort= may name); absent when none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Fields { get; init; }
}

internal sealed record PipelinesResponse(string Default, IReadOnlyList<PipelineChoice> Pipelines, bool Ask = false);

/// <summary>The body of POST /api/ask: the question and how passages are found and chosen (see <see cref="AskOptions"/>).</summary>
internal sealed record AskRequest(string? Question, string? Pipeline = null, int? Depth = null, int? Passages = null,
    double? Threshold = null, int? Iterations = null);

/// <summary>The answer with its valid citations (passage ids), those the model made up (removed from the answer), the
/// rounds run, and the passages it read.</summary>
internal sealed record AskResponse(string Question, string Answer, IReadOnlyList<string> Citations, IReadOnlyList<string> InvalidCitations,
    int Iterations, IReadOnlyList<AskResponsePassage> Passages, double TookMs);

internal sealed record AskResponsePassage(string Id, double Relevance, string Title, string Text);

/// <summary>Every 4xx/5xx answer: a message a person can act on, and the status repeated.</summary>
internal sealed record ErrorResponse(string Error, int Status);
