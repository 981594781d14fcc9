using System.Buffers.Binary;
using System.Text;
using K4os.Compression.LZ4;

namespace Relevo.Index.Formats.V1;

/// <summary>Reads one immutable segment: memory-mapped postings, norms and ids; term dictionary in memory;
/// stored documents decompressed per block on demand. Every file is verified when opened.</summary>
public sealed unsafe class SegmentReader : IDisposable
{
    private readonly MappedFile _postings;
    private readonly MappedFile _norms;
    private readonly MappedFile _ids;
    private readonly MappedFile _docs;
    private readonly string[] _terms;
    private readonly int[] _docFreq;
    private readonly long[] _totalTermFreq;
    private readonly long[] _postingsOffset;
    private readonly long _idsOffsets, _idsSorted, _idsBytes;
    private readonly (int FirstDoc, long Offset, int Compressed, int Raw)[] _storedBlocks;

    public string Name { get; }
    public int MaxDoc { get; }
    public int TermCount => _terms.Length;
    public DeletedDocs Deletes { get; internal set; }

    public SegmentReader(string directory, string name, DeletedDocs deletes)
    {
        Name = name;
        Deletes = deletes;
        var opened = new List<IDisposable>();
        try
        {
            _postings = Open(directory, SegmentFiles.Postings(name), SegmentFiles.PostingsKind, opened);
            _norms = Open(directory, SegmentFiles.Norms(name), SegmentFiles.NormsKind, opened);
            _ids = Open(directory, SegmentFiles.Ids(name), SegmentFiles.IdsKind, opened);
            _docs = Open(directory, SegmentFiles.Docs(name), SegmentFiles.DocsKind, opened);
            using var dict = Open(directory, SegmentFiles.Terms(name), SegmentFiles.TermsKind, []);

            MaxDoc = _norms.ReadInt32(_norms.PayloadStart);

            // Term dictionary: held in memory as sorted arrays; lookups are binary searches over ordinal order.
            var r = new ByteReader(dict.Span(dict.PayloadStart, checked((int)(dict.PayloadEnd - dict.PayloadStart))));
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

            int idCount = _ids.ReadInt32(_ids.PayloadStart);
            if (idCount != MaxDoc)
                throw new CorruptIndexException(_ids.Path, $"holds {idCount} ids but the segment has {MaxDoc} documents");
            _idsOffsets = _ids.PayloadStart + 4;
            _idsSorted = _idsOffsets + 4L * (MaxDoc + 1);
            _idsBytes = _idsSorted + 4L * MaxDoc;

            long indexOffset = _docs.ReadInt64(_docs.PayloadEnd - 8);
            var ir = new ByteReader(_docs.Span(indexOffset, checked((int)(_docs.PayloadEnd - indexOffset))));
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

    private static MappedFile Open(string directory, string file, string kind, List<IDisposable> opened)
    {
        var m = new MappedFile(Path.Combine(directory, file), kind, SegmentFiles.Version);
        opened.Add(m);
        return m;
    }

    public int LiveDocs => MaxDoc - Deletes.Count;

    /// <summary>Norm bytes of all documents (Lucene's one-byte length encoding).</summary>
    public ReadOnlySpan<byte> Norms => _norms.Span(_norms.PayloadStart + 4, MaxDoc);

    public bool IsDeleted(int doc) => Deletes.IsDeleted(doc);

    /// <summary>Index of the term in the dictionary, or -1.</summary>
    public int FindTerm(ReadOnlySpan<char> term)
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

    public string Term(int ord) => _terms[ord];
    public int DocFreq(int ord) => _docFreq[ord];
    public long TotalTermFreq(int ord) => _totalTermFreq[ord];

    public PostingsCursor Postings(int ord) => new(_postings, _postingsOffset[ord], _docFreq[ord]);

    /// <summary>External id of a document.</summary>
    public string GetId(int doc)
    {
        int start = _ids.ReadInt32(_idsOffsets + 4L * doc);
        int end = _ids.ReadInt32(_idsOffsets + 4L * (doc + 1));
        return Encoding.UTF8.GetString(_ids.Span(_idsBytes + start, end - start));
    }

    /// <summary>Document number of an external id (deleted or not), or -1.</summary>
    public int FindId(string id)
    {
        int lo = 0, hi = MaxDoc - 1;
        while (lo <= hi)
        {
            int mid = (lo + hi) >>> 1;
            int doc = _ids.ReadInt32(_idsSorted + 4L * mid);
            int c = string.CompareOrdinal(GetId(doc), id);
            if (c == 0) return doc;
            if (c < 0) lo = mid + 1; else hi = mid - 1;
        }
        return -1;
    }

    /// <summary>The stored document (id, title, text).</summary>
    public Document GetDocument(int doc)
    {
        if ((uint)doc >= (uint)MaxDoc) throw new ArgumentOutOfRangeException(nameof(doc));
        int lo = 0, hi = _storedBlocks.Length - 1;
        while (lo < hi)
        {
            int mid = (lo + hi + 1) >>> 1;
            if (_storedBlocks[mid].FirstDoc <= doc) lo = mid; else hi = mid - 1;
        }
        var block = _storedBlocks[lo];
        var raw = new byte[block.Raw];
        int decoded = LZ4Codec.Decode(_docs.Span(block.Offset, block.Compressed), raw);
        if (decoded != block.Raw)
            throw new CorruptIndexException(_docs.Path, $"stored block {lo} does not decompress");
        var r = new ByteReader(raw);
        for (int d = block.FirstDoc; ; d++)
        {
            int tlen = (int)r.ReadVarInt();
            var title = r.ReadBytes(tlen);
            int xlen = (int)r.ReadVarInt();
            var text = r.ReadBytes(xlen);
            if (d == doc)
                return new Document(GetId(doc), Encoding.UTF8.GetString(title), Encoding.UTF8.GetString(text));
        }
    }

    public void Dispose()
    {
        _postings.Dispose();
        _norms.Dispose();
        _ids.Dispose();
        _docs.Dispose();
    }
}

/// <summary>Iterates one term's postings block by block: decodes 128 doc ids and frequencies at a time.</summary>
public unsafe sealed class PostingsCursor
{
    private readonly MappedFile _file;
    private readonly long _skipStart, _impactsStart, _dataStart;
    private int _block = -1;

    public int DocFreq { get; }
    public int BlockCount { get; }
    /// <summary>Decoded doc ids and term frequencies of the current block.</summary>
    public readonly int[] Docs = new int[SegmentFiles.BlockSize];
    public readonly int[] Freqs = new int[SegmentFiles.BlockSize];
    public int BlockLength { get; private set; }

    internal PostingsCursor(MappedFile file, long offset, int docFreq)
    {
        _file = file;
        DocFreq = docFreq;
        BlockCount = (docFreq + SegmentFiles.BlockSize - 1) / SegmentFiles.BlockSize;
        int impactsLength = file.ReadInt32(offset);
        _skipStart = offset + 4;
        _impactsStart = _skipStart + 12L * BlockCount;
        _dataStart = _impactsStart + impactsLength;
    }

    /// <summary>Last doc id of a block, from the skip table (no decoding).</summary>
    public int BlockLastDoc(int block) => _file.ReadInt32(_skipStart + 12L * block);

    /// <summary>The (tf, norm) pairs bounding every score in a block.</summary>
    public void BlockImpacts(int block, List<(int Tf, byte Norm)> into)
    {
        into.Clear();
        int off = _file.ReadInt32(_skipStart + 12L * block + 8);
        var r = new ByteReader(_file.Span(_impactsStart + off, (int)Math.Min(int.MaxValue, _dataStart - _impactsStart - off)));
        int n = (int)r.ReadVarInt();
        for (int i = 0; i < n; i++)
        {
            int tf = (int)r.ReadVarInt();
            into.Add((tf, r.ReadByte()));
        }
    }

    public int CurrentBlock => _block;

    /// <summary>Decodes block <paramref name="block"/> into <see cref="Docs"/> and <see cref="Freqs"/>.</summary>
    public void ReadBlock(int block)
    {
        int prev = block == 0 ? -1 : BlockLastDoc(block - 1);
        int n = block == BlockCount - 1 ? DocFreq - block * SegmentFiles.BlockSize : SegmentFiles.BlockSize;
        int off = _file.ReadInt32(_skipStart + 12L * block + 4);
        byte* p = _file.Pointer + _dataStart + off;
        int docBits = p[0], tfBits = p[1];
        p += 2;
        Span<uint> tmp = stackalloc uint[SegmentFiles.BlockSize];
        BitPacking.Unpack(p, n, docBits, tmp);
        for (int i = 0; i < n; i++)
        {
            prev += (int)tmp[i] + 1;
            Docs[i] = prev;
        }
        p += BitPacking.PackedBytes(n, docBits);
        BitPacking.Unpack(p, n, tfBits, tmp);
        for (int i = 0; i < n; i++) Freqs[i] = (int)tmp[i] + 1;
        BlockLength = n;
        _block = block;
    }
}
