using Orleans.Placement;
using Orleans.Runtime.Placement;
using Relevo.Sharding;

namespace Relevo.Cluster;

/// <summary>Places a shard grain. On silos that share one folder (key extension <see cref="Shared"/>), shard <c>i</c>
/// goes to the <c>i mod n</c>-th of the <c>n</c> live silos, ordered by address, so that shards spread evenly (4 shards
/// over 3 silos: 2/1/1) and every silo computes the same choice. Orleans' own activation-count placement samples two
/// silos at random from statistics that lag, and was seen to put all four shards on one silo of three. Placement only
/// decides where a shard that is not active goes: shards already active stay where they are, and when a silo dies its
/// shards are spread over the survivors by the same rule. A copy on a node's own disk (key extension: the node id) goes
/// to that node's silo and nowhere else (<see cref="NodePlacementDirector"/>).</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class ShardPlacement : PlacementStrategy
{
    internal static readonly ShardPlacement Instance = new();

    /// <summary>The key extension of a shard grain over a folder every silo reads.</summary>
    public const string Shared = "shared";
}

/// <summary>Marks a grain class (keyed by shard number) for <see cref="ShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class ShardPlacementAttribute() : PlacementAttribute(ShardPlacement.Instance);

internal sealed class ShardPlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        if (silos.Length == 0) throw new OrleansException($"no silo can host {target.GrainIdentity}");
        long shard = target.GrainIdentity.GetIntegerKey(out string? node);
        if (node is not null && node != ShardPlacement.Shared) return Task.FromResult(NodePlacementDirector.SiloOf(membership, silos, node));
        return Task.FromResult(Choose(silos, shard));
    }

    /// <summary>The <paramref name="shard"/> mod n-th silo in address order (the order every silo sees alike).</summary>
    internal static SiloAddress Choose(SiloAddress[] silos, long shard)
    {
        var ordered = (SiloAddress[])silos.Clone();
        Array.Sort(ordered, static (a, b) => string.CompareOrdinal(a.ToParsableString(), b.ToParsableString()));
        return ordered[(int)(((shard % ordered.Length) + ordered.Length) % ordered.Length)];
    }
}

/// <summary>Places a node's grain (key: node id) on the silo whose name is that id; when that silo is not alive the
/// call fails (the caller asks another copy), so a node's grains are never activated elsewhere.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class NodePlacement : PlacementStrategy
{
    internal static readonly NodePlacement Instance = new();
}

[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class NodePlacementAttribute() : PlacementAttribute(NodePlacement.Instance);

internal sealed class NodePlacementDirector(IClusterMembershipService membership) : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context) =>
        Task.FromResult(SiloOf(membership, context.GetCompatibleSilos(target), target.GrainIdentity.Key.ToString()!));

    internal static SiloAddress SiloOf(IClusterMembershipService membership, SiloAddress[] compatible, string node)
    {
        foreach (var m in membership.CurrentSnapshot.Members.Values)
            if (m.Status == SiloStatus.Active && m.Name == node && Array.IndexOf(compatible, m.SiloAddress) >= 0) return m.SiloAddress;
        throw new ShardCopyUnavailableException($"node {node} is not a live silo of the cluster");
    }
}
