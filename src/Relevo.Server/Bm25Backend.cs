using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Server;

/// <summary>BM25 alone: "bm25" or "bm25(k1=..,b=..)". One searcher per (reader, parameters), made on first use and
/// dropped with the reader.</summary>
internal sealed class Bm25Backend : ISearchBackend
{
    private readonly ConditionalWeakTable<IndexReader, ConcurrentDictionary<Bm25Parameters, Bm25Searcher>> _searchers = new();

    public IReadOnlyList<PipelineChoice> Pipelines(IndexReader reader) => [new("bm25", "BM25", "bm25")];

    public BackendResult Search(IndexReader reader, string pipeline, string query, int k, bool explain)
    {
        var parameters = Bm25ParametersText.Parse(pipeline);
        var searcher = _searchers.GetOrCreateValue(reader).GetOrAdd(parameters, p => new Bm25Searcher(reader, p));
        var parsed = Query.Parse(query, searcher.Analyzer);
        var hits = searcher.Search(parsed, k);
        var result = new BackendHit[hits.Count];
        for (int i = 0; i < hits.Count; i++)
        {
            var h = hits[i];
            result[i] = new BackendHit(h.DocId, h.Segment, h.Doc, h.Score,
                new Dictionary<string, float> { ["bm25"] = h.Score },
                explain ? searcher.Explain(parsed, h) : null);
        }
        var terms = new string[parsed.Terms.Count];
        for (int i = 0; i < terms.Length; i++) terms[i] = parsed.Terms[i].Term;
        return new BackendResult(parameters.ToString(), terms, result);
    }
}
