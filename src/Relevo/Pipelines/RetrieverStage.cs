using Relevo.Index;
using Relevo.Index.Impacts;
using Relevo.Search;
using Relevo.Search.Filters;
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
        if (state.Query.Filter is { } filter) request = request with { Filter = filter };
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

    /// <summary>This retriever's exact scores for given documents of one commit (<paramref name="segment"/>[i],
    /// <paramref name="doc"/>[i]): the score a search would give each, whether or not it would reach the top k (feature
    /// extraction for learning to rank). Retrievers that cannot say refuse.</summary>
    /// <param name="statistics">Collection-wide statistics (a shard of a sharded index) or null (the reader's own).</param>
    internal virtual void ScoreDocs(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, ReadOnlySpan<int> segment,
        ReadOnlySpan<int> doc, Span<float> scores) =>
        throw new RelevoException($"{Text} cannot score given documents, so it cannot be a feature (bm25, ql and dense can)");

    /// <summary>Each query term's share of one document's score where the document lives (term retrievers); null for
    /// retrievers that explain otherwise.</summary>
    internal virtual Explanation? Explain(IndexReader reader, Query query, Hit hit, ICollectionStatistics? statistics) => null;

    /// <summary>Whether <see cref="Explain(IndexReader, Query, Hit, ICollectionStatistics?)"/> explains this retriever.</summary>
    internal virtual bool ExplainsTerms => false;

    /// <summary>Term retrievers explain per term where each hit's document lives (a local index or its shard), with the
    /// query this stage searched with, naming the terms feedback added; other retrievers override.</summary>
    internal override async ValueTask<Explanation?[]> ExplainAsync(StageRun run, IReadOnlyList<Hit> hits, StageContext context)
    {
        if (!ExplainsTerms) return new Explanation?[hits.Count];
        var query = run.Input.Query;
        var terms = TermsOf(query, context);
        var result = await context.Target.ExplainAsync(this, terms, hits, context.Cancellation).ConfigureAwait(false);
        List<WeightedTerm>? feedback = null;
        if (query.Terms is not null)
        {
            var original = new HashSet<string>(Query.Parse(query.Text, context.Analyzer).Terms.Select(t => t.Term), StringComparer.Ordinal);
            feedback = [.. terms.Terms.Where(t => !original.Contains(t.Term)).Select(t => new WeightedTerm(t.Term, t.Weight))];
        }
        for (int i = 0; i < result.Length; i++)
            if (result[i] is { } e) result[i] = e with { DocId = hits[i].Id, Stage = Text, FeedbackTerms = feedback };
        return result;
    }

    /// <summary>The keys of the collection-wide statistics a sharded search gathers before the shards search
    /// <paramref name="query"/> (<see cref="FieldStatisticsKeys"/>): by default the query's terms in the concatenated field.</summary>
    internal virtual string[] StatisticsKeys(Query query, Analysis.Analyzer analyzer) => query.ToArrays().Terms;

    /// <summary>A query in the Lucene syntax as a shard receives it (its canonical text), read as the pipeline read it.</summary>
    internal static Query ReadStructured(string text, IndexReader reader) =>
        Relevo.Search.Structured.StructuredQuery.TermsOf(PipelineQuery.Read(text, QuerySyntax.Lucene, reader.AnalyzerInstance, reader.Schema).Structured!,
            reader.AnalyzerInstance, reader.Schema);

    /// <summary>The weighted terms of the current query: those feedback set, else the text's analysed terms.</summary>
    internal static Query TermsOf(PipelineQuery q, StageContext context) =>
        q.Terms ?? (q.Structured is { } node ? Relevo.Search.Structured.StructuredQuery.TermsOf(node, context.Analyzer, context.QuerySchema)
            : Query.Parse(q.Text, context.Analyzer));
}

/// <summary>bm25(k1, b, impacts): Lucene's BM25 (Anserini's defaults k1 = 0.9, b = 0.4), pruned with MaxScore. Over an
/// index with current quantized BM25 impacts for these k1 and b (`relevo index --impacts bm25`) it scores by the
/// impacts, unless impacts=false asks for the exact scores.</summary>
internal sealed class Bm25Stage(Bm25Parameters parameters, bool useImpacts = true, IReadOnlyList<FieldBoost>? fields = null) : RetrieverStage
{
    public Bm25Parameters Parameters { get; } = parameters;
    public bool UseImpacts { get; } = useImpacts;
    /// <summary>Multi-field BM25 over these text fields (their own postings, `relevo index --fields`); null: the one
    /// concatenated field, as always.</summary>
    public IReadOnlyList<FieldBoost>? Fields { get; } = fields is { Count: > 0 } ? fields : null;
    public override string Text
    {
        get
        {
            var args = new List<string>();
            if (Parameters != new Bm25Parameters()) { args.Add($"k1={Num(Parameters.K1)}"); args.Add($"b={Num(Parameters.B)}"); }
            if (!UseImpacts) args.Add("impacts=false");
            if (Fields is { } f) args.Add($"fields=[{string.Join(',', f)}]");
            return args.Count == 0 ? "bm25" : $"bm25({string.Join(',', args)})";
        }
    }

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context) =>
        ValueTask.FromResult(new RetrievalRequest(TermsOf(query, context)));

    internal override int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared)
    {
        var filter = DocFilter.For(reader, request.Filter);
        return request.Terms?.Structured is { } node ? Structured(reader, node, statistics).Search(k, docs, scores, floor, shared, filter)
            : Fields is not null ? MultiField(reader, statistics).SearchDocs(request.Terms!, k, docs, scores, null, floor, shared, filter)
            : ImpactSearcher(reader, statistics) is { } impacts
                ? impacts.SearchDocs(request.Terms!, k, docs, scores, null, floor, shared, filter)
                : Searcher(reader, statistics).SearchDocs(request.Terms!, k, docs, scores, null, floor, shared, filter);
    }

    /// <summary>Exact BM25 (not impacts) for the documents.</summary>
    internal override void ScoreDocs(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, ReadOnlySpan<int> segment,
        ReadOnlySpan<int> doc, Span<float> scores)
    {
        if (request.Terms?.Structured is { } node) Structured(reader, node, statistics).ScoreDocs(segment, doc, scores);
        else if (Fields is not null) MultiField(reader, statistics).ScoreDocs(request.Terms!, segment, doc, scores);
        else Searcher(reader, statistics).ScoreDocs(request.Terms!, segment, doc, scores);
    }

    /// <summary>A query in the Lucene syntax compiled against a commit (exhaustive matching). A shard would need the
    /// collection-wide statistics of every field and term the tree names, which are not gathered yet: refused.</summary>
    internal Relevo.Search.Structured.StructuredQuery Structured(IndexReader reader, Relevo.Search.Syntax.QueryNode node, ICollectionStatistics? statistics) =>
        new(reader, node, Parameters, Fields, StatisticsOf(statistics));

    /// <summary>Each field's statistics for a shard's search: the collection-wide ones the coordinator gathered.</summary>
    private static Func<string, ICollectionStatistics>? StatisticsOf(ICollectionStatistics? statistics) => statistics switch
    {
        null => null,
        GlobalStatistics global => global.ForField,
        _ => throw new RelevoException("per-field statistics are needed here and were not gathered"),
    };

    /// <summary>Every (field, term) this stage scores for the query, with each field's totals, as statistics keys.</summary>
    internal override string[] StatisticsKeys(Query query, Analysis.Analyzer analyzer)
    {
        var pairs = query.Structured is { } node
            ? Relevo.Search.Structured.StructuredQuery.FieldTerms(node, analyzer, Fields)
            : Fields is { } fields ? fields.SelectMany(f => query.Terms.Select(t => (f.Field, t.Term))) : null;
        if (pairs is null) return base.StatisticsKeys(query, analyzer);
        var keys = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (field, term) in pairs)
        {
            if (seen.Add(FieldStatisticsKeys.Term(field, term))) keys.Add(FieldStatisticsKeys.Term(field, term));
            if (field != FieldStatisticsKeys.Contents && seen.Add(FieldStatisticsKeys.Totals(field))) keys.Add(FieldStatisticsKeys.Totals(field));
        }
        return [.. keys];
    }

    /// <summary>The searcher of a commit for these parameters (shared per reader), or one over given statistics.</summary>
    internal Bm25Searcher Searcher(IndexReader reader, ICollectionStatistics? statistics) =>
        statistics is null
            ? reader.Component("search.bm25", _ => new SearcherCache<Bm25Parameters, Bm25Searcher>()).Get(Parameters, p => new Bm25Searcher(reader, p))
            : new Bm25Searcher(reader, Parameters, statistics);

    /// <summary>The multi-field searcher of a commit for these parameters and fields (shared per reader). A shard of a
    /// sharded index would need every field's collection-wide statistics, which are not gathered yet: refused.</summary>
    internal MultiFieldBm25Searcher MultiField(IndexReader reader, ICollectionStatistics? statistics)
    {
        if (statistics is not null) return new MultiFieldBm25Searcher(reader, Fields!, Parameters, StatisticsOf(statistics));
        return reader.Component("search.bm25f", _ => new SearcherCache<string, MultiFieldBm25Searcher>())
            .Get(Text, _ => new MultiFieldBm25Searcher(reader, Fields!, Parameters));
    }

    /// <summary>The impact searcher when this stage scores by impacts here: asked to, and every segment holds BM25
    /// impacts computed for these parameters and these statistics; else null (exact BM25).</summary>
    internal ImpactSearcher? ImpactSearcher(IndexReader reader, ICollectionStatistics? statistics)
    {
        string key = ImpactSettings.KeyOf(ImpactModel.Bm25);
        if (!UseImpacts || !ImpactView.Has(reader, key)) return null;
        var searcher = Relevo.Search.ImpactSearcher.For(reader, key, statistics);
        return searcher.Settings.IsCurrent(Parameters.K1, Parameters.B, statistics ?? reader.Statistics) ? searcher : null;
    }

    /// <summary>Each term's share of a hit's score, as this stage scored it (BM25 terms, or their impacts, or each
    /// field's terms), over the commit's own statistics or, for a shard, the collection-wide ones it searched with.</summary>
    internal override bool ExplainsTerms => true;

    internal override Explanation Explain(IndexReader reader, Query query, Hit hit, ICollectionStatistics? statistics) =>
        query.Structured is { } node ? Structured(reader, node, statistics).Explain(hit)
        : Fields is not null ? MultiField(reader, statistics).Explain(query, hit)
        : ImpactSearcher(reader, statistics) is { } impacts ? impacts.Explain(query, hit) : Searcher(reader, statistics).Explain(query, hit);
}

/// <summary>impact: scores by an index's stored quantized impacts — the pre-encoded weights of a learned sparse corpus
/// (`relevo index --vectors`), or else its BM25 impacts (`relevo index --impacts bm25`) — pruned with MaxScore. Over
/// a pre-encoded index (whitespace analyzer) the query is pre-encoded too: "term term^1.5 ..." (see
/// <see cref="Query.ParseWeighted"/>); otherwise it is analysed as for bm25.</summary>
internal class ImpactStage : RetrieverStage
{
    public override string Text => "impact";

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context) =>
        ValueTask.FromResult(new RetrievalRequest(query.Terms ?? (context.Analyzer is Analysis.WhitespaceAnalyzer
            ? Query.ParseWeighted(query.Text)
            : Query.Parse(query.Text, context.Analyzer))));

    internal override int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared)
    {
        return ImpactSearcher.For(reader, KeyOf(reader), statistics).SearchDocs(request.Terms!, k, docs, scores, null, floor, shared,
            DocFilter.For(reader, request.Filter));
    }

    internal override bool ExplainsTerms => true;

    internal override Explanation Explain(IndexReader reader, Query query, Hit hit, ICollectionStatistics? statistics) =>
        ImpactSearcher.For(reader, KeyOf(reader), statistics).Explain(query, hit);

    private static string KeyOf(IndexReader reader) =>
        ImpactView.Has(reader, ImpactSettings.KeyOf(ImpactModel.Weights)) ? ImpactSettings.KeyOf(ImpactModel.Weights) : ImpactSettings.KeyOf(ImpactModel.Bm25);
}

/// <summary>ql(mu): query likelihood with Dirichlet smoothing (Anserini's QLD, mu = 1000), pruned with MaxScore.</summary>
internal sealed class QueryLikelihoodStage(float mu) : RetrieverStage
{
    public float Mu { get; } = mu;
    public override string Text => Mu == 1000f ? "ql" : $"ql(mu={Num(Mu)})";

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context) =>
        ValueTask.FromResult(new RetrievalRequest(TermsOf(query, context)));

    internal override int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared) =>
        Searcher(reader, statistics).SearchDocs(request.Terms!, k, docs, scores, null, floor, shared, DocFilter.For(reader, request.Filter));

    internal override void ScoreDocs(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, ReadOnlySpan<int> segment,
        ReadOnlySpan<int> doc, Span<float> scores) => Searcher(reader, statistics).ScoreDocs(request.Terms!, segment, doc, scores);

    internal override bool ExplainsTerms => true;

    internal override Explanation Explain(IndexReader reader, Query query, Hit hit, ICollectionStatistics? statistics) =>
        Searcher(reader, statistics).Explain(query, hit);

    private QueryLikelihoodSearcher Searcher(IndexReader reader, ICollectionStatistics? statistics) =>
        statistics is null
            ? reader.Component("search.ql", _ => new SearcherCache<float, QueryLikelihoodSearcher>()).Get(Mu, mu => new QueryLikelihoodSearcher(reader, mu))
            : new QueryLikelihoodSearcher(reader, Mu, statistics);
}

/// <summary>Searchers of one reader by parameters, for reuse across queries. Parameters come from queries, so the set
/// of keys has no bound: at most <see cref="Capacity"/> searchers are kept, and a new one evicts the least recently
/// used, so the parameters in use stay cached whatever else clients send. Thread-safe; a searcher is built outside
/// the lock (two threads may build the same one; the first kept wins).</summary>
internal sealed class SearcherCache<TKey, TSearcher> where TKey : notnull where TSearcher : class
{
    public const int Capacity = 32;
    private readonly Dictionary<TKey, LinkedListNode<(TKey Key, TSearcher Searcher)>> _byKey = new(Capacity);
    private readonly LinkedList<(TKey Key, TSearcher Searcher)> _recent = new(); // most recently used first
    private readonly Lock _lock = new();

    /// <summary>How many searchers are kept.</summary>
    public int Count
    {
        get { lock (_lock) return _byKey.Count; }
    }

    public TSearcher Get(TKey key, Func<TKey, TSearcher> create)
    {
        lock (_lock)
        {
            if (TryUse(key, out var cached)) return cached;
        }
        var made = create(key);
        lock (_lock)
        {
            if (TryUse(key, out var cached)) return cached; // another thread built it meanwhile
            if (_byKey.Count >= Capacity)
            {
                var oldest = _recent.Last!; // reused for the new entry
                _recent.RemoveLast();
                _byKey.Remove(oldest.Value.Key);
                oldest.Value = (key, made);
                _recent.AddFirst(oldest);
                _byKey.Add(key, oldest);
            }
            else
            {
                _byKey.Add(key, _recent.AddFirst((key, made)));
            }
        }
        return made;
    }

    private bool TryUse(TKey key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TSearcher searcher)
    {
        if (!_byKey.TryGetValue(key, out var node))
        {
            searcher = null;
            return false;
        }
        if (node != _recent.First)
        {
            _recent.Remove(node);
            _recent.AddFirst(node);
        }
        searcher = node.Value.Searcher;
        return true;
    }
}
