using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Relevo.Index.Formats;

namespace Relevo.Dense;

/// <summary>Per-segment vector files, beside the segment's other files and with the same header and checksummed
/// footer (docs/index-format.md):
/// <c>{segment}.{model}.vec</c> (kind VEC_): int32 dims, int32 count, count × dims float32 rows in doc-number order;
/// <c>{segment}.{model}.vq8</c> (kind VQ8_): int32 dims, int32 count, count × float32 scale, count × dims int8 rows
/// (symmetric per-vector scalar quantization: x ≈ scale × q). Deleted documents' rows are zeros.</summary>
internal static class VectorFiles
{
    public const int Version = 1;
    public const string FloatKind = "VEC_";
    public const string Int8Kind = "VQ8_";

    public static string FloatFile(string segment, string model) => $"{segment}.{model}.vec";
    public static string Int8File(string segment, string model) => $"{segment}.{model}.vq8";

    /// <summary>The files a segment's vectors for these models occupy.</summary>
    public static IEnumerable<string> All(string segment, IEnumerable<string> models)
    {
        foreach (var m in models)
        {
            yield return FloatFile(segment, m);
            yield return Int8File(segment, m);
        }
    }

    /// <summary>Writes both files (fsynced) from float rows. An existing file of the same name (left by a crash,
    /// not referenced by any commit) is replaced.</summary>
    public static void Write(string directory, string segment, string model, int dims, ReadOnlySpan<float> rows)
    {
        int count = rows.Length / dims;
        string vec = Path.Combine(directory, FloatFile(segment, model));
        string vq8 = Path.Combine(directory, Int8File(segment, model));
        Index.Formats.V1.SegmentWriter.TryDelete(vec);
        Index.Formats.V1.SegmentWriter.TryDelete(vq8);
        using (var o = new IndexOutput(vec, FloatKind, Version))
        {
            o.WriteInt32(dims);
            o.WriteInt32(count);
            o.WriteBytes(MemoryMarshal.AsBytes(rows[..(count * dims)]));
            o.Finish();
        }
        var scales = new float[count];
        var q = new sbyte[count * dims];
        for (int i = 0; i < count; i++)
            scales[i] = Int8Quantizer.Quantize(rows.Slice(i * dims, dims), q.AsSpan(i * dims, dims));
        using (var o = new IndexOutput(vq8, Int8Kind, Version))
        {
            o.WriteInt32(dims);
            o.WriteInt32(count);
            o.WriteBytes(MemoryMarshal.AsBytes(scales.AsSpan()));
            o.WriteBytes(MemoryMarshal.AsBytes(q.AsSpan()));
            o.Finish();
        }
    }
}

/// <summary>Symmetric per-vector int8 quantization: q = round(x / scale), scale = max|x| / 127.</summary>
internal static class Int8Quantizer
{
    public static float Quantize(ReadOnlySpan<float> x, Span<sbyte> q)
    {
        float max = TensorPrimitives.MaxMagnitude(x);
        max = Math.Abs(max);
        if (max == 0 || float.IsNaN(max))
        {
            q[..x.Length].Clear();
            return 0;
        }
        float inv = 127f / max;
        for (int i = 0; i < x.Length; i++) q[i] = (sbyte)Math.Clamp(MathF.Round(x[i] * inv), -127f, 127f);
        return max / 127f;
    }
}

/// <summary>One segment's vectors for one model, memory-mapped and verified when opened.</summary>
internal sealed unsafe class SegmentVectors : IDisposable
{
    private readonly MappedFile _floats;
    private readonly MappedFile? _int8;

    public int Dimensions { get; }
    public int Count { get; }

    public SegmentVectors(string directory, string segment, string model, int maxDoc, bool openInt8)
    {
        _floats = new MappedFile(Path.Combine(directory, VectorFiles.FloatFile(segment, model)), VectorFiles.FloatKind, VectorFiles.Version);
        try
        {
            Dimensions = _floats.ReadInt32(_floats.PayloadStart);
            Count = _floats.ReadInt32(_floats.PayloadStart + 4);
            if (Dimensions <= 0 || Count != maxDoc || 8 + (long)Count * Dimensions * 4 != _floats.PayloadEnd - _floats.PayloadStart)
                throw new CorruptIndexException(_floats.Path, $"holds {Count} vectors of {Dimensions} dimensions but the segment has {maxDoc} documents");
            if (openInt8)
            {
                _int8 = new MappedFile(Path.Combine(directory, VectorFiles.Int8File(segment, model)), VectorFiles.Int8Kind, VectorFiles.Version);
                if (_int8.ReadInt32(_int8.PayloadStart) != Dimensions || _int8.ReadInt32(_int8.PayloadStart + 4) != Count
                    || 8 + (long)Count * (4 + Dimensions) != _int8.PayloadEnd - _int8.PayloadStart)
                    throw new CorruptIndexException(_int8.Path, $"does not match {VectorFiles.FloatFile(segment, model)} ({Count} × {Dimensions})");
            }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public bool HasInt8 => _int8 is not null;

    /// <summary>The first float of row 0 (valid while this is open).</summary>
    public float* FloatPointer => (float*)(_floats.Pointer + _floats.PayloadStart + 8);
    public sbyte* Int8Pointer => _int8 is null ? null : (sbyte*)(_int8.Pointer + _int8.PayloadStart + 8 + 4L * Count);
    public float* ScalePointer => _int8 is null ? null : (float*)(_int8.Pointer + _int8.PayloadStart + 8);

    /// <summary>All float rows, doc-number order.</summary>
    public ReadOnlySpan<float> Floats => new(_floats.Pointer + _floats.PayloadStart + 8, Count * Dimensions);

    public ReadOnlySpan<float> Row(int doc) => Floats.Slice(doc * Dimensions, Dimensions);

    public ReadOnlySpan<float> Int8Scales => _int8 is null ? default : new(_int8.Pointer + _int8.PayloadStart + 8, Count);

    public ReadOnlySpan<sbyte> Int8Rows => _int8 is null ? default : new(_int8.Pointer + _int8.PayloadStart + 8 + 4L * Count, Count * Dimensions);

    public void Dispose()
    {
        _floats?.Dispose();
        _int8?.Dispose();
    }
}
