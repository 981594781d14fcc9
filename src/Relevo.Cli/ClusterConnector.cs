using Relevo.Cluster;
using Relevo.Sharding;

namespace Relevo.Cli;

/// <summary>`relevo serve --cluster MEMBERSHIP`: an Orleans client of the cluster that hosts a sharded index
/// (silos started with `relevo silo`; docs/cluster.md).</summary>
public static class ClusterConnector
{
    public static IShardedIndexConnection Connect(string membership, string clusterId = ClusterHosting.DefaultClusterId, int timeoutSeconds = 30)
    {
        var parsed = Membership.Parse(membership);
        try
        {
            return OrleansShardedIndex.ConnectAsync(parsed, clusterId, TimeSpan.FromSeconds(timeoutSeconds)).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not RelevoException)
        {
            string reason = e.Message.Split('\n')[0].Trim();
            throw new RelevoException($"--cluster {membership}: no Relevo cluster '{clusterId}' answered within {timeoutSeconds} s ({e.GetType().Name}: {reason})", e);
        }
    }
}
