using Orleans.Placement;
using Orleans.Runtime.Placement;

namespace Relevo.Cluster;

/// <summary>Places shard <c>i</c> on the <c>i mod n</c>-th of the <c>n</c> live silos, ordered by address, so that
/// shards spread evenly (4 shards over 3 silos: 2/1/1) and every silo computes the same choice. Orleans' own
/// activation-count placement samples two silos at random from statistics that lag, and was seen to put all four shards
/// on one silo of three. Placement only decides where a shard that is not active goes: shards already active stay where
/// they are, and when a silo dies its shards are spread over the survivors by the same rule.</summary>
[Serializable, GenerateSerializer, Immutable, SuppressReferenceTracking]
internal sealed class ShardPlacement : PlacementStrategy
{
    internal static readonly ShardPlacement Instance = new();
}

/// <summary>Marks a grain class (keyed by shard number) for <see cref="ShardPlacement"/>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false)]
internal sealed class ShardPlacementAttribute() : PlacementAttribute(ShardPlacement.Instance);

internal sealed class ShardPlacementDirector : IPlacementDirector
{
    public Task<SiloAddress> OnAddActivation(PlacementStrategy strategy, PlacementTarget target, IPlacementContext context)
    {
        var silos = context.GetCompatibleSilos(target);
        if (silos.Length == 0) throw new OrleansException($"no silo can host {target.GrainIdentity}");
        return Task.FromResult(Choose(silos, target.GrainIdentity.GetIntegerKey()));
    }

    /// <summary>The <paramref name="shard"/> mod n-th silo in address order (the order every silo sees alike).</summary>
    internal static SiloAddress Choose(SiloAddress[] silos, long shard)
    {
        var ordered = (SiloAddress[])silos.Clone();
        Array.Sort(ordered, static (a, b) => string.CompareOrdinal(a.ToParsableString(), b.ToParsableString()));
        return ordered[(int)(((shard % ordered.Length) + ordered.Length) % ordered.Length)];
    }
}
