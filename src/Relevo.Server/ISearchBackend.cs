using Relevo.Index;
using Relevo.Search;

namespace Relevo.Server;

/// <summary>The one place where the server turns (reader, pipeline text, query) into ranked hits:
/// <see cref="PipelineBackend"/> runs the pipeline language; dense/hybrid choices are offered from here.</summary>
internal interface ISearchBackend
{
    /// <summary>The pipelines a user can choose on this index (the page offers these), default first.</summary>
    IReadOnlyList<PipelineChoice> Pipelines(IndexReader reader);

    /// <summary>Runs a pipeline. Bad pipeline text or an empty query throw <see cref="RelevoException"/>.</summary>
    BackendResult Search(IndexReader reader, string pipeline, string query, int k, bool explain);
}

/// <summary>A choice offered on the page: an id ("bm25", "dense", "hybrid"), a label and the pipeline text it runs.</summary>
public sealed record PipelineChoice(string Id, string Label, string Pipeline);

/// <summary>What a backend returns: the canonical pipeline, the analyzed query terms (for highlighting) and the hits.</summary>
internal sealed record BackendResult(string Pipeline, IReadOnlyList<string> QueryTerms, IReadOnlyList<BackendHit> Hits);

/// <summary>One hit with its final score, each stage's score (e.g. {"bm25": 12.3}) and, on request, the explanation.</summary>
internal sealed record BackendHit(string Id, int Segment, int Doc, float Score,
    IReadOnlyDictionary<string, float> Stages, Explanation? Explanation);
