using Relevo.Analysis;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>What a stage runs against for one query: the searched commit (one local index, or a sharded index at one
/// cluster-wide version), the services extensions registered (an embedding model, an LLM client), and the request's
/// cancellation (a client that left, a time budget that ran out).</summary>
public sealed class StageContext
{
    private readonly ServiceSet _services;

    internal StageContext(ISearchTarget target, ServiceSet services, CancellationToken cancellation, bool trace = false)
    {
        Target = target;
        _services = services;
        Cancellation = cancellation;
        if (trace)
        {
            _runs = [];
            _notes = [];
        }
    }

    private readonly Dictionary<Stage, StageRun>? _runs;

    /// <summary>Runs a stage; when this context traces (a search asked for explanations), remembers what went in and
    /// came out, which is what the stage's explanation reads. Stages that run nested stages run them through here.</summary>
    public async ValueTask<PipelineState> RunAsync(Stage stage, PipelineState state, int depth)
    {
        Cancellation.ThrowIfCancellationRequested();
        var pending = stage.RunAsync(state, this, depth);
        var output = pending.IsCompletedSuccessfully ? pending.Result : await pending.ConfigureAwait(false);
        if (_runs is not null)
            lock (_runs) _runs[stage] = new StageRun(state, output);
        return output;
    }

    /// <summary>What a stage took and gave in this search, when the context traced it; else null.</summary>
    internal StageRun? RunOf(Stage stage)
    {
        if (_runs is null) return null;
        lock (_runs) return _runs.TryGetValue(stage, out var run) ? run : null;
    }

    /// <summary>Whether this context traces (a search asked for explanations).</summary>
    internal bool Tracing => _runs is not null;

    /// <summary>Texts stages attached to documents (only when tracing).</summary>
    private readonly Dictionary<(Stage Stage, string DocId), List<string>>? _notes;

    /// <summary>Keeps a text a stage produced about a document in this traced search (an LLM's reply), for its
    /// explanation; ignored when the context does not trace.</summary>
    internal void Attach(Stage stage, string docId, string text)
    {
        if (_notes is null) return;
        lock (_notes)
        {
            if (!_notes.TryGetValue((stage, docId), out var list)) _notes[(stage, docId)] = list = [];
            list.Add(text);
        }
    }

    /// <summary>The texts <see cref="Attach"/> kept for a stage and document, in order (empty when none).</summary>
    internal IReadOnlyList<string> AttachedTo(Stage stage, string docId)
    {
        if (_notes is null) return [];
        lock (_notes) return _notes.TryGetValue((stage, docId), out var list) ? [.. list] : [];
    }

    internal ISearchTarget Target { get; }

    /// <summary>The schema a query is read with (which fielded clauses are text): a local commit's own; on a sharded
    /// index the shards' (read when a query names a field other than title and text, <see cref="Pipeline.ExecuteAsync"/>),
    /// else null (title and text only).</summary>
    internal Relevo.Index.Values.Schema? QuerySchema
    {
        get => _querySchema ?? Target.LocalReader?.Schema;
        set => _querySchema = value;
    }

    private Relevo.Index.Values.Schema? _querySchema;

    internal Analyzer Analyzer => Target.Analyzer;

    /// <summary>Cancelled when the client leaves or the request's time budget runs out; long stages check it.</summary>
    public CancellationToken Cancellation { get; }

    /// <summary>A service an extension registered (<see cref="ExtensionRegistry.AddService{T}"/>); a
    /// <see cref="RelevoException"/> saying what is missing when none was.</summary>
    public T GetService<T>() where T : class => _services.Get<T>();

    /// <summary>The service if one was registered, else null.</summary>
    public T? TryGetService<T>() where T : class => _services.TryGet<T>();

    /// <summary>The analysed terms of a text (the index's analyzer).</summary>
    public IReadOnlyList<string> Analyze(string text) => Analyzer.Terms(text);

    /// <summary>The explanations of a nested stage's scores for hits (null entries where it has none, or did not run).</summary>
    internal ValueTask<Explanation?[]> ExplainAsync(Stage stage, IReadOnlyList<Hit> hits) =>
        RunOf(stage) is { } run ? stage.ExplainAsync(run, hits, this) : ValueTask.FromResult(new Explanation?[hits.Count]);

    /// <summary>The stored documents of hits of this search (null where a document was deleted meanwhile).</summary>
    public ValueTask<Document?[]> DocumentsAsync(IReadOnlyList<Hit> hits) => Target.DocumentsAsync(hits, Cancellation);
}

/// <summary>A stage's input and output state in one traced search.</summary>
internal sealed record StageRun(PipelineState Input, PipelineState Output);
