namespace Relevo;

/// <summary>One ranked document: its external id and score. Inside one search it also knows where the document lives
/// (segment and document number of the searched commit; on a sharded index, shard and document number in the shard),
/// which is how its stored document, vector or explanation is fetched.</summary>
public readonly record struct Hit(string Id, float Score)
{
    /// <summary>Segment of the searched commit (shard, on a sharded index).</summary>
    internal int Segment { get; init; }

    /// <summary>Document number within <see cref="Segment"/>.</summary>
    internal int Doc { get; init; }

    internal Hit(string id, float score, int segment, int doc) : this(id, score)
    {
        Segment = segment;
        Doc = doc;
    }
}
