using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace Relevo.Dense;

/// <summary>Embeddings already computed, on disk, keyed by model fingerprint and a 128-bit hash of the exact text
/// embedded, so re-indexing unchanged text costs nothing. One append-only file per model:
/// CacheRoot/embeddings/NAME-FINGERPRINT.emb = header ("RLVOEMB1", int32 dims) then records (16-byte key, dims
/// float32, uint64 XxHash64 of key and vector). Loading stops at the first record that fails its check (a torn
/// append after a crash). Thread-safe; several processes may append (O_APPEND, whole records per write).</summary>
internal sealed class EmbeddingCache : IDisposable
{
    private static ReadOnlySpan<byte> Magic => "RLVOEMB1"u8;
    private const int HeaderLength = 12;

    private readonly object _gate = new();
    private readonly Dictionary<UInt128, int> _rows = [];
    private float[] _vectors;
    private readonly int _dims;
    private readonly FileStream _append;
    private readonly MemoryStream _pending = new();

    public string Path { get; }
    public int Count { get { lock (_gate) return _rows.Count; } }

    private EmbeddingCache(string path, int dims)
    {
        Path = path;
        _dims = dims;
        _vectors = new float[dims * 1024];
        System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        using (var f = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete))
            Load(f);
        _append = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
    }

    /// <summary>The cache of a model, or null when it cannot be used (read-only disk and the like).</summary>
    public static EmbeddingCache? TryOpen(EmbeddingModel model)
    {
        string path = System.IO.Path.Combine(Collections.DatasetLocator.CacheRoot, "embeddings", $"{model.Name}-{model.Fingerprint}.emb");
        try
        {
            return new EmbeddingCache(path, model.Dimensions);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static UInt128 Key(string text)
    {
        return XxHash128.HashToUInt128(MemoryMarshal.AsBytes(text.AsSpan()));
    }

    private int RecordLength => 16 + 4 * _dims + 8;

    private void Load(FileStream f)
    {
        int record = RecordLength;
        if (f.Length < HeaderLength)
        {
            // new (or torn before its header was whole): write the header
            f.SetLength(0);
            Span<byte> h = stackalloc byte[HeaderLength];
            Magic.CopyTo(h);
            BinaryPrimitives.WriteInt32LittleEndian(h[8..], _dims);
            f.Write(h);
            f.Flush();
            return;
        }
        Span<byte> header = stackalloc byte[HeaderLength];
        f.Position = 0;
        f.ReadExactly(header);
        if (!header[..8].SequenceEqual(Magic) || BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != _dims)
            throw new IOException($"{Path}: not an embedding cache for {_dims} dimensions");
        long records = (f.Length - HeaderLength) / record;
        var buffer = new byte[record * 256];
        long read = 0;
        while (read < records)
        {
            int n = (int)Math.Min(256, records - read);
            f.ReadExactly(buffer, 0, n * record);
            for (int r = 0; r < n; r++)
            {
                var rec = buffer.AsSpan(r * record, record);
                if (XxHash64.HashToUInt64(rec[..^8]) != BinaryPrimitives.ReadUInt64LittleEndian(rec[^8..])) return;
                var key = new UInt128(BinaryPrimitives.ReadUInt64LittleEndian(rec[8..]), BinaryPrimitives.ReadUInt64LittleEndian(rec));
                AddRow(key, MemoryMarshal.Cast<byte, float>(rec[16..^8]));
            }
            read += n;
        }
    }

    private void AddRow(UInt128 key, ReadOnlySpan<float> vector)
    {
        if (_rows.ContainsKey(key)) return;
        int row = _rows.Count;
        if ((row + 1) * _dims > _vectors.Length) Array.Resize(ref _vectors, _vectors.Length * 2);
        vector.CopyTo(_vectors.AsSpan(row * _dims, _dims));
        _rows[key] = row;
    }

    public bool TryGet(UInt128 key, Span<float> dest)
    {
        lock (_gate)
        {
            if (!_rows.TryGetValue(key, out int row)) return false;
            _vectors.AsSpan(row * _dims, _dims).CopyTo(dest);
            return true;
        }
    }

    public void Add(UInt128 key, ReadOnlySpan<float> vector)
    {
        lock (_gate)
        {
            if (_rows.ContainsKey(key)) return;
            AddRow(key, vector);
            Span<byte> rec = stackalloc byte[RecordLength];
            BinaryPrimitives.WriteUInt64LittleEndian(rec, (ulong)key);
            BinaryPrimitives.WriteUInt64LittleEndian(rec[8..], (ulong)(key >> 64));
            MemoryMarshal.AsBytes(vector).CopyTo(rec[16..]);
            BinaryPrimitives.WriteUInt64LittleEndian(rec[^8..], XxHash64.HashToUInt64(rec[..^8]));
            _pending.Write(rec);
            if (_pending.Length >= 1 << 16) FlushLocked(); // about 40 records: little is lost if the process is killed
        }
    }

    /// <summary>Appends what was added since the last flush (whole records, one write).</summary>
    public void Flush()
    {
        lock (_gate) FlushLocked();
    }

    private void FlushLocked()
    {
        if (_pending.Length == 0) return;
        try
        {
            _append.Write(_pending.GetBuffer(), 0, (int)_pending.Length);
            _append.Flush();
        }
        catch (IOException)
        {
            // a cache that cannot be written is only a slower cache
        }
        _pending.SetLength(0);
    }

    public void Dispose()
    {
        Flush();
        _append.Dispose();
    }
}
