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
        var firstChoices = new HashSet<string>();
        for (int q = 0; q < 30; q++)
        {
            var plan = set.Plan();
            CheckCovers(plan, null);
            Assert.Null(plan.Local);
            Assert.Equal(2, plan.Groups!.Count); // no one node holds all four shards; two do
            firstChoices.Add(plan.Groups[0].Node);
        }
        Assert.Equal(["a", "b", "c"], firstChoices.Order());
    }

    /// <summary>Over many queries each node serves about its share of the copies (a greedy cover alone sent most reads
    /// to the node holding the most shards: 8 shards × 2 copies on 3 nodes gave one node 2.25 times its share).</summary>
    [Theory]
    [InlineData(4, 2, 3, 2.0)]
    [InlineData(8, 2, 3, 2.0)]
    [InlineData(16, 2, 3, 2.0)]
    [InlineData(6, 2, 4, 2.0)]
    [InlineData(4, 2, 5, 2.6)]
    [InlineData(8, 3, 5, 2.0)]
    [InlineData(4, 1, 3, 3.0)]
    public void ReadsSpreadOverTheCopiesAsRelevoClusterCreatePlacesThem(int shards, int replicas, int nodes, double silosPerQuery)
    {
        var copies = new string[shards][];
        for (int i = 0; i < shards; i++)
        {
            copies[i] = new string[replicas];
            for (int j = 0; j < replicas; j++) copies[i][j] = ((char)('a' + (i + j) % nodes)).ToString();
        }
        var routes = new ShardRoutes(null!, new ClusterRouting { Version = 1, Shards = shards, Analyzer = "english", Copies = copies });
        var set = new ReplicatedShardSet(null!, routes, shards, null, null);
        var reads = new Dictionary<string, int>();
        const int queries = 600;
        int calls = 0;
        for (int q = 0; q < queries; q++)
        {
            var (local, groups) = set.Plan();
            Assert.Null(local);
            var read = new List<int>();
            foreach (var (node, group) in groups!)
            {
                foreach (int s in group) Assert.Contains(node, copies[s]);
                read.AddRange(group);
                reads[node] = reads.GetValueOrDefault(node) + group.Length;
            }
            read.Sort();
            Assert.Equal(Enumerable.Range(0, shards), read);
            calls += groups.Count;
        }
        Assert.InRange(calls / (double)queries, 1.0, silosPerQuery + 0.01);
        for (int n = 0; n < nodes; n++)
        {
            string node = ((char)('a' + n)).ToString();
            double share = reads.GetValueOrDefault(node) / (double)(queries * shards);
            double held = copies.Count(c => c.Contains(node)) / (double)(shards * replicas);
            Assert.InRange(share / held, 0.6, 1.5);
        }
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
