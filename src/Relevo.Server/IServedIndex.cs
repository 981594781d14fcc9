using Relevo.Index;

namespace Relevo.Server;

/// <summary>What the endpoints serve: one ordinary index folder (<see cref="LocalServedIndex"/>) or a sharded index
/// reached through an <see cref="Sharding.IShardedIndexConnection"/> (<see cref="ShardedServedIndex"/>). Every
/// route, JSON shape and the page are the same over both.</summary>
internal interface IServedIndex : IDisposable
{
    /// <summary>For the start-up log line, e.g. the index folder or "4 shards on cluster redis://…".</summary>
    string Description { get; }

    /// <summary>True when the server has an API key (writes are accepted).</summary>
    bool Writable { get; }

    /// <summary>The pipelines a user can choose (the page offers these), default first.</summary>
    IReadOnlyList<PipelineChoice> Pipelines();

    /// <summary>Runs a pipeline and fetches the hits' stored documents. Bad pipeline text, an empty query or a stage
    /// this index cannot run throw <see cref="RelevoException"/> (400).</summary>
    Task<ServedSearch> SearchAsync(string? pipeline, string query, int k, bool explain);

    /// <summary>The live document with this id, or null.</summary>
    Task<Document?> GetDocumentAsync(string id);

    /// <summary>Adds or replaces the documents (by id) and commits. Returns the new generation.</summary>
    Task<long> AddAsync(IReadOnlyList<Document> documents, CancellationToken cancellation);

    /// <summary>Deletes a document and commits; Deleted is false (and nothing written) if no live document has the id.</summary>
    Task<(bool Deleted, long Generation)> DeleteAsync(string id, CancellationToken cancellation);

    /// <summary>Generation, live documents and sizes for /api/health and /api/stats.</summary>
    Task<ServedStatus> StatusAsync(bool withSize);
}

/// <summary>A search as the endpoints render it: the backend's result, each hit's stored document (null if it was
/// deleted in between, which a sharded index can see), the generation searched and the analyzer (for highlighting).</summary>
internal sealed record ServedSearch(BackendResult Result, IReadOnlyList<Document?> Documents, long Generation, string Analyzer);

/// <summary>The state of the served index. <see cref="Shards"/> is null for an ordinary index;
/// <see cref="IndexSizeBytes"/> is 0 when unknown (shards on other machines).</summary>
internal sealed record ServedStatus(long Generation, int Documents, int Segments, long IndexSizeBytes, string Analyzer, int? Shards);
