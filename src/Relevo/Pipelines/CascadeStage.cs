namespace Relevo.Pipelines;

/// <summary>cascade(first, second, top=20): the first reranker (e.g. cheap pointwise over the top-100), then the second
/// (e.g. listwise) over the first's top <c>top</c> only; the rest keeps the first's order (DeAR).</summary>
internal sealed class CascadeStage(Stage first, Stage second, int top) : Stage
{
    public Stage First { get; } = first;
    public Stage Second { get; } = second;
    public int TopN { get; } = top;
    public override IReadOnlyList<Stage> Children => [First, Second];
    public override string Text => $"cascade({First.Text},{Second.Text}{(TopN == 20 ? "" : $",top={TopN}")})";

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        var afterFirst = await context.RunAsync(First, state, depth).ConfigureAwait(false);
        var ranking = afterFirst.Ranking ?? throw new RelevoException("cascade needs a ranking before it (e.g. bm25 >> cascade(llm.pointwise, llm.listwise))");
        var afterSecond = await context.RunAsync(Second, afterFirst with { Ranking = ranking.Cut(TopN) }, depth).ConfigureAwait(false);
        var head = afterSecond.Ranking!;
        var hits = new Hit[ranking.Count];
        for (int i = 0; i < head.Count; i++) hits[i] = head.Hits[i] with { Score = ranking.Count - i };
        for (int i = head.Count; i < ranking.Count; i++) hits[i] = ranking.Hits[i] with { Score = ranking.Count - i };
        // the first's stages over every hit, then what the second added (over the head), then the cascade's own column
        var columns = new List<float[]>(ranking.Realign(hits));
        var names = new List<string>(ranking.Stages);
        var second = head.Realign(hits);
        for (int s = ranking.Stages.Count; s < head.Stages.Count; s++)
        {
            names.Add(head.Stages[s]);
            columns.Add(second[s]);
        }
        var own = new float[hits.Length];
        for (int i = 0; i < own.Length; i++) own[i] = hits[i].Score;
        names.Add(Ranking.UniqueName(Text, names));
        columns.Add(own);
        return afterSecond with { Ranking = new Ranking(hits, [.. names], [.. columns]) };
    }

    public static Stage Build(StageSyntax s)
    {
        s.Accept("top");
        if (s.PositionalCount != 2 || s.Single(0) is null || s.Single(1) is null)
            throw s.Error(s.Column, "cascade needs two rerankers: cascade(llm.pointwise, llm.listwise, top=20)");
        var stages = new Stage[2];
        for (int i = 0; i < 2; i++)
        {
            var node = s.Single(i)!;
            string? alias = node.Name is "pointwise" or "listwise" or "setwise" or "groupwise" ? "llm." + node.Name : null;
            var stage = node.Build(alias);
            if (stage is not (RerankStage or CascadeStage))
                throw s.Error(node.Column, $"cascade takes rerankers (llm.pointwise, llm.listwise, llm.setwise, llm.groupwise, rerank), not '{node.Name}'");
            stages[i] = stage;
        }
        return new CascadeStage(stages[0], stages[1], s.Int("top", 20, 1, RerankStage.MaxTop));
    }
}
