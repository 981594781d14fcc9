using System.Runtime.CompilerServices;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;

namespace Relevo.Server;

/// <summary>The general pipeline language (src/Relevo/Pipelines): "bm25", "ql(mu=1000)", "bm25 >> rm3 >> bm25",
/// "fuse(rrf, bm25, ql)", ... One <see cref="SearchContext"/> (and so one set of searchers) per reader.</summary>
internal sealed class PipelineBackend : ISearchBackend
{
    private readonly ConditionalWeakTable<IndexReader, SearchContext> _contexts = new();

    /// <summary>BM25 always; dense and hybrid (RRF of BM25 and dense) for every model whose vectors every segment holds.</summary>
    public IReadOnlyList<PipelineChoice> Pipelines(IndexReader reader)
    {
        var choices = new List<PipelineChoice> { new("bm25", "BM25", "bm25") };
        var segments = reader.Manifest.Segments;
        if (segments.Count == 0) return choices;
        foreach (var model in segments[0].Vectors)
        {
            bool everywhere = true;
            foreach (var s in segments) everywhere &= s.HasVectors(model);
            if (!everywhere) continue;
            choices.Add(new($"dense-{model}", $"Dense ({model})", $"dense(model={model})"));
            choices.Add(new($"hybrid-{model}", $"Hybrid (BM25 + {model})", $"fuse(rrf,bm25,dense(model={model}))"));
        }
        return choices;
    }

    public BackendResult Search(IndexReader reader, string pipeline, string query, int k, bool explain)
    {
        var ctx = _contexts.GetValue(reader, r => new SearchContext(r));
        return Run(ctx, pipeline, query, k, explain);
    }

    /// <summary>Runs a pipeline in a search context (over one reader, or over a sharded index's backend).</summary>
    internal static BackendResult Run(SearchContext ctx, string pipeline, string query, int k, bool explain)
    {
        var parsed = Pipeline.Parse(pipeline);
        var state = parsed.Execute(query, k, ctx);
        var ranking = state.Ranking!;
        var hits = new BackendHit[ranking.Hits.Count];
        for (int i = 0; i < hits.Length; i++)
        {
            var h = ranking.Hits[i];
            var stages = new Dictionary<string, float>();
            foreach (var s in ranking.Stages)
                if (s.Scores.TryGetValue(h.DocId, out float v)) stages[s.Stage] = v;
            hits[i] = new BackendHit(h.DocId, h.Segment, h.Doc, h.Score, stages, explain ? parsed.Explain(state, h, ctx) : null);
        }
        var terms = state.Query.Terms ?? Query.Parse(query, ctx.Analyzer);
        var names = new string[terms.Terms.Count];
        for (int i = 0; i < names.Length; i++) names[i] = terms.Terms[i].Term;
        return new BackendResult(parsed.Text, names, hits);
    }
}
