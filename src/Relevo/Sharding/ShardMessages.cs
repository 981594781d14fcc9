using System.IO.Hashing;
using System.Text;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Sharding;

/// <summary>Which shard owns a document: xxHash32 of the UTF-8 bytes of its _id, modulo the number of shards. Stable
/// across processes, machines and .NET versions (unlike <see cref="string.GetHashCode()"/>).</summary>
internal static class ShardRouter
{
    public static int ShardOf(string id, int shards)
    {
        if (shards <= 0) throw new ArgumentOutOfRangeException(nameof(shards));
        int max = Encoding.UTF8.GetMaxByteCount(id.Length);
        Span<byte> bytes = max <= 512 ? stackalloc byte[max] : new byte[max];
        int n = Encoding.UTF8.GetBytes(id, bytes);
        return (int)(XxHash32.HashToUInt32(bytes[..n]) % (uint)shards);
    }
}

/// <summary>A request for "whatever cluster-wide version is current" rather than a given one.</summary>
internal static class ShardVersion
{
    public const long Latest = -1;
}

/// <summary>A shard's own statistics for some terms, at one cluster-wide version, with its live document count.</summary>
internal sealed record ShardStatistics(long Version, long DocCount, long SumTotalTermFreq, long[] DocFreqs, long[] TotalTermFreqs)
{
    public int LiveDocs { get; init; }

    /// <summary>The collection-wide statistics of <paramref name="terms"/>: every shard's summed (Elasticsearch's "DFS
    /// query then fetch"), what each shard scores with so that a sharded search ranks as one index would.</summary>
    public static GlobalStatistics Sum(string[] terms, IReadOnlyList<ShardStatistics> shards)
    {
        long docs = 0, sum = 0;
        var df = new long[terms.Length];
        var ttf = new long[terms.Length];
        foreach (var s in shards)
        {
            docs += s.DocCount;
            sum += s.SumTotalTermFreq;
            for (int i = 0; i < terms.Length; i++)
            {
                df[i] += s.DocFreqs[i];
                ttf[i] += s.TotalTermFreqs[i];
            }
        }
        return new GlobalStatistics(docs, sum, terms, df, ttf);
    }
}

/// <summary>One shard's part of a retrieval: the retriever (its canonical pipeline text, which the shard parses with
/// its own extensions), the request (analysed terms with weights, or a vector), the collection-wide statistics of the
/// terms, k, and the pruning bounds (a floor every hit must beat, and the id under which shards of this query running
/// in the same process share their k-th scores).</summary>
internal sealed record ShardRetrieval(long Version, Guid QueryId, string Retriever, string[] Terms, float[] Weights, float[]? Vector,
    GlobalStatistics? Statistics, int K, float Floor)
{
    /// <summary>The request's filter over typed fields (each shard compiles it against its own documents); null: none.</summary>
    public string? Filter { get; init; }

    /// <summary>A query in the Lucene syntax, as its canonical text (each shard compiles the tree, scoring every field with
    /// the collection-wide statistics in <see cref="Statistics"/>); null: the bag of <see cref="Terms"/>.</summary>
    public string? Structured { get; init; }
}

/// <summary>One shard's part of facets and a sort by field (<see cref="Search.Filters.MatchSet"/> on the shard): the
/// query (the bag of analysed <see cref="Terms"/>, or a Lucene-syntax query's canonical text in <see cref="Structured"/>,
/// empty when every clause analysed to nothing), the filter, the fields to count (each shard sends at most
/// <see cref="FacetCap"/> values per field, its most frequent) and the field to sort by with the k documents wanted.</summary>
internal sealed record ShardMatch(long Version, string[] Terms, float[] Weights, string? Structured, string? Filter, string[] Facets,
    int FacetCap, string? Sort, bool Descending, int K);

/// <summary>A shard's counts of one facet field over its matching documents: the field's type name
/// (<see cref="Index.Values.Schema.Name"/>; null when the shard's schema lacks the field), its values — keyword strings in
/// <see cref="Words"/>, other types' stored numbers in <see cref="Numbers"/> — most frequent first with their counts,
/// and whether the shard had more distinct values than it sent (<see cref="ShardMatch.FacetCap"/>).</summary>
internal sealed record ShardFacet(string Field, string? Type, string[]? Words, long[]? Numbers, long[] Counts, bool Capped);

/// <summary>A shard's first k matching documents by the sort field, in order: ids, shard document numbers, cluster-wide
/// ordinals (the tie-break), and for the first <see cref="Valued"/> of them (the others have no value) the value — a
/// keyword's string in <see cref="Words"/>, another type's stored number in <see cref="Keys"/>; <see cref="Type"/> null
/// when the shard's schema lacks the field.</summary>
internal sealed record ShardSorted(string? Type, string[] Ids, int[] Docs, long[] Ordinals, int Valued, long[]? Keys, string[]? Words);

/// <summary>What a shard answered a <see cref="ShardMatch"/> with: the version it read, how many of its documents
/// match, each facet field's counts (in the order asked) and the sorted documents (null when no sort was asked).</summary>
internal sealed record ShardMatched(long Version, long Count, ShardFacet[] Facets, ShardSorted? Sorted);

/// <summary>A document operation (<see cref="ExtensionRegistry"/>) to run on some of a shard's documents (shard
/// document numbers) at a version, e.g. reading their stored vectors.</summary>
internal sealed record ShardFetch(long Version, string Operation, string Argument, int[] Docs);

/// <summary>What a shard answered a <see cref="ShardFetch"/> with (null where the document is gone).</summary>
internal sealed record ShardFetched(long Version, byte[]?[] Results);

/// <summary>A shard's best documents, best first: external ids, scores, document numbers within the shard, and each
/// document's cluster-wide ordinal (its position in the order documents were added to the sharded index), which breaks
/// ties between equal scores across shards exactly as one index breaks them by its document number.</summary>
internal sealed record ShardHits(long Version, string[] Ids, float[] Scores, int[] Docs, long[] Ordinals)
{
    public int Count => Ids.Length;
}

/// <summary>What a shard did when asked to prepare a cluster-wide commit: its new commit, and how many changes it
/// applied since the last one (the coordinator compares that with what it sent, to notice lost changes).</summary>
internal sealed record ShardPrepared(Manifest Commit, long Changes);

/// <summary>One shard as a coordinator sees it: an ordinary Relevo index folder served in this process
/// (<see cref="ShardHost"/>) or by an Orleans grain on some silo. Every read names the cluster-wide version it
/// wants (or <see cref="ShardVersion.Latest"/>) and answers with the version it used; a shard that has moved
/// past the requested version answers with its own, and the coordinator starts over at that version.</summary>
internal interface IShardService
{
    Task<ShardStatistics> StatisticsAsync(long version, string[] terms);
    Task<ShardHits> SearchAsync(ShardRetrieval query);
    /// <summary>Stored documents by shard document number (null where deleted or out of range).</summary>
    Task<Document?[]> DocumentsAsync(long version, int[] docs);
    Task<Document?> DocumentAsync(long version, string id);
    Task<ShardFetched> FetchAsync(ShardFetch fetch);
    /// <summary>How many live documents the shard has at the version.</summary>
    Task<(long Version, int LiveDocs)> LiveDocsAsync(long version);
    /// <summary>The documents the query matches within the filter: their count, facet counts and first k by a field.</summary>
    Task<ShardMatched> MatchAsync(ShardMatch request, CancellationToken cancellation);
    /// <summary>The shard's typed fields (field → type name) at the version; null when it has none.</summary>
    Task<(long Version, Dictionary<string, string>? Schema)> SchemaAsync(long version);

    // --- writes (through the coordinator only) ---
    /// <param name="ordinals">Each document's cluster-wide ordinal (assigned by the coordinator in the order documents
    /// arrive; a replaced document gets a new one, as a re-added document gets a new number in one index).</param>
    Task AddAsync(Document[] documents, long[] ordinals, bool replace);
    Task<int> DeleteAsync(string[] ids);
    /// <summary>Adds the coordinator's types (field → type name) to the shard writer's schema, so that every shard types
    /// a key as the first document the coordinator saw with it did; returns the writer's whole schema (pending
    /// declarations included; null: none). Empty types: only asks.</summary>
    Task<Dictionary<string, string>?> DeclareTypesAsync(Dictionary<string, string> types);
    /// <summary>Commits the shard's pending changes as a shard commit that readers do not see yet.</summary>
    Task<ShardPrepared> PrepareAsync();
    /// <summary>Returns the shard to the commit the cluster manifest names (discarding a prepared or pending change).</summary>
    Task AbortAsync();
}

/// <summary>A set of shards that answers a read for every shard in fewer round trips than one per shard: a cluster
/// whose silos keep copies of several shards asks each silo once for all the shards it reads there
/// (<c>Relevo.Cluster</c>). <see cref="ShardedTarget"/> uses it when its list of shards implements it; each answer is
/// what the shard's own <see cref="IShardService"/> would have answered.</summary>
internal interface IShardBatch
{
    /// <summary>Every shard's <see cref="IShardService.SearchAsync"/>, in shard order.</summary>
    Task<ShardHits[]> SearchEachAsync(ShardRetrieval query);

    /// <summary>Every shard's <see cref="IShardService.StatisticsAsync"/>, in shard order.</summary>
    Task<ShardStatistics[]> StatisticsEachAsync(long version, string[] terms);
}
