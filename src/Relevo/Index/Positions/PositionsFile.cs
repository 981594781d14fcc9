using System.Text;
using Relevo.Analysis;
using Relevo.Index.Fields;
using Relevo.Index.Formats;

namespace Relevo.Index.Positions;

/// <summary>Term positions of one field of one segment, for phrase and proximity queries: beside the field's postings
/// (the segment's own for the concatenated field "contents", a field's postings for "title" and "text"), in the same
/// order, file <c>{segment}.p-{field}.pos</c>, segment component data "positions" keyed by the field. Positions count
/// tokens as Lucene does: a stop word or an over-long token removed by the analyzer still takes its position.
/// <code>
/// header ("POSI", 1)
/// data: per term in dictionary order, per block of 128 postings, per posting its tf positions as varints
///       (the first as is, the others as gaps from the one before)
/// int64 blockStart[blocks]          where each block's positions start, the terms' blocks one after another
/// int32 firstBlock[terms + 1]       each term's first block in that table
/// varint length, utf8 analyzer      the analyzer the positions were computed with (merges compute them again)
/// int64 blockTable, int64 termTable, int32 terms, int32 blocks
/// footer
/// </code></summary>
internal sealed unsafe class PositionsFile : IDisposable
{
    public const string Component = "positions";
    public const string Kind = "POSI";
    public const int Version = 1;

    public static string FileName(string segment, string field) => $"{segment}.p-{TextFields.FileToken(field)}.pos";

    private readonly MappedFile _file;
    private readonly long _blockTable, _termTable;
    private readonly int _terms;

    public string Path => _file.Path;
    public string Analyzer { get; }

    /// <param name="termCount">The terms of the postings the positions follow; null: not checked (only the
    /// analyzer's name is read, <see cref="AnalyzerOf"/>).</param>
    private PositionsFile(string path, int? termCount)
    {
        _file = new MappedFile(path, Kind, Version);
        try
        {
            long trailer = _file.PayloadEnd - 24;
            _blockTable = _file.ReadInt64(trailer);
            _termTable = _file.ReadInt64(trailer + 8);
            _terms = _file.ReadInt32(trailer + 16);
            int blocks = _file.ReadInt32(trailer + 20);
            if (termCount is { } expected && _terms != expected)
                throw new CorruptIndexException(path, $"holds positions of {_terms} terms but the postings have {termCount}");
            if (_blockTable < _file.PayloadStart || _blockTable + 8L * blocks != _termTable || _termTable + 4L * (_terms + 1) > trailer)
                throw new CorruptIndexException(path, "its tables lie outside the file");
            var r = new ByteReader(_file.Span(_termTable + 4L * (_terms + 1), (int)(trailer - _termTable - 4L * (_terms + 1))));
            int length = (int)r.ReadVarInt();
            Analyzer = Encoding.UTF8.GetString(r.ReadBytes(length));
        }
        catch
        {
            _file.Dispose();
            throw;
        }
    }

    /// <summary>Opens and verifies the positions that follow <paramref name="postings"/>.</summary>
    public static PositionsFile Open(string path, SegmentReader postings) => new(path, postings.TermCount);

    /// <summary>The analyzer a positions file was computed with (the file verified, its postings not opened).</summary>
    public static string AnalyzerOf(string path)
    {
        using var file = new PositionsFile(path, null);
        return file.Analyzer;
    }

    /// <summary>Where the positions of block <paramref name="block"/> of term <paramref name="ord"/> start (valid while
    /// the file is open); read them posting after posting with <see cref="Skip"/> and <see cref="Read"/>.</summary>
    public byte* Block(int ord, int block)
    {
        int first = _file.ReadInt32(_termTable + 4L * ord);
        return _file.Pointer + _file.ReadInt64(_blockTable + 8L * (first + block));
    }

    /// <summary>Passes over one posting's <paramref name="tf"/> positions.</summary>
    public static byte* Skip(byte* p, int tf)
    {
        for (int j = 0; j < tf; j++)
            while ((*p++ & 0x80) != 0) { }
        return p;
    }

    /// <summary>Reads one posting's positions into <paramref name="output"/> (its length is the posting's tf).</summary>
    public static byte* Read(byte* p, Span<int> output)
    {
        int position = 0;
        for (int j = 0; j < output.Length; j++)
        {
            int v = 0, shift = 0;
            byte b;
            do
            {
                b = *p++;
                v |= (b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0);
            position += v;
            output[j] = position;
        }
        return p;
    }

    public void Dispose() => _file.Dispose();

    // ------------------------------------------------------------------ writing

    /// <summary>Writes (and fsyncs) the positions of the postings <paramref name="postings"/> holds for documents whose
    /// text in the field a reader from <paramref name="texts"/> gives (one reader per thread; documents are read in
    /// increasing order), analysed as those postings were; every document (deleted ones included: the numbering is the
    /// postings'). The documents are analysed on <paramref name="threads"/> threads (0: one per core), each a contiguous
    /// range, and each term's positions joined in range order, so the file is the same for any number. Throws if the
    /// analysis does not give the postings' terms and frequencies (the text is not the one the postings were made from).</summary>
    public static void Write(string path, SegmentReader postings, Func<Func<int, string>> texts, Analyzer analyzer, int threads = 0,
        CancellationToken cancellation = default)
    {
        int parts = Math.Max(1, Math.Min(threads > 0 ? threads : Environment.ProcessorCount, postings.MaxDoc / 1024 + 1));
        var ranges = new List<int>?[parts][];
        try
        {
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts, CancellationToken = cancellation }, part =>
            {
                var perTerm = ranges[part] = new List<int>?[postings.TermCount];
                var sink = new Collector(postings, perTerm);
                var textOf = texts();
                long from = (long)postings.MaxDoc * part / parts, to = (long)postings.MaxDoc * (part + 1) / parts;
                for (int d = (int)from; d < to; d++)
                {
                    if ((d & 1023) == 0) cancellation.ThrowIfCancellationRequested();
                    sink.Start(d);
                    analyzer.Analyze(textOf(d), sink);
                }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw(); // the reason, not a wrapper
        }
        var perTerm = ranges[0];
        for (int part = 1; part < parts; part++)
            for (int t = 0; t < perTerm.Length; t++)
                if (ranges[part][t] is { } more) (perTerm[t] ??= []).AddRange(more);
        using var output = new IndexOutput(path, Kind, Version);
        var blockStarts = new List<long>();
        var firstBlock = new int[postings.TermCount + 1];
        var buffer = new ByteBuffer();
        PostingsCursor? cursor = null;
        for (int t = 0; t < postings.TermCount; t++)
        {
            firstBlock[t] = blockStarts.Count;
            var list = perTerm[t];
            int at = 0;
            cursor = postings.Postings(t, cursor);
            for (int b = 0; b < cursor.BlockCount; b++)
            {
                blockStarts.Add(output.Position);
                cursor.ReadBlock(b);
                buffer.Clear();
                for (int i = 0; i < cursor.BlockLength; i++)
                {
                    int tf = cursor.Freqs[i], previous = 0;
                    if (list is null || at + tf > list.Count)
                        throw new RelevoException($"{path}: the text of document {cursor.Docs[i]} does not give the postings of '{postings.Term(t)}'");
                    for (int j = 0; j < tf; j++)
                    {
                        int p = list[at++];
                        buffer.WriteVarInt((ulong)(p - previous));
                        previous = p;
                    }
                }
                output.WriteBytes(buffer.Span);
            }
            if ((list?.Count ?? 0) != at)
                throw new RelevoException($"{path}: the text gives '{postings.Term(t)}' more often than its postings hold");
        }
        firstBlock[postings.TermCount] = blockStarts.Count;
        long blockTable = output.Position;
        foreach (long s in blockStarts) output.WriteInt64(s);
        long termTable = output.Position;
        foreach (int f in firstBlock) output.WriteInt32(f);
        var name = Encoding.UTF8.GetBytes(analyzer.Name);
        output.WriteVarInt((ulong)name.Length);
        output.WriteBytes(name);
        output.WriteInt64(blockTable);
        output.WriteInt64(termTable);
        output.WriteInt32(postings.TermCount);
        output.WriteInt32(blockStarts.Count);
        output.Finish();
    }

    /// <summary>Collects each term's positions, document after document (so each term's list is in posting order).</summary>
    private sealed class Collector(SegmentReader postings, List<int>?[] perTerm) : ITermSink
    {
        private int _position, _doc;

        public void Start(int doc)
        {
            _doc = doc;
            _position = -1;
        }

        public void OnGap(int positions) => _position += positions;

        public void OnTerm(ReadOnlySpan<char> term)
        {
            _position++;
            int ord = postings.FindTerm(term);
            if (ord < 0) throw new RelevoException($"document {_doc}: its text gives the term '{term}', which the postings do not hold");
            (perTerm[ord] ??= []).Add(_position);
        }
    }
}

/// <summary>Keeps a segment's positions with it: computed again from the merged segment's stored text in a merge (the
/// analyzer is the one the sources' positions name) and from the new segment's text for documents added later. Ordered
/// after the fields component, whose postings a field's positions follow.</summary>
internal sealed class PositionsComponent : SegmentComponent
{
    public static readonly PositionsComponent Instance = new();

    public override string Name => PositionsFile.Component;

    public override int Order => 1;

    public override IReadOnlyList<ComponentData> Merge(string directory, string mergedSegment,
        IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources, MergeContext context)
    {
        var live = LiveSources(sources);
        var result = new List<ComponentData>();
        var keys = SegmentEntry.CommonComponents(live.Select(s => s.Entry));
        if (keys is null || live.Count == 0) return result;
        int maxDoc = live.Sum(s => s.Reader.LiveDocs);
        foreach (var data in keys)
        {
            if (data.Component != Name) continue;
            string analyzer = PositionsFile.AnalyzerOf(Path.Combine(directory, live[0].Entry.Component(Name, data.Key)!.Files[0]));
            using var merged = new Formats.V1.V1SegmentReader(directory, mergedSegment, new DeletedDocs(maxDoc));
            result.Add(PositionsIndexer.Write(directory, mergedSegment, data.Key, merged, Analysis.Analyzer.Create(analyzer), context.Cancellation));
        }
        return result;
    }

    public override ComponentData? Complete(string directory, SegmentEntry segment, SegmentReader reader, ComponentTemplate template, ServiceSet services) =>
        PositionsIndexer.Write(directory, segment.Name, template.Key, reader, Analysis.Analyzer.Create(template.Analyzer));

    /// <summary>The postings a field's positions follow in a segment: the segment's own ("contents"), or the field's.</summary>
    internal static SegmentReader PostingsOf(string directory, string segment, string field, SegmentReader reader) =>
        field == "contents" ? reader.Share(reader.Deletes) : TextFields.Open(directory, segment, field, reader.Deletes);
}

/// <summary>Writes positions for segments: <c>relevo index --positions</c> (every segment that lacks them, for the
/// concatenated field and, where the index has them, the title and text fields), merges and new documents.</summary>
internal static class PositionsIndexer
{
    /// <summary>Writes the positions of <paramref name="field"/> for a segment from its stored text; returns the data.</summary>
    public static ComponentData Write(string directory, string segment, string field, SegmentReader reader, Analyzer analyzer,
        CancellationToken cancellation = default)
    {
        if (field != "contents" && !HasFieldPostings(directory, segment, field))
            throw new RelevoException($"'{field}' is not a text field of segment {segment} (positions follow a text field's postings)");
        Func<int, string> TextReader()
        {
            var documents = TextFields.Documents(reader); // one per thread: it holds the decompressed block
            return field == "contents" ? d => documents(d).IndexedText : d => TextFields.TextOf(documents(d), field);
        }
        string file = PositionsFile.FileName(segment, field);
        using (var postings = PositionsComponent.PostingsOf(directory, segment, field, reader))
            PositionsFile.Write(Path.Combine(directory, file), postings, TextReader, analyzer, cancellation: cancellation);
        return new ComponentData(PositionsFile.Component, field, [file]);
    }

    /// <summary>The fields a segment can keep positions of: the concatenated one, and each text field it has postings of.</summary>
    private static IEnumerable<string> FieldsOf(SegmentEntry entry)
    {
        yield return "contents";
        foreach (var c in entry.Components) if (c.Component == TextFields.Component) yield return c.Key;
    }

    private static bool HasFieldPostings(string directory, string segment, string field) =>
        File.Exists(Path.Combine(directory, TextFields.SegmentName(segment, field) + ".post"));

    /// <summary>Positions for every segment of the writers that lacks them: the concatenated field, and every text field
    /// the segment has postings of (title and text after --fields, keys declared text). The caller commits.</summary>
    /// <param name="only">Only these fields ("contents" for the concatenated one); null: every text field. A name no
    /// segment has postings of is refused (naming the fields there are).</param>
    public static (int Written, int Current) Build(IReadOnlyList<IndexWriter> writers, Action<double, long>? progress = null, CancellationToken cancellation = default,
        IReadOnlyCollection<string>? only = null)
    {
        if (only is not null)
        {
            var known = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var w in writers)
                foreach (var (entry, _) in w.Segments()) known.UnionWith(FieldsOf(entry));
            foreach (var f in only)
                if (!known.Contains(f))
                    throw new RelevoException($"--positions-fields: '{f}' is not a text field of the index (it has {string.Join(", ", known)}; title and text need --fields)");
        }
        var (written, current, _) = FieldIndexer.ForEachSegment(writers, (w, entry, reader) =>
        {
            bool wrote = false;
            foreach (var field in FieldsOf(entry))
            {
                if (only is not null && !only.Contains(field)) continue;
                if (entry.Component(PositionsFile.Component, field) is not null) continue;
                w.AddComponentData(entry.Name, Write(w.Directory, entry.Name, field, reader, w.Analyzer, cancellation));
                wrote = true;
            }
            return wrote;
        }, progress);
        return (written, current);
    }
}
