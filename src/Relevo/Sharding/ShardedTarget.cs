using System.Collections.Concurrent;
using Relevo.Analysis;
using Relevo.Index;
using Relevo.Index.Values;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Search.Filters;

namespace Relevo.Sharding;

/// <summary>A pipeline's view of a sharded index (shards in this process or grains on a cluster) for one query: each
/// retrieval gathers the collection statistics of its terms from every shard, has every shard search with the global
/// values, and merges the shards' top k into the global top k (best first; ties by the documents' cluster-wide
/// ordinals, as one index breaks them by document number). Everything the query reads comes from one cluster-wide
/// version: if a commit lands between the phases, the retrieval starts over at the newer version.
/// <para>A hit's <see cref="Hit.Segment"/> is its shard and <see cref="Hit.Doc"/> its document number within the shard.</para></summary>
internal sealed class ShardedTarget : ISearchTarget
{
    private const int MaxAttempts = 5;
    private readonly IReadOnlyList<IShardService> _shards;
    // the shards' reads in fewer round trips than one per shard, when the list of shards offers it
    private readonly IShardBatch? _batch;
    private readonly GlobalStatisticsCache _cache;

    /// <param name="cache">Global statistics already gathered (one per set of shards, shared by their queries).</param>
    public ShardedTarget(IReadOnlyList<IShardService> shards, Analyzer analyzer, GlobalStatisticsCache cache)
    {
        if (shards.Count == 0) throw new RelevoException("a sharded search needs at least one shard");
        _shards = shards;
        _batch = shards as IShardBatch;
        Analyzer = analyzer;
        _cache = cache;
    }

    public Analyzer Analyzer { get; }
    public IndexReader? LocalReader => null;

    /// <summary>The cluster-wide version this query's reads used (<see cref="ShardVersion.Latest"/> before the first).</summary>
    public long Version { get; private set; } = ShardVersion.Latest;

    /// <summary>The statistics keys of a request: the terms each shard will score, in every field it scores them
    /// (<see cref="RetrieverStage.StatisticsKeys"/>).</summary>
    private string[] KeysOf(RetrieverStage retriever, Query query) => retriever.StatisticsKeys(query, Analyzer);

    public async ValueTask<Hit[]> RetrieveAsync(RetrieverStage retriever, RetrievalRequest request, int k, CancellationToken cancellation)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        var query = request.Terms;
        string? structured = retriever is Bm25Stage && query?.Structured is { } node ? node.ToString() : null;
        if (structured is { Length: 0 }) return []; // a query whose every clause analysed to nothing matches nothing
        var bag = new string[query?.Terms.Count ?? 0];
        var weights = new float[bag.Length];
        for (int i = 0; i < bag.Length; i++) (bag[i], weights[i]) = query!.Terms[i];
        var terms = query is null ? [] : KeysOf(retriever, query);
        if (query is not null && terms.Length == 0 && structured is null) return [];

        long version = Version;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            cancellation.ThrowIfCancellationRequested();
            GlobalStatistics? global = null;
            if (terms.Length > 0)
            {
                global = _cache.Get(terms, version, out long cachedVersion);
                if (global is null)
                {
                    var stats = await StatisticsEachAsync(version, terms).ConfigureAwait(false);
                    long newest = MaxVersion(stats, static s => s.Version);
                    if (Array.Exists(stats, s => s.Version != newest) || (version != ShardVersion.Latest && newest != version))
                    {
                        version = newest;
                        continue;
                    }
                    global = ShardStatistics.Sum(terms, stats);
                    _cache.Remember(newest, global);
                    version = newest;
                }
                else version = cachedVersion;
            }

            var message = new ShardRetrieval(version, Guid.NewGuid(), retriever.Text, bag, weights, request.Vector, global, k, float.NegativeInfinity)
                { Filter = request.Filter, Structured = structured };
            var results = await SearchEachAsync(message).ConfigureAwait(false);
            long answered = MaxVersion(results, static r => r.Version);
            if (Array.Exists(results, r => r.Version != answered) || (version != ShardVersion.Latest && answered != version))
            {
                version = answered;
                continue;
            }
            Version = answered;
            return Merge(results, k);
        }
        throw new RelevoException($"the sharded index kept changing during the search ({MaxAttempts} attempts); try again");
    }

    /// <summary>Most distinct values of one facet field a shard sends (its most frequent ones): bounds a shard's answer
    /// to a high-cardinality field. A field for which some shard had more is counted approximately and reported so.</summary>
    public const int DefaultFacetCap = 10_000;

    /// <summary>Most distinct values of one facet field a shard sends (<see cref="DefaultFacetCap"/>; tests lower it).</summary>
    public int FacetCap { get; init; } = DefaultFacetCap;

    /// <summary>Facets and a sort by field over a sharded index: every shard matches the query within the filter at one
    /// cluster-wide version (as one index matches it) and answers its count, each facet field's counts (all its values up
    /// to <see cref="FacetCap"/>) and its first k by the sort field; the counts add up value by value and are ordered
    /// and cut as one index orders them (<see cref="FacetCounts.Top"/>), and the sorted lists merge by value, then
    /// cluster-wide ordinal (the order one index numbers the documents in).</summary>
    public async ValueTask<MatchSummary> MatchAsync(Query query, string? filter, IReadOnlyList<string>? facets, int facetSize, string? sortField,
        bool descending, int k, CancellationToken cancellation)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        var (terms, weights) = query.ToArrays();
        string? structured = query.Structured?.ToString();
        var fields = facets is null ? [] : facets.ToArray();
        long version = Version;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            cancellation.ThrowIfCancellationRequested();
            var message = new ShardMatch(version, terms, weights, structured, filter, fields, FacetCap, sortField, descending, k);
            var results = await Task.WhenAll(Each(s => s.MatchAsync(message, cancellation))).ConfigureAwait(false);
            long answered = MaxVersion(results, static r => r.Version);
            if (Array.Exists(results, r => r.Version != answered) || (version != ShardVersion.Latest && answered != version))
            {
                version = answered;
                continue;
            }
            // the hits a sort returns are this version's; without a sort the pipeline's hits stay those of the version
            // they were read at, and their documents are fetched there (facets of a newer commit beside them)
            if (sortField is not null) Version = answered;
            long count = 0;
            foreach (var r in results) count += r.Count;
            Dictionary<string, IReadOnlyList<(string Value, long Count)>>? counted = null;
            List<string>? approximate = null;
            if (fields.Length > 0)
            {
                counted = new Dictionary<string, IReadOnlyList<(string Value, long Count)>>(StringComparer.Ordinal);
                for (int f = 0; f < fields.Length; f++)
                {
                    var type = await TypeAsync(fields[f], results, r => r.Facets[f].Type, cancellation).ConfigureAwait(false);
                    var sum = new FacetCounts(type);
                    bool capped = false;
                    foreach (var r in results)
                    {
                        var facet = r.Facets[f];
                        if (facet.Type is null) continue;
                        capped |= facet.Capped;
                        for (int i = 0; i < facet.Counts.Length; i++)
                            if (facet.Words is { } words) sum.Add(words[i], facet.Counts[i]);
                            else sum.Add(facet.Numbers![i], facet.Counts[i]);
                    }
                    counted[fields[f]] = sum.Shown(Math.Max(1, facetSize));
                    if (capped) (approximate ??= []).Add(fields[f]);
                }
            }
            Hit[]? sorted = null;
            if (sortField is not null)
            {
                await TypeAsync(sortField, results, r => r.Sorted!.Type, cancellation).ConfigureAwait(false);
                sorted = MergeSorted(results, descending, k);
            }
            return new MatchSummary(count, counted, approximate, sorted);
        }
        throw new RelevoException($"the sharded index kept changing during the search ({MaxAttempts} attempts); try again");
    }

    /// <summary>The type the shards give a field (those whose schema has it); the one index's error when none has it, and
    /// an error naming both types when two shards disagree.</summary>
    private async ValueTask<FieldType> TypeAsync(string field, ShardMatched[] results, Func<ShardMatched, string?> typeOf, CancellationToken cancellation)
    {
        string? type = null;
        foreach (var r in results)
        {
            string? t = typeOf(r);
            if (t is null) continue;
            if (type is not null && type != t)
                throw new RelevoException($"field '{field}': the shards type it differently ({type} and {t}); facets and sorting need one type");
            type = t;
        }
        if (type is null)
            throw new RelevoException(MatchSet.Unknown(field, Schema.FromManifest(await SchemaAsync(cancellation).ConfigureAwait(false))));
        return Schema.Parse(type, $"field '{field}'");
    }

    /// <summary>The first k of the shards' sorted lists: by value as <see cref="SortEntry"/> orders one index's documents
    /// (documents without a value last), ties by cluster-wide ordinal; each hit's score is 0.</summary>
    internal static Hit[] MergeSorted(IReadOnlyList<ShardMatched> shards, bool descending, int k)
    {
        int total = 0;
        foreach (var s in shards) total += s.Sorted!.Ids.Length;
        // an entry's Doc is its position in its shard's list (the id and shard document number are read from there)
        var all = new SortEntry[total];
        int n = 0;
        for (int s = 0; s < shards.Count; s++)
        {
            var r = shards[s].Sorted!;
            for (int i = 0; i < r.Ids.Length; i++)
            {
                bool has = i < r.Valued;
                all[n++] = new SortEntry(s, i, has, has && r.Keys is { } keys ? keys[i] : 0, has && r.Words is { } words ? words[i] : null, r.Ordinals[i]);
            }
        }
        Array.Sort(all, descending ? SortEntry.Descending : SortEntry.Ascending);
        var result = new Hit[Math.Min(k, total)];
        for (int i = 0; i < result.Length; i++)
        {
            var e = all[i];
            var r = shards[e.Segment].Sorted!;
            result[i] = new Hit(r.Ids[e.Doc], 0, e.Segment, r.Docs[e.Doc]);
        }
        return result;
    }

    /// <summary>The shards' typed fields, together (the sharded writer types a key once for all shards, so they agree;
    /// where two did not, the first shard's type is given).</summary>
    public async ValueTask<IReadOnlyDictionary<string, string>?> SchemaAsync(CancellationToken cancellation)
    {
        cancellation.ThrowIfCancellationRequested();
        var schemas = await Task.WhenAll(Each(s => s.SchemaAsync(ShardVersion.Latest))).ConfigureAwait(false);
        Dictionary<string, string>? all = null;
        foreach (var (_, schema) in schemas)
            if (schema is not null)
                foreach (var (field, type) in schema)
                    (all ??= new Dictionary<string, string>(StringComparer.Ordinal)).TryAdd(field, type);
        return all;
    }

    public async ValueTask<Document?[]> DocumentsAsync(IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        var result = new Document?[hits.Count];
        var tasks = new List<Task>();
        foreach (var (shard, positions, docs) in ByShard(hits))
        {
            var s = _shards[shard];
            tasks.Add(Task.Run(async () =>
            {
                var found = await s.DocumentsAsync(Version, docs).ConfigureAwait(false);
                for (int j = 0; j < positions.Count; j++) result[positions[j]] = found[j];
            }, cancellation));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return result;
    }

    public async ValueTask<TermStatistics> StatisticsAsync(IReadOnlyList<string> terms, CancellationToken cancellation)
    {
        var array = terms.ToArray();
        long version = Version;
        for (int attempt = 0; attempt < MaxAttempts; attempt++)
        {
            cancellation.ThrowIfCancellationRequested();
            var stats = await StatisticsEachAsync(version, array).ConfigureAwait(false);
            long newest = MaxVersion(stats, static s => s.Version);
            if (Array.Exists(stats, s => s.Version != newest) || (version != ShardVersion.Latest && newest != version))
            {
                version = newest;
                continue;
            }
            Version = newest;
            var global = ShardStatistics.Sum(array, stats);
            long live = 0;
            foreach (var s in stats) live += s.LiveDocs;
            return new TermStatistics(global.DocCount, live, global.DocFreqs);
        }
        throw new RelevoException($"the sharded index kept changing during the search ({MaxAttempts} attempts); try again");
    }

    /// <summary>Explanations computed by each hit's shard with the collection-wide statistics of the query's terms at
    /// the version the search read (the statistics the shards scored with), so they add up to the sharded scores.</summary>
    /// <summary>Each hit scored on its shard with the collection-wide statistics of the query's terms, as the sharded
    /// search scores it (the "retriever.score" document operation).</summary>
    public async ValueTask<float[]> ScoreAsync(RetrieverStage retriever, RetrievalRequest request, IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        string[]? terms = null;
        float[]? weights = null;
        GlobalStatistics? global = null;
        string? structured = null;
        if (request.Terms is { } query)
        {
            (terms, weights) = query.ToArrays();
            // the statistics of every (field, term) the stage scores: a tree's fields, bm25(fields=…)'s, else the terms
            global = await GlobalAsync(KeysOf(retriever, query), cancellation).ConfigureAwait(false);
            if (retriever is Bm25Stage && query.Structured is { } node) structured = node.ToString();
            if (structured is { Length: 0 }) return new float[hits.Count]; // every clause analysed to nothing: no document matches
        }
        var argument = System.Text.Json.JsonSerializer.Serialize(new ScoreRequest(retriever.Text, terms, weights, request.Vector, global) { Structured = structured });
        var answers = await FetchAsync(ScoreRequest.Operation, argument, hits, cancellation).ConfigureAwait(false);
        var scores = new float[hits.Count];
        for (int i = 0; i < scores.Length; i++) scores[i] = answers[i] is { } b ? BitConverter.ToSingle(b) : 0;
        return scores;
    }

    public async ValueTask<Explanation?[]> ExplainAsync(RetrieverStage stage, Query query, IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        var (terms, weights) = query.ToArrays();
        if (stage is Bm25Stage && query.Structured is { } tree && tree.ToString().Length == 0) return new Explanation?[hits.Count];
        var global = await GlobalAsync(KeysOf(stage, query), cancellation).ConfigureAwait(false);
        var request = new ExplainRequest(stage.Text, terms, weights, global)
        {
            Structured = stage is Bm25Stage && query.Structured is { } node ? node.ToString() : null,
        };
        var answers = await FetchAsync(ExplainRequest.Operation, System.Text.Json.JsonSerializer.Serialize(request), hits, cancellation).ConfigureAwait(false);
        var result = new Explanation?[hits.Count];
        for (int i = 0; i < result.Length; i++)
            if (answers[i] is { } json)
                result[i] = System.Text.Json.JsonSerializer.Deserialize<Explanation>(json)! with { DocId = hits[i].Id };
        return result;
    }

    /// <summary>The collection-wide statistics of terms at the version the last search read.</summary>
    private async ValueTask<GlobalStatistics> GlobalAsync(string[] terms, CancellationToken cancellation)
    {
        if (_cache.Get(terms, Version, out long cached) is { } known && cached == Version) return known;
        cancellation.ThrowIfCancellationRequested();
        var stats = await StatisticsEachAsync(Version, terms).ConfigureAwait(false);
        if (Array.Exists(stats, s => s.Version != Version))
            throw new RelevoException("the sharded index changed since the search; search again to explain its newer ranking");
        return ShardStatistics.Sum(terms, stats);
    }

    public async ValueTask<byte[]?[]> FetchAsync(string operation, string argument, IReadOnlyList<Hit> hits, CancellationToken cancellation)
    {
        var result = new byte[]?[hits.Count];
        var tasks = new List<Task>();
        foreach (var (shard, positions, docs) in ByShard(hits))
        {
            var s = _shards[shard];
            tasks.Add(Task.Run(async () =>
            {
                var fetched = await s.FetchAsync(new ShardFetch(Version, operation, argument, docs)).ConfigureAwait(false);
                for (int j = 0; j < positions.Count; j++) result[positions[j]] = fetched.Results[j];
            }, cancellation));
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
        return result;
    }

    /// <summary>The hits of each shard: their positions in <paramref name="hits"/> and their shard document numbers.</summary>
    private static List<(int Shard, List<int> Positions, int[] Docs)> ByShard(IReadOnlyList<Hit> hits)
    {
        var groups = new SortedDictionary<int, List<int>>();
        for (int i = 0; i < hits.Count; i++)
        {
            if (!groups.TryGetValue(hits[i].Segment, out var list)) groups[hits[i].Segment] = list = [];
            list.Add(i);
        }
        var result = new List<(int, List<int>, int[])>(groups.Count);
        foreach (var (shard, positions) in groups)
        {
            var docs = new int[positions.Count];
            for (int j = 0; j < docs.Length; j++) docs[j] = hits[positions[j]].Doc;
            result.Add((shard, positions, docs));
        }
        return result;
    }

    private Task<ShardHits[]> SearchEachAsync(ShardRetrieval message) =>
        _batch?.SearchEachAsync(message) ?? Task.WhenAll(Each(s => s.SearchAsync(message)));

    private Task<ShardStatistics[]> StatisticsEachAsync(long version, string[] terms) =>
        _batch?.StatisticsEachAsync(version, terms) ?? Task.WhenAll(Each(s => s.StatisticsAsync(version, terms)));

    private Task<T>[] Each<T>(Func<IShardService, Task<T>> call)
    {
        var tasks = new Task<T>[_shards.Count];
        for (int i = 0; i < tasks.Length; i++) tasks[i] = call(_shards[i]);
        return tasks;
    }

    private static long MaxVersion<T>(T[] answers, Func<T, long> version)
    {
        long m = long.MinValue;
        foreach (var a in answers) m = Math.Max(m, version(a));
        return m;
    }

    /// <summary>The global top k from the shards' top k lists: score descending, then cluster-wide ordinal (the order
    /// documents were added, which is how one index breaks ties: by document number), then shard and document.</summary>
    internal static Hit[] Merge(IReadOnlyList<ShardHits> shards, int k)
    {
        int total = 0;
        foreach (var s in shards) total += s.Count;
        var all = new (Hit Hit, long Ordinal)[total];
        int n = 0;
        for (int s = 0; s < shards.Count; s++)
        {
            var r = shards[s];
            for (int i = 0; i < r.Count; i++) all[n++] = (new Hit(r.Ids[i], r.Scores[i], s, r.Docs[i]), r.Ordinals[i]);
        }
        Array.Sort(all, static (x, y) =>
        {
            int c = y.Hit.Score.CompareTo(x.Hit.Score);
            if (c != 0) return c;
            c = x.Ordinal.CompareTo(y.Ordinal);
            if (c != 0) return c;
            c = x.Hit.Segment.CompareTo(y.Hit.Segment);
            return c != 0 ? c : x.Hit.Doc.CompareTo(y.Hit.Doc);
        });
        var result = new Hit[Math.Min(k, total)];
        for (int i = 0; i < result.Length; i++) result[i] = all[i].Hit;
        return result;
    }
}

/// <summary>Collection statistics of the newest cluster version seen, per term: a query whose terms are all here skips
/// the statistics round trip. Thread-safe; shared by the queries of one set of shards. Bounded: past a million terms
/// it starts afresh.</summary>
internal sealed class GlobalStatisticsCache
{
    private readonly object _gate = new();
    private long _version = long.MinValue;
    private long _docCount, _sumTotalTermFreq;
    private ConcurrentDictionary<string, (long Df, long Ttf)> _terms = new(StringComparer.Ordinal);

    /// <summary>The statistics of <paramref name="terms"/> at <paramref name="version"/> (or at the newest cached version
    /// for <see cref="ShardVersion.Latest"/>), or null if some term is not cached.</summary>
    public GlobalStatistics? Get(string[] terms, long version, out long cachedVersion)
    {
        lock (_gate)
        {
            cachedVersion = _version;
            if (_version == long.MinValue || (version != ShardVersion.Latest && version != _version)) return null;
            var df = new long[terms.Length];
            var ttf = new long[terms.Length];
            for (int i = 0; i < terms.Length; i++)
            {
                if (!_terms.TryGetValue(terms[i], out var t)) return null;
                (df[i], ttf[i]) = t;
            }
            return new GlobalStatistics(_docCount, _sumTotalTermFreq, terms, df, ttf);
        }
    }

    public void Remember(long version, GlobalStatistics global)
    {
        lock (_gate)
        {
            if (version < _version) return;
            if (version != _version || _terms.Count > 1_000_000)
            {
                _terms = new ConcurrentDictionary<string, (long, long)>(StringComparer.Ordinal);
                _version = version;
                _docCount = global.DocCount;
                _sumTotalTermFreq = global.SumTotalTermFreq;
            }
            for (int i = 0; i < global.Terms.Length; i++) _terms[global.Terms[i]] = (global.DocFreqs[i], global.TotalTermFreqs[i]);
        }
    }
}
