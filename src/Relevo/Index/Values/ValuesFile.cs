using System.Text;
using Relevo.Index.Formats;

namespace Relevo.Index.Values;

/// <summary>One typed field's values in one segment, held in memory and sparse (only documents that have values):
/// <c>Docs</c> ascending, and the k-th of them has <c>Values[Start[k] .. Start[k + 1]]</c> — numbers as
/// <see cref="Schema.Convert"/> gives them, keywords as ordinals into <see cref="Terms"/> (sorted, ordinal string
/// order).</summary>
internal sealed class ValueColumn(FieldType type, int maxDoc, int[] docs, int[] start, long[] values, string[]? terms)
{
    public FieldType Type { get; } = type;
    public int MaxDoc { get; } = maxDoc;
    public int[] Docs { get; } = docs;
    public int[] Start { get; } = start;
    public long[] Values { get; } = values;
    public string[]? Terms { get; } = terms;

    /// <summary>The ordinal of a keyword, or -1.</summary>
    public int Ordinal(string term) => Terms is null ? -1 : Math.Max(-1, Array.BinarySearch(Terms, term, StringComparer.Ordinal));

    /// <summary>The first ordinal whose term is ≥ (or &gt;) <paramref name="term"/>.</summary>
    public int LowerOrdinal(string term, bool inclusive)
    {
        int i = Array.BinarySearch(Terms!, term, StringComparer.Ordinal);
        return i >= 0 ? (inclusive ? i : i + 1) : ~i;
    }
}

/// <summary>A segment's doc values (<c>{segment}.dv</c>): per typed field that has values in the segment, its name,
/// type and, per document that has some (ascending), the gap from the previous such document, the number of values and
/// the values (zig-zag varints; keywords as UTF-8 strings). Sparse, so a field few documents have costs little.
/// Self-describing, so a merge needs nothing but its sources' files. Read whole into <see cref="ValueColumn"/>s.</summary>
internal static class ValuesFile
{
    public const string Kind = "DVAL";
    public const int Version = 2;
    public const string Component = "values";
    public const string Key = "doc";

    public static string Name(string segment) => segment + ".dv";

    /// <summary>Builds the columns of a segment, each field's documents in increasing order.</summary>
    public sealed class Builder(int maxDoc)
    {
        private sealed class Column(FieldType type)
        {
            public readonly FieldType Type = type;
            public readonly List<int> Docs = [];
            public readonly List<int> Counts = [];
            public readonly List<long> Numbers = [];
            public readonly List<string> Words = [];
        }

        private readonly SortedDictionary<string, Column> _fields = new(StringComparer.Ordinal);

        public void Add(string field, FieldType type, int doc, long number, string? word)
        {
            if (!_fields.TryGetValue(field, out var f)) _fields[field] = f = new Column(type);
            if (f.Docs.Count > 0 && f.Docs[^1] == doc) f.Counts[^1]++;
            else
            {
                if (f.Docs.Count > 0 && f.Docs[^1] > doc) throw new InvalidOperationException("documents out of order");
                f.Docs.Add(doc);
                f.Counts.Add(1);
            }
            if (type == FieldType.Keyword) f.Words.Add(word!); else f.Numbers.Add(number);
        }

        /// <summary>Adds a document's values from its stored other keys, typed by the schema.</summary>
        public void AddDocument(int doc, string? fieldsJson, Schema schema, string where)
        {
            if (fieldsJson is null) return;
            Schema.ForEachValue(fieldsJson, where, (field, value) =>
            {
                var type = schema.TypeOf(field) ?? throw new RelevoException($"{where}: field {field}: not in the index's schema");
                if (type == FieldType.Text) return; // analysed into the field's postings, not a value
                if (type == FieldType.Keyword) Add(field, type, doc, 0, Schema.KeywordOf(value, field, where));
                else Add(field, type, doc, Schema.Convert(type, value, field, where), null);
            });
        }

        public void Write(string path)
        {
            var b = new ByteBuffer();
            b.WriteUInt32((uint)maxDoc);
            b.WriteUInt32((uint)_fields.Count);
            foreach (var (name, f) in _fields)
            {
                b.WriteUtf8(name);
                b.WriteByte((byte)f.Type);
                b.WriteVarInt((ulong)f.Docs.Count);
                int previous = -1, at = 0;
                for (int k = 0; k < f.Docs.Count; k++)
                {
                    b.WriteVarInt((ulong)(f.Docs[k] - previous - 1));
                    previous = f.Docs[k];
                    int n = f.Counts[k];
                    b.WriteVarInt((ulong)n);
                    for (int i = 0; i < n; i++, at++)
                    {
                        if (f.Type == FieldType.Keyword) b.WriteUtf8(f.Words[at]);
                        else
                        {
                            long v = f.Numbers[at];
                            b.WriteVarInt((ulong)((v << 1) ^ (v >> 63)));
                        }
                    }
                }
            }
            using var o = new IndexOutput(path, Kind, Version);
            o.WriteBytes(b.Span);
            o.Finish();
        }
    }

    /// <summary>Every column of a segment's values file, by field.</summary>
    public static Dictionary<string, ValueColumn> Read(string path, int expectedMaxDoc)
    {
        using var m = new MappedFile(path, Kind, Version);
        if (m.Version != Version)
            throw new CorruptIndexException(path, $"doc values of format version {m.Version}; this build reads version {Version} (write them again: relevo index --index DIR --schema FILE on a fresh index)");
        long length = m.PayloadEnd - m.PayloadStart;
        if (length > int.MaxValue) throw new CorruptIndexException(path, "values file too large");
        var r = new ByteReader(m.Span(m.PayloadStart, (int)length));
        int maxDoc = r.ReadInt32(), fields = r.ReadInt32();
        if (maxDoc != expectedMaxDoc) throw new CorruptIndexException(path, $"covers {maxDoc} documents but the segment has {expectedMaxDoc}");
        var result = new Dictionary<string, ValueColumn>(StringComparer.Ordinal);
        for (int f = 0; f < fields; f++)
        {
            string name = Encoding.UTF8.GetString(r.ReadBytes((int)r.ReadVarInt()));
            var type = (FieldType)r.ReadByte();
            int count = checked((int)r.ReadVarInt());
            if (count > maxDoc) throw new CorruptIndexException(path, $"field {name}: {count} documents in a segment of {maxDoc}");
            var docs = new int[count];
            var start = new int[count + 1];
            var numbers = new List<long>();
            var words = type == FieldType.Keyword ? new List<string>() : null;
            int doc = -1;
            for (int k = 0; k < count; k++)
            {
                doc += checked((int)r.ReadVarInt()) + 1;
                if (doc >= maxDoc) throw new CorruptIndexException(path, $"field {name}: document {doc} past the segment's {maxDoc}");
                docs[k] = doc;
                int n = checked((int)r.ReadVarInt());
                for (int i = 0; i < n; i++)
                {
                    if (words is not null) words.Add(Encoding.UTF8.GetString(r.ReadBytes((int)r.ReadVarInt())));
                    else
                    {
                        ulong z = r.ReadVarInt();
                        numbers.Add((long)(z >> 1) ^ -(long)(z & 1));
                    }
                }
                start[k + 1] = start[k] + n;
            }
            string[]? terms = null;
            long[] values;
            if (words is not null)
            {
                var ordinals = new Dictionary<string, int>(StringComparer.Ordinal);
                foreach (var w in words) ordinals.TryAdd(w, 0);
                terms = [.. ordinals.Keys];
                Array.Sort(terms, StringComparer.Ordinal);
                for (int i = 0; i < terms.Length; i++) ordinals[terms[i]] = i;
                values = new long[words.Count];
                for (int i = 0; i < values.Length; i++) values[i] = ordinals[words[i]];
            }
            else values = [.. numbers];
            result[name] = new ValueColumn(type, maxDoc, docs, start, values, terms);
        }
        return result;
    }

    /// <summary>Writes (and fsyncs) the values of every document of a segment (deleted ones too: the numbering is the
    /// segment's) from its stored documents, typed by <paramref name="schema"/>; returns the component data.</summary>
    public static ComponentData Write(string directory, string segment, SegmentReader reader, Schema schema, CancellationToken cancellation = default)
    {
        var builder = new Builder(reader.MaxDoc);
        var documents = Fields.TextFields.Documents(reader);
        for (int d = 0; d < reader.MaxDoc; d++)
        {
            if ((d & 1023) == 0) cancellation.ThrowIfCancellationRequested();
            var doc = documents(d);
            builder.AddDocument(d, doc.Fields, schema, $"document {doc.Id}");
        }
        builder.Write(Path.Combine(directory, Name(segment)));
        return new ComponentData(Component, Key, [Name(segment)]);
    }
}

/// <summary>Carries doc values through merges (the sources' columns, live documents in order, no JSON parsed again)
/// and writes them for documents added later from their stored keys, typed by the writer's schema.</summary>
internal sealed class ValuesComponent : SegmentComponent
{
    public static readonly ValuesComponent Instance = new();

    public override string Name => ValuesFile.Component;

    public override IReadOnlyList<ComponentData> Merge(string directory, string mergedSegment,
        IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources, MergeContext context)
    {
        var live = LiveSources(sources);
        foreach (var (entry, _) in live)
            if (entry.Component(ValuesFile.Component, ValuesFile.Key) is null) return [];
        int maxDoc = 0;
        foreach (var (_, r) in live) maxDoc += r.LiveDocs;
        var builder = new ValuesFile.Builder(maxDoc);
        int first = 0;
        foreach (var (entry, reader) in live)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            // the merged number of each live document of this source
            var renumber = new int[reader.MaxDoc];
            for (int d = 0, next = first; d < reader.MaxDoc; d++) renumber[d] = reader.IsDeleted(d) ? -1 : next++;
            var columns = ValuesFile.Read(Path.Combine(directory, ValuesFile.Name(entry.Name)), reader.MaxDoc);
            foreach (var (field, column) in columns)
                for (int k = 0; k < column.Docs.Length; k++)
                {
                    int to = renumber[column.Docs[k]];
                    if (to < 0) continue;
                    for (int i = column.Start[k]; i < column.Start[k + 1]; i++)
                    {
                        long v = column.Values[i];
                        if (column.Type == FieldType.Keyword) builder.Add(field, column.Type, to, 0, column.Terms![v]);
                        else builder.Add(field, column.Type, to, v, null);
                    }
                }
            first += reader.LiveDocs;
        }
        builder.Write(Path.Combine(directory, ValuesFile.Name(mergedSegment)));
        return [new ComponentData(Name, ValuesFile.Key, [ValuesFile.Name(mergedSegment)])];
    }

    public override ComponentData? Complete(string directory, SegmentEntry segment, SegmentReader reader, ComponentTemplate template, ServiceSet services) =>
        ValuesFile.Write(directory, segment.Name, reader, template.Schema ?? throw new RelevoException("the index's schema is not known to this writer"));
}
