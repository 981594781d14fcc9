using System.Text;
using Relevo.Index.Formats;

namespace Relevo.Index.Values;

/// <summary>One typed field's values in one segment, held in memory: document d's values are
/// <c>Values[Start[d] .. Start[d + 1]]</c> — numbers as <see cref="Schema.Convert"/> gives them, keywords as ordinals
/// into <see cref="Terms"/> (sorted, ordinal string order).</summary>
internal sealed class ValueColumn(FieldType type, int[] start, long[] values, string[]? terms)
{
    public FieldType Type { get; } = type;
    public int[] Start { get; } = start;
    public long[] Values { get; } = values;
    public string[]? Terms { get; } = terms;
    public int MaxDoc => Start.Length - 1;

    /// <summary>The ordinal of a keyword, or -1.</summary>
    public int Ordinal(string term) => Terms is null ? -1 : Math.Max(-1, Array.BinarySearch(Terms, term, StringComparer.Ordinal));

    /// <summary>The first ordinal whose term is ≥ (or &gt;) <paramref name="term"/>.</summary>
    public int LowerOrdinal(string term, bool inclusive)
    {
        int i = Array.BinarySearch(Terms!, term, StringComparer.Ordinal);
        return i >= 0 ? (inclusive ? i : i + 1) : ~i;
    }
}

/// <summary>A segment's doc values (<c>{segment}.dv</c>): per typed field its name, type and, per document, its values.
/// Self-describing, so a merge needs nothing but its sources' files. Read whole into <see cref="ValueColumn"/>s.</summary>
internal static class ValuesFile
{
    public const string Kind = "DVAL";
    public const int Version = 1;
    public const string Component = "values";
    public const string Key = "doc";

    public static string Name(string segment) => segment + ".dv";

    /// <summary>Builds the columns of a segment document by document, in order.</summary>
    public sealed class Builder(int maxDoc)
    {
        private readonly SortedDictionary<string, (FieldType Type, int[] Count, List<long> Numbers, List<string> Words)> _fields = new(StringComparer.Ordinal);

        public void Add(string field, FieldType type, int doc, long number, string? word)
        {
            if (!_fields.TryGetValue(field, out var f)) _fields[field] = f = (type, new int[maxDoc], [], []);
            f.Count[doc]++;
            if (type == FieldType.Keyword) f.Words.Add(word!); else f.Numbers.Add(number);
        }

        /// <summary>Declares a field with no value in this segment (it still has a column, empty).</summary>
        public void Declare(string field, FieldType type)
        {
            if (!_fields.ContainsKey(field)) _fields[field] = (type, new int[maxDoc], [], []);
        }

        /// <summary>Adds a document's values from its stored other keys, typed by the schema.</summary>
        public void AddDocument(int doc, string? fieldsJson, Schema schema, string where)
        {
            if (fieldsJson is null) return;
            Schema.ForEachValue(fieldsJson, where, (field, value) =>
            {
                var type = schema.TypeOf(field) ?? throw new RelevoException($"{where}: field {field}: not in the index's schema");
                if (type == FieldType.Keyword) Add(field, type, doc, 0, Schema.KeywordOf(value, field, where));
                else Add(field, type, doc, Schema.Convert(type, value, field, where), null);
            });
        }

        public void Write(string path)
        {
            var b = new ByteBuffer();
            b.WriteUInt32((uint)maxDoc);
            b.WriteUInt32((uint)_fields.Count);
            foreach (var (name, (type, count, numbers, words)) in _fields)
            {
                b.WriteUtf8(name);
                b.WriteByte((byte)type);
                foreach (int c in count) b.WriteVarInt((ulong)c);
                if (type == FieldType.Keyword) foreach (var w in words) b.WriteUtf8(w);
                else foreach (long v in numbers) b.WriteVarInt((ulong)((v << 1) ^ (v >> 63)));
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
            var start = new int[maxDoc + 1];
            for (int d = 0; d < maxDoc; d++) start[d + 1] = start[d] + (int)r.ReadVarInt();
            var values = new long[start[maxDoc]];
            string[]? terms = null;
            if (type == FieldType.Keyword)
            {
                var words = new string[values.Length];
                var ordinals = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int i = 0; i < words.Length; i++)
                {
                    words[i] = Encoding.UTF8.GetString(r.ReadBytes((int)r.ReadVarInt()));
                    ordinals.TryAdd(words[i], 0);
                }
                terms = [.. ordinals.Keys];
                Array.Sort(terms, StringComparer.Ordinal);
                for (int i = 0; i < terms.Length; i++) ordinals[terms[i]] = i;
                for (int i = 0; i < words.Length; i++) values[i] = ordinals[words[i]];
            }
            else
            {
                for (int i = 0; i < values.Length; i++)
                {
                    ulong z = r.ReadVarInt();
                    values[i] = (long)(z >> 1) ^ -(long)(z & 1);
                }
            }
            result[name] = new ValueColumn(type, start, values, terms);
        }
        return result;
    }

    /// <summary>Writes (and fsyncs) the values of every document of a segment (deleted ones too: the numbering is the
    /// segment's) from its stored documents, typed by <paramref name="schema"/>; returns the component data.</summary>
    public static ComponentData Write(string directory, string segment, SegmentReader reader, Schema schema, CancellationToken cancellation = default)
    {
        var builder = new Builder(reader.MaxDoc);
        foreach (var (field, type) in schema.Typed) builder.Declare(field, type);
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
        int next = 0;
        foreach (var (entry, reader) in live)
        {
            context.Cancellation.ThrowIfCancellationRequested();
            var columns = ValuesFile.Read(Path.Combine(directory, ValuesFile.Name(entry.Name)), reader.MaxDoc);
            int first = next;
            foreach (var (field, column) in columns)
            {
                builder.Declare(field, column.Type);
                int to = first;
                for (int d = 0; d < reader.MaxDoc; d++)
                {
                    if (reader.IsDeleted(d)) continue;
                    for (int i = column.Start[d]; i < column.Start[d + 1]; i++)
                    {
                        long v = column.Values[i];
                        if (column.Type == FieldType.Keyword) builder.Add(field, column.Type, to, 0, column.Terms![v]);
                        else builder.Add(field, column.Type, to, v, null);
                    }
                    to++;
                }
            }
            next += reader.LiveDocs;
        }
        builder.Write(Path.Combine(directory, ValuesFile.Name(mergedSegment)));
        return [new ComponentData(Name, ValuesFile.Key, [ValuesFile.Name(mergedSegment)])];
    }

    public override ComponentData? Complete(string directory, SegmentEntry segment, SegmentReader reader, ComponentTemplate template, ServiceSet services) =>
        ValuesFile.Write(directory, segment.Name, reader, template.Schema ?? throw new RelevoException("the index's schema is not known to this writer"));
}
