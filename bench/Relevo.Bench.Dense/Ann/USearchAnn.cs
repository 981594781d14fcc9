using System.Runtime.InteropServices;
using Cloud.Unum.USearch;

namespace Relevo.Bench.Dense.Ann;

/// <summary>USearch's HNSW (NuGet <c>Cloud.Unum.USearch</c>) as an <see cref="IAnnIndex"/>: inner-product metric on
/// float32 vectors (no f16/i8 quantization; the vectors are unit length, so this is cosine), connectivity = m,
/// expansion_add = efConstruction, expansion_search = ef.
/// <para>The package's managed class <c>USearchIndex</c> cannot be used as is for this benchmark: its constructor takes
/// expansion_search once and nothing changes it later; its <c>Search(float[], int, out ulong[], out float[])</c>
/// allocates the two result arrays on every call; its <c>Add(ulong, float[])</c> wants one array per vector and grows
/// the capacity itself (the reserve method is private), which races when called from several threads. So this
/// class calls the package's native library (<c>libusearch_c</c>, shipped for linux-x64, win-x64 and osx-arm64)
/// through its C API, the same functions the managed class calls, plus three it does not expose:
/// <c>usearch_change_expansion_search</c> (ef per search), <c>usearch_change_threads_add</c> and
/// <c>usearch_memory_usage</c>. The package's own <see cref="IndexOptions"/>, <see cref="MetricKind"/>,
/// <see cref="ScalarKind"/> and <see cref="USearchException"/> are used for the options and errors.</para>
/// <para>Build reserves the capacity first, then adds from <c>threads</c> threads at once: USearch's C++ core takes a
/// free per-thread context for each <c>usearch_add</c> and locks the nodes it links, so concurrent adds into a
/// reserved index are safe.</para></summary>
internal sealed class USearchAnn : IAnnIndex
{
    private IntPtr _index;
    private int _count;
    private int _dims;
    private int _ef = -1;
    private ulong[] _keys = new ulong[16];
    private float[] _distances = new float[16];
    private long _diskBytes = -2; // -2: not measured yet

    public string Name => "usearch";

    /// <summary>USearch's own account of its memory after the build (<c>usearch_memory_usage</c>: vectors, graph,
    /// key lookup table, per-thread contexts and reserved slack).</summary>
    public long NativeMemoryBytes { get; private set; }

    /// <summary>The SIMD kernel USearch picked for this metric and scalar type (<c>usearch_hardware_acceleration</c>).</summary>
    public string HardwareAcceleration { get; private set; } = "";

    public void Build(float[] rows, int count, int dims, int m, int efConstruction, int threads)
    {
        if (_index != IntPtr.Zero) throw new InvalidOperationException("already built");
        _count = count;
        _dims = dims;
        // expansion_search is set here too, but every Search sets it again to its own ef
        var options = new IndexOptions(MetricKind.Ip, IntPtr.Zero, ScalarKind.Float32, (ulong)dims, (ulong)m, (ulong)efConstruction, 64, false);
        IntPtr error = IntPtr.Zero;
        _index = Native.usearch_init(ref options, ref error);
        Check(error);
        Native.usearch_reserve(_index, (nuint)count, ref error);
        Check(error);
        Native.usearch_change_threads_add(_index, (nuint)Math.Max(1, threads), ref error);
        Check(error);

        // each worker takes the next chunk of rows until none are left (the graph depends on the insertion order,
        // so a multi-threaded build is not deterministic; USearch's own multi-threaded add is the same)
        const int Chunk = 256;
        int next = 0;
        Exception? failure = null;
        void Worker()
        {
            try
            {
                IntPtr err = IntPtr.Zero;
                for (int start = Interlocked.Add(ref next, Chunk) - Chunk; start < count; start = Interlocked.Add(ref next, Chunk) - Chunk)
                {
                    int end = Math.Min(count, start + Chunk);
                    for (int i = start; i < end; i++)
                    {
                        Native.usearch_add(_index, (ulong)i, ref rows[i * dims], ScalarKind.Float32, ref err);
                        Check(err);
                    }
                }
            }
            catch (USearchException e)
            {
                Interlocked.CompareExchange(ref failure, e, null);
                Volatile.Write(ref next, count); // the other workers stop at their next chunk
            }
        }
        var workers = new Thread[Math.Max(1, threads)];
        for (int t = 0; t < workers.Length; t++)
        {
            workers[t] = new Thread(Worker) { IsBackground = true, Name = $"usearch-add-{t}" };
            workers[t].Start();
        }
        foreach (var w in workers) w.Join();
        if (failure is not null) throw new USearchException($"add failed: {failure.Message}");

        ulong size = Native.usearch_size(_index, ref error);
        Check(error);
        if (size != (ulong)count) throw new USearchException($"index holds {size} vectors, {count} were added");
        NativeMemoryBytes = (long)Native.usearch_memory_usage(_index, ref error);
        Check(error);
        HardwareAcceleration = Marshal.PtrToStringUTF8(Native.usearch_hardware_acceleration(_index, ref error)) ?? "";
        Check(error);
    }

    public int Search(ReadOnlySpan<float> query, int k, int ef, Span<int> ids)
    {
        IntPtr error = IntPtr.Zero;
        if (ef != _ef)
        {
            // the C API keeps expansion_search in the index's config; changing it costs nothing, but only when the
            // benchmark moves to the next ef does it actually change (not thread-safe: one searching thread)
            Native.usearch_change_expansion_search(_index, (nuint)ef, ref error);
            Check(error);
            _ef = ef;
        }
        if (_keys.Length < k)
        {
            _keys = new ulong[k];
            _distances = new float[k];
        }
        nuint found = Native.usearch_search(_index, ref MemoryMarshal.GetReference(query), ScalarKind.Float32, (nuint)k,
            ref _keys[0], ref _distances[0], ref error);
        Check(error);
        int n = (int)found;
        for (int i = 0; i < n; i++) ids[i] = (int)_keys[i];
        return n;
    }

    /// <summary>The saved file's size minus the float32 rows (count × dims × 4) USearch stores in it: the graph
    /// (neighbour lists and levels) and the keys. Its in-memory form is laid out the same way; what the file leaves
    /// out (key lookup table, per-thread contexts, reserved slack) is in <see cref="NativeMemoryBytes"/>.</summary>
    public long IndexMemoryBytes => DiskBytes - (long)_count * _dims * sizeof(float);

    /// <summary>The size of the index saved with <c>usearch_save</c> to a temporary file (deleted afterwards):
    /// vectors, graph and keys. Measured once.</summary>
    public long DiskBytes
    {
        get
        {
            if (_diskBytes != -2) return _diskBytes;
            string path = Path.Combine(Path.GetTempPath(), $"relevo-usearch-{Guid.NewGuid():N}.usearch");
            try
            {
                IntPtr error = IntPtr.Zero;
                Native.usearch_save(_index, path, ref error);
                Check(error);
                _diskBytes = new FileInfo(path).Length;
            }
            finally
            {
                File.Delete(path);
            }
            return _diskBytes;
        }
    }

    public void Dispose()
    {
        if (_index == IntPtr.Zero) return;
        IntPtr error = IntPtr.Zero;
        Native.usearch_free(_index, ref error);
        _index = IntPtr.Zero;
        Check(error);
    }

    private static void Check(IntPtr error)
    {
        if (error != IntPtr.Zero) throw new USearchException(Marshal.PtrToStringUTF8(error) ?? "unknown USearch error");
    }

    /// <summary>The C API of the package's native library (c/usearch.h). Every function reports failure through its
    /// last argument, a pointer to a static message that stays null on success (so it is passed in as null).</summary>
    private static class Native
    {
        private const string Library = "libusearch_c";

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr usearch_init(ref IndexOptions options, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_free(IntPtr index, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_reserve(IntPtr index, nuint capacity, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_change_threads_add(IntPtr index, nuint threads, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_change_expansion_search(IntPtr index, nuint expansion, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_add(IntPtr index, ulong key, ref float vector, ScalarKind kind, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_search(IntPtr index, ref float query, ScalarKind kind, nuint count,
            ref ulong keys, ref float distances, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_size(IntPtr index, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_memory_usage(IntPtr index, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr usearch_hardware_acceleration(IntPtr index, ref IntPtr error);

        [DllImport(Library, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_save(IntPtr index, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref IntPtr error);
    }
}
