using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>Which dense retriever: the model, whether to rank by the int8 copy first (rescoring the best
/// candidates in float32), the graph's beam width and whether to use the graph (<see cref="SearchMode"/>).</summary>
internal readonly record struct DenseSpec(string Model, bool Int8 = false, int Oversample = 4,
    int Ef = DenseSearcher.DefaultEf, SearchMode Mode = SearchMode.Auto)
{
    /// <summary>The name the index stores the model's vectors under (Model is what the pipeline said: a name, or a
    /// folder in local use). Resolved when the pipeline is parsed, so searching never looks at the file system.</summary>
    public string Key { get; init; } = Model;
}

/// <summary>dense(model=M[,int8=true][,oversample=4][,ef=200][,exact=true|false]): cosine search over the index's
/// vectors for M, through each segment's HNSW graph (beam ef) where it has one and is large enough to gain from it,
/// by a scan of every vector elsewhere; exact=true scans everywhere, exact=false walks every graph. The query is
/// embedded where the pipeline runs (once; a sharded index gets the vector), the vectors searched where they are.</summary>
internal sealed class DenseStage(DenseSpec spec) : RetrieverStage
{
    public const int MaxOversample = 100;

    public DenseSpec Spec { get; } = spec;

    public override string Text => $"dense({SpecText(Spec)})";

    /// <summary>The spec as stage arguments, defaults left out.</summary>
    internal static string SpecText(DenseSpec spec) =>
        $"model={spec.Model}" +
        (spec.Int8 ? $",int8=true{(spec.Oversample != 4 ? $",oversample={spec.Oversample}" : "")}" : "") +
        (spec.Ef != DenseSearcher.DefaultEf ? $",ef={spec.Ef}" : "") +
        spec.Mode switch { SearchMode.Exact => ",exact=true", SearchMode.Graph => ",exact=false", _ => "" };

    public override ValueTask PrepareAsync(IReadOnlyList<string> queryTexts, StageContext context)
    {
        context.GetService<DenseModels>().Prepare(Spec.Model, queryTexts);
        return ValueTask.CompletedTask;
    }

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context) =>
        ValueTask.FromResult(new RetrievalRequest(null, query.Vector ?? context.GetService<DenseModels>().EmbedQuery(Spec.Model, query.Text)));

    internal override int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared) =>
        DenseSearcher.For(reader, Spec.Key, Spec.Int8)
            .Search(request.Vector ?? throw new RelevoException("dense: the request has no query vector"), k, Spec.Oversample, docs, scores, floor, shared,
                Spec.Ef, Spec.Mode, Relevo.Search.Filters.DocFilter.For(reader, request.Filter));

    /// <summary>The float32 cosine a search gives each document (the stored unit row · the unit query).</summary>
    internal override void ScoreDocs(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, ReadOnlySpan<int> segment,
        ReadOnlySpan<int> doc, Span<float> scores)
    {
        var searcher = DenseSearcher.For(reader, Spec.Key, int8: false);
        var query = request.Vector ?? throw new RelevoException("dense: the request has no query vector");
        for (int i = 0; i < scores.Length; i++)
            scores[i] = reader.Segments[segment[i]].IsDeleted(doc[i]) ? 0 : System.Numerics.Tensors.TensorPrimitives.Dot(searcher.GetVector(segment[i], doc[i]), query);
    }

    /// <summary>Each hit's cosine attributed to the document's and the query's tokens (<see cref="DenseExplainer"/>).</summary>
    internal override async ValueTask<Explanation?[]> ExplainAsync(StageRun run, IReadOnlyList<Hit> hits, StageContext context)
    {
        var docs = await context.DocumentsAsync(hits).ConfigureAwait(false);
        var texts = new (string, int)?[docs.Length];
        for (int i = 0; i < docs.Length; i++) texts[i] = docs[i] is { } d ? DenseExplainer.PassageOf(d) : null;
        return await DenseExplainer.ExplainHitsAsync(Text, Spec.Model, run.Input.Query, hits, texts, context).ConfigureAwait(false);
    }

    public static Stage Build(StageSyntax s, ModelCatalog catalog) => new DenseStage(ParseSpec(s, catalog));

    internal static DenseSpec ParseSpec(StageSyntax s, ModelCatalog catalog)
    {
        s.Accept("model", "int8", "oversample", "ef", "exact");
        string? model = s.String("model");
        int column = s.Has("model") ? s.ColumnOf("model") : s.Column;
        if (s.PositionalCount == 1 && model is null && s.Word(0) is var (word, wordColumn))
        {
            model = word; // dense(arctic-xs)
            column = wordColumn;
        }
        else s.NoPositional();
        model ??= "arctic-xs";
        var mode = !s.Has("exact") ? SearchMode.Auto : s.Bool("exact", false) ? SearchMode.Exact : SearchMode.Graph;
        return new DenseSpec(model, s.Bool("int8", false), s.Int("oversample", 4, 1, MaxOversample),
            s.Int("ef", DenseSearcher.DefaultEf, 1, DenseSearcher.MaxEf), mode) { Key = ModelKey(s, catalog, model, column) };
    }

    /// <summary>The catalog's key for a model a pipeline named; a refusal is a syntax error at the model's column.</summary>
    internal static string ModelKey(StageSyntax s, ModelCatalog catalog, string model, int column)
    {
        try
        {
            return catalog.Key(model);
        }
        catch (RelevoException e)
        {
            throw s.Error(column, e.Message);
        }
    }
}

/// <summary>The stored vectors of hits, fetched where the documents live (the "dense.vector" document operation).</summary>
internal static class StoredVectors
{
    public const string Operation = DocumentOperations.StoredVector;

    /// <summary>The operation: a document's float32 row for a model, as bytes.</summary>
    /// <param name="key">The model's key (its name) in the index: never a path.</param>
    public static byte[]? Read(IndexReader reader, string key, int segment, int doc)
    {
        var row = DenseSearcher.For(reader, key, int8: false).GetVector(segment, doc);
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(row).ToArray();
    }

    /// <summary>A commit's stored rows for a model, for building a semantic tree over them.</summary>
    public static Func<IndexReader, Index.Trees.DocumentVectors> ForTree(string key) => reader =>
    {
        var searcher = DenseSearcher.For(reader, key, int8: false);
        return (segment, doc) => searcher.GetVector(segment, doc);
    };

    public static async ValueTask<float[][]> OfAsync(IReadOnlyList<Hit> hits, string model, StageContext context)
    {
        var bytes = await context.Target.FetchAsync(Operation, model, hits, context.Cancellation).ConfigureAwait(false);
        var vectors = new float[hits.Count][];
        for (int i = 0; i < vectors.Length; i++)
            vectors[i] = bytes[i] is { } b
                ? System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(b).ToArray()
                : throw new RelevoException($"document {hits[i].Id} is gone (deleted meanwhile); search again");
        return vectors;
    }
}

/// <summary>vprf(docs, alpha, beta, model): vector pseudo-relevance feedback for dense retrieval (Rocchio on
/// embeddings, as in Li et al.'s vector PRF): q' = alpha · q + beta · mean of the top <c>docs</c> document vectors,
/// renormalized to unit length. The next dense retriever searches with q'.</summary>
internal sealed class VectorPrfStage(int docs, float alpha, float beta, string model, string key) : Stage
{
    /// <summary>The name the index stores the model's vectors under.</summary>
    public string Key { get; } = key;
    public const string DefaultModel = "arctic-xs";
    public int Docs { get; } = docs;
    public float Alpha { get; } = alpha;
    public float Beta { get; } = beta;
    public string Model { get; } = model;

    public override string Text => $"vprf(docs={Docs},alpha={Num(Alpha)},beta={Num(Beta)}{(Model == DefaultModel ? "" : $",model={Model}")})";

    public override ValueTask PrepareAsync(IReadOnlyList<string> queryTexts, StageContext context)
    {
        context.GetService<DenseModels>().Prepare(Model, queryTexts);
        return ValueTask.CompletedTask;
    }

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException("vprf needs a ranking before it (e.g. dense(model=arctic-xs) >> vprf >> dense(model=arctic-xs))");
        var q = state.Query.Vector ?? context.GetService<DenseModels>().EmbedQuery(Model, state.Query.Text);
        int n = Math.Min(Docs, ranking.Count);
        var head = new Hit[n];
        for (int i = 0; i < n; i++) head[i] = ranking.Hits[i];
        var vectors = await StoredVectors.OfAsync(head, Key, context).ConfigureAwait(false);
        return state with { Query = state.Query with { Vector = Expand(q, vectors) } };
    }

    public float[] Expand(ReadOnlySpan<float> query, IReadOnlyList<float[]> vectors)
    {
        var result = new float[query.Length];
        int n = vectors.Count;
        for (int i = 0; i < n; i++)
        {
            var v = vectors[i];
            for (int j = 0; j < result.Length; j++) result[j] += v[j];
        }
        for (int j = 0; j < result.Length; j++)
            result[j] = Alpha * query[j] + (n > 0 ? Beta * result[j] / n : 0f);
        float norm = System.Numerics.Tensors.TensorPrimitives.Norm(result);
        if (norm > 0) System.Numerics.Tensors.TensorPrimitives.Divide(result, norm, result);
        return result;
    }

    public static Stage Build(StageSyntax s, ModelCatalog catalog)
    {
        s.Accept("docs", "alpha", "beta", "model");
        s.NoPositional();
        string model = s.String("model") ?? DefaultModel;
        return new VectorPrfStage(s.Int("docs", 3, 1, 1000), s.Float("alpha", 1f, 0, 1e6), s.Float("beta", 1f, 0, 1e6),
            model, DenseStage.ModelKey(s, catalog, model, s.Has("model") ? s.ColumnOf("model") : s.Column));
    }
}

/// <summary>rerank(dense(model=M), depth=100[, passages=N]): reorders the incoming top <c>depth</c> by cosine between
/// the query's embedding and each document's stored vector (a bi-encoder reranker, no LLM). With <c>passages=N</c> a
/// document scores as its best passage instead (MaxP): its text is cut into windows of N sentences, each with the
/// title (<see cref="PassageWindows"/>), embedded through the embedding cache when first seen. Ties keep the incoming
/// order.</summary>
internal sealed class DenseRerankStage(DenseSpec spec, int depth, int passages = 0) : RerankStage(depth)
{
    public const int MaxPassages = 32;

    public DenseSpec Spec { get; } = spec;
    /// <summary>Sentences per passage; 0 scores the stored vector of the whole document.</summary>
    public int Passages { get; } = passages;
    protected override string Name => "rerank";
    public override string Text => $"rerank(dense(model={Spec.Model}){(Top == 100 ? "" : $",depth={Top}")}{(Passages == 0 ? "" : $",passages={Passages}")})";

    public override ValueTask PrepareAsync(IReadOnlyList<string> queryTexts, StageContext context)
    {
        context.GetService<DenseModels>().Prepare(Spec.Model, queryTexts);
        return ValueTask.CompletedTask;
    }

    protected override async ValueTask<(int[] Order, float[] Scores)> RerankAsync(string query, IReadOnlyList<Hit> head, StageContext context)
    {
        var q = context.GetService<DenseModels>().EmbedQuery(Spec.Model, query);
        float qn = Norm(q);
        float[] scores;
        if (Passages > 0) (scores, _) = BestPassages(q, qn, await context.DocumentsAsync(head).ConfigureAwait(false), context);
        else
        {
            var vectors = await StoredVectors.OfAsync(head, Spec.Key, context).ConfigureAwait(false);
            scores = new float[head.Count];
            for (int i = 0; i < head.Count; i++) scores[i] = Cosine(q, qn, vectors[i]);
        }
        return (ByScore(scores), scores);
    }

    /// <summary>Each reranked document's cosine attributed to its tokens: the whole text, or (passages=N) the window
    /// that gave its score.</summary>
    internal override async ValueTask<Explanation?[]> ExplainScoresAsync(PipelineQuery query, IReadOnlyList<Hit> head, float[] scores,
        StageContext context)
    {
        var docs = await context.DocumentsAsync(head).ConfigureAwait(false);
        var q = context.GetService<DenseModels>().EmbedQuery(Spec.Model, query.Text);
        var windows = Passages > 0 ? BestPassages(q, Norm(q), docs, context).Windows : null;
        var texts = new (string, int)?[docs.Length];
        for (int i = 0; i < docs.Length; i++)
            if (docs[i] is { } d)
                texts[i] = windows?[i] is { } w && d.Text.Length > 0 ? (w, d.Title.Length) : DenseExplainer.PassageOf(d);
        var result = await DenseExplainer.ExplainHitsAsync(Text, Spec.Model, query with { Vector = null }, head, texts, context).ConfigureAwait(false);
        for (int i = 0; i < result.Length; i++)
            if (result[i] is { } e) result[i] = e with { Score = scores[i] };
        return result;
    }

    /// <summary>Each document's highest cosine over its passages and the passage that gave it (0 and null for a document
    /// gone meanwhile).</summary>
    private (float[] Scores, string?[] Windows) BestPassages(float[] q, float qn, Document?[] docs, StageContext context)
    {
        var model = context.GetService<DenseModels>().Model(Spec.Model);
        var texts = new List<string>();
        var owner = new List<int>();
        for (int i = 0; i < docs.Length; i++)
        {
            if (docs[i] is not { } d) continue;
            foreach (var window in PassageWindows.Of(d, Passages))
            {
                texts.Add(window);
                owner.Add(i);
            }
        }
        int dims = model.Dimensions;
        var rows = new float[texts.Count * dims];
        const int Chunk = 256; // a cancelled request stops within one chunk of encoder calls
        for (int start = 0; start < texts.Count; start += Chunk)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            int count = Math.Min(Chunk, texts.Count - start);
            model.EmbedPassages(texts.GetRange(start, count), rows.AsSpan(start * dims, count * dims));
        }
        var scores = new float[docs.Length];
        var windows = new string?[docs.Length];
        for (int r = 0; r < texts.Count; r++)
        {
            float s = Cosine(q, qn, rows.AsSpan(r * dims, dims));
            int i = owner[r];
            if (windows[i] is null || s > scores[i]) (scores[i], windows[i]) = (s, texts[r]);
        }
        return (scores, windows);
    }

    private static float Cosine(ReadOnlySpan<float> q, float qn, ReadOnlySpan<float> v)
    {
        float n = qn * Norm(v);
        return n > 0 ? System.Numerics.Tensors.TensorPrimitives.Dot(q, v) / n : 0;
    }

    private static float Norm(ReadOnlySpan<float> v) => MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot(v, v));
}

/// <summary>rerank(cross(model=FOLDER), depth=100): reorders the incoming top <c>depth</c> by a cross-encoder's
/// scores (no LLM). Ties keep the incoming order.</summary>
internal sealed class CrossEncoderStage(string folder, int depth) : RerankStage(depth)
{
    public string Folder { get; } = folder;
    protected override string Name => "rerank";
    public override string Text => $"rerank(cross(model={Quote(Folder)}){(Top == 100 ? "" : $",depth={Top}")})";

    private static string Quote(string s) => s.Any(c => char.IsWhiteSpace(c) || c is ',' or '(' or ')' or '[' or ']' or '=' or '>') ? $"\"{s}\"" : s;

    protected override async ValueTask<(int[] Order, float[] Scores)> RerankAsync(string query, IReadOnlyList<Hit> head, StageContext context)
    {
        var model = context.GetService<DenseModels>().CrossEncoder(Folder);
        var docs = await context.DocumentsAsync(head).ConfigureAwait(false);
        var passages = new string[head.Count];
        for (int i = 0; i < passages.Length; i++)
            passages[i] = docs[i] is { } d ? (d.Title.Length == 0 ? d.Text : d.Title + " " + d.Text) : "";
        var scores = model.Score(query, passages);
        return (ByScore(scores), scores);
    }
}

/// <summary>rerank(dense(model=M), depth=100[, passages=N]) | rerank(cross(model=FOLDER), depth=100).</summary>
internal static class RerankStages
{
    public static Stage Build(StageSyntax s, ModelCatalog catalog)
    {
        s.Accept("depth", "passages");
        int depth = s.Int("depth", 100, 1, RerankStage.MaxTop);
        if (s.PositionalCount == 1 && s.Single(0) is { Name: "cross" } cross)
        {
            if (s.Has("passages")) throw s.Error(s.ColumnOf("passages"), "passages= is for rerank(dense(...)); a cross-encoder reads the whole document");
            cross.Accept("model");
            cross.NoPositional();
            string folder = cross.String("model") ?? throw cross.Error(cross.Column, "cross needs model=NAME (a model folder with model.onnx and vocab.txt)");
            if (!catalog.AllowPaths && !ModelConfig.IsValidName(folder))
                throw cross.Error(cross.ColumnOf("model"), $"cross-encoder model: name a model ({catalog.Offered()}), not a path");
            return new CrossEncoderStage(folder, depth);
        }
        if (s.PositionalCount != 1 || s.Single(0) is not { Name: "dense" } inner)
            throw s.Error(s.Column, "rerank needs a dense model or a cross-encoder: rerank(dense(model=arctic-xs), depth=100) or rerank(cross(model=NAME), depth=100)");
        var spec = DenseStage.ParseSpec(inner, catalog);
        inner.CheckAccepted();
        return new DenseRerankStage(spec, depth, s.Int("passages", 0, 0, DenseRerankStage.MaxPassages));
    }
}
