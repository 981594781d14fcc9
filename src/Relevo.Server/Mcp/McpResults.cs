using System.Text.Json.Serialization;

namespace Relevo.Server.Mcp;

/// <summary>What the search tool returns: the query, the canonical pipeline run, the analyzed query terms and the hits.</summary>
internal sealed record McpSearchResult(string Query, string Pipeline, IReadOnlyList<string> Terms, IReadOnlyList<McpHit> Hits);

/// <summary>One ranked document. Title, snippet and stage scores are absent when fusing given runs.</summary>
internal sealed record McpHit(int Rank, string Id, float Score,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Title,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Snippet,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, float>? Stages);

/// <summary>A stored document.</summary>
internal sealed record McpDocument(string Id, string Title, string Text);

/// <summary>One hit of a ranked list given to the fuse tool: its id and, optionally, its score (rank order otherwise).</summary>
internal sealed record McpRankedHit(string Id, double? Score = null);

/// <summary>The fused ranking: what was fused (a pipeline text, or the method over given runs) and the hits.</summary>
internal sealed record McpFuseResult(string Fused, IReadOnlyList<McpHit> Hits);

/// <summary>An evaluation: the queries evaluated, each measure's aggregate, and (when asked) every query's values.</summary>
internal sealed record McpEvaluation(int Queries, IReadOnlyDictionary<string, double> Measures,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>>? PerQuery);

/// <summary>One document's place for a query: rank and score when found within the depth, and the score's terms.</summary>
internal sealed record McpExplanation(string Id, string Pipeline, int? Rank, float? Score, string Note,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] Explanation? Explanation);

/// <summary>A pipeline the server offers.</summary>
internal sealed record McpPipeline(string Pipeline, string Label);

/// <summary>The served index and what may be run on it.</summary>
internal sealed record McpIndexInfo(string Index, int Documents, long Generation, string Analyzer, bool Sharded,
    IReadOnlyList<McpPipeline> Pipelines, string PipelinePolicy, bool Ask)
{
    /// <summary>The typed fields a search's filter may name, with their types; absent when the index has none.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Fields { get; init; }
}
