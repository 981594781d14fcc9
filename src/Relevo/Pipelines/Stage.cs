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
        foreach (var s in Stages)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var pending = s.RunAsync(state, context, depth);
            state = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
        }
        return state;
    }
}
