using System.Text;
using K4os.Compression.LZ4;

namespace Relevo.Index.Formats.V1;

/// <summary>What a segment is written from: the in-memory buffer of new documents, or the segments of a merge.</summary>
internal interface ISegmentSource
{
    int DocCount { get; }
    byte[] Norms { get; }
    /// <summary>Terms in ordinal order, each with ascending doc numbers and their term frequencies.</summary>
    IEnumerable<TermPostings> Terms();
    Document GetDocument(int doc);
    /// <summary>External id of a document.</summary>
    string GetId(int doc) => GetDocument(doc).Id;
    /// <summary>Stored documents already serialized and compressed (the in-memory buffer does this as documents
    /// arrive); null to have the writer read every document with <see cref="GetDocument"/>.</summary>
    StoredDocsBuilder? Stored => null;
    /// <summary>Writes the stored documents as compressed blocks that already exist (a merge without deletions copies
    /// its sources' blocks from their mapped files, renumbered, holding none of them in memory) and lists each in
    /// <paramref name="index"/>; false, writing nothing, to have the writer use <see cref="Stored"/> or
    /// <see cref="GetDocument"/>.</summary>
    bool CopyStoredBlocks(IndexOutput docs, List<(int FirstDoc, long Offset, int Compressed, int Raw)> index) => false;
    /// <summary>Whether the stored documents keep their other keys (file version 2); read after the documents are
    /// added.</summary>
    bool StoresFields => false;
}

/// <summary>Builds the stored-documents blocks of a segment incrementally: each document is serialized into the
/// current block, and a block is LZ4-compressed as soon as it is full, so a buffer holds compressed text only.
/// Blocks are cut exactly where <see cref="SegmentWriter"/> cuts them when it serializes documents itself.</summary>
internal sealed class StoredDocsBuilder
{
    private readonly ByteBuffer _block = new();
    private int _blockFirst, _count;
    private byte[] _scratch = [];
    public readonly List<(int FirstDoc, byte[] Data, int Raw)> Blocks = [];

    /// <summary>Bytes held: compressed blocks plus the block being filled.</summary>
    public long Bytes { get; private set; }

    /// <summary>Whether documents are serialized with their other keys (version 2): from the first document that has
    /// some, the blocks written before are serialized again with empty ones.</summary>
    public bool StoresFields { get; private set; }

    public void Add(string title, string text, string? fields = null)
    {
        if (fields is not null && !StoresFields) Upgrade();
        long before = _block.Length;
        _block.WriteUtf8(title);
        _block.WriteUtf8(text);
        if (StoresFields) _block.WriteUtf8(fields ?? "");
        Bytes += _block.Length - before;
        _count++;
        if (_block.Length >= SegmentWriter.StoredBlockBytes) Cut();
    }

    private void Upgrade()
    {
        var old = new List<(string Title, string Text)>(_count);
        foreach (var (_, data, raw) in Blocks)
        {
            var bytes = new byte[raw];
            LZ4Codec.Decode(data, bytes);
            ReadPairs(bytes, old);
        }
        ReadPairs(_block.Span.ToArray(), old);
        Blocks.Clear();
        _block.Clear();
        _blockFirst = _count = 0;
        Bytes = 0;
        StoresFields = true;
        foreach (var (title, text) in old) Add(title, text, null);
    }

    private static void ReadPairs(byte[] raw, List<(string, string)> into)
    {
        var r = new ByteReader(raw);
        while (r.Position < raw.Length)
        {
            string title = Encoding.UTF8.GetString(r.ReadBytes((int)r.ReadVarInt()));
            string text = Encoding.UTF8.GetString(r.ReadBytes((int)r.ReadVarInt()));
            into.Add((title, text));
        }
    }

    /// <summary>Compresses the last, partly filled block (call once, before writing).</summary>
    public void Finish()
    {
        if (_count > _blockFirst) Cut();
    }

    private void Cut()
    {
        var raw = _block.Span;
        int max = K4os.Compression.LZ4.LZ4Codec.MaximumOutputSize(raw.Length);
        if (_scratch.Length < max) _scratch = new byte[max];
        int clen = K4os.Compression.LZ4.LZ4Codec.Encode(raw, _scratch, K4os.Compression.LZ4.LZ4Level.L00_FAST);
        Blocks.Add((_blockFirst, _scratch.AsSpan(0, clen).ToArray(), raw.Length));
        Bytes += clen - raw.Length;
        _block.Clear();
        _blockFirst = _count;
    }
}

/// <summary>One term's postings, handed to the writer; the arrays may be reused between terms.</summary>
internal readonly record struct TermPostings(string Term, int[] Docs, int[] Freqs, int Count);

/// <summary>Statistics of a written segment, recorded in the manifest.</summary>
internal sealed record SegmentStats(int MaxDoc, long SumTotalTermFreq, int DocsWithTerms, int TermCount);

/// <summary>Writes a segment's five files (terms, postings with block maxima, norms, ids, stored documents), or only
/// the first three for a field's postings (<see cref="SegmentFiles.PostingsOnly"/>).</summary>
internal static class SegmentWriter
{
    internal const int StoredBlockBytes = 60 * 1024; // larger blocks compress better; merges read them sequentially

    // the most one block of postings takes: two width bytes and 128 values of 32 bits twice; and its impacts
    private const int MaxBlockBytes = 2 + 2 * 4 * SegmentFiles.BlockSize;
    private const int MaxImpactsBytes = 5 + SegmentFiles.BlockSize * (5 + 1);

    public static SegmentStats Write(string directory, string segment, ISegmentSource source, bool postingsOnly = false)
    {
        var written = new List<string>();
        try
        {
            var (termCount, sumTtf) = WritePostings(directory, segment, source, written);
            var norms = source.Norms;
            int withTerms = 0;
            foreach (byte n in norms) if (n != 0) withTerms++; // length 0 encodes as 0, and only then
            WriteNorms(directory, segment, norms, written);
            if (!postingsOnly) WriteIdsAndDocs(directory, segment, source, written);
            return new SegmentStats(source.DocCount, sumTtf, withTerms, termCount);
        }
        catch
        {
            foreach (var f in written) TryDelete(Path.Combine(directory, f));
            throw;
        }
    }

    private static (int TermCount, long SumTotalTermFreq) WritePostings(string directory, string segment, ISegmentSource source, List<string> written)
    {
        var norms = source.Norms;
        written.Add(SegmentFiles.Postings(segment));
        written.Add(SegmentFiles.Terms(segment));
        using var post = new IndexOutput(Path.Combine(directory, SegmentFiles.Postings(segment)), SegmentFiles.PostingsKind, SegmentFiles.Version);
        using var dict = new IndexOutput(Path.Combine(directory, SegmentFiles.Terms(segment)), SegmentFiles.TermsKind, SegmentFiles.Version);
        var skip = new ByteBuffer();
        var impacts = new ByteBuffer();
        var data = new ByteBuffer();
        var termBytes = new byte[256];
        var deltas = new uint[SegmentFiles.BlockSize];
        var freqs = new uint[SegmentFiles.BlockSize];
        var maxTfByNorm = new int[256];

        // Term count is not known up front when streaming; terms are buffered into the dictionary body and the
        // count is written after them.
        var body = new ByteBuffer();
        int termCount = 0;
        long lastOffset = 0, sumTtf = 0;
        foreach (var tp in source.Terms())
        {
            termCount++;
            long offset = post.Position;
            skip.Clear(); impacts.Clear(); data.Clear();
            int prev = -1;
            long totalTf = 0;
            for (int start = 0; start < tp.Count; start += SegmentFiles.BlockSize)
            {
                // the skip table's offsets into a term's impacts and data are 32 bits
                if (data.Length > ByteBuffer.MaxLength - MaxBlockBytes || impacts.Length > ByteBuffer.MaxLength - MaxImpactsBytes)
                    throw new RelevoException($"{post.Path}: the postings of '{tp.Term}' pass {ByteBuffer.MaxLength} bytes, the most " +
                                              $"format {SegmentFiles.Version} holds for one term; write fewer documents per segment");
                int n = Math.Min(SegmentFiles.BlockSize, tp.Count - start);
                uint maxDelta = 0, maxFreq = 0;
                Array.Clear(maxTfByNorm);
                for (int i = 0; i < n; i++)
                {
                    int doc = tp.Docs[start + i];
                    int tf = tp.Freqs[start + i];
                    deltas[i] = (uint)(doc - prev - 1);
                    freqs[i] = (uint)(tf - 1);
                    prev = doc;
                    totalTf += tf;
                    if (deltas[i] > maxDelta) maxDelta = deltas[i];
                    if (freqs[i] > maxFreq) maxFreq = freqs[i];
                    byte norm = norms[doc];
                    if (tf > maxTfByNorm[norm]) maxTfByNorm[norm] = tf;
                }
                skip.WriteUInt32((uint)prev);
                skip.WriteUInt32((uint)data.Length);
                skip.WriteUInt32((uint)impacts.Length);
                WriteImpacts(impacts, maxTfByNorm);
                int docBits = BitPacking.BitsRequired(maxDelta);
                int tfBits = BitPacking.BitsRequired(maxFreq);
                data.WriteByte((byte)docBits);
                data.WriteByte((byte)tfBits);
                data.WritePacked(deltas.AsSpan(0, n), docBits);
                data.WritePacked(freqs.AsSpan(0, n), tfBits);
            }
            // Layout: [skip table: per block lastDoc, dataOffset, impactsOffset][impacts][block data].
            post.WriteUInt32((uint)impacts.Length);
            post.WriteBytes(skip.Span);
            post.WriteBytes(impacts.Span);
            post.WriteBytes(data.Span);

            int len = Encoding.UTF8.GetByteCount(tp.Term);
            // the reader reads the dictionary as one span: it stays under 2 GiB (a term takes at most 4 varints more)
            if (body.Length > ByteBuffer.MaxLength - 4 - (len + 40))
                throw new RelevoException($"{dict.Path}: the term dictionary passes {ByteBuffer.MaxLength} bytes at term {termCount:N0}, the " +
                                          $"most format {SegmentFiles.Version} holds; write fewer documents per segment");
            if (len > termBytes.Length) termBytes = new byte[len * 2];
            Encoding.UTF8.GetBytes(tp.Term, termBytes);
            body.WriteVarInt((ulong)len);
            body.WriteBytes(termBytes.AsSpan(0, len));
            body.WriteVarInt((ulong)tp.Count);
            body.WriteVarInt((ulong)totalTf);
            body.WriteVarInt((ulong)(offset - lastOffset));
            lastOffset = offset;
            sumTtf += totalTf;
        }
        dict.WriteInt32(termCount);
        dict.WriteBytes(body.Span);
        post.Finish();
        dict.Finish();
        return (termCount, sumTtf);
    }

    /// <summary>The Pareto frontier of (tf, norm) in a block, as Lucene's impacts: any BM25 parameters' block maximum
    /// is reached at one of these pairs, since the score grows with tf and shrinks with length.</summary>
    private static void WriteImpacts(ByteBuffer impacts, int[] maxTfByNorm)
    {
        int count = 0, best = 0;
        for (int norm = 0; norm < 256; norm++)
            if (maxTfByNorm[norm] > best) { best = maxTfByNorm[norm]; count++; }
        impacts.WriteVarInt((ulong)count);
        best = 0;
        for (int norm = 0; norm < 256; norm++)
        {
            if (maxTfByNorm[norm] > best)
            {
                best = maxTfByNorm[norm];
                impacts.WriteVarInt((ulong)best);
                impacts.WriteByte((byte)norm);
            }
        }
    }

    private static void WriteNorms(string directory, string segment, byte[] norms, List<string> written)
    {
        written.Add(SegmentFiles.Norms(segment));
        using var o = new IndexOutput(Path.Combine(directory, SegmentFiles.Norms(segment)), SegmentFiles.NormsKind, SegmentFiles.Version);
        o.WriteInt32(norms.Length);
        o.WriteBytes(norms);
        o.Finish();
    }

    private static void WriteIdsAndDocs(string directory, string segment, ISegmentSource source, List<string> written)
    {
        int count = source.DocCount;
        string idsPath = Path.Combine(directory, SegmentFiles.Ids(segment));
        var idBytes = new ByteBuffer();
        var offsets = new int[count + 1];
        var ids = new string[count];
        written.Add(SegmentFiles.Docs(segment));
        bool storesFields = source.Stored is { } builder ? builder.StoresFields : source.StoresFields;
        using (var docs = new IndexOutput(Path.Combine(directory, SegmentFiles.Docs(segment)), SegmentFiles.DocsKind,
                   storesFields ? SegmentFiles.DocsWithFieldsVersion : SegmentFiles.Version))
        {
            var index = new List<(int FirstDoc, long Offset, int Compressed, int Raw)>();
            var idScratch = new byte[256];
            void AddId(int doc, string id)
            {
                ids[doc] = id;
                offsets[doc] = idBytes.Length;
                int n = Encoding.UTF8.GetByteCount(id);
                if (idBytes.Length > ByteBuffer.MaxLength - n)
                    throw new RelevoException($"{idsPath}: the document ids pass {ByteBuffer.MaxLength} bytes of UTF-8 at document {doc:N0}, " +
                                              $"the most format {SegmentFiles.Version}'s 32-bit offsets reach; write fewer documents per segment");
                if (n > idScratch.Length) idScratch = new byte[n * 2];
                Encoding.UTF8.GetBytes(id, idScratch);
                idBytes.WriteBytes(idScratch.AsSpan(0, n));
            }
            if (source.CopyStoredBlocks(docs, index))
            {
                for (int doc = 0; doc < count; doc++) AddId(doc, source.GetId(doc));
            }
            else if (source.Stored is { } stored)
            {
                stored.Finish();
                for (int doc = 0; doc < count; doc++) AddId(doc, source.GetId(doc));
                foreach (var (first, data, raw) in stored.Blocks)
                {
                    index.Add((first, docs.Position, data.Length, raw));
                    docs.WriteBytes(data);
                }
            }
            else
            {
                var block = new ByteBuffer();
                int blockFirst = 0;
                for (int doc = 0; doc < count; doc++)
                {
                    var d = source.GetDocument(doc);
                    AddId(doc, d.Id);
                    block.WriteUtf8(d.Title);
                    block.WriteUtf8(d.Text);
                    if (storesFields) block.WriteUtf8(d.Fields ?? "");
                    if (block.Length >= StoredBlockBytes || doc == count - 1)
                    {
                        index.Add(FlushStoredBlock(docs, block, blockFirst));
                        blockFirst = doc + 1;
                    }
                }
            }
            offsets[count] = idBytes.Length;
            long indexOffset = docs.Position;
            docs.WriteInt32(index.Count);
            foreach (var e in index)
            {
                docs.WriteInt32(e.FirstDoc);
                docs.WriteInt64(e.Offset);
                docs.WriteInt32(e.Compressed);
                docs.WriteInt32(e.Raw);
            }
            docs.WriteInt64(indexOffset);
            docs.Finish();
        }

        written.Add(SegmentFiles.Ids(segment));
        var sorted = new int[count];
        for (int i = 0; i < count; i++) sorted[i] = i;
        Array.Sort(sorted, (a, b) => string.CompareOrdinal(ids[a], ids[b]));
        using var o = new IndexOutput(idsPath, SegmentFiles.IdsKind, SegmentFiles.Version);
        o.WriteInt32(count);
        foreach (int off in offsets) o.WriteInt32(off);
        foreach (int s in sorted) o.WriteInt32(s);
        o.WriteBytes(idBytes.Span);
        o.Finish();
    }

    private static (int, long, int, int) FlushStoredBlock(IndexOutput docs, ByteBuffer block, int firstDoc)
    {
        var raw = block.Span;
        var compressed = new byte[LZ4Codec.MaximumOutputSize(raw.Length)];
        int clen = LZ4Codec.Encode(raw, compressed, LZ4Level.L00_FAST);
        long offset = docs.Position;
        docs.WriteBytes(compressed.AsSpan(0, clen));
        var entry = (firstDoc, offset, clen, raw.Length);
        block.Clear();
        return entry;
    }

    internal static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
