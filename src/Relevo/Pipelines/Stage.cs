using System.Globalization;
using Relevo.Feedback;
using Relevo.Fusion;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>One step of a pipeline. Retrievers produce a ranking for the current query; feedback rewrites the query
/// from the ranking; fusion runs sub-pipelines and merges their rankings. <see cref="Text"/> is the canonical text
/// form, which names runs and keys caches.</summary>
public abstract class Stage
{
    public abstract string Text { get; }

    /// <summary>Stages nested in this one (sequence members, fusion inputs).</summary>
    public virtual IEnumerable<Stage> Children => [];

    /// <summary>This stage and every stage nested in it.</summary>
    public IEnumerable<Stage> Descendants()
    {
        yield return this;
        foreach (var c in Children)
            foreach (var d in c.Descendants()) yield return d;
    }

    /// <param name="depth">How many documents a retriever in this position must return.</param>
    public abstract PipelineState Run(PipelineState state, SearchContext ctx, int depth);

    public override string ToString() => Text;

    internal static string Num(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>a >> b >> c: each stage takes the previous one's query and ranking.</summary>
public sealed class SequenceStage(IReadOnlyList<Stage> stages) : Stage
{
    public IReadOnlyList<Stage> Stages { get; } = stages;
    public override IEnumerable<Stage> Children => Stages;
    public override string Text => string.Join(">>", Stages.Select(s => s.Text));

    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        foreach (var s in Stages) state = s.Run(state, ctx, depth);
        return state;
    }
}

/// <summary>A first-stage retriever; it searches with the current query (the feedback-expanded one if there is one).</summary>
public abstract class RetrieverStage : Stage
{
    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        var hits = Retrieve(state.Query, ctx, depth);
        var stages = new List<StageScores>();
        if (state.Ranking is not null) stages.AddRange(state.Ranking.Stages);
        stages.Add(StageScores.Of(UniqueName(Text, stages), hits));
        return state with { Ranking = new Ranking(hits, stages) };
    }

    protected abstract IReadOnlyList<SearchHit> Retrieve(PipelineQuery query, SearchContext ctx, int depth);

    protected static Query Terms(PipelineQuery q, SearchContext ctx) => q.Terms ?? Query.Parse(q.Text, ctx.Analyzer);

    internal static string UniqueName(string name, List<StageScores> existing)
    {
        string candidate = name;
        for (int i = 2; existing.Exists(s => s.Stage == candidate); i++) candidate = $"{name} #{i}";
        return candidate;
    }
}

public sealed class Bm25Stage(Bm25Parameters parameters) : RetrieverStage
{
    public Bm25Parameters Parameters { get; } = parameters;
    public override string Text => Parameters == new Bm25Parameters() ? "bm25" : $"bm25(k1={Num(Parameters.K1)},b={Num(Parameters.B)})";
    protected override IReadOnlyList<SearchHit> Retrieve(PipelineQuery query, SearchContext ctx, int depth) =>
        ctx.SearchBm25(Parameters, Terms(query, ctx), depth);
}

public sealed class QueryLikelihoodStage(float mu) : RetrieverStage
{
    public float Mu { get; } = mu;
    public override string Text => Mu == 1000f ? "ql" : $"ql(mu={Num(Mu)})";
    protected override IReadOnlyList<SearchHit> Retrieve(PipelineQuery query, SearchContext ctx, int depth) =>
        ctx.SearchQueryLikelihood(Mu, Terms(query, ctx), depth);
}

/// <summary>dense(model=M[,int8=true][,oversample=4]): exact cosine search over the index's vectors for M
/// (int8: scan the quantized copy, rescore the best k × oversample in float32).</summary>
public sealed class DenseStage(DenseSpec spec) : RetrieverStage
{
    public DenseSpec Spec { get; } = spec;
    public override string Text => Spec.Int8
        ? $"dense(model={Spec.Model},int8=true{(Spec.Oversample != 4 ? $",oversample={Spec.Oversample}" : "")})"
        : $"dense(model={Spec.Model})";
    protected override IReadOnlyList<SearchHit> Retrieve(PipelineQuery query, SearchContext ctx, int depth)
    {
        var dense = ctx.Dense(Spec);
        return query.Vector is { } v ? dense.Search(v, depth) : dense.Search(query.Text, depth);
    }
}

public enum FusionMethod { Rrf, Borda, CombSum, CombMnz, MinMax, ZScore }

/// <summary>fuse(method, p1, p2, ...): runs each sub-pipeline on the incoming query, cuts each at depth, fuses.
/// rrf (k, weights), borda (weights), combsum/combmnz (norm=minmax|zscore|none, weights), and minmax/zscore:
/// convex interpolation alpha · p1 + (1 − alpha) · p2 of normalized scores.</summary>
public sealed class FuseStage(FusionMethod method, IReadOnlyList<Stage> inputs, double k, double alpha,
    IReadOnlyList<double>? weights, int fuseDepth, Normalization normalization) : Stage
{
    public FusionMethod Method { get; } = method;
    public IReadOnlyList<Stage> Inputs { get; } = inputs;
    public override IEnumerable<Stage> Children => Inputs;

    public override string Text
    {
        get
        {
            var parts = new List<string> { Method.ToString().ToLowerInvariant() };
            parts.AddRange(Inputs.Select(i => i.Text));
            if (Method == FusionMethod.Rrf && k != 60) parts.Add($"k={Num(k)}");
            if (Method is FusionMethod.MinMax or FusionMethod.ZScore && alpha != 0.5) parts.Add($"alpha={Num(alpha)}");
            if (Method is FusionMethod.CombSum or FusionMethod.CombMnz && normalization != Normalization.MinMax)
                parts.Add($"norm={normalization.ToString().ToLowerInvariant()}");
            if (weights is not null) parts.Add($"weights=[{string.Join(",", weights.Select(w => Num(w)))}]");
            if (fuseDepth != 1000) parts.Add($"depth={fuseDepth}");
            return $"fuse({string.Join(",", parts)})";
        }
    }

    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        var lists = new IReadOnlyList<SearchHit>[Inputs.Count];
        var stages = new List<StageScores>();
        for (int i = 0; i < Inputs.Count; i++)
        {
            var r = Inputs[i].Run(state with { Ranking = null }, ctx, Math.Max(depth, fuseDepth)).Ranking;
            lists[i] = r?.Hits ?? [];
            if (r is not null)
                foreach (var s in r.Stages) stages.Add(s with { Stage = RetrieverStage.UniqueName(s.Stage, stages) });
        }
        List<SearchHit> fused = Method switch
        {
            FusionMethod.Rrf => RankFusion.ReciprocalRank(lists, k, weights, fuseDepth),
            FusionMethod.Borda => RankFusion.Borda(lists, weights, fuseDepth),
            FusionMethod.CombSum => RankFusion.CombSum(lists, normalization, weights, fuseDepth),
            FusionMethod.CombMnz => RankFusion.CombSum(lists, normalization, weights, fuseDepth, mnz: true),
            FusionMethod.MinMax => RankFusion.Interpolate(lists[0], lists[1], alpha, Normalization.MinMax, fuseDepth),
            FusionMethod.ZScore => RankFusion.Interpolate(lists[0], lists[1], alpha, Normalization.ZScore, fuseDepth),
            _ => throw new InvalidOperationException(),
        };
        if (fused.Count > depth) fused.RemoveRange(depth, fused.Count - depth);
        stages.Add(StageScores.Of(Text, fused));
        return state with { Ranking = new Ranking(fused, stages) };
    }
}

public sealed class Rm3Stage(Rm3Expander expander) : Stage
{
    public override string Text => $"rm3(terms={expander.Terms},docs={expander.Docs},weight={Num(expander.OriginalQueryWeight)})";
    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException("rm3 needs a ranking before it (e.g. bm25 >> rm3 >> bm25)");
        var q = state.Query.Terms ?? Query.Parse(state.Query.Text, ctx.Analyzer);
        return state with { Query = state.Query with { Terms = expander.Expand(q, ranking.Hits, ctx) } };
    }
}

public sealed class RocchioStage(RocchioExpander expander) : Stage
{
    public override string Text => $"rocchio(terms={expander.Terms},docs={expander.Docs},alpha={Num(expander.Alpha)},beta={Num(expander.Beta)})";
    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException("rocchio needs a ranking before it (e.g. bm25 >> rocchio >> bm25)");
        var q = state.Query.Terms ?? Query.Parse(state.Query.Text, ctx.Analyzer);
        return state with { Query = state.Query with { Terms = expander.Expand(q, ranking.Hits, ctx) } };
    }
}

public sealed class VectorPrfStage(VectorPrf prf, string model) : Stage
{
    public string Model { get; } = model;
    public override string Text => $"vprf(docs={prf.Docs},alpha={Num(prf.Alpha)},beta={Num(prf.Beta)}{(Model == DefaultModel ? "" : $",model={Model}")})";
    public const string DefaultModel = "arctic-xs";

    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        var ranking = state.Ranking ?? throw new RelevoException("vprf needs a ranking before it (e.g. dense(model=arctic-xs) >> vprf >> dense(model=arctic-xs))");
        var dense = ctx.Dense(new DenseSpec(Model));
        var q = state.Query.Vector ?? dense.EmbedQuery(state.Query.Text);
        return state with { Query = state.Query with { Vector = prf.Expand(q, ranking.Hits, h => dense.GetVector(h.Segment, h.Doc)) } };
    }
}
