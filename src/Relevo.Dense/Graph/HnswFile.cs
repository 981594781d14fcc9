using System.Runtime.InteropServices;
using Relevo.Index.Formats;

namespace Relevo.Dense;

/// <summary>The graph file of a segment's vectors for a model, <c>{segment}.{model}.hnsw</c> (kind HNSW), with the
/// header and checksummed footer of every index file (docs/index-format.md). Payload, little-endian:
/// int32 count, dims, M, ef_construction, entry node (−1: empty), top level, upper slots, reserved 0;
/// count × int8 levels (−1: not in the graph), zero-padded to a multiple of 4;
/// count × int32 first upper slot (−1: none); count × (2M + 1) int32 layer-0 lists (length, then neighbours);
/// upper slots × (M + 1) int32 lists of layers 1 and up, a node's layers contiguous.</summary>
internal static class HnswFile
{
    public const string Kind = "HNSW";
    public const int Version = 1;
    /// <summary>Bytes of the header fields at the start of the payload.</summary>
    public const int HeaderBytes = 32;

    public static string FileName(string segment, string model) => $"{segment}.{model}.hnsw";

    /// <summary>Writes the file (fsynced); a file of the same name left by a crash is replaced.</summary>
    public static void Write(string path, HnswGraphData graph)
    {
        Index.Formats.V1.SegmentWriter.TryDelete(path);
        int m = graph.Parameters.M;
        long upperSlots = graph.UpperSlots;
        using var o = new IndexOutput(path, Kind, Version);
        o.WriteInt32(graph.Count);
        o.WriteInt32(graph.Dimensions);
        o.WriteInt32(m);
        o.WriteInt32(graph.Parameters.EfConstruction);
        o.WriteInt32(graph.Entry);
        o.WriteInt32(graph.MaxLevel);
        o.WriteInt32(checked((int)upperSlots));
        o.WriteInt32(0);
        o.WriteBytes(MemoryMarshal.AsBytes(graph.Levels.AsSpan(0, graph.Count)));
        Span<byte> pad = stackalloc byte[4];
        pad.Clear();
        o.WriteBytes(pad[..Pad(graph.Count)]);
        o.WriteBytes(MemoryMarshal.AsBytes(graph.UpperOffset.AsSpan(0, graph.Count)));
        o.WriteBytes(MemoryMarshal.AsBytes(graph.Level0.AsSpan(0, (int)((long)graph.Count * (2 * m + 1)))));
        o.WriteBytes(MemoryMarshal.AsBytes(graph.Upper.AsSpan(0, (int)(upperSlots * (m + 1)))));
        o.Finish();
    }

    /// <summary>Zero bytes after the levels, so that the int32 arrays start 4-aligned.</summary>
    public static int Pad(int count) => (4 - count % 4) % 4;

    /// <summary>The parameters in a graph file's header, read without mapping or verifying the file (a search verifies
    /// it when it opens it). A file that cannot be read or holds impossible parameters is refused naming it.</summary>
    public static HnswParameters ReadParameters(string path)
    {
        Span<byte> head = stackalloc byte[FileFormat.HeaderLength + HeaderBytes];
        try
        {
            using var f = File.OpenRead(path);
            f.ReadExactly(head);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CorruptIndexException(path, $"cannot be read ({e.Message})");
        }
        return HnswHeader.Read(head[FileFormat.HeaderLength..], path).Parameters;
    }

    /// <summary>Opens (maps and verifies) a graph file; its shape is checked against the segment's vectors.</summary>
    public static HnswGraph Open(string path, int count, int dims) => new(path, count, dims);
}

/// <summary>The header fields at the start of a graph file's payload (<see cref="HnswFile"/>), read in one place for
/// the mapped graph and for a merge or write that only needs the parameters.</summary>
internal readonly record struct HnswHeader(int Count, int Dimensions, HnswParameters Parameters, int Entry, int MaxLevel, int UpperSlots)
{
    /// <summary>Reads the fields from the first <see cref="HnswFile.HeaderBytes"/> bytes; impossible parameters are
    /// refused naming the file.</summary>
    public static HnswHeader Read(ReadOnlySpan<byte> fields, string path)
    {
        static int Int(ReadOnlySpan<byte> f, int index) => System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(f[(4 * index)..]);
        var header = new HnswHeader(Int(fields, 0), Int(fields, 1), new HnswParameters(Int(fields, 2), Int(fields, 3)),
            Int(fields, 4), Int(fields, 5), Int(fields, 6));
        return header.Parameters.IsValid
            ? header
            : throw new CorruptIndexException(path, $"has impossible graph parameters (M {header.Parameters.M}, ef_construction {header.Parameters.EfConstruction})");
    }
}

/// <summary>A segment's graph for a model, memory-mapped and verified when opened. Thread-safe to search.</summary>
internal sealed unsafe class HnswGraph : IDisposable
{
    private readonly MappedFile _file;

    public int Count { get; }
    public int Dimensions { get; }
    public HnswParameters Parameters { get; }
    public int Entry { get; }
    public int MaxLevel { get; }
    public HnswLinks Links { get; }
    public string Path => _file.Path;
    public long Bytes => _file.Length;

    internal HnswGraph(string path, int count, int dims)
    {
        _file = new MappedFile(path, HnswFile.Kind, HnswFile.Version);
        try
        {
            long at = _file.PayloadStart;
            if (_file.PayloadEnd - at < HnswFile.HeaderBytes) throw new CorruptIndexException(path, "is too short for a graph header");
            var header = HnswHeader.Read(_file.Span(at, HnswFile.HeaderBytes), path);
            at += HnswFile.HeaderBytes;
            (Count, Dimensions, Parameters, Entry, MaxLevel) = (header.Count, header.Dimensions, header.Parameters, header.Entry, header.MaxLevel);
            int m = Parameters.M, upperSlots = header.UpperSlots;
            if (Count != count || Dimensions != dims)
                throw new CorruptIndexException(path, $"is a graph of {Count} vectors of {Dimensions} dimensions, but the segment has {count} of {dims}");
            if (upperSlots < 0 || Entry < -1 || Entry >= Count || MaxLevel > HnswBuilder.MaxLevel)
                throw new CorruptIndexException(path, "has an impossible graph header");
            var levels = (sbyte*)(_file.Pointer + at);
            at += Count + HnswFile.Pad(Count);
            var upperOffset = (int*)(_file.Pointer + at);
            at += 4L * Count;
            var level0 = (int*)(_file.Pointer + at);
            at += 4L * Count * (2 * m + 1);
            var upper = (int*)(_file.Pointer + at);
            at += 4L * upperSlots * (m + 1);
            if (at != _file.PayloadEnd)
                throw new CorruptIndexException(path, $"is {_file.PayloadEnd - at} bytes longer or shorter than its header says");
            Links = new HnswLinks(level0, upper, upperOffset, levels, Count, m);
            if (Entry >= 0 && (levels[Entry] != MaxLevel || MaxLevel < 0)) throw new CorruptIndexException(path, "has an entry node that is not on the top layer");
            if (Entry < 0 && MaxLevel != -1) throw new CorruptIndexException(path, "has no entry node but a top layer");
            Validate(path, upperSlots);
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>Every list's length and neighbours within bounds, every node's upper slots inside the file: a graph
    /// that passed its checksum but was written wrong cannot make a search read outside the mapping.</summary>
    private void Validate(string path, int upperSlots)
    {
        var links = Links;
        for (int node = 0; node < Count; node++)
        {
            int level = links.Levels[node];
            if (level < -1 || level > MaxLevel) throw new CorruptIndexException(path, $"gives node {node} level {level}, above the top layer {MaxLevel}");
            long offset = links.UpperOffset[node];
            if (level > 0 ? offset < 0 || offset + level > upperSlots : offset != -1)
                throw new CorruptIndexException(path, $"gives node {node} upper lists outside the file");
            for (int l = 0; l <= Math.Max(level, 0); l++)
            {
                int* slot = links.Slot(node, l);
                int n = *slot;
                if (n < 0 || n > links.Capacity(l) || (level < 0 && n != 0))
                    throw new CorruptIndexException(path, $"gives node {node} {n} neighbours on layer {l}");
                for (int i = 1; i <= n; i++)
                    if ((uint)slot[i] >= (uint)Count || links.Levels[slot[i]] < l || slot[i] == node)
                        throw new CorruptIndexException(path, $"links node {node} to {slot[i]} on layer {l}, which is not there");
            }
        }
    }

    /// <summary>A node's top layer; −1 when it is not in the graph.</summary>
    public int LevelOf(int node) => (uint)node < (uint)Count ? Links.Levels[node] : throw new ArgumentOutOfRangeException(nameof(node));

    /// <summary>Runs a search from the entry point; the best ef accepted nodes are left in scratch.Results.</summary>
    public void Search<TScorer, TFilter>(ref TScorer scorer, in TFilter filter, int ef, HnswScratch scratch)
        where TScorer : struct, INodeScorer where TFilter : struct, INodeFilter =>
        HnswSearch.Search(Links, Entry, MaxLevel, ref scorer, filter, ef, scratch);

    public void Dispose() => _file.Dispose();
}
