namespace Relevo;

/// <summary>How <see cref="SearchIndex.Open"/> opens an index.</summary>
public sealed record SearchIndexOptions
{
    /// <summary>Extensions whose stages and services the index's pipelines may use (e.g. <c>new DenseExtension()</c>
    /// from Relevo.Dense); the core stages (bm25, ql, fuse, rm3, rocchio, cascade) are always there.</summary>
    public IReadOnlyList<IRelevoExtension> Extensions { get; init; } = [];

    /// <summary>Open the index's writer at once (holding its lock), for <see cref="SearchIndex.AddAsync"/> and
    /// <see cref="SearchIndex.DeleteAsync"/>. Without it those fail and the index can be written by another process.</summary>
    public bool Writable { get; init; }

    /// <summary>Hears what went wrong without failing a request: a new commit's reader that could not be opened yet
    /// (retried at the next search) or a background merge that failed (retried after the next write). The server logs
    /// them.</summary>
    public Action<string, Exception>? Problem { get; init; }
}

/// <summary>How a query's text is read.</summary>
public enum QuerySyntax
{
    /// <summary>A bag of words: the text's analysed terms, each weighing its count (Anserini's query form).</summary>
    Plain,
    /// <summary>The Lucene classic query syntax: <c>title:term</c>, <c>"a phrase"</c>, <c>+required -excluded</c>,
    /// <c>AND</c>/<c>OR</c>/<c>NOT</c>, parentheses, <c>term^2</c>; a syntax error names its column.</summary>
    Lucene,
    /// <summary>The Lucene syntax when the text uses any of it, else a bag of words (what a search box expects).</summary>
    Auto,
}

/// <summary>What a search returns besides hits.</summary>
public sealed record SearchOptions
{
    /// <summary>How the query is read; a bag of words by default, as before the syntax existed (the CLI's `search`,
    /// the API and the search page ask for <see cref="QuerySyntax.Auto"/>).</summary>
    public QuerySyntax Syntax { get; init; } = QuerySyntax.Plain;

    /// <summary>Only documents matching this filter over typed fields can be hits, applied inside retrieval (so k hits
    /// come back whenever k documents match): the Lucene syntax, <c>year:[2015 TO 2020] AND lang:en</c>. Null: none.</summary>
    public string? Filter { get; init; }

    /// <summary>Typed fields to count values of over every document the query matches within the filter
    /// (<see cref="SearchResult.Facets"/>): the documents holding one of the query's words (or matching its Lucene-syntax
    /// tree), as Elasticsearch's aggregations count over all matches. On a sharded index the shards' counts add up
    /// (<see cref="SearchResult.ApproximateFacets"/> names a field with more than 10,000 values on some shard).</summary>
    public IReadOnlyList<string>? Facets { get; init; }

    /// <summary>At most this many values per facet, most frequent first.</summary>
    public int FacetSize { get; init; } = 10;

    /// <summary>"field:asc" or "field:desc": the hits are the first k of every matching document (as for
    /// <see cref="Facets"/>) ordered by a typed field instead of the pipeline's ranking (documents without the field
    /// last; ties in the order documents were added; each hit's score is 0). Local and sharded indexes alike.</summary>
    public string? Sort { get; init; }

    /// <summary>Fetch each hit's stored document (<see cref="SearchResult.Documents"/>).</summary>
    public bool Documents { get; init; }

    /// <summary>Explain each hit's score when the pipeline ends with BM25 (<see cref="SearchResult.Explanations"/>).</summary>
    public bool Explain { get; init; }
}

/// <summary>How <see cref="SearchIndex.Run"/> and <see cref="SearchIndex.WriteRun"/> run many queries.</summary>
public sealed record RunOptions
{
    /// <summary>Queries run at once; the run is identical for any number.</summary>
    public int Threads { get; init; } = 1;

    /// <summary>How each query is read; a bag of words by default (test collections' queries are natural language,
    /// whose quotes and colons are not operators).</summary>
    public QuerySyntax Syntax { get; init; } = QuerySyntax.Plain;

    /// <summary>A filter over typed fields applied inside every query's retrieval (see <see cref="SearchOptions.Filter"/>).</summary>
    public string? Filter { get; init; }

    /// <summary>The run tag (last column of a TREC run line); the pipeline's canonical text by default.</summary>
    public string? Tag { get; init; }

    /// <summary>Called now and then with the number of queries done.</summary>
    public Action<int>? Progress { get; init; }

    /// <summary>Stops the run (between queries, and inside long stages).</summary>
    public CancellationToken Cancellation { get; init; }
}

/// <summary>How <see cref="DocumentWriter"/>s write (<see cref="SearchIndex.OpenWriter(string, WriterOptions?, IReadOnlyList{IRelevoExtension}?)"/>).</summary>
public sealed record WriterOptions
{
    /// <summary>Analyzer of a new index ("english": Lucene's EnglishAnalyzer; "lowercase"); an existing index keeps its own.</summary>
    public string Analyzer { get; init; } = "english";

    /// <summary>A new index of this many shards (documents routed by a hash of their _id); null: an ordinary index.</summary>
    public int? Shards { get; init; }

    /// <summary>An added document whose id exists replaces it; otherwise a duplicate id is an error.</summary>
    public bool ReplaceExisting { get; init; }

    /// <summary>Memory for buffered documents before a segment is written.</summary>
    public long RamBudgetBytes { get; init; } = 256L << 20;

    /// <summary>Analysis threads (0: one per core); the index is the same for any number.</summary>
    public int Threads { get; init; }

    /// <summary>Segments merge as the index grows, at each commit (Lucene's log merge policy over adjacent segments:
    /// ten of one size become one of the next), so an index of many small commits stays a few segments; false: they
    /// stay as written until <see cref="DocumentWriter.ForceMerge"/> or <see cref="DocumentWriter.CommitMerged"/>.
    /// Documents keep their order, so merging changes no ranking of an index without deletions (a merge drops deleted
    /// documents, which collection statistics count until then, as Lucene's do).</summary>
    public bool MergeSegments { get; init; } = true;

    /// <summary>Test hook: called at each commit stage (crash-safety tests stop the process there).</summary>
    internal Action<string>? CommitStage { get; init; }
}

/// <summary>A choice of pipeline a search page offers for an index: an id ("bm25", "dense-arctic-xs"), a label and the
/// pipeline text it runs.</summary>
public sealed record PipelineChoice(string Id, string Label, string Pipeline);

/// <summary>The state of an index: the commit generation (cluster-wide version on a sharded index), live documents,
/// segments (shards on a sharded index), size on disk (0 when unknown, e.g. shards on other machines), analyzer, and
/// the number of shards (null for an ordinary index).</summary>
public sealed record IndexStatus(long Generation, int Documents, int Segments, long SizeBytes, string Analyzer, int? Shards);
