using System.Runtime.CompilerServices;
using System.Buffers.Binary;
using System.Text;
using K4os.Compression.LZ4;

namespace Relevo.Index.Formats.V1;

/// <summary>Reads one immutable segment of format 1: memory-mapped postings, norms and ids; term dictionary in memory;
/// stored documents decompressed per block on demand. Every file is verified when opened. A field's postings
/// (<see cref="Fields.FieldView"/>) are a segment of three files only (terms, postings, norms; no ids or stored
/// documents), opened with <c>postingsOnly</c>.</summary>
internal sealed unsafe class V1SegmentReader : SegmentReader
{
    private readonly MappedFile _postings;
    private readonly MappedFile _norms;
    private readonly MappedFile? _ids;
    private readonly MappedFile? _docs;
    private readonly string[] _terms;
    private readonly int[] _termTable; // open addressing by string hash: ordinal + 1, 0 = empty
    private readonly int[] _docFreq;
    private readonly long[] _totalTermFreq;
    private readonly long[] _postingsOffset;
    private readonly long _idsOffsets, _idsSorted, _idsBytes;
    private readonly (int FirstDoc, long Offset, int Compressed, int Raw)[] _storedBlocks;

    private readonly int _maxDoc;
    // how many readers share these files and tables (Share): the last one to be disposed unmaps the files
    private readonly StrongBox<int> _sharers = new(1);
    public override int MaxDoc => _maxDoc;
    public override int TermCount => _terms.Length;

    public V1SegmentReader(string directory, string name, DeletedDocs deletes, bool postingsOnly = false) : base(name, deletes)
    {
        var opened = new List<IDisposable>();
        try
        {
            _postings = Open(directory, SegmentFiles.Postings(name), SegmentFiles.PostingsKind, opened);
            _norms = Open(directory, SegmentFiles.Norms(name), SegmentFiles.NormsKind, opened);
            if (!postingsOnly)
            {
                _ids = Open(directory, SegmentFiles.Ids(name), SegmentFiles.IdsKind, opened);
                _docs = Open(directory, SegmentFiles.Docs(name), SegmentFiles.DocsKind, opened, SegmentFiles.DocsWithFieldsVersion);
            }
            using var dict = Open(directory, SegmentFiles.Terms(name), SegmentFiles.TermsKind, []);

            _maxDoc = _norms.ReadInt32(_norms.PayloadStart);

            // Term dictionary: held in memory as sorted arrays (ordinal order), looked up through a hash table (BuildTermTable).
            var r = new ByteReader(dict.Span(dict.PayloadStart, SpanLength(dict, dict.PayloadStart, "term dictionary")));
            int n = r.ReadInt32();
            _terms = new string[n];
            _docFreq = new int[n];
            _totalTermFreq = new long[n];
            _postingsOffset = new long[n];
            long offset = 0;
            for (int i = 0; i < n; i++)
            {
                int len = (int)r.ReadVarInt();
                _terms[i] = Encoding.UTF8.GetString(r.ReadBytes(len));
                _docFreq[i] = (int)r.ReadVarInt();
                _totalTermFreq[i] = (long)r.ReadVarInt();
                offset += (long)r.ReadVarInt();
                _postingsOffset[i] = offset;
            }

            _termTable = BuildTermTable(_terms);

            if (_ids is null || _docs is null)
            {
                _storedBlocks = [];
                if (deletes.MaxDoc != MaxDoc)
                    throw new CorruptIndexException(deletes.Path ?? name, $"deletions cover {deletes.MaxDoc} documents but the segment has {MaxDoc}");
                return;
            }
            int idCount = _ids.ReadInt32(_ids.PayloadStart);
            if (idCount != MaxDoc)
                throw new CorruptIndexException(_ids.Path, $"holds {idCount} ids but the segment has {MaxDoc} documents");
            _idsOffsets = _ids.PayloadStart + 4;
            _idsSorted = _idsOffsets + 4L * (MaxDoc + 1);
            _idsBytes = _idsSorted + 4L * MaxDoc;

            long indexOffset = _docs.ReadInt64(_docs.PayloadEnd - 8);
            if (indexOffset < _docs.PayloadStart || indexOffset > _docs.PayloadEnd - 12)
                throw new CorruptIndexException(_docs.Path, $"block table offset {indexOffset} lies outside the file");
            var ir = new ByteReader(_docs.Span(indexOffset, SpanLength(_docs, indexOffset, "block table")));
            int blocks = ir.ReadInt32();
            _storedBlocks = new (int, long, int, int)[blocks];
            for (int i = 0; i < blocks; i++)
                _storedBlocks[i] = (ir.ReadInt32(), ir.ReadInt64(), ir.ReadInt32(), ir.ReadInt32());
            if (deletes.MaxDoc != MaxDoc)
                throw new CorruptIndexException(deletes.Path ?? name, $"deletions cover {deletes.MaxDoc} documents but the segment has {MaxDoc}");
        }
        catch
        {
            foreach (var d in opened) d.Dispose();
            throw;
        }
    }

    // a reader over the same files and in-memory tables, with other deletions
    private V1SegmentReader(V1SegmentReader from, DeletedDocs deletes) : base(from.Name, deletes)
    {
        _postings = from._postings;
        _norms = from._norms;
        _ids = from._ids;
        _docs = from._docs;
        _terms = from._terms;
        _termTable = from._termTable;
        _docFreq = from._docFreq;
        _totalTermFreq = from._totalTermFreq;
        _postingsOffset = from._postingsOffset;
        (_idsOffsets, _idsSorted, _idsBytes) = (from._idsOffsets, from._idsSorted, from._idsBytes);
        _storedBlocks = from._storedBlocks;
        _maxDoc = from._maxDoc;
        _sharers = from._sharers;
        if (deletes.MaxDoc != MaxDoc)
            throw new CorruptIndexException(deletes.Path ?? Name, $"deletions cover {deletes.MaxDoc} documents but the segment has {MaxDoc}");
        lock (_sharers)
        {
            if (_sharers.Value == 0) throw new ObjectDisposedException(Name);
            _sharers.Value++;
        }
    }

    public override SegmentReader Share(DeletedDocs deletes) => new V1SegmentReader(this, deletes);

    /// <summary>Length of a region that is read as one span, from <paramref name="start"/> to the payload's end: under
    /// 2 GiB (writers keep it there), else the file is refused, naming it.</summary>
    private static int SpanLength(MappedFile file, long start, string what)
    {
        long length = file.PayloadEnd - start;
        if (length > int.MaxValue)
            throw new CorruptIndexException(file.Path, $"its {what} takes {length} bytes, more than format {SegmentFiles.Version} holds (2 GiB)");
        return (int)length;
    }

    /// <summary>Whether the stored documents keep their other keys (<see cref="SegmentFiles.DocsWithFieldsVersion"/>).</summary>
    public bool StoresFields => _docs is { Version: SegmentFiles.DocsWithFieldsVersion };

    private static MappedFile Open(string directory, string file, string kind, List<IDisposable> opened, int maxVersion = SegmentFiles.Version)
    {
        var m = new MappedFile(Path.Combine(directory, file), kind, maxVersion);
        opened.Add(m);
        return m;
    }

    public override ReadOnlySpan<byte> Norms => _norms.Span(_norms.PayloadStart + 4, MaxDoc);

    // the norms file ends with a 12-byte footer: 4-byte gathers at the last norm stay inside the mapping
    public override byte* NormsPointer => _norms.Pointer + _norms.PayloadStart + 4;

    /// <summary>A hash table over the dictionary (load at most 1/2): a query term costs one hash and about one
    /// string comparison instead of a binary search's twenty-odd comparisons, each a likely cache miss.</summary>
    private static int[] BuildTermTable(string[] terms)
    {
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(16, terms.Length * 2));
        var table = new int[size];
        int mask = size - 1;
        for (int ord = 0; ord < terms.Length; ord++)
        {
            int slot = string.GetHashCode(terms[ord].AsSpan()) & mask;
            while (table[slot] != 0) slot = (slot + 1) & mask;
            table[slot] = ord + 1;
        }
        return table;
    }

    /// <summary>Index of the term in the dictionary, or -1.</summary>
    public override int FindTerm(ReadOnlySpan<char> term)
    {
        var table = _termTable;
        int mask = table.Length - 1;
        int slot = string.GetHashCode(term) & mask;
        int entry;
        while ((entry = table[slot]) != 0)
        {
            if (term.SequenceEqual(_terms[entry - 1])) return entry - 1;
            slot = (slot + 1) & mask;
        }
        return -1;
    }

    /// <summary>Binary search of the sorted dictionary (what <see cref="FindTerm"/> answers, without the table).</summary>
    internal int FindTermSorted(ReadOnlySpan<char> term)
    {
        int lo = 0, hi = _terms.Length - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int c = _terms[mid].AsSpan().SequenceCompareTo(term);
            if (c == 0) return mid;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return -1;
    }

    public override string Term(int ord) => _terms[ord];
    public override int DocFreq(int ord) => _docFreq[ord];
    public override long TotalTermFreq(int ord) => _totalTermFreq[ord];

    public override PostingsCursor Postings(int ord, PostingsCursor? reuse = null)
    {
        if (reuse is V1PostingsCursor cursor)
        {
            cursor.Reset(_postings, _postingsOffset[ord], _docFreq[ord]);
            return cursor;
        }
        return new V1PostingsCursor(_postings, _postingsOffset[ord], _docFreq[ord]);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<int, (int Tf, byte Norm)[]> _listImpacts = new();

    /// <summary>The Pareto frontier of (tf, norm) over a term's whole list (the union of its blocks' impacts), computed
    /// once per term and cached.</summary>
    public override (int Tf, byte Norm)[] ListImpacts(int ord) => _listImpacts.GetOrAdd(ord, static (o, self) =>
    {
        var maxTfByNorm = new int[256];
        var cursor = self.Postings(o);
        var tfs = new int[PostingsCursor.BlockSize];
        var norms = new byte[PostingsCursor.BlockSize];
        for (int b = 0; b < cursor.BlockCount; b++)
        {
            int n = cursor.BlockImpacts(b, tfs, norms);
            for (int i = 0; i < n; i++) if (tfs[i] > maxTfByNorm[norms[i]]) maxTfByNorm[norms[i]] = tfs[i];
        }
        var frontier = new List<(int, byte)>();
        int best = 0;
        for (int n = 0; n < 256; n++)
            if (maxTfByNorm[n] > best) { best = maxTfByNorm[n]; frontier.Add((best, (byte)n)); }
        return frontier.ToArray();
    }, this);

    /// <summary>The ids file; a field's postings have none.</summary>
    private MappedFile Ids => _ids ?? throw new InvalidOperationException($"{Name}: a field's postings hold no ids or documents");

    /// <summary>The stored documents file; a field's postings have none.</summary>
    private MappedFile Docs => _docs ?? throw new InvalidOperationException($"{Name}: a field's postings hold no ids or documents");

    public override string GetId(int doc) => Encoding.UTF8.GetString(GetIdUtf8(doc));

    public override ReadOnlySpan<byte> GetIdUtf8(int doc)
    {
        int start = Ids.ReadInt32(_idsOffsets + 4L * doc);
        int end = Ids.ReadInt32(_idsOffsets + 4L * (doc + 1));
        return Ids.Span(_idsBytes + start, end - start);
    }

    public override int FindId(string id)
    {
        int lo = 0, hi = MaxDoc - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int doc = Ids.ReadInt32(_idsSorted + 4L * mid);
            int c = CompareId(doc, id);
            if (c == 0) return doc;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>Ordinal comparison of a document's id with <paramref name="id"/>, decoding UTF-8 on the stack.</summary>
    private int CompareId(int doc, string id)
    {
        int start = Ids.ReadInt32(_idsOffsets + 4L * doc);
        int end = Ids.ReadInt32(_idsOffsets + 4L * (doc + 1));
        var bytes = Ids.Span(_idsBytes + start, end - start);
        if (bytes.Length > 256) return string.CompareOrdinal(Encoding.UTF8.GetString(bytes), id);
        Span<char> chars = stackalloc char[256];
        int n = Encoding.UTF8.GetChars(bytes, chars);
        return chars[..n].SequenceCompareTo(id.AsSpan());
    }

    /// <summary>The stored block that holds <paramref name="doc"/>.</summary>
    private int StoredBlockOf(int doc)
    {
        int lo = 0, hi = _storedBlocks.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_storedBlocks[mid].FirstDoc <= doc) lo = mid; else hi = mid - 1;
        }
        return lo;
    }

    /// <summary>Where in the stored-documents file the block holding <paramref name="doc"/> starts (tests of large files).</summary>
    internal long StoredBlockOffset(int doc) => _storedBlocks[StoredBlockOf(doc)].Offset;

    public override Document GetDocument(int doc)
    {
        if ((uint)doc >= (uint)MaxDoc) throw new ArgumentOutOfRangeException(nameof(doc));
        int lo = StoredBlockOf(doc);
        var block = _storedBlocks[lo];
        var raw = new byte[block.Raw];
        int decoded = LZ4Codec.Decode(Docs.Span(block.Offset, block.Compressed), raw);
        if (decoded != block.Raw)
            throw new CorruptIndexException(Docs.Path, $"stored block {lo} does not decompress");
        var r = new ByteReader(raw);
        for (int d = block.FirstDoc; ; d++)
        {
            int tlen = (int)r.ReadVarInt();
            var title = r.ReadBytes(tlen);
            int xlen = (int)r.ReadVarInt();
            var text = r.ReadBytes(xlen);
            var fields = StoresFields ? r.ReadBytes((int)r.ReadVarInt()) : default;
            if (d == doc)
                return new Document(GetId(doc), Encoding.UTF8.GetString(title), Encoding.UTF8.GetString(text)) { Fields = FieldsOf(fields) };
        }
    }

    internal int StoredBlockCount => _storedBlocks.Length;
    internal int StoredBlockFirstDoc(int i) => _storedBlocks[i].FirstDoc;

    /// <summary>A stored block as written: its compressed bytes in the mapped file, first document and raw length
    /// (merges copy blocks).</summary>
    internal ReadOnlySpan<byte> StoredBlock(int i, out int firstDoc, out int raw)
    {
        var b = _storedBlocks[i];
        firstDoc = b.FirstDoc;
        raw = b.Raw;
        return Docs.Span(b.Offset, b.Compressed);
    }

    /// <summary>Sequential access to stored documents (merges): each block is decompressed once, not once per document.</summary>
    internal sealed class StoredCursor
    {
        public int Block = -1;
        public byte[] Raw = [];
        public int Position;
        public int NextDoc;
    }

    /// <summary>The stored document, read through <paramref name="cursor"/>; fastest for increasing doc numbers.</summary>
    internal Document GetDocument(int doc, StoredCursor cursor)
    {
        if ((uint)doc >= (uint)MaxDoc) throw new ArgumentOutOfRangeException(nameof(doc));
        if (cursor.Block < 0 || doc < cursor.NextDoc || cursor.Block + 1 < _storedBlocks.Length && doc >= _storedBlocks[cursor.Block + 1].FirstDoc)
        {
            int lo = StoredBlockOf(doc);
            var block = _storedBlocks[lo];
            if (cursor.Raw.Length < block.Raw) cursor.Raw = new byte[Math.Max(block.Raw, cursor.Raw.Length * 2)];
            int decoded = LZ4Codec.Decode(Docs.Span(block.Offset, block.Compressed), cursor.Raw.AsSpan(0, block.Raw));
            if (decoded != block.Raw)
                throw new CorruptIndexException(Docs.Path, $"stored block {lo} does not decompress");
            cursor.Block = lo;
            cursor.Position = 0;
            cursor.NextDoc = block.FirstDoc;
        }
        var r = new ByteReader(cursor.Raw);
        r.Position = cursor.Position;
        for (int d = cursor.NextDoc; ; d++)
        {
            int tlen = (int)r.ReadVarInt();
            var title = r.ReadBytes(tlen);
            int xlen = (int)r.ReadVarInt();
            var text = r.ReadBytes(xlen);
            var fields = StoresFields ? r.ReadBytes((int)r.ReadVarInt()) : default;
            if (d == doc)
            {
                cursor.Position = r.Position;
                cursor.NextDoc = d + 1;
                return new Document(GetId(doc), Encoding.UTF8.GetString(title), Encoding.UTF8.GetString(text)) { Fields = FieldsOf(fields) };
            }
        }
    }

    private static string? FieldsOf(ReadOnlySpan<byte> json) => json.Length == 0 ? null : Encoding.UTF8.GetString(json);

    private bool _disposed;

    public override void Dispose()
    {
        lock (_sharers)
        {
            if (_disposed) return;
            _disposed = true;
            if (--_sharers.Value > 0) return;
        }
        _postings.Dispose();
        _norms.Dispose();
        _ids?.Dispose();
        _docs?.Dispose();
    }
}

/// <summary>Format 1's postings: per term a 4-byte impacts length, a skip table of 12 bytes per block (last doc,
/// data offset, impacts offset), the impacts (per block a varint count, then varint tf and norm byte pairs) and the
/// bit-packed blocks (doc gaps minus one, then tf minus one).</summary>
internal unsafe sealed class V1PostingsCursor : PostingsCursor
{
    private byte* _skip, _impacts, _data;
    private byte* _scoreImpacts, _blockMaxImpacts; // a quantized impact index's bytes for this term, or null
    private int _block = -1;
    private int _freqBlock = -1;

    internal V1PostingsCursor(MappedFile file, long offset, int docFreq) => Reset(file, offset, docFreq);

    internal void Reset(MappedFile file, long offset, int docFreq)
    {
        DocFreq = docFreq;
        BlockCount = (docFreq + SegmentFiles.BlockSize - 1) / SegmentFiles.BlockSize;
        int impactsLength = file.ReadInt32(offset);
        _skip = file.Pointer + offset + 4;
        _impacts = _skip + 12L * BlockCount;
        _data = _impacts + impactsLength;
        _block = -1;
        _freqBlock = -1;
        BlockLength = 0;
        _scoreImpacts = null;
        _blockMaxImpacts = null;
    }

    /// <summary>Serves the term's quantized impacts (one byte per posting, in posting order) in <see cref="PostingsCursor.Freqs"/>
    /// instead of its term frequencies, and each block's largest impact as its only (tf, norm) impact (norm 0): a
    /// scorer over impacts then sees them where a frequency-based one sees tf.</summary>
    internal void UseImpacts(byte* impacts, byte* blockMax)
    {
        _scoreImpacts = impacts;
        _blockMaxImpacts = blockMax;
        _freqBlock = -1;
    }

    public override byte* ImpactBytes => _scoreImpacts;
    public override byte* BlockMaxImpactBytes => _blockMaxImpacts;

    public override int BlockLastDoc(int block) => *(int*)(_skip + 12L * block);

    public override int BlockImpacts(int block, int[] tfs, byte[] norms)
    {
        if (_blockMaxImpacts != null)
        {
            tfs[0] = _blockMaxImpacts[block];
            norms[0] = 0;
            return 1;
        }
        int off = *(int*)(_skip + 12L * block + 8);
        byte* p = _impacts + off;
        int n = (int)ReadVarInt(ref p);
        for (int i = 0; i < n; i++)
        {
            tfs[i] = (int)ReadVarInt(ref p);
            norms[i] = *p++;
        }
        return n;
    }

    private static ulong ReadVarInt(ref byte* p)
    {
        ulong v = 0;
        int shift = 0;
        while (true)
        {
            byte b = *p++;
            v |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80) return v;
            shift += 7;
        }
    }

    public override void ReadDocs(int block)
    {
        int prev = block == 0 ? -1 : BlockLastDoc(block - 1);
        int n = block == BlockCount - 1 ? DocFreq - block * SegmentFiles.BlockSize : SegmentFiles.BlockSize;
        int off = *(int*)(_skip + 12L * block + 4);
        byte* p = _data + off;
        int docBits = p[0];
        fixed (int* docs = Docs)
        {
            uint* d = (uint*)docs;
            BitPacking.Unpack(p + 2, n, docBits, d);
            // gaps minus one -> doc ids (prefix sum)
            int acc = prev;
            for (int i = 0; i < n; i++)
            {
                acc += (int)d[i] + 1;
                docs[i] = acc;
            }
        }
        BlockLength = n;
        _block = block;
    }

    public override void ReadFreqs()
    {
        if (_freqBlock == _block) return;
        int n = BlockLength;
        if (_scoreImpacts != null)
        {
            byte* src = _scoreImpacts + (long)_block * SegmentFiles.BlockSize;
            fixed (int* freqs = Freqs)
            {
                int i = 0;
                if (System.Runtime.Intrinsics.X86.Avx2.IsSupported)
                    for (; i + 8 <= n; i += 8) // eight bytes zero-extended to eight ints (vpmovzxbd)
                        System.Runtime.Intrinsics.X86.Avx.Store(freqs + i, System.Runtime.Intrinsics.X86.Avx2.ConvertToVector256Int32(src + i));
                for (; i < n; i++) freqs[i] = src[i];
            }
            _freqBlock = _block;
            return;
        }
        int off = *(int*)(_skip + 12L * _block + 4);
        byte* p = _data + off;
        int docBits = p[0], tfBits = p[1];
        p += 2 + BitPacking.PackedBytes(n, docBits);
        fixed (int* freqs = Freqs)
        {
            BitPacking.Unpack(p, n, tfBits, (uint*)freqs);
            for (int i = 0; i < n; i++) freqs[i]++;
        }
        _freqBlock = _block;
    }
}
