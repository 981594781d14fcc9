using Relevo.Pipelines;
using Relevo.Search;

namespace Relevo.Rerank;

/// <summary>cascade(first, second, top=20): the first reranker (e.g. cheap pointwise over the top-100), then the second
/// (e.g. listwise) over the first's top <c>top</c> only; the rest keeps the first's order (DeAR).</summary>
public sealed class CascadeStage(Stage first, Stage second, int top) : Stage
{
    public Stage First { get; } = first;
    public Stage Second { get; } = second;
    public int TopN { get; } = top;
    public override IEnumerable<Stage> Children => [First, Second];
    public override string Text => $"cascade({First.Text},{Second.Text}{(TopN == 20 ? "" : $",top={TopN}")})";

    public override PipelineState Run(PipelineState state, SearchContext ctx, int depth)
    {
        var afterFirst = First.Run(state, ctx, depth);
        var ranking = afterFirst.Ranking ?? throw new RelevoException("cascade needs a ranking before it (e.g. bm25 >> cascade(llm.pointwise, llm.listwise))");
        var afterSecond = Second.Run(afterFirst with { Ranking = ranking.Cut(TopN) }, ctx, depth);
        var head = afterSecond.Ranking!.Hits;
        var hits = new List<SearchHit>(ranking.Hits.Count);
        foreach (var h in head) hits.Add(h with { Score = ranking.Hits.Count - hits.Count });
        for (int i = head.Count; i < ranking.Hits.Count; i++) hits.Add(ranking.Hits[i] with { Score = ranking.Hits.Count - hits.Count });
        var stages = new List<StageScores>(afterSecond.Ranking.Stages);
        stages.Add(StageScores.Of(RetrieverStage.UniqueName(Text, stages), hits));
        return afterSecond with { Ranking = new Ranking(hits, stages) };
    }
}
