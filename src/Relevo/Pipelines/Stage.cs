using System.Globalization;

namespace Relevo.Pipelines;

/// <summary>One step of a pipeline. Retrievers produce a ranking for the current query; feedback rewrites the query
/// from the ranking; rerankers reorder it; fusion runs sub-pipelines and merges their rankings. <see cref="Text"/> is the
/// canonical text form, which names runs and keys caches. Stages are immutable and shared by concurrent queries; an
/// extension adds its own through <see cref="ExtensionRegistry.AddStage"/>.</summary>
public abstract class Stage
{
    /// <summary>The canonical text: parsing it gives an equal stage.</summary>
    public abstract string Text { get; }

    /// <summary>Stages nested in this one (sequence members, fusion inputs).</summary>
    public virtual IReadOnlyList<Stage> Children => [];

    /// <summary>This stage and every stage nested in it.</summary>
    public IEnumerable<Stage> Descendants()
    {
        yield return this;
        foreach (var c in Children)
            foreach (var d in c.Descendants()) yield return d;
    }

    /// <summary>Runs the stage on one query.</summary>
    /// <param name="depth">How many documents a retriever in this position must return.</param>
    public abstract ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth);

    /// <summary>Called once before many queries run (e.g. a dense stage embeds all their texts in batches); the default
    /// prepares the nested stages.</summary>
    public virtual async ValueTask PrepareAsync(IReadOnlyList<string> queryTexts, StageContext context)
    {
        foreach (var c in Children) await c.PrepareAsync(queryTexts, context).ConfigureAwait(false);
    }

    /// <summary>Why this stage gave <paramref name="hits"/> (from its output ranking) their scores, from what it took and
    /// gave in a traced search (<paramref name="run"/>); nested stages' explanations come through
    /// <see cref="StageContext.ExplainAsync"/>. The default explains nothing (null entries).</summary>
    internal virtual ValueTask<Explanation?[]> ExplainAsync(StageRun run, IReadOnlyList<Hit> hits, StageContext context) =>
        ValueTask.FromResult(new Explanation?[hits.Count]);

    /// <summary>The canonical text.</summary>
    public override string ToString() => Text;

    /// <summary>A number as stage texts write it (invariant, at most six decimals).</summary>
    protected internal static string Num(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>a >> b >> c: each stage takes the previous one's query and ranking.</summary>
internal sealed class SequenceStage(IReadOnlyList<Stage> stages) : Stage
{
    public IReadOnlyList<Stage> Stages { get; } = stages;
    public override IReadOnlyList<Stage> Children => Stages;
    public override string Text => string.Join(">>", Stages.Select(s => s.Text));

    public override async ValueTask<PipelineState> RunAsync(PipelineState state, StageContext context, int depth)
    {
        foreach (var s in Stages) state = await context.RunAsync(s, state, depth).ConfigureAwait(false);
        return state;
    }

    /// <summary>The scores are those of the last stage that gave a ranking (a feedback stage passes its input on).</summary>
    internal override ValueTask<Explanation?[]> ExplainAsync(StageRun run, IReadOnlyList<Hit> hits, StageContext context)
    {
        for (int i = Stages.Count - 1; i >= 0; i--)
            if (context.RunOf(Stages[i]) is { } r && !ReferenceEquals(r.Output.Ranking, r.Input.Ranking))
                return Stages[i].ExplainAsync(r, hits, context);
        return ValueTask.FromResult(new Explanation?[hits.Count]);
    }
}
