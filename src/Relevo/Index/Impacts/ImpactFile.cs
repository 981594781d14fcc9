using Relevo.Index.Formats;

namespace Relevo.Index.Impacts;

/// <summary>One segment's quantized impacts, <c>{segment}.{key}.imp</c>: the settings, then per term of the segment's
/// dictionary (in ordinal order) one byte per block with the block's largest impact, followed by one byte per posting
/// with the posting's impact, in the order of the segment's postings. Where a term's bytes start follows from the
/// dictionary's document frequencies, so no offsets are stored; the reader checks that they add up to the file.</summary>
internal sealed unsafe class ImpactFile : IDisposable
{
    public const string Kind = "IMPS";
    public const int Version = 1;
    private const int HeaderBytes = 4 + 4 + 4 + 4 + 8 + 8 + 8 + 4 + 8;

    public static string FileName(string segment, string key, long generation) => $"{segment}.{key}.{generation}.imp";

    private readonly MappedFile _file;
    private readonly long[] _offsets; // per term: where its block maxima start
    private readonly byte[] _listMax;

    public ImpactSettings Settings { get; }

    private ImpactFile(MappedFile file, ImpactSettings settings, long[] offsets, byte[] listMax)
    {
        _file = file;
        Settings = settings;
        _offsets = offsets;
        _listMax = listMax;
    }

    /// <summary>Opens and verifies the impact file of a segment whose reader is <paramref name="segment"/>.</summary>
    public static ImpactFile Open(string path, SegmentReader segment)
    {
        var file = new MappedFile(path, Kind, Version);
        try
        {
            long at = file.PayloadStart;
            if (file.PayloadEnd - at < HeaderBytes) throw new CorruptIndexException(path, "too short for its header");
            var r = new ByteReader(file.Span(at, HeaderBytes));
            int model = r.ReadInt32(), bits = r.ReadInt32();
            float k1 = r.ReadSingle(), b = r.ReadSingle();
            long docCount = r.ReadInt64(), sumTtf = r.ReadInt64();
            double max = BitConverter.Int64BitsToDouble(r.ReadInt64());
            int terms = r.ReadInt32();
            long postings = r.ReadInt64();
            if (model is not (0 or 1) || bits is < 1 or > ImpactSettings.MaxBits || !(max > 0) || double.IsInfinity(max))
                throw new CorruptIndexException(path, $"holds impossible settings (model {model}, {bits} bits, maximum {max})");
            if (terms != segment.TermCount)
                throw new CorruptIndexException(path, $"covers {terms} terms but segment {segment.Name} has {segment.TermCount}");
            var offsets = new long[terms];
            var listMax = new byte[terms];
            long offset = at + HeaderBytes, total = 0;
            for (int t = 0; t < terms; t++)
            {
                int df = segment.DocFreq(t);
                int blocks = (df + PostingsCursor.BlockSize - 1) / PostingsCursor.BlockSize;
                offsets[t] = offset;
                offset += blocks + (long)df;
                total += df;
                if (offset > file.PayloadEnd) break;
                byte m = 0;
                var maxima = file.Span(offsets[t], blocks);
                foreach (byte x in maxima) if (x > m) m = x;
                listMax[t] = m;
            }
            if (total != postings || offset != file.PayloadEnd)
                throw new CorruptIndexException(path, $"does not match segment {segment.Name}'s postings (its length or posting count differs)");
            var settings = new ImpactSettings((ImpactModel)model, bits, k1, b, docCount, sumTtf, max);
            return new ImpactFile(file, settings, offsets, listMax);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>The term's block maxima (one byte per block); its posting impacts follow them.</summary>
    public byte* BlockMaxima(int ord) => _file.Pointer + _offsets[ord];

    /// <summary>The largest impact of a term's list.</summary>
    public byte ListMax(int ord) => _listMax[ord];

    public string Path => _file.Path;

    public void Dispose() => _file.Dispose();

    /// <summary>Writes (and fsyncs) a segment's impact file: <paramref name="impactOf"/> gives each posting's impact
    /// (1 to 2^bits − 1) from the term's ordinal, its tf and the document's norm byte.</summary>
    public static void Write(string path, SegmentReader segment, ImpactSettings settings, Func<int, int, byte, int> impactOf,
        CancellationToken cancellation = default)
    {
        var norms = segment.Norms.ToArray();
        using var o = new IndexOutput(path, Kind, Version);
        bool finished = false;
        try
        {
            long postings = 0;
            for (int t = 0; t < segment.TermCount; t++) postings += segment.DocFreq(t);
            o.WriteInt32((int)settings.Model);
            o.WriteInt32(settings.Bits);
            o.WriteSingle(settings.K1);
            o.WriteSingle(settings.B);
            o.WriteInt64(settings.DocCount);
            o.WriteInt64(settings.SumTotalTermFreq);
            o.WriteInt64(BitConverter.DoubleToInt64Bits(settings.Maximum));
            o.WriteInt32(segment.TermCount);
            o.WriteInt64(postings);
            PostingsCursor? cursor = null;
            var bytes = new byte[PostingsCursor.BlockSize * 64];
            var maxima = new byte[64];
            for (int t = 0; t < segment.TermCount; t++)
            {
                if ((t & 1023) == 0) cancellation.ThrowIfCancellationRequested();
                cursor = segment.Postings(t, cursor);
                int blocks = cursor.BlockCount;
                if (maxima.Length < blocks) maxima = new byte[Math.Max(blocks, maxima.Length * 2)];
                if (bytes.Length < cursor.DocFreq) bytes = new byte[Math.Max(cursor.DocFreq, bytes.Length * 2)];
                int n = 0;
                for (int blk = 0; blk < blocks; blk++)
                {
                    cursor.ReadBlock(blk);
                    byte m = 0;
                    for (int i = 0; i < cursor.BlockLength; i++)
                    {
                        int q = impactOf(t, cursor.Freqs[i], norms[cursor.Docs[i]]);
                        if (q < 1 || q > settings.Levels)
                            throw new InvalidOperationException($"impact {q} outside 1..{settings.Levels}");
                        bytes[n++] = (byte)q;
                        if (q > m) m = (byte)q;
                    }
                    maxima[blk] = m;
                }
                o.WriteBytes(maxima.AsSpan(0, blocks));
                o.WriteBytes(bytes.AsSpan(0, n));
            }
            o.Finish();
            finished = true;
        }
        finally
        {
            if (!finished) { o.Dispose(); Formats.V1.SegmentWriter.TryDelete(path); }
        }
    }

    /// <summary>Writes a merged segment's impact file by copying each posting's impact from the source segment it came
    /// from (impacts depend on the statistics at build time, not on the segment). The merged segment holds the sources'
    /// live documents in order, so a merged term's postings are the sources' live postings of that term, source by
    /// source.</summary>
    public static void WriteMerged(string path, SegmentReader merged, IReadOnlyList<(SegmentReader Reader, ImpactFile Impacts)> sources,
        CancellationToken cancellation)
    {
        var walker = new MergeWalker(merged, sources);
        Write(path, merged, sources[0].Impacts.Settings, walker.ImpactOf, cancellation);
    }

    /// <summary>Walks the sources' live postings of the merged term being written, in step with the writer.</summary>
    private sealed class MergeWalker(SegmentReader merged, IReadOnlyList<(SegmentReader Reader, ImpactFile Impacts)> sources)
    {
        private readonly SourceState[] _states = CreateStates(sources.Count);
        private int _term = -1, _source;

        private static SourceState[] CreateStates(int n)
        {
            var states = new SourceState[n];
            for (int i = 0; i < n; i++) states[i] = new SourceState();
            return states;
        }

        public int ImpactOf(int ord, int tf, byte norm)
        {
            if (ord != _term)
            {
                _term = ord;
                _source = 0;
                string term = merged.Term(ord);
                for (int i = 0; i < sources.Count; i++)
                    _states[i].Reset(sources[i].Reader, sources[i].Impacts, sources[i].Reader.FindTerm(term));
            }
            while (_source < _states.Length)
            {
                if (_states[_source].Next()) return _states[_source].Impact;
                _source++;
            }
            throw new InvalidOperationException($"the merged postings of '{merged.Term(ord)}' outnumber the sources' live postings");
        }
    }

    private sealed class SourceState
    {
        private PostingsCursor? _cursor, _reuse;
        private SegmentReader _reader = null!;
        private byte* _impacts;
        private int _block, _index, _posting;
        public int Impact;

        public void Reset(SegmentReader reader, ImpactFile impacts, int ord)
        {
            _reader = reader;
            if (ord < 0) { _cursor = null; return; }
            if (_reuse is not null && !ReferenceEquals(reader, _readerOfReuse)) _reuse = null;
            _cursor = _reuse = reader.Postings(ord, _reuse);
            _readerOfReuse = reader;
            _impacts = impacts.BlockMaxima(ord) + _cursor.BlockCount;
            _block = -1;
            _index = -1;
            _posting = -1;
        }

        private SegmentReader? _readerOfReuse;

        /// <summary>Moves to the next live posting; false when the list is done.</summary>
        public bool Next()
        {
            if (_cursor is not { } c) return false;
            while (true)
            {
                _posting++;
                _index++;
                if (_block < 0 || _index >= c.BlockLength)
                {
                    _block++;
                    if (_block >= c.BlockCount) { _cursor = null; return false; }
                    c.ReadDocs(_block);
                    _index = 0;
                }
                if (_reader.IsDeleted(c.Docs[_index])) continue;
                Impact = _impacts[_posting];
                return true;
            }
        }
    }
}
