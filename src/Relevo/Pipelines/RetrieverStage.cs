using Relevo.Index;
using Relevo.Search;
using Relevo.Search.Similarities;

namespace Relevo.Pipelines;

/// <summary>A first-stage retriever. It runs in two places: where the pipeline runs, it turns the current query into
/// a request (analysed terms, or an embedded vector); where the documents are (the local index, or each shard of a
/// sharded index), it finds the top k of one commit for that request, with the collection-wide statistics a sharded
/// search hands it. Retrievers come from Relevo's own assemblies.</summary>
public abstract class RetrieverStage : Stage
{
    /// <inheritdoc/>
    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var request = await PrepareRequestAsync(state.Query, context).ConfigureAwait(false);
        var pending = context.Target.RetrieveAsync(this, request, depth, context.Cancellation);
        var hits = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
        return state with { Ranking = Ranking.Retrieved(Text, hits, state.Ranking) };
    }

    /// <summary>The request for the current query (terms after feedback, a vector after vector feedback).</summary>
    internal abstract ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context);

    /// <summary>The top k of one commit into the spans (global document numbers of the reader and scores, best first;
    /// ties by smaller document number); returns how many. <paramref name="statistics"/>: collection-wide statistics
    /// (a shard of a sharded index) or null (the reader's own). Only documents above <paramref name="floor"/> are kept;
    /// <paramref name="shared"/> is a bound shared with the same query's other shards in this process.</summary>
    internal abstract int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared);

    /// <summary>The weighted terms of the current query: those feedback set, else the text's analysed terms.</summary>
    internal static Query TermsOf(PipelineQuery q, StageContext context) => q.Terms ?? Query.Parse(q.Text, context.Analyzer);
}

/// <summary>bm25(k1, b): Lucene's BM25 (Anserini's defaults k1 = 0.9, b = 0.4), pruned with MaxScore.</summary>
internal sealed class Bm25Stage(Bm25Parameters parameters) : RetrieverStage
{
    public Bm25Parameters Parameters { get; } = parameters;
    public override string Text => Parameters == new Bm25Parameters() ? "bm25" : $"bm25(k1={Num(Parameters.K1)},b={Num(Parameters.B)})";

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context) =>
        ValueTask.FromResult(new RetrievalRequest(TermsOf(query, context)));

    internal override int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared) =>
        Searcher(reader, statistics).SearchDocs(request.Terms!, k, docs, scores, null, floor, shared);

    /// <summary>The searcher of a commit for these parameters (shared per reader), or one over given statistics.</summary>
    internal Bm25Searcher Searcher(IndexReader reader, ICollectionStatistics? statistics) =>
        statistics is null
            ? reader.Component("search.bm25", _ => new SearcherCache<Bm25Parameters, Bm25Searcher>()).Get(Parameters, p => new Bm25Searcher(reader, p))
            : new Bm25Searcher(reader, Parameters, statistics);
}

/// <summary>ql(mu): query likelihood with Dirichlet smoothing (Anserini's QLD, mu = 1000), pruned with MaxScore.</summary>
internal sealed class QueryLikelihoodStage(float mu) : RetrieverStage
{
    public float Mu { get; } = mu;
    public override string Text => Mu == 1000f ? "ql" : $"ql(mu={Num(Mu)})";

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context) =>
        ValueTask.FromResult(new RetrievalRequest(TermsOf(query, context)));

    internal override int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared)
    {
        var searcher = statistics is null
            ? reader.Component("search.ql", _ => new SearcherCache<float, QueryLikelihoodSearcher>()).Get(Mu, mu => new QueryLikelihoodSearcher(reader, mu))
            : new QueryLikelihoodSearcher(reader, Mu, statistics);
        return searcher.SearchDocs(request.Terms!, k, docs, scores, null, floor, shared);
    }
}

/// <summary>Searchers of one reader by parameters, for reuse across queries; at most <see cref="Capacity"/> are kept
/// (parameters come from queries, so the set is not bounded): past it a searcher is made per query.</summary>
internal sealed class SearcherCache<TKey, TSearcher> where TKey : notnull where TSearcher : class
{
    public const int Capacity = 32;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TKey, TSearcher> _searchers = new();

    public TSearcher Get(TKey key, Func<TKey, TSearcher> create)
    {
        if (_searchers.TryGetValue(key, out var s)) return s;
        s = create(key);
        if (_searchers.Count < Capacity) _searchers.TryAdd(key, s);
        return s;
    }
}
