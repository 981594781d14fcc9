using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;

namespace Relevo.Dense;

/// <summary>Which dense retriever: the model, and whether to scan the int8 copy first (rescoring the best
/// k × oversample in float32).</summary>
internal readonly record struct DenseSpec(string Model, bool Int8 = false, int Oversample = 4);

/// <summary>dense(model=M[,int8=true][,oversample=4]): exact cosine search over the index's vectors for M. The query is
/// embedded where the pipeline runs (once; a sharded index gets the vector), the vectors searched where they are.</summary>
internal sealed class DenseStage(DenseSpec spec) : RetrieverStage
{
    public const int MaxOversample = 100;

    public DenseSpec Spec { get; } = spec;

    public override string Text => Spec.Int8
        ? $"dense(model={Spec.Model},int8=true{(Spec.Oversample != 4 ? $",oversample={Spec.Oversample}" : "")})"
        : $"dense(model={Spec.Model})";

    public override ValueTask PrepareAsync(IReadOnlyList<string> queryTexts, StageContext context)
    {
        context.GetService<DenseModels>().Prepare(Spec.Model, queryTexts);
        return ValueTask.CompletedTask;
    }

    internal override ValueTask<RetrievalRequest> PrepareRequestAsync(PipelineQuery query, StageContext context) =>
        ValueTask.FromResult(new RetrievalRequest(null, query.Vector ?? context.GetService<DenseModels>().EmbedQuery(Spec.Model, query.Text)));

    internal override int Search(IndexReader reader, RetrievalRequest request, ICollectionStatistics? statistics, int k,
        Span<int> docs, Span<float> scores, float floor, SharedBound? shared) =>
        DenseSearcher.For(reader, EmbeddingModel.ResolveName(Spec.Model), Spec.Int8)
            .Search(request.Vector ?? throw new RelevoException("dense: the request has no query vector"), k, Spec.Oversample, docs, scores, floor, shared);

    public static Stage Build(StageSyntax s)
    {
        s.Accept("model", "int8", "oversample");
        string? model = s.String("model");
        if (s.PositionalCount == 1 && model is null && s.Word(0) is var (word, _))
            model = word; // dense(arctic-xs)
        else s.NoPositional();
        return new DenseStage(new DenseSpec(model ?? "arctic-xs", s.Bool("int8", false), s.Int("oversample", 4, 1, MaxOversample)));
    }
}

/// <summary>The stored vectors of hits, fetched where the documents live (the "dense.vector" document operation).</summary>
internal static class StoredVectors
{
    public const string Operation = "dense.vector";

    /// <summary>The operation: a document's float32 row for a model, as bytes.</summary>
    public static byte[]? Read(IndexReader reader, string model, int segment, int doc)
    {
        var row = DenseSearcher.For(reader, EmbeddingModel.ResolveName(model), int8: false).GetVector(segment, doc);
        return System.Runtime.InteropServices.MemoryMarshal.AsBytes(row).ToArray();
    }

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
internal sealed class VectorPrfStage(int docs, float alpha, float beta, string model) : Stage
{
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
        var vectors = await StoredVectors.OfAsync(head, Model, context).ConfigureAwait(false);
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

    public static Stage Build(StageSyntax s)
    {
        s.Accept("docs", "alpha", "beta", "model");
        s.NoPositional();
        return new VectorPrfStage(s.Int("docs", 3, 1, 1000), s.Float("alpha", 1f, 0, 1e6), s.Float("beta", 1f, 0, 1e6),
            s.String("model") ?? DefaultModel);
    }
}

/// <summary>rerank(dense(model=M), depth=100): reorders the incoming top <c>depth</c> by cosine between the query's
/// embedding and each document's stored vector (a bi-encoder reranker, no LLM). Ties keep the incoming order.</summary>
internal sealed class DenseRerankStage(DenseSpec spec, int depth) : RerankStage(depth)
{
    public DenseSpec Spec { get; } = spec;
    protected override string Name => "rerank";
    public override string Text => $"rerank(dense(model={Spec.Model}){(Top == 100 ? "" : $",depth={Top}")})";

    public override ValueTask PrepareAsync(IReadOnlyList<string> queryTexts, StageContext context)
    {
        context.GetService<DenseModels>().Prepare(Spec.Model, queryTexts);
        return ValueTask.CompletedTask;
    }

    protected override async ValueTask<(int[] Order, float[] Scores)> RerankAsync(string query, IReadOnlyList<Hit> head, StageContext context)
    {
        var q = context.GetService<DenseModels>().EmbedQuery(Spec.Model, query);
        float qn = Norm(q);
        var vectors = await StoredVectors.OfAsync(head, Spec.Model, context).ConfigureAwait(false);
        var scores = new float[head.Count];
        for (int i = 0; i < head.Count; i++)
        {
            var v = vectors[i];
            float dot = System.Numerics.Tensors.TensorPrimitives.Dot<float>(q, v);
            float n = qn * Norm(v);
            scores[i] = n > 0 ? dot / n : 0;
        }
        return (ByScore(scores), scores);
    }

    private static float Norm(float[] v) => MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.Dot<float>(v, v));
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
        var model = CrossEncoder.Load(Folder);
        var docs = await context.DocumentsAsync(head).ConfigureAwait(false);
        var passages = new string[head.Count];
        for (int i = 0; i < passages.Length; i++)
            passages[i] = docs[i] is { } d ? (d.Title.Length == 0 ? d.Text : d.Title + " " + d.Text) : "";
        var scores = model.Score(query, passages);
        return (ByScore(scores), scores);
    }
}

/// <summary>rerank(dense(model=M)|cross(model=FOLDER), depth=100).</summary>
internal static class RerankStages
{
    public static Stage Build(StageSyntax s)
    {
        s.Accept("depth");
        int depth = s.Int("depth", 100, 1, RerankStage.MaxTop);
        if (s.PositionalCount == 1 && s.Single(0) is { Name: "cross" } cross)
        {
            cross.Accept("model");
            cross.NoPositional();
            string folder = cross.String("model") ?? throw cross.Error(cross.Column, "cross needs model=FOLDER (a folder with model.onnx and vocab.txt)");
            return new CrossEncoderStage(folder, depth);
        }
        if (s.PositionalCount != 1 || s.Single(0) is not { } inner || inner.Build() is not DenseStage dense)
            throw s.Error(s.Column, "rerank needs a dense model or a cross-encoder: rerank(dense(model=arctic-xs), depth=100) or rerank(cross(model=FOLDER), depth=100)");
        return new DenseRerankStage(dense.Spec, depth);
    }
}
