using Relevo.Analysis;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>What a stage runs against for one query: the searched commit (one local index, or a sharded index at one
/// cluster-wide version), the services extensions registered (an embedding model, an LLM client), and the request's
/// cancellation (a client that left, a time budget that ran out).</summary>
public sealed class StageContext
{
    private readonly ServiceSet _services;

    internal StageContext(ISearchTarget target, ServiceSet services, CancellationToken cancellation)
    {
        Target = target;
        _services = services;
        Cancellation = cancellation;
    }

    internal ISearchTarget Target { get; }

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

    /// <summary>The stored documents of hits of this search (null where a document was deleted meanwhile).</summary>
    public ValueTask<Document?[]> DocumentsAsync(IReadOnlyList<Hit> hits) => Target.DocumentsAsync(hits, Cancellation);
}
