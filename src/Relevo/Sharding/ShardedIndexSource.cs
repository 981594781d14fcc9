using Relevo.Analysis;
using Relevo.Index;
using Relevo.Pipelines;

namespace Relevo.Sharding;

/// <summary>A sharded index behind a <see cref="SearchIndex"/>: its shards in this process (<see cref="LocalShards"/>)
/// or grains on an Orleans cluster. Each query gets its own <see cref="ShardedTarget"/> (which remembers the one
/// cluster-wide version its reads used); the collection statistics they gather are shared.</summary>
internal sealed class ShardedIndexSource(IShardedConnection connection) : IndexSource
{
    private readonly GlobalStatisticsCache _statistics = new();
    private readonly Analyzer _analyzer = Analyzer.Create(connection.Analyzer);

    public IShardedConnection Connection => connection;
    public override string Description => connection.Description;
    public override string AnalyzerName => connection.Analyzer;
    public override bool IsSharded => true;

    public override TargetLease AcquireTarget() => new(new ShardedTarget(connection.Shards, _analyzer, _statistics), null);

    public override Task<Document?> GetDocumentAsync(string id) =>
        connection.Shards[ShardRouter.ShardOf(id, connection.Shards.Count)].DocumentAsync(ShardVersion.Latest, id);

    public override async Task<IndexStatus> StatusAsync(bool withSize)
    {
        var counts = await Task.WhenAll(connection.Shards.Select(s => s.LiveDocsAsync(ShardVersion.Latest))).ConfigureAwait(false);
        long version = long.MinValue, live = 0;
        foreach (var (v, n) in counts)
        {
            version = Math.Max(version, v);
            live += n;
        }
        long size = 0;
        if (withSize)
            foreach (var shard in connection.Shards)
                if (shard is ShardHost host) size += LocalIndexSource.FolderSize(host.Folder);
        int shards = connection.Shards.Count;
        return new IndexStatus(version, checked((int)live), shards, size, connection.Analyzer, shards);
    }

    public override IReadOnlyList<SegmentEntry>? CurrentSegments() =>
        connection.LocalCommits() is { } commits ? commits.SelectMany(c => c.Segments).ToList() : null;

    public override DocumentWriter OpenWriter(WriterOptions options) => connection.OpenWriter(options, null);

    public override Task<long> AddAndCommitAsync(IReadOnlyList<Document> documents, CancellationToken cancellation) =>
        connection.Writes.AddAndCommitAsync([.. documents]);

    public override Task<(bool Deleted, long Generation)> DeleteAndCommitAsync(string id, CancellationToken cancellation) =>
        connection.Writes.DeleteAndCommitAsync(id);

    /// <summary>Shards open a newer cluster-wide version by themselves.</summary>
    public override bool Refresh() => false;

    public override void Dispose() => connection.Dispose();
}
