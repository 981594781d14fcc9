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

    /// <summary>Largest body of a write (POST /api/documents), in bytes (413 beyond). It is read only once the request
    /// carries the API key.</summary>
    public long MaxBodyBytes { get; init; } = 32L << 20;

    /// <summary>Largest body of every other request, in bytes (413 beyond): a search body (POST /api/search) holds a query
    /// of at most <see cref="MaxQueryChars"/> characters and a pipeline, so it needs a few KiB; endpoints that take no
    /// body refuse one declared larger than this too.</summary>
    public long MaxSearchBodyBytes { get; init; } = 16L << 10;

    /// <summary>Longest time to receive a request body (408 beyond, and the connection is closed). Bodies are read
    /// before the request waits for one of the <see cref="MaxConcurrentRequests"/> places, so a slow client holds none.</summary>
    public TimeSpan BodyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest query, in characters (400 beyond).</summary>
    public int MaxQueryChars { get; init; } = 1024;

    /// <summary>Largest k (400 beyond).</summary>
    public int MaxK { get; init; } = 1000;

    /// <summary>Requests served at once; more wait in a queue of <see cref="RequestQueueLimit"/> and beyond it get 429.</summary>
    public int MaxConcurrentRequests { get; init; } = 64;

    /// <summary>Requests that wait for a place when <see cref="MaxConcurrentRequests"/> are being served (429 beyond).</summary>
    public int RequestQueueLimit { get; init; } = 256;

    /// <summary>Longest time a request waits in the queue for a place (503 beyond, with Retry-After).</summary>
    public TimeSpan QueueTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest time a search or an answer may take, LLM calls included: beyond it the work is stopped and the
    /// answer is 503. The work also stops when the client goes away.</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The pipelines clients may run (pipeline texts, compared in canonical form), the first being the default;
    /// null: any pipeline the index can run. Other pipelines answer 403.</summary>
    public IReadOnlyList<string>? AllowedPipelines { get; init; }

    /// <summary>Most documents one write may add to an index that embeds what it adds (one holding a model's vectors:
    /// each document costs an encoder pass inside the commit); 413 beyond.</summary>
    public int MaxEmbeddedDocumentsPerWrite { get; init; } = 256;

    /// <summary>Also serve the MCP tools (<see cref="RelevoMcpServer"/>) over streamable HTTP at /mcp; with an
    /// <see cref="ApiKey"/>, every /mcp request needs it.</summary>
    public bool Mcp { get; init; }

    /// <summary>Largest body of an MCP request (POST /mcp), in bytes (413 beyond): an evaluate call carries a run.</summary>
    public long MaxMcpBodyBytes { get; init; } = 8L << 20;

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
        if (MaxBodyBytes < 1024 || MaxBodyBytes > 1L << 30) throw new RelevoException("max body size (--max-body-mb) must be between 1 KiB and 1 GiB");
        if (MaxSearchBodyBytes < 1024 || MaxSearchBodyBytes > 1L << 30)
            throw new RelevoException("max search body size (--max-search-body-kb) must be between 1 KiB and 1 GiB");
        if (MaxMcpBodyBytes < 1024 || MaxMcpBodyBytes > 1L << 30) throw new RelevoException("max MCP body size must be between 1 KiB and 1 GiB");
        if (BodyTimeout <= TimeSpan.Zero || BodyTimeout > TimeSpan.FromHours(1))
            throw new RelevoException($"body timeout (--body-timeout) must be more than 0 and at most 1 hour, found {BodyTimeout}");
        if (QueueTimeout <= TimeSpan.Zero || QueueTimeout > TimeSpan.FromHours(1))
            throw new RelevoException($"queue timeout (--queue-timeout) must be more than 0 and at most 1 hour, found {QueueTimeout}");
        if (MaxQueryChars < 1 || MaxK < 1) throw new RelevoException("max query length and max k must be at least 1");
        if (MaxConcurrentRequests < 1) throw new RelevoException("max concurrent requests must be at least 1");
        if (RequestQueueLimit < 0) throw new RelevoException("the request queue limit (--max-queue) must be at least 0");
        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromHours(1))
            throw new RelevoException($"request timeout (--request-timeout) must be more than 0 and at most 1 hour, found {RequestTimeout}");
        if (AllowedPipelines is { Count: 0 }) throw new RelevoException("--pipelines: name at least one pipeline (or leave it out to allow any)");
        if (MaxEmbeddedDocumentsPerWrite < 1) throw new RelevoException("--max-embed-docs must be at least 1");
    }
}
