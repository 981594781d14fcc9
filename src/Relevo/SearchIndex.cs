using System.Collections.Concurrent;
using System.Text;
using Relevo.Evaluation;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo;

/// <summary>An index to search, run and write: one index folder, or a sharded index whose shards are searched in this
/// process or on a cluster, behind the same calls. Pipelines are written in Relevo's pipeline language
/// (<c>bm25</c>, <c>bm25 &gt;&gt; rm3 &gt;&gt; bm25</c>, <c>fuse(rrf, bm25, dense(model=arctic-xs))</c>, ...).
/// Thread-safe; dispose it to close the index.</summary>
/// <example><code>
/// using var index = SearchIndex.Open("idx/scifact");
/// foreach (var hit in index.Search("vitamin d and cancer", k: 3).Hits) Console.WriteLine($"{hit.Id} {hit.Score}");
/// </code></example>
public sealed class SearchIndex : IDisposable
{
    private const int CachedPipelines = 256;
    private readonly IndexSource _source;
    private readonly ExtensionRegistry _registry;
    private readonly ServiceSet _services;
    private readonly ConcurrentDictionary<string, Pipeline> _pipelines = new(StringComparer.Ordinal);

    internal SearchIndex(IndexSource source, ExtensionRegistry registry)
    {
        _source = source;
        _registry = registry;
        _services = registry.CreateServices();
        _source.Services = _services;
    }

    /// <summary>Opens the index in <paramref name="path"/>: an index folder, or a sharded index (a folder with
    /// <c>cluster.json</c>), whose shards are then searched in this process exactly as a cluster searches them.</summary>
    public static SearchIndex Open(string path, SearchIndexOptions? options = null)
    {
        options ??= new SearchIndexOptions();
        var registry = ExtensionRegistry.Create(options.Extensions);
        string dir = Path.GetFullPath(path);
        if (!Directory.Exists(dir)) throw new RelevoException($"{path}: no index here (the folder does not exist)");
        IndexSource source = ShardedManifest.Exists(dir)
            ? new ShardedIndexSource(new LocalShards(dir, registry))
            : Manifest.Exists(dir)
                ? new LocalIndexSource(dir, registry, options.Writable, options.Problem)
                : throw IndexFolder.NoIndex(dir, path);
        return new SearchIndex(source, registry);
    }

    /// <summary>A writer for the index in <paramref name="path"/>, creating it (ordinary, or sharded when
    /// <see cref="WriterOptions.Shards"/> is set) if the folder holds none.</summary>
    public static DocumentWriter OpenWriter(string path, WriterOptions? options = null, IReadOnlyList<IRelevoExtension>? extensions = null)
    {
        options ??= new WriterOptions();
        var registry = ExtensionRegistry.Create(extensions);
        if (options.Shards is { } n || ShardedManifest.Exists(path))
        {
            int shards = options.Shards ?? ShardedManifest.Read(path).ShardCount;
            ShardedFolders.CreateOrOpen(path, shards, options.Analyzer);
            var local = new LocalShards(path, registry);
            try
            {
                var writer = local.OpenWriter(options, null);
                return new OwningWriter(writer, local);
            }
            catch
            {
                local.Dispose();
                throw;
            }
        }
        return new LocalDocumentWriter(IndexWriter.Open(path, LocalIndexSource.WriterSettings(options, registry)), options, null);
    }

    /// <summary>What is searched: the index folder, or e.g. "4 shards in /data/idx".</summary>
    public string Description => _source.Description;

    /// <summary>Whether the index is sharded.</summary>
    public bool IsSharded => _source.IsSharded;

    /// <summary>The analyzer the index was built with ("english", "lowercase").</summary>
    public string Analyzer => _source.AnalyzerName;

    internal IndexSource Source => _source;
    internal ExtensionRegistry Registry => _registry;

    // ------------------------------------------------------------------ search

    /// <summary>The top <paramref name="k"/> documents for a query.</summary>
    public SearchResult Search(string query, string pipeline = "bm25", int k = 10, SearchOptions? options = null) =>
        SearchAsync(query, pipeline, k, options).GetAwaiter().GetResult();

    /// <summary>The top <paramref name="k"/> documents for a query; <paramref name="cancellation"/> stops it (a client that
    /// left, a time budget).</summary>
    public async Task<SearchResult> SearchAsync(string query, string pipeline = "bm25", int k = 10, SearchOptions? options = null,
        CancellationToken cancellation = default)
    {
        options ??= new SearchOptions();
        var p = Parse(pipeline);
        using var lease = _source.AcquireTarget();
        var target = lease.Target;
        var context = new StageContext(target, _services, cancellation, trace: options.Explain);
        var state = await p.ExecuteAsync(query, k, context, options.Syntax, options.Filter).ConfigureAwait(false);
        var ranking = state.Ranking!;
        MatchSummary? matched = null;
        if (options.Facets is { Count: > 0 } || options.Sort is not null)
        {
            var (field, descending) = ParseSort(options.Sort);
            var terms0 = RetrieverStage.TermsOf(PipelineQuery.Read(query, options.Syntax, context.Analyzer, context.QuerySchema), context);
            matched = await target.MatchAsync(terms0, options.Filter, options.Facets, options.FacetSize, field, descending, k, cancellation).ConfigureAwait(false);
            if (field is not null) ranking = Ranking.Retrieved($"sort({field}:{(descending ? "desc" : "asc")})", matched.Sorted!, null);
        }
        IReadOnlyList<Document?>? documents = options.Documents ? await target.DocumentsAsync(ranking.Hits, cancellation).ConfigureAwait(false) : null;
        Explanation?[]? explanations = null;
        if (options.Explain && ranking == state.Ranking) explanations = await p.ExplainAsync(ranking.Hits, context).ConfigureAwait(false);
        var terms = RetrieverStage.TermsOf(state.Query, context);
        return new SearchResult(query, p.Text, k, terms.Terms, ranking, target.Version, target.Analyzer.Name, documents, explanations)
        {
            Facets = matched?.Facets,
            ApproximateFacets = matched?.Approximate,
            Matching = matched?.Count,
        };
    }

    /// <summary>The served commit's typed fields (field → type), or null when it has none; on a sharded index the
    /// shards' schema (every shard's commit records it; the sharded writer types a key once for all shards).</summary>
    internal async Task<IReadOnlyDictionary<string, string>?> TypedFieldsAsync(CancellationToken cancellation = default)
    {
        using var lease = _source.AcquireTarget();
        return await lease.Target.SchemaAsync(cancellation).ConfigureAwait(false);
    }

    /// <summary>"field", "field:asc" or "field:desc" as (field, descending); (null, false) for none.</summary>
    private static (string? Field, bool Descending) ParseSort(string? sort)
    {
        if (string.IsNullOrWhiteSpace(sort)) return (null, false);
        int colon = sort.LastIndexOf(':');
        string field = colon < 0 ? sort : sort[..colon];
        string order = colon < 0 ? "asc" : sort[(colon + 1)..];
        if (field.Length == 0 || order is not ("asc" or "desc"))
            throw new RelevoException($"sort: '{sort}' is not field:asc or field:desc");
        return (field, order == "desc");
    }

    /// <summary>One document's rank (from 1), hit and score explanation for a query, when it is among the pipeline's top
    /// <paramref name="depth"/>; null when it is not. The explanation is null when the pipeline explains no scores.</summary>
    internal async Task<(int Rank, Hit Hit, Explanation? Explanation)?> ExplainAsync(string query, string pipeline, string id, int depth,
        CancellationToken cancellation = default, QuerySyntax syntax = QuerySyntax.Plain)
    {
        var p = Parse(pipeline);
        using var lease = _source.AcquireTarget();
        var context = new StageContext(lease.Target, _services, cancellation, trace: true);
        var state = await p.ExecuteAsync(query, depth, context, syntax).ConfigureAwait(false);
        var hits = state.Ranking!.Hits;
        for (int i = 0; i < hits.Count; i++)
            if (hits[i].Id == id)
                return (i + 1, hits[i], (await p.ExplainAsync([hits[i]], context).ConfigureAwait(false))[0]);
        return null;
    }

    /// <summary>The canonical text of a pipeline (a <see cref="Pipelines.PipelineSyntaxException"/> if it does not parse).</summary>
    public string CanonicalPipeline(string pipeline) => Parse(pipeline).Text;

    /// <summary>Parsed pipelines by text, kept for reuse (bounded: past it, parsed per call).</summary>
    internal Pipeline Parse(string text)
    {
        if (_pipelines.TryGetValue(text, out var p)) return p;
        p = Pipeline.Parse(text, _registry);
        if (_pipelines.Count < CachedPipelines) _pipelines.TryAdd(text, p);
        return p;
    }

    // ------------------------------------------------------------------ runs

    /// <summary>Every query's top <paramref name="k"/>, as a TREC run (in memory, for evaluation).</summary>
    public TrecRun Run(IReadOnlyList<(string Id, string Text)> queries, string pipeline = "bm25", int k = 1000, RunOptions? options = null)
    {
        options ??= new RunOptions();
        var p = Parse(pipeline);
        var run = new TrecRun(CheckTag(options.Tag ?? p.Text));
        var rankings = new (string DocId, double Score)[queries.Count][];
        RunQueries(queries, p, k, options, (i, context, _) =>
        {
            var hits = p.ExecuteAsync(queries[i].Text, k, context, options.Syntax, options.Filter).AsTask().GetAwaiter().GetResult().Ranking!.Hits;
            var ranked = new (string, double)[hits.Count];
            for (int j = 0; j < ranked.Length; j++) ranked[j] = (hits[j].Id, hits[j].Score);
            rankings[i] = ranked;
        }, null);
        for (int i = 0; i < queries.Count; i++) run.AddRanking(queries[i].Id, rankings[i]);
        return run;
    }

    /// <summary>Every query's top <paramref name="k"/>, written to <paramref name="output"/> as TREC run lines
    /// (<c>qid Q0 docid rank score tag</c>, in query order); returns the number of lines. Lines are formatted straight into
    /// a byte buffer; a single retriever on a local index writes ids from the index's bytes without making hits.</summary>
    public long WriteRun(IReadOnlyList<(string Id, string Text)> queries, Stream output, string pipeline = "bm25", int k = 1000,
        RunOptions? options = null)
    {
        options ??= new RunOptions();
        var p = Parse(pipeline);
        var tag = Encoding.UTF8.GetBytes(CheckTag(options.Tag ?? p.Text));
        long lines = 0;
        var retriever = p.Root as RetrieverStage;
        RunQueries(queries, p, k, options, (i, context, buffer) =>
        {
            var (id, text) = queries[i];
            var qid = Encoding.UTF8.GetBytes(id);
            if (retriever is not null && context.Target.LocalReader is { } reader)
            {
                if (string.IsNullOrWhiteSpace(text)) throw new RelevoException("empty query");
                var pending = retriever.PrepareRequestAsync(PipelineQuery.Read(text, options.Syntax, context.Analyzer, context.Target.LocalReader?.Schema), context);
                var request = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
                if (!string.IsNullOrWhiteSpace(options.Filter)) request = request with { Filter = options.Filter };
                int cap = Math.Min(k, Math.Max(reader.MaxDoc, 1));
                if ((t_docs?.Length ?? 0) < cap) { t_docs = new int[cap]; t_scores = new float[cap]; }
                int n = retriever.Search(reader, request, null, k, t_docs, t_scores!, float.NegativeInfinity, null);
                for (int r = 0; r < n; r++)
                {
                    int global = t_docs![r];
                    int s = reader.SegmentOf(global);
                    buffer.Line(qid, reader.Segments[s].GetIdUtf8(global - reader.DocBase[s]), r + 1, t_scores![r], tag);
                }
            }
            else
            {
                var hits = p.ExecuteAsync(text, k, context, options.Syntax, options.Filter).AsTask().GetAwaiter().GetResult().Ranking!.Hits;
                for (int r = 0; r < hits.Count; r++) buffer.Line(qid, hits[r].Id, r + 1, hits[r].Score, tag);
            }
        }, (i, buffer, flush) =>
        {
            // in query order, on the writing thread, with the buffer the query wrote to
            if (!flush) return;
            lines += CountLines(buffer.Written);
            buffer.WriteTo(output);
        });
        output.Flush();
        return lines;
    }

    [ThreadStatic] private static int[]? t_docs;
    [ThreadStatic] private static float[]? t_scores;

    private static long CountLines(ReadOnlySpan<byte> bytes) => bytes.Count((byte)'\n');

    private static string CheckTag(string tag) =>
        string.IsNullOrWhiteSpace(tag) || tag.AsSpan().IndexOfAny(" \t\r\n") >= 0
            ? throw new RelevoException($"run tag '{tag}': a TREC run tag is one word without spaces")
            : tag;

    /// <summary>Runs <paramref name="query"/> for every query (in parallel on <see cref="RunOptions.Threads"/> threads,
    /// over one commit of a local index for the whole run), writing to the buffer it is given; then, in query order on
    /// one thread, <paramref name="done"/> with that buffer and whether to flush it now. The first failing query (in
    /// query order) stops the run with its id in the message.</summary>
    private void RunQueries(IReadOnlyList<(string Id, string Text)> queries, Pipeline p, int k, RunOptions options,
        Action<int, StageContext, TrecLineBuffer> query, Action<int, TrecLineBuffer, bool>? done)
    {
        if (k < 1) throw new RelevoException("k must be at least 1");
        if (options.Threads < 1) throw new RelevoException("threads must be at least 1");
        var texts = new string[queries.Count];
        for (int i = 0; i < texts.Length; i++) texts[i] = queries[i].Text;
        using var runLease = _source.AcquireTarget();
        var runContext = new StageContext(runLease.Target, _services, options.Cancellation);
        p.Root.PrepareAsync(texts, runContext).AsTask().GetAwaiter().GetResult();
        bool perQueryTarget = runLease.Target.LocalReader is null; // a sharded target remembers one query's version

        void One(int i, TrecLineBuffer buffer)
        {
            options.Cancellation.ThrowIfCancellationRequested();
            try
            {
                if (!perQueryTarget) query(i, runContext, buffer);
                else
                {
                    using var lease = _source.AcquireTarget();
                    query(i, new StageContext(lease.Target, _services, options.Cancellation), buffer);
                }
            }
            catch (RelevoException e)
            {
                throw new RelevoException($"query {queries[i].Id}: {e.Message}", e);
            }
        }

        int count = queries.Count;
        if (options.Threads == 1 || count < 2)
        {
            using var buffer = new TrecLineBuffer();
            for (int i = 0; i < count; i++)
            {
                One(i, buffer);
                done?.Invoke(i, buffer, buffer.Length >= 1 << 20 || i == count - 1);
                if (((i + 1) & 15) == 0) options.Progress?.Invoke(i + 1);
            }
            options.Progress?.Invoke(count);
            return;
        }
        // blocks of queries in parallel; each query writes to its own buffer, handed over in order
        int block = 64 * options.Threads;
        var outputs = new TrecLineBuffer[Math.Min(block, count)];
        for (int j = 0; j < outputs.Length; j++) outputs[j] = new TrecLineBuffer(4096);
        var errors = new Exception?[outputs.Length];
        try
        {
            for (int start = 0; start < count; start += block)
            {
                int n = Math.Min(block, count - start);
                Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = options.Threads }, j =>
                {
                    try { One(start + j, outputs[j]); }
                    catch (Exception e) when (e is RelevoException or OperationCanceledException) { errors[j] = e; }
                });
                for (int j = 0; j < n; j++)
                    if (errors[j] is { } e) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e);
                if (done is not null)
                    for (int j = 0; j < n; j++) done(start + j, outputs[j], true);
                for (int j = 0; j < n; j++) outputs[j].Clear();
                options.Progress?.Invoke(start + n);
            }
        }
        finally
        {
            foreach (var o in outputs) o.Dispose();
        }
    }

    // ------------------------------------------------------------------ documents and status

    /// <summary>The live document with this id, or null.</summary>
    public Task<Document?> GetDocumentAsync(string id) => _source.GetDocumentAsync(id);

    /// <summary>Generation, live documents, segments and (when <paramref name="withSize"/>) size on disk.</summary>
    public Task<IndexStatus> StatusAsync(bool withSize = true) => _source.StatusAsync(withSize);

    /// <summary>The pipelines a search page offers on this index, default first: BM25 (or, on a pre-encoded learned
    /// sparse index, its impacts), and what extensions offer for the data the index holds (dense and hybrid pipelines
    /// for every model whose vectors every segment has).</summary>
    public IReadOnlyList<PipelineChoice> PipelineChoices()
    {
        var segments = _source.CurrentSegments();
        bool learnedSparse = segments is { Count: > 0 } && segments.All(s => s.Component(Index.Impacts.ImpactView.Component, "weights") is not null);
        var choices = new List<PipelineChoice>
        {
            learnedSparse ? new("impact", "Learned sparse (pre-encoded terms)", "impact") : new("bm25", "BM25", "bm25"),
        };
        if (segments is { Count: > 0 })
            foreach (var offer in _registry.ChoiceProviders) choices.AddRange(offer(segments));
        return choices;
    }

    // ------------------------------------------------------------------ writes

    /// <summary>A writer for this index (one at a time; not while the index is open writable).</summary>
    public DocumentWriter OpenWriter(WriterOptions? options = null) => _source.OpenWriter(options ?? new WriterOptions());

    /// <summary>Adds or replaces (by id) documents and commits them: when the task completes they are durable and the
    /// next search sees them. Needs an index opened writable (<see cref="SearchIndexOptions.Writable"/>) or sharded.
    /// Returns the new generation.</summary>
    public Task<long> AddAsync(IReadOnlyList<Document> documents, CancellationToken cancellation = default) =>
        _source.AddAndCommitAsync(documents, cancellation);

    /// <summary>Deletes a document and commits; Deleted is false (and nothing written) when no live document has the id.</summary>
    public Task<(bool Deleted, long Generation)> DeleteAsync(string id, CancellationToken cancellation = default) =>
        _source.DeleteAndCommitAsync(id, cancellation);

    /// <summary>Whether questions can be answered here (an extension with an LLM endpoint is loaded).</summary>
    internal bool CanAnswer => _services.TryGet<IAnswerer>() is not null;

    /// <summary>Answers a question from this index's passages, with citations (the LLM extension's answerer).</summary>
    internal Task<AskResult> AskAsync(string question, AskOptions options, CancellationToken cancellation = default) =>
        (_services.TryGet<IAnswerer>() ?? throw new RelevoException("no LLM to answer with: give an LLM endpoint and model (relevo serve --llm URL --llm-model NAME)"))
        .AskAsync(this, question, options, cancellation);

    /// <summary>Whether adding documents embeds them (the index holds a model's vectors on every segment), which makes
    /// a write cost an encoder pass per document.</summary>
    internal bool EmbedsOnWrite
    {
        get
        {
            var segments = _source.CurrentSegments(); // null for a remote cluster's shards: not known here
            return segments is { Count: > 0 } && segments[0].Components.Count > 0;
        }
    }

    /// <summary>Makes searches see the latest commit (written by another process); true if it changed.</summary>
    public bool Refresh() => _source.Refresh();

    /// <summary>Closes the index (its readers, writer and the services extensions opened).</summary>
    public void Dispose()
    {
        try { _services.Dispose(); }
        finally { _source.Dispose(); }
    }

    /// <summary>A writer that also owns what it was opened over (the in-process shards of a sharded index).</summary>
    private sealed class OwningWriter(DocumentWriter inner, IDisposable owned) : DocumentWriter
    {
        public override void Add(Document document) => inner.Add(document);
        public override long AddRange(IEnumerable<Document> documents, Action<long>? progress = null) => inner.AddRange(documents, progress);
        public override long AddCorpus(string path, Action<double, long>? progress = null) => inner.AddCorpus(path, progress);
        public override bool Delete(string id) => inner.Delete(id);
        public override long Commit() => inner.Commit();
        public override void ForceMerge() => inner.ForceMerge();
        public override long CommitMerged() => inner.CommitMerged();
        public override long LiveDocs => inner.LiveDocs;
        internal override void ForEachIndexWriter(Action<IndexWriter, int> action) => inner.ForEachIndexWriter(action);

        public override void Dispose()
        {
            try { inner.Dispose(); }
            finally { owned.Dispose(); }
        }
    }
}
