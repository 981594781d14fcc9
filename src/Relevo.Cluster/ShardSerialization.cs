using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

// Orleans' own binary serialization for the shard messages, through surrogates: the records live in the core, which
// references no Orleans, so each has a [GenerateSerializer] twin here and a converter between the two. Arrays of
// primitives go as they are (no text, no per-element names), which is most of a search's bytes.

[GenerateSerializer]
internal struct ShardStatisticsSurrogate
{
    [Id(0)] public long Version;
    [Id(1)] public long DocCount;
    [Id(2)] public long SumTotalTermFreq;
    [Id(3)] public long[] DocFreqs;
    [Id(4)] public long[] TotalTermFreqs;
    [Id(5)] public int LiveDocs;
}

[RegisterConverter]
internal sealed class ShardStatisticsConverter : IConverter<ShardStatistics, ShardStatisticsSurrogate>
{
    public ShardStatistics ConvertFromSurrogate(in ShardStatisticsSurrogate s) =>
        new(s.Version, s.DocCount, s.SumTotalTermFreq, s.DocFreqs, s.TotalTermFreqs) { LiveDocs = s.LiveDocs };

    public ShardStatisticsSurrogate ConvertToSurrogate(in ShardStatistics v) => new()
    {
        Version = v.Version, DocCount = v.DocCount, SumTotalTermFreq = v.SumTotalTermFreq, DocFreqs = v.DocFreqs,
        TotalTermFreqs = v.TotalTermFreqs, LiveDocs = v.LiveDocs,
    };
}

[GenerateSerializer]
internal struct GlobalStatisticsSurrogate
{
    [Id(0)] public long DocCount;
    [Id(1)] public long SumTotalTermFreq;
    [Id(2)] public string[] Terms;
    [Id(3)] public long[] DocFreqs;
    [Id(4)] public long[] TotalTermFreqs;
}

[RegisterConverter]
internal sealed class GlobalStatisticsConverter : IConverter<GlobalStatistics, GlobalStatisticsSurrogate>
{
    public GlobalStatistics ConvertFromSurrogate(in GlobalStatisticsSurrogate s) =>
        new(s.DocCount, s.SumTotalTermFreq, s.Terms, s.DocFreqs, s.TotalTermFreqs);

    public GlobalStatisticsSurrogate ConvertToSurrogate(in GlobalStatistics v) => new()
    {
        DocCount = v.DocCount, SumTotalTermFreq = v.SumTotalTermFreq, Terms = v.Terms, DocFreqs = v.DocFreqs, TotalTermFreqs = v.TotalTermFreqs,
    };
}

[GenerateSerializer]
internal struct ShardRetrievalSurrogate
{
    [Id(0)] public long Version;
    [Id(1)] public Guid QueryId;
    [Id(2)] public string Retriever;
    [Id(3)] public string[] Terms;
    [Id(4)] public float[] Weights;
    [Id(5)] public float[]? Vector;
    [Id(6)] public GlobalStatistics? Statistics;
    [Id(7)] public int K;
    [Id(8)] public float Floor;
    [Id(9)] public string? Filter;
    [Id(10)] public string? Structured;
}

[RegisterConverter]
internal sealed class ShardRetrievalConverter : IConverter<ShardRetrieval, ShardRetrievalSurrogate>
{
    public ShardRetrieval ConvertFromSurrogate(in ShardRetrievalSurrogate s) =>
        new(s.Version, s.QueryId, s.Retriever, s.Terms, s.Weights, s.Vector, s.Statistics, s.K, s.Floor) { Filter = s.Filter, Structured = s.Structured };

    public ShardRetrievalSurrogate ConvertToSurrogate(in ShardRetrieval v) => new()
    {
        Version = v.Version, QueryId = v.QueryId, Retriever = v.Retriever, Terms = v.Terms, Weights = v.Weights, Vector = v.Vector,
        Statistics = v.Statistics, K = v.K, Floor = v.Floor, Filter = v.Filter, Structured = v.Structured,
    };
}

[GenerateSerializer]
internal struct ShardHitsSurrogate
{
    [Id(0)] public long Version;
    [Id(1)] public string[] Ids;
    [Id(2)] public float[] Scores;
    [Id(3)] public int[] Docs;
    [Id(4)] public long[] Ordinals;
}

[RegisterConverter]
internal sealed class ShardHitsConverter : IConverter<ShardHits, ShardHitsSurrogate>
{
    public ShardHits ConvertFromSurrogate(in ShardHitsSurrogate s) => new(s.Version, s.Ids, s.Scores, s.Docs, s.Ordinals);

    public ShardHitsSurrogate ConvertToSurrogate(in ShardHits v) => new()
    {
        Version = v.Version, Ids = v.Ids, Scores = v.Scores, Docs = v.Docs, Ordinals = v.Ordinals,
    };
}

[GenerateSerializer]
internal struct ShardMatchSurrogate
{
    [Id(0)] public long Version;
    [Id(1)] public string[] Terms;
    [Id(2)] public float[] Weights;
    [Id(3)] public string? Structured;
    [Id(4)] public string? Filter;
    [Id(5)] public string[] Facets;
    [Id(6)] public int FacetCap;
    [Id(7)] public string? Sort;
    [Id(8)] public bool Descending;
    [Id(9)] public int K;
}

[RegisterConverter]
internal sealed class ShardMatchConverter : IConverter<ShardMatch, ShardMatchSurrogate>
{
    public ShardMatch ConvertFromSurrogate(in ShardMatchSurrogate s) =>
        new(s.Version, s.Terms, s.Weights, s.Structured, s.Filter, s.Facets, s.FacetCap, s.Sort, s.Descending, s.K);

    public ShardMatchSurrogate ConvertToSurrogate(in ShardMatch v) => new()
    {
        Version = v.Version, Terms = v.Terms, Weights = v.Weights, Structured = v.Structured, Filter = v.Filter, Facets = v.Facets,
        FacetCap = v.FacetCap, Sort = v.Sort, Descending = v.Descending, K = v.K,
    };
}

[GenerateSerializer]
internal struct ShardFacetSurrogate
{
    [Id(0)] public string Field;
    [Id(1)] public string? Type;
    [Id(2)] public string[]? Words;
    [Id(3)] public long[]? Numbers;
    [Id(4)] public long[] Counts;
    [Id(5)] public bool Capped;
}

[RegisterConverter]
internal sealed class ShardFacetConverter : IConverter<ShardFacet, ShardFacetSurrogate>
{
    public ShardFacet ConvertFromSurrogate(in ShardFacetSurrogate s) => new(s.Field, s.Type, s.Words, s.Numbers, s.Counts, s.Capped);

    public ShardFacetSurrogate ConvertToSurrogate(in ShardFacet v) => new()
    {
        Field = v.Field, Type = v.Type, Words = v.Words, Numbers = v.Numbers, Counts = v.Counts, Capped = v.Capped,
    };
}

[GenerateSerializer]
internal struct ShardSortedSurrogate
{
    [Id(0)] public string? Type;
    [Id(1)] public string[] Ids;
    [Id(2)] public int[] Docs;
    [Id(3)] public long[] Ordinals;
    [Id(4)] public int Valued;
    [Id(5)] public long[]? Keys;
    [Id(6)] public string[]? Words;
}

[RegisterConverter]
internal sealed class ShardSortedConverter : IConverter<ShardSorted, ShardSortedSurrogate>
{
    public ShardSorted ConvertFromSurrogate(in ShardSortedSurrogate s) => new(s.Type, s.Ids, s.Docs, s.Ordinals, s.Valued, s.Keys, s.Words);

    public ShardSortedSurrogate ConvertToSurrogate(in ShardSorted v) => new()
    {
        Type = v.Type, Ids = v.Ids, Docs = v.Docs, Ordinals = v.Ordinals, Valued = v.Valued, Keys = v.Keys, Words = v.Words,
    };
}

[GenerateSerializer]
internal struct ShardMatchedSurrogate
{
    [Id(0)] public long Version;
    [Id(1)] public long Count;
    [Id(2)] public ShardFacet[] Facets;
    [Id(3)] public ShardSorted? Sorted;
}

[RegisterConverter]
internal sealed class ShardMatchedConverter : IConverter<ShardMatched, ShardMatchedSurrogate>
{
    public ShardMatched ConvertFromSurrogate(in ShardMatchedSurrogate s) => new(s.Version, s.Count, s.Facets, s.Sorted);

    public ShardMatchedSurrogate ConvertToSurrogate(in ShardMatched v) => new()
    {
        Version = v.Version, Count = v.Count, Facets = v.Facets, Sorted = v.Sorted,
    };
}

[GenerateSerializer]
internal struct ShardFetchSurrogate
{
    [Id(0)] public long Version;
    [Id(1)] public string Operation;
    [Id(2)] public string Argument;
    [Id(3)] public int[] Docs;
}

[RegisterConverter]
internal sealed class ShardFetchConverter : IConverter<ShardFetch, ShardFetchSurrogate>
{
    public ShardFetch ConvertFromSurrogate(in ShardFetchSurrogate s) => new(s.Version, s.Operation, s.Argument, s.Docs);

    public ShardFetchSurrogate ConvertToSurrogate(in ShardFetch v) => new()
    {
        Version = v.Version, Operation = v.Operation, Argument = v.Argument, Docs = v.Docs,
    };
}

[GenerateSerializer]
internal struct ShardFetchedSurrogate
{
    [Id(0)] public long Version;
    [Id(1)] public byte[]?[] Results;
}

[RegisterConverter]
internal sealed class ShardFetchedConverter : IConverter<ShardFetched, ShardFetchedSurrogate>
{
    public ShardFetched ConvertFromSurrogate(in ShardFetchedSurrogate s) => new(s.Version, s.Results);

    public ShardFetchedSurrogate ConvertToSurrogate(in ShardFetched v) => new() { Version = v.Version, Results = v.Results };
}

/// <summary>A document with, for a pre-encoded corpus, its term weights (as two parallel arrays).</summary>
[GenerateSerializer]
internal struct DocumentSurrogate
{
    [Id(0)] public string Id;
    [Id(1)] public string Title;
    [Id(2)] public string Text;
    [Id(3)] public string[]? WeightedTerms;
    [Id(4)] public int[]? Weights;
    [Id(5)] public string? Fields;
}

[RegisterConverter]
internal sealed class DocumentConverter : IConverter<Document, DocumentSurrogate>
{
    public Document ConvertFromSurrogate(in DocumentSurrogate s)
    {
        var doc = new Document(s.Id, s.Title, s.Text) { Fields = s.Fields };
        if (s.WeightedTerms is not { } terms) return doc;
        var weights = new (string Term, int Weight)[terms.Length];
        for (int i = 0; i < terms.Length; i++) weights[i] = (terms[i], s.Weights![i]);
        return doc with { TermWeights = weights };
    }

    public DocumentSurrogate ConvertToSurrogate(in Document v)
    {
        var s = new DocumentSurrogate { Id = v.Id, Title = v.Title, Text = v.Text, Fields = v.Fields };
        if (v.TermWeights is { } tw)
        {
            s.WeightedTerms = new string[tw.Count];
            s.Weights = new int[tw.Count];
            for (int i = 0; i < tw.Count; i++) (s.WeightedTerms[i], s.Weights[i]) = tw[i];
        }
        return s;
    }
}

/// <summary>A prepared shard commit: the manifest in its on-disk JSON form (a commit is rare; its layout has one
/// definition, the format's).</summary>
[GenerateSerializer]
internal struct ShardPreparedSurrogate
{
    [Id(0)] public string Commit;
    [Id(1)] public long Changes;
}

[RegisterConverter]
internal sealed class ShardPreparedConverter : IConverter<ShardPrepared, ShardPreparedSurrogate>
{
    public ShardPrepared ConvertFromSurrogate(in ShardPreparedSurrogate s) =>
        new(Manifest.FromJson(s.Commit, "prepared shard commit"), s.Changes);

    public ShardPreparedSurrogate ConvertToSurrogate(in ShardPrepared v) => new()
    {
        Commit = v.Commit.ToJson(), Changes = v.Changes,
    };
}
