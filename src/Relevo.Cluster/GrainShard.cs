using Orleans.Runtime;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>A shard grain as the coordinator's <see cref="IShardService"/>. Reads are retried while the cluster
/// recovers from a lost silo (a call to a dead silo times out or is rejected until membership declares the silo dead;
/// the next call re-activates the shard on a survivor). Writes are not retried here: a failed write aborts the
/// cluster-wide commit instead.</summary>
internal sealed class GrainShard(IShardGrain grain, bool retry = true) : IShardService
{
    /// <summary>How long a read keeps retrying before the error reaches the caller.</summary>
    public static TimeSpan RetryFor { get; set; } = TimeSpan.FromSeconds(60);

    public Task<ShardStatistics> StatisticsAsync(long version, string[] terms) => Read(() => grain.Statistics(version, terms));
    public Task<ShardHits> SearchAsync(ShardRetrieval query) => Read(() => grain.Search(query));
    public Task<Document?[]> DocumentsAsync(long version, int[] docs) => Read(() => grain.Documents(version, docs));
    public Task<Document?> DocumentAsync(long version, string id) => Read(() => grain.Document(version, id));
    public Task<ShardFetched> FetchAsync(ShardFetch fetch) => Read(() => grain.Fetch(fetch));
    public Task<(long Version, int LiveDocs)> LiveDocsAsync(long version) => Read(() => grain.LiveDocs(version));
    public Task<ShardMatched> MatchAsync(ShardMatch request, CancellationToken cancellation) => Read(() => grain.Match(request, cancellation), cancellation);
    public Task<(long Version, Dictionary<string, string>? Schema)> SchemaAsync(long version) => Read(() => grain.Schema(version));
    public Task AddAsync(Document[] documents, long[] ordinals, bool replace) => grain.Add(documents, ordinals, replace);
    public Task<int> DeleteAsync(string[] ids) => grain.Delete(ids);
    public Task<Dictionary<string, string>?> DeclareTypesAsync(Dictionary<string, string> types) => grain.DeclareTypes(types);
    public Task<ShardPrepared> PrepareAsync() => grain.Prepare();
    public Task AbortAsync() => grain.Abort();

    private async Task<T> Read<T>(Func<Task<T>> call, CancellationToken cancellation = default)
    {
        if (!retry) return await call().ConfigureAwait(false);
        var deadline = DateTime.UtcNow + RetryFor;
        int delayMs = 50;
        while (true)
        {
            try
            {
                return await call().ConfigureAwait(false);
            }
            catch (Exception e) when (IsTransient(e) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(delayMs, cancellation).ConfigureAwait(false);
                delayMs = Math.Min(delayMs * 2, 1000);
            }
        }
    }

    /// <summary>Failures of the cluster rather than of the request: Relevo's own errors (bad input, a damaged file)
    /// are not retried.</summary>
    private static bool IsTransient(Exception e) => e switch
    {
        RelevoException => false,
        ArgumentException => false,
        TimeoutException => true,
        SiloUnavailableException => true,
        OrleansMessageRejectionException => true,
        OrleansException => true,
        ObjectDisposedException => true,
        InvalidOperationException => true,
        System.Net.Sockets.SocketException => true,
        _ => e.InnerException is { } inner && IsTransient(inner),
    };
}
