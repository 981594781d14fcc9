using Microsoft.Extensions.Options;
using Relevo.Cluster;

namespace Relevo.Tests.Sharding;

/// <summary>How a coordinator of a cluster of node silos spreads one query's shard reads: every shard read exactly
/// once, from a silo that holds a copy of it; as few silos as cover the shards; its own copies in process; and the
/// silos that hold equally many shards take turns.</summary>
public sealed class ReplicatedReadPlanTests
{
    // 4 shards × 2 copies on 3 nodes, as `relevo cluster create` places them: copy j of shard i on node (i + j) mod 3
    private static readonly string[][] Copies = [["a", "b"], ["b", "c"], ["c", "a"], ["a", "b"]];

    private static ReplicatedShardSet Set(string? localNode)
    {
        var routes = new ShardRoutes(null!, new ClusterRouting { Version = 1, Shards = 4, Analyzer = "english", Copies = Copies });
        var local = localNode is null ? null : new NodeShards(Options.Create(new RelevoSiloOptions { DataDirectory = "/nonexistent", Node = localNode }));
        return new ReplicatedShardSet(null!, routes, 4, localNode, local);
    }

    private static void CheckCovers((List<int>? Local, List<(string Node, int[] Shards)>? Groups) plan, string? localNode)
    {
        var read = new List<int>(plan.Local ?? []);
        foreach (int s in plan.Local ?? []) Assert.Contains(localNode!, Copies[s]);
        foreach (var (node, shards) in plan.Groups ?? [])
        {
            Assert.NotEqual(localNode, node);
            foreach (int s in shards) Assert.Contains(node, Copies[s]);
            read.AddRange(shards);
        }
        read.Sort();
        Assert.Equal([0, 1, 2, 3], read);
    }

    [Fact]
    public void AClientAsksTwoSilosAndTheSilosTakeTurns()
    {
        var set = Set(null);
        var asked = new Dictionary<string, int>();
        var firstChoices = new HashSet<string>();
        for (int q = 0; q < 100; q++)
        {
            var plan = set.Plan();
            CheckCovers(plan, null);
            Assert.Null(plan.Local);
            Assert.Equal(2, plan.Groups!.Count); // no one node holds all four shards; two do
            firstChoices.Add(plan.Groups[0].Node);
            foreach (var (node, shards) in plan.Groups) asked[node] = asked.GetValueOrDefault(node) + shards.Length;
        }
        Assert.Equal(["a", "b"], firstChoices.Order()); // both hold three shards: they take turns
        Assert.Equal(3, asked.Count);
        Assert.All(asked.Values, n => Assert.InRange(n, 90, 160)); // every node serves a share of the 400 shard reads
    }

    [Fact]
    public void ASiloReadsItsOwnCopiesInProcessAndAsksOneOtherSilo()
    {
        var set = Set("c");
        var asked = new HashSet<string>();
        for (int q = 0; q < 10; q++)
        {
            var plan = set.Plan();
            CheckCovers(plan, "c");
            Assert.Equal([1, 2], plan.Local!);
            var group = Assert.Single(plan.Groups!);
            Assert.Equal([0, 3], group.Shards);
            asked.Add(group.Node);
        }
        Assert.Equal(["a", "b"], asked.Order());
    }

    [Fact]
    public void ShardsWhoseCopiesAreUnknownAreLeftToBeReadOnTheirOwn()
    {
        var routes = new ShardRoutes(null!, new ClusterRouting { Version = 1, Shards = 2, Analyzer = "english", Copies = [["a"], []] });
        var plan = new ReplicatedShardSet(null!, routes, 2, null, null).Plan();
        Assert.Null(plan.Local);
        var group = Assert.Single(plan.Groups!);
        Assert.Equal("a", group.Node);
        Assert.Equal([0], group.Shards);
    }
}
