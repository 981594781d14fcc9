namespace Relevo.Server;

/// <summary>How `relevo serve` runs: which index, where it listens, who may write, and its limits.</summary>
public sealed record ServerOptions
{
    /// <summary>The index folder: an ordinary index with a commit, or a sharded index (<c>cluster.json</c>), whose shards
    /// are then served in this process. Empty when <see cref="Connect"/> is set.</summary>
    public string IndexDirectory { get; init; } = "";

    /// <summary>Instead of <see cref="IndexDirectory"/>: opens the index to serve (e.g. an Orleans cluster's, through
    /// <c>RelevoCluster.ConnectAsync</c>). Called once at start; the server disposes the index when it stops.</summary>
    public Func<SearchIndex>? Connect { get; init; }

    /// <summary>Extensions whose stages the served pipelines may use (dense retrieval, LLM stages).</summary>
    public IReadOnlyList<IRelevoExtension> Extensions { get; init; } = [];

    /// <summary>Addresses to listen on. Loopback unless told otherwise; port 0 picks a free port.</summary>
    public IReadOnlyList<string> Urls { get; init; } = ["http://127.0.0.1:5080"];

    /// <summary>The bearer token that writes need. Null: the server is read-only (writes answer 403) and opens no writer.</summary>
    public string? ApiKey { get; init; }

    /// <summary>Largest request body, in bytes (413 beyond).</summary>
    public long MaxBodyBytes { get; init; } = 32L << 20;

    /// <summary>Longest query, in characters (400 beyond).</summary>
    public int MaxQueryChars { get; init; } = 1024;

    /// <summary>Largest k (400 beyond).</summary>
    public int MaxK { get; init; } = 1000;

    /// <summary>Requests served at once; more wait in a queue of <see cref="RequestQueueLimit"/> and beyond it get 429.</summary>
    public int MaxConcurrentRequests { get; init; } = 64;

    /// <summary>Requests that wait for a place when <see cref="MaxConcurrentRequests"/> are being served (429 beyond).</summary>
    public int RequestQueueLimit { get; init; } = 256;

    /// <summary>Log one structured (JSON) line per request to the console.</summary>
    public bool LogRequests { get; init; } = true;

    internal void Validate()
    {
        bool hasFolder = !string.IsNullOrWhiteSpace(IndexDirectory);
        if (hasFolder && Connect is not null)
            throw new RelevoException("--index and --cluster: serve either an index folder or a cluster, not both");
        if (!hasFolder && Connect is null) throw new RelevoException("--index: an index folder (or --cluster) is required");
        if (Urls.Count == 0) throw new RelevoException("--urls: at least one address is required");
        if (ApiKey is { } key && key.Trim().Length < 8) throw new RelevoException("--api-key: use at least 8 characters");
        if (MaxBodyBytes < 1024) throw new RelevoException("max body size must be at least 1024 bytes");
        if (MaxQueryChars < 1 || MaxK < 1) throw new RelevoException("max query length and max k must be at least 1");
        if (MaxConcurrentRequests < 1 || RequestQueueLimit < 0) throw new RelevoException("max concurrent requests must be at least 1");
    }
}
