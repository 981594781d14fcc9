using Relevo.Fusion;

namespace Relevo.Pipelines;

internal enum FusionMethod { Rrf, Borda, CombSum, CombMnz, MinMax, ZScore }

/// <summary>fuse(method, p1, p2, ...): runs each sub-pipeline on the incoming query, cuts each at depth, fuses.
/// rrf (k, weights), borda (weights), combsum/combmnz (norm=minmax|zscore|none, weights), and minmax/zscore:
/// convex interpolation alpha · p1 + (1 − alpha) · p2 of normalized scores.</summary>
internal sealed class FuseStage(FusionMethod method, IReadOnlyList<Stage> inputs, double k, double alpha,
    IReadOnlyList<double>? weights, int fuseDepth, Normalization normalization) : Stage
{
    public const int MaxDepth = 10_000;

    public FusionMethod Method { get; } = method;
    public IReadOnlyList<Stage> Inputs { get; } = inputs;
    public override IReadOnlyList<Stage> Children => Inputs;

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

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var rankings = new Ranking?[Inputs.Count];
        var lists = new IReadOnlyList<Hit>[Inputs.Count];
        for (int i = 0; i < Inputs.Count; i++)
        {
            rankings[i] = (await context.RunAsync(Inputs[i], state with { Ranking = null }, Math.Max(depth, fuseDepth)).ConfigureAwait(false)).Ranking;
            lists[i] = rankings[i]?.Hits ?? [];
        }
        var fused = Fuse(Method, lists, k, alpha, weights, fuseDepth, normalization);
        if (fused.Count > depth) fused.RemoveRange(depth, fused.Count - depth);
        return state with { Ranking = Ranking.Fused(rankings, [.. fused], Text) };
    }

    /// <summary>Each hit's fused score as the sum of its inputs' shares (the formula run again over the inputs'
    /// rankings with shares recorded), each share with the input's rank, score and own explanation.</summary>
    internal override async ValueTask<Explanation?[]> ExplainAsync(StageRun run, IReadOnlyList<Hit> hits, StageContext context)
    {
        var lists = new IReadOnlyList<Hit>[Inputs.Count];
        for (int i = 0; i < lists.Length; i++) lists[i] = context.RunOf(Inputs[i])?.Output.Ranking?.Hits ?? [];
        var shares = new Dictionary<string, double[]>(StringComparer.Ordinal);
        Fuse(Method, lists, k, alpha, weights, fuseDepth, normalization, shares);
        // where each hit stands in each input (cut at the fusion depth), and the input's explanations of those it ranked
        var ranks = new int[Inputs.Count][];
        var inputExplanations = new Explanation?[Inputs.Count][];
        for (int i = 0; i < lists.Length; i++)
        {
            var at = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int r = 0; r < Math.Min(fuseDepth, lists[i].Count); r++) at.TryAdd(lists[i][r].Id, r);
            ranks[i] = new int[hits.Count];
            var ranked = new List<Hit>();
            var positions = new List<int>();
            for (int h = 0; h < hits.Count; h++)
            {
                ranks[i][h] = at.TryGetValue(hits[h].Id, out int r) ? r : -1;
                if (r < 0) continue;
                ranked.Add(lists[i][r]);
                positions.Add(h);
            }
            inputExplanations[i] = new Explanation?[hits.Count];
            var explained = await context.ExplainAsync(Inputs[i], ranked).ConfigureAwait(false);
            for (int j = 0; j < positions.Count; j++) inputExplanations[i][positions[j]] = explained[j];
        }
        var result = new Explanation?[hits.Count];
        for (int h = 0; h < hits.Count; h++)
        {
            if (!shares.TryGetValue(hits[h].Id, out var row)) continue;
            var parts = new ExplanationPart[Inputs.Count];
            for (int i = 0; i < parts.Length; i++)
            {
                int r = ranks[i][h];
                parts[i] = new ExplanationPart(Inputs[i].Text, r < 0 ? null : r + 1, r < 0 ? null : lists[i][r].Score, row[i], inputExplanations[i][h]);
            }
            result[h] = new Explanation(hits[h].Id, hits[h].Score, Text) { Note = Formula, Parts = parts };
        }
        return result;
    }

    /// <summary>How this fusion computes a score, for explanations.</summary>
    private string Formula => Method switch
    {
        FusionMethod.Rrf => $"reciprocal rank fusion: the sum of weight / ({Num(k)} + rank) over the inputs",
        FusionMethod.Borda => "Borda count: the sum of weight × (n − rank + 1) over the inputs, n each input's length",
        FusionMethod.CombSum => $"CombSUM: the sum of weight × {normalization.ToString().ToLowerInvariant()}-normalized score over the inputs",
        FusionMethod.CombMnz => $"CombMNZ: the sum of weight × {normalization.ToString().ToLowerInvariant()}-normalized score, times the number of inputs that ranked the document",
        _ => $"{Num(alpha)} × the first input's {Method.ToString().ToLowerInvariant()}-normalized score + {Num(1 - alpha)} × the second's (an input that did not rank the document gives its lowest)",
    };

    /// <summary>Fuses ranked lists by <paramref name="method"/> (minmax and zscore take exactly two lists); given
    /// <paramref name="shares"/>, records each document's share from each input.</summary>
    internal static List<Hit> Fuse(FusionMethod method, IReadOnlyList<IReadOnlyList<Hit>> lists, double k, double alpha,
        IReadOnlyList<double>? weights, int depth, Normalization normalization, Dictionary<string, double[]>? shares = null) => method switch
    {
        FusionMethod.Rrf => RankFusion.ReciprocalRank(lists, k, weights, depth, shares),
        FusionMethod.Borda => RankFusion.Borda(lists, weights, depth, shares),
        FusionMethod.CombSum => RankFusion.CombSum(lists, normalization, weights, depth, shares: shares),
        FusionMethod.CombMnz => RankFusion.CombSum(lists, normalization, weights, depth, mnz: true, shares: shares),
        FusionMethod.MinMax => RankFusion.Interpolate(lists[0], lists[1], alpha, Normalization.MinMax, depth, shares),
        FusionMethod.ZScore => RankFusion.Interpolate(lists[0], lists[1], alpha, Normalization.ZScore, depth, shares),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>The method a fuse() names, or null.</summary>
    internal static FusionMethod? ParseMethod(string name) => name switch
    {
        "rrf" => FusionMethod.Rrf,
        "borda" => FusionMethod.Borda,
        "combsum" => FusionMethod.CombSum,
        "combmnz" => FusionMethod.CombMnz,
        "minmax" => FusionMethod.MinMax,
        "zscore" => FusionMethod.ZScore,
        _ => null,
    };

    /// <summary>The method names, for messages.</summary>
    internal const string MethodNames = "rrf, borda, combsum, combmnz, minmax, zscore";

    public static Stage Build(StageSyntax s)
    {
        if (s.PositionalCount == 0 || s.Word(0) is not var (methodName, methodColumn))
            throw s.Error(s.Column, "fuse needs a method first: fuse(rrf|borda|combsum|combmnz|minmax|zscore, pipeline, pipeline...)");
        FusionMethod method = ParseMethod(methodName)
            ?? throw s.Error(methodColumn, $"unknown fusion method '{methodName}' ({MethodNames})");
        var inputs = new List<Stage>();
        for (int i = 1; i < s.PositionalCount; i++) inputs.Add(s.Pipeline(i));
        if (inputs.Count < 2) throw s.Error(s.Column, "fuse needs at least two pipelines to fuse");
        if (method is FusionMethod.MinMax or FusionMethod.ZScore && inputs.Count != 2)
            throw s.Error(s.Column, $"fuse({methodName}, ...) interpolates exactly two pipelines; use combsum with norm={methodName} for more");
        s.Accept(method switch
        {
            FusionMethod.Rrf => ["k", "weights", "depth"],
            FusionMethod.Borda => ["weights", "depth"],
            FusionMethod.CombSum or FusionMethod.CombMnz => ["norm", "weights", "depth"],
            _ => ["alpha", "depth"],
        });
        var weights = s.Numbers("weights", -1e6, 1e6);
        if (weights is not null && weights.Count != inputs.Count)
            throw s.Error(s.ColumnOf("weights"), $"{weights.Count} weights for {inputs.Count} pipelines");
        var norm = s.String("norm") switch
        {
            null or "minmax" => Normalization.MinMax,
            "zscore" => Normalization.ZScore,
            "none" => Normalization.None,
            var other => throw s.Error(s.ColumnOf("norm"), $"unknown norm '{other}' (minmax, zscore, none)"),
        };
        return new FuseStage(method, inputs, s.Float("k", 60f, 0, 1e9), s.Float("alpha", 0.5f, 0, 1), weights,
            s.Int("depth", 1000, 1, MaxDepth), norm);
    }
}
