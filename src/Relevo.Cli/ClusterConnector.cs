using Relevo.Sharding;

namespace Relevo.Cli;

/// <summary>`relevo serve --cluster MEMBERSHIP`: connects to an Orleans cluster that hosts a sharded index.</summary>
public static class ClusterConnector
{
    public static IShardedIndexConnection Connect(string membership) =>
        throw new RelevoException("--cluster: not available in this build");
}
