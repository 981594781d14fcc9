using Relevo.Cluster;
using Relevo.Sharding;

namespace Relevo.Cli;

/// <summary>`relevo serve --cluster`: an Orleans client of the cluster, serving its sharded index.</summary>
internal static class ClusterConnector
{
    public static IShardedIndexConnection Connect(string membership) =>
        OrleansShardedIndex.ConnectAsync(Membership.Parse(membership)).GetAwaiter().GetResult();
}
