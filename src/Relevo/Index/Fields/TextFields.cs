using Relevo.Analysis;
using Relevo.Index.Formats.V1;

namespace Relevo.Index.Fields;

/// <summary>A document's text fields indexed on their own, beside the one concatenated field every index has: per field
/// and segment, postings and one-byte length norms in the segment's document numbering (a segment of format 1 without
/// ids or stored text, files <c>{segment}.f-{field}.tdict|post|norm</c>), recorded as segment component data
/// ("fields", keyed by the field's name). The flat postings stay exactly as they are, so every flat run is unchanged;
/// a field's postings serve multi-field BM25 (each field with its own statistics and length norms, as Anserini's
/// multi-field search scores) and field-restricted query terms.</summary>
internal static class TextFields
{
    /// <summary>The component name the manifest records field postings under.</summary>
    public const string Component = "fields";

    /// <summary>The text fields every document has: its title and its text (others are keys declared text in the
    /// index's schema, <see cref="Values.Schema.IsText"/>).</summary>
    public static readonly IReadOnlyList<string> Names = ["title", "text"];

    /// <summary>Whether <paramref name="field"/> is one of <see cref="Names"/>.</summary>
    public static bool IsField(string field) => field is "title" or "text";

    /// <summary>Whether <paramref name="field"/> is a text field of an index with <paramref name="schema"/>: title, text
    /// or a key the schema declares text.</summary>
    public static bool IsField(string field, Values.Schema? schema) => IsField(field) || schema?.IsText(field) == true;

    /// <summary>The text fields of an index with <paramref name="schema"/>: title, text, then the keys declared text.</summary>
    public static IReadOnlyList<string> NamesOf(Values.Schema? schema) => schema is null ? Names : [.. Names, .. schema.TextFields];

    /// <summary>"'x' is not a text field (the fields are …)".</summary>
    public static string NotAField(string field, Values.Schema? schema) =>
        $"'{field}' is not a text field (the text fields are {string.Join(", ", NamesOf(schema))}; declare others \"text\" with --schema)";

    /// <summary>The document's text of a field: its title, its text, or the values of a key declared text (an array's
    /// values joined by spaces, so that, as with Lucene's default position gap of 0, a phrase can span two values).</summary>
    public static string TextOf(Document doc, string field)
    {
        if (field == "title") return doc.Title;
        if (field == "text") return doc.Text;
        if (doc.Fields is null) return "";
        var text = new System.Text.StringBuilder();
        Values.Schema.ForEachValue(doc.Fields, $"document {doc.Id}", (f, v) =>
        {
            if (f != field) return;
            if (text.Length > 0) text.Append(' ');
            text.Append(Values.Schema.TextOf(v, f, $"document {doc.Id}"));
        });
        return text.ToString();
    }

    /// <summary>The name a field's postings of a segment are written under (their files add .tdict, .post, .norm).</summary>
    public static string SegmentName(string segment, string field) => $"{segment}.f-{FileToken(field)}";

    /// <summary>A field's name as it appears in file names: lowercase letters and digits as they are, every other
    /// character (an underscore included) as '_' and its UTF-8 bytes in hex, so that any key a schema declares gives
    /// a distinct name of [a-z0-9_] that stays inside the index folder ("title" → "title", "Abstract" →
    /// "_41bstract", "meta.summary" → "meta_2esummary").</summary>
    public static string FileToken(string field)
    {
        var token = new System.Text.StringBuilder(field.Length);
        Span<byte> utf8 = stackalloc byte[4];
        foreach (var r in field.EnumerateRunes())
        {
            if (r.Value is >= 'a' and <= 'z' or >= '0' and <= '9') { token.Append((char)r.Value); continue; }
            int n = r.EncodeToUtf8(utf8);
            for (int i = 0; i < n; i++) token.Append('_').Append(utf8[i].ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
        }
        return token.ToString();
    }

    /// <summary>Writes (and fsyncs) the postings of <paramref name="field"/> for every document of a segment, deleted ones
    /// included (the numbering is the segment's), from its stored documents analysed with the index's analyzer;
    /// returns the component data to record. Files of an earlier attempt that no commit names are overwritten.</summary>
    public static ComponentData Write(string directory, string segment, SegmentReader reader, string field, Analyzer analyzer,
        CancellationToken cancellation = default)
    {
        var buffer = new SegmentBuffer();
        var documents = Documents(reader);
        for (int d = 0; d < reader.MaxDoc; d++)
        {
            if ((d & 1023) == 0) cancellation.ThrowIfCancellationRequested();
            buffer.AddFieldText(TextOf(documents(d), field), analyzer);
        }
        string name = SegmentName(segment, field);
        SegmentWriter.Write(directory, name, buffer, postingsOnly: true);
        return new ComponentData(Component, field, SegmentFiles.PostingsOnly(name));
    }

    /// <summary>The segment's stored documents for reading in increasing order: a format-1 segment decompresses each
    /// block once (the reader holds it, so use one per thread).</summary>
    public static Func<int, Document> Documents(SegmentReader reader)
    {
        if (reader is not V1SegmentReader v1) return reader.GetDocument;
        var cursor = new V1SegmentReader.StoredCursor();
        return d => v1.GetDocument(d, cursor);
    }

    /// <summary>A field's postings of a segment, opened with the segment's deletions.</summary>
    public static SegmentReader Open(string directory, string segment, string field, DeletedDocs deletes) =>
        new V1SegmentReader(directory, SegmentName(segment, field), deletes, postingsOnly: true);
}

/// <summary>Carries field postings through merges (the sources' field postings merged as their segments are, deleted
/// documents dropped, no text analysed again) and writes them for documents added later, from their stored text, so
/// every segment of an index with fields has them.</summary>
internal sealed class FieldComponent : SegmentComponent
{
    public static readonly FieldComponent Instance = new();

    public override string Name => TextFields.Component;

    public override IReadOnlyList<ComponentData> Merge(string directory, string mergedSegment,
        IReadOnlyList<(SegmentEntry Entry, SegmentReader Reader)> sources, MergeContext context)
    {
        var live = LiveSources(sources);
        var result = new List<ComponentData>();
        var keys = SegmentEntry.CommonComponents(live.Select(s => s.Entry));
        if (keys is null) return result;
        foreach (var data in keys)
        {
            if (data.Component != Name) continue;
            context.Cancellation.ThrowIfCancellationRequested();
            var opened = new List<SegmentReader>();
            try
            {
                foreach (var (entry, reader) in live) opened.Add(TextFields.Open(directory, entry.Name, data.Key, reader.Deletes));
                string name = TextFields.SegmentName(mergedSegment, data.Key);
                SegmentWriter.Write(directory, name, new SegmentMerger(opened), postingsOnly: true);
                result.Add(new ComponentData(Name, data.Key, SegmentFiles.PostingsOnly(name)));
            }
            finally
            {
                foreach (var r in opened) r.Dispose();
            }
        }
        return result;
    }

    public override ComponentData? Complete(string directory, SegmentEntry segment, SegmentReader reader, ComponentTemplate template, ServiceSet services) =>
        TextFields.Write(directory, segment.Name, reader, template.Key, Analyzer.Create(template.Analyzer));
}

/// <summary>What <see cref="FieldIndexer.Build"/> did.</summary>
internal sealed record FieldBuildResult(int SegmentsWritten, int SegmentsCurrent, long Documents, TimeSpan Elapsed);

/// <summary>Gives every segment of an index (every shard's, for a sharded one) the postings of its text fields, from
/// the stored documents; segments that have them are left alone. The caller commits (one atomic commit).</summary>
internal static class FieldIndexer
{
    /// <param name="writers">The writer of the index, or of each shard, with their documents committed.</param>
    /// <param name="progress">Called with (fraction done, documents done).</param>
    public static FieldBuildResult Build(IReadOnlyList<IndexWriter> writers, Action<double, long>? progress = null, CancellationToken cancellation = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var (written, current, done) = ForEachSegment(writers, (w, entry, reader) =>
        {
            bool wrote = false;
            foreach (var field in TextFields.Names)
            {
                if (entry.Component(TextFields.Component, field) is not null) continue;
                w.AddComponentData(entry.Name, TextFields.Write(w.Directory, entry.Name, reader, field, w.Analyzer, cancellation));
                wrote = true;
            }
            return wrote;
        }, progress);
        return new FieldBuildResult(written, current, done, clock.Elapsed);
    }

    /// <summary>Runs <paramref name="write"/> on every segment of the writers (true: it wrote data for the segment),
    /// reporting (fraction, documents) to <paramref name="progress"/> by documents passed; returns how many segments
    /// got data, how many had it already, and the documents passed.</summary>
    internal static (int Written, int Current, long Documents) ForEachSegment(IReadOnlyList<IndexWriter> writers,
        Func<IndexWriter, SegmentEntry, SegmentReader, bool> write, Action<double, long>? progress)
    {
        var segments = new List<(IndexWriter Writer, SegmentEntry Entry, SegmentReader Reader)>();
        long total = 0, done = 0;
        foreach (var w in writers)
            foreach (var (entry, reader) in w.Segments())
            {
                segments.Add((w, entry, reader));
                total += entry.MaxDoc;
            }
        int written = 0, current = 0;
        progress?.Invoke(0, 0);
        foreach (var (w, entry, reader) in segments)
        {
            if (write(w, entry, reader)) written++; else current++;
            done += entry.MaxDoc;
            progress?.Invoke(total == 0 ? 1 : (double)done / total, done);
        }
        return (written, current, done);
    }
}
