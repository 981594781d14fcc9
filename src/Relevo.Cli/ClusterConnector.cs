using Relevo.Cluster;

namespace Relevo.Cli;

/// <summary>`relevo serve --cluster MEMBERSHIP`: the sharded index of an Orleans cluster (silos started with
/// `relevo silo`; docs/cluster.md), opened with the CLI's extensions.</summary>
internal static class ClusterConnector
{
    public static SearchIndex Connect(string membership, string clusterId = ClusterHosting.DefaultClusterId, int timeoutSeconds = 30,
        IReadOnlyList<IRelevoExtension>? extensions = null) =>
        RelevoCluster.ConnectAsync(membership, new SearchIndexOptions { Extensions = extensions ?? CliIndex.Extensions() }, clusterId,
            TimeSpan.FromSeconds(timeoutSeconds)).GetAwaiter().GetResult();

    /// <summary>Joins the cluster as a silo with its own folder <paramref name="siloData"/> (`relevo serve --cluster … --silo-data DIR`).</summary>
    public static SearchIndex Join(string membership, string siloData, string clusterId = ClusterHosting.DefaultClusterId, int timeoutSeconds = 30,
        IReadOnlyList<IRelevoExtension>? extensions = null) =>
        RelevoCluster.JoinAsync(membership, siloData, new SearchIndexOptions { Extensions = extensions ?? CliIndex.Extensions() }, clusterId,
            TimeSpan.FromSeconds(timeoutSeconds)).GetAwaiter().GetResult();
}
