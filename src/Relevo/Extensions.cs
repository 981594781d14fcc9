using System.Collections.Concurrent;
using Relevo.Index;
using Relevo.Pipelines;

namespace Relevo;

/// <summary>Adds capabilities to Relevo: pipeline stages (with the parameters they accept), services those stages use
/// (an embedding model, an LLM client), and, for Relevo's own layers, per-segment index components. Pass extensions
/// in <see cref="SearchIndexOptions.Extensions"/>; the core registers bm25, ql, fuse, rm3, rocchio and cascade itself.</summary>
public interface IRelevoExtension
{
    /// <summary>Adds the extension's stages, services and components to <paramref name="registry"/>.</summary>
    void Register(ExtensionRegistry registry);
}

/// <summary>Builds a stage from its parsed text: arguments are read (and checked, with column-precise errors) through
/// <paramref name="syntax"/>, nested pipelines built with <see cref="StageSyntax.Pipeline"/>.</summary>
public delegate Stage StageFactory(StageSyntax syntax);

/// <summary>What the extensions of one <see cref="SearchIndex"/> registered: stage factories by name, services,
/// segment components and document operations. The pipeline parser looks stages up here, so a new stage needs no
/// change to the parser.</summary>
public sealed class ExtensionRegistry
{
    private readonly Dictionary<string, (StageFactory Factory, string Usage)> _stages = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];
    private readonly Dictionary<Type, (Func<object> Create, bool Dispose)> _services = [];
    private readonly Dictionary<Type, Type> _aliases = [];
    private readonly List<SegmentComponent> _components = [];
    private readonly Dictionary<string, DocumentOperation> _operations = new(StringComparer.Ordinal);
    private readonly List<Func<IReadOnlyList<SegmentEntry>, IEnumerable<PipelineChoice>>> _choices = [];

    /// <summary>A registry with the core stages and the given extensions.</summary>
    public static ExtensionRegistry Create(IEnumerable<IRelevoExtension>? extensions = null)
    {
        var r = new ExtensionRegistry();
        CoreStages.Register(r);
        if (extensions is not null)
            foreach (var e in extensions) e.Register(r);
        return r;
    }

    /// <summary>The registry of the core stages only.</summary>
    public static ExtensionRegistry Core { get; } = Create();

    /// <summary>Adds a stage called <paramref name="name"/>; <paramref name="usage"/> lists its arguments for error
    /// messages, e.g. "bm25(k1,b)". A name registered twice is an error.</summary>
    public void AddStage(string name, string usage, StageFactory factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        if (!_stages.TryAdd(name, (factory, usage))) throw new ArgumentException($"a stage '{name}' is registered already", nameof(name));
        _order.Add(name);
    }

    /// <summary>Adds a service stages reach through <see cref="StageContext.GetService{T}"/>, created on first use (one
    /// per <see cref="SearchIndex"/>) and disposed with it when disposable.</summary>
    public void AddService<T>(Func<T> create) where T : class => _services[typeof(T)] = (create, true);

    /// <summary>Makes <typeparamref name="TService"/>, a registered service, reachable as <typeparamref name="TAlias"/>
    /// too (one instance: e.g. the dense layer's models serve the core's query embeddings).</summary>
    internal void AddServiceAlias<TAlias, TService>() where TService : class, TAlias where TAlias : class =>
        _aliases[typeof(TAlias)] = typeof(TService);

    /// <summary>A service its owner keeps and disposes (e.g. an LLM client shared by several indexes).</summary>
    internal void AddBorrowedService<T>(T instance) where T : class => _services[typeof(T)] = (() => instance, false);

    internal void AddComponent(SegmentComponent component) => _components.Add(component);

    internal void AddDocumentOperation(string name, DocumentOperation operation) => _operations[name] = operation;

    /// <summary>Pipelines to offer on a search page, given the segments of the index (e.g. dense and hybrid for every
    /// model whose vectors every segment holds).</summary>
    internal void AddPipelineChoices(Func<IReadOnlyList<SegmentEntry>, IEnumerable<PipelineChoice>> offer) => _choices.Add(offer);

    internal IReadOnlyList<Func<IReadOnlyList<SegmentEntry>, IEnumerable<PipelineChoice>>> ChoiceProviders => _choices;

    internal bool TryGetStage(string name, out StageFactory factory)
    {
        bool found = _stages.TryGetValue(name, out var s);
        factory = s.Factory;
        return found;
    }

    internal IReadOnlyList<string> StageNames => _order;

    /// <summary>Every stage's usage, for syntax errors: "stages: bm25(k1,b) | ql(mu) | ...".</summary>
    internal string StageList => "stages: " + string.Join(" | ", _order.Select(n => _stages[n].Usage));

    internal IReadOnlyList<SegmentComponent> Components => _components;

    internal DocumentOperation DocumentOperation(string name) =>
        _operations.TryGetValue(name, out var op) ? op : throw new RelevoException($"no document operation '{name}' is registered here");

    internal ServiceSet CreateServices() => new(_services, _aliases);

    /// <summary>Whether a pipeline may name a model file by its path (local use); a server sets false, and then models
    /// are names looked up in <see cref="ModelsDirectory"/> (<see cref="ServedModels"/>).</summary>
    internal bool ModelPaths { get; set; } = true;

    /// <summary>The operator's folder of named models when <see cref="ModelPaths"/> is false (null: none).</summary>
    internal string? ModelsDirectory { get; set; }

    /// <summary>A model file a pipeline named (<c>ltr(model=...)</c>): the path itself in local use; in a server, the
    /// name's folder in the operator's models folder, and never a path.</summary>
    internal string ModelPath(string requested)
    {
        if (ModelPaths) return requested;
        if (requested.Length == 0 || requested.Length > 100 || requested is "." or ".." ||
            !requested.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            throw new RelevoException($"model '{(requested.Length > 40 ? requested[..40] + "…" : requested)}': name a model of this server, not a path");
        return ModelsDirectory is { } dir
            ? Path.Combine(dir, requested)
            : throw new RelevoException("this server serves no learned models (relevo serve --models DIR)");
    }
}

/// <summary>What a server adds to its extensions: pipelines name models (learned rankers) only by name, from the
/// operator's folder, never by a path of the machine.</summary>
internal sealed class ServedModels(string? directory) : IRelevoExtension
{
    public void Register(ExtensionRegistry registry)
    {
        registry.ModelPaths = false;
        registry.ModelsDirectory = directory is null ? null : Path.GetFullPath(directory);
    }
}

/// <summary>Names of document operations that more than one layer uses.</summary>
internal static class DocumentOperations
{
    /// <summary>A document's stored float32 vector for a model (registered by the dense layer; the core's lattice
    /// stage reads leaves with it).</summary>
    public const string StoredVector = "dense.vector";
}

/// <summary>Data an extension computes for one document where the document lives (its own process or a shard's):
/// e.g. the dense extension's stored vector. Arguments: the commit, an argument (the model), segment and document.</summary>
internal delegate byte[]? DocumentOperation(IndexReader reader, string argument, int segment, int doc);

/// <summary>The services of one <see cref="SearchIndex"/>: created on first use, disposed with it.</summary>
internal sealed class ServiceSet(IReadOnlyDictionary<Type, (Func<object> Create, bool Dispose)> factories,
    IReadOnlyDictionary<Type, Type>? aliases = null) : IDisposable
{
    private readonly ConcurrentDictionary<Type, Lazy<object>> _created = new();

    public T Get<T>() where T : class =>
        TryGet<T>() ?? throw new RelevoException($"no {typeof(T).Name} here (the extension that provides it is not loaded)");

    public T? TryGet<T>() where T : class => (T?)TryGet(typeof(T));

    private object? TryGet(Type type)
    {
        if (aliases is not null && aliases.TryGetValue(type, out var target)) type = target;
        if (!factories.TryGetValue(type, out var factory)) return null;
        return _created.GetOrAdd(type, _ => new Lazy<object>(factory.Create, LazyThreadSafetyMode.ExecutionAndPublication)).Value;
    }

    public void Dispose()
    {
        foreach (var (type, s) in _created)
            if (s.IsValueCreated && factories[type].Dispose && s.Value is IDisposable d) d.Dispose();
    }
}
