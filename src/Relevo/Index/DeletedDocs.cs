using Relevo.Index.Formats;
using Relevo.Index.Formats.V1;

namespace Relevo.Index;

/// <summary>The deleted documents of one segment: a bitset, written as a new generation file on each commit
/// that changes it (segments themselves never change).</summary>
internal sealed class DeletedDocs
{
    private readonly ulong[] _bits;

    public int MaxDoc { get; }
    public int Count { get; private set; }
    public string? Path { get; }

    public DeletedDocs(int maxDoc, string? path = null)
    {
        MaxDoc = maxDoc;
        _bits = new ulong[(maxDoc + 63) / 64];
        Path = path;
    }

    private DeletedDocs(int maxDoc, ulong[] bits, int count, string? path)
    {
        MaxDoc = maxDoc;
        _bits = bits;
        Count = count;
        Path = path;
    }

    /// <summary>A set over the given bits (taken, not copied), counted.</summary>
    public static DeletedDocs FromBits(int maxDoc, ulong[] bits)
    {
        int count = 0;
        foreach (ulong w in bits) count += System.Numerics.BitOperations.PopCount(w);
        return new DeletedDocs(maxDoc, bits, count, null);
    }

    /// <summary>A copy of the bits (one per document, set where deleted).</summary>
    public ulong[] Bits() => (ulong[])_bits.Clone();

    public bool IsDeleted(int doc) => (_bits[doc >> 6] & (1UL << (doc & 63))) != 0;

    /// <summary>Marks a document deleted; false if it already was.</summary>
    public bool Delete(int doc)
    {
        ref ulong w = ref _bits[doc >> 6];
        ulong m = 1UL << (doc & 63);
        if ((w & m) != 0) return false;
        w |= m;
        Count++;
        return true;
    }

    public DeletedDocs Clone() => new(MaxDoc, (ulong[])_bits.Clone(), Count, Path);

    public void Write(string path)
    {
        using var o = new IndexOutput(path, SegmentFiles.DeletesKind, SegmentFiles.Version);
        o.WriteInt32(MaxDoc);
        o.WriteInt32(Count);
        foreach (ulong w in _bits) o.WriteInt64((long)w);
        o.Finish();
    }

    public static DeletedDocs Read(string path, int expectedMaxDoc)
    {
        using var m = new MappedFile(path, SegmentFiles.DeletesKind, SegmentFiles.Version);
        int maxDoc = m.ReadInt32(m.PayloadStart);
        int count = m.ReadInt32(m.PayloadStart + 4);
        if (maxDoc != expectedMaxDoc)
            throw new CorruptIndexException(path, $"covers {maxDoc} documents but the segment has {expectedMaxDoc}");
        var bits = new ulong[(maxDoc + 63) / 64];
        for (int i = 0; i < bits.Length; i++) bits[i] = (ulong)m.ReadInt64(m.PayloadStart + 8 + 8L * i);
        int actual = 0;
        foreach (ulong w in bits) actual += System.Numerics.BitOperations.PopCount(w);
        if (actual != count)
            throw new CorruptIndexException(path, $"says {count} deletions but holds {actual}");
        return new DeletedDocs(maxDoc, bits, count, path);
    }
}
