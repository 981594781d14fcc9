namespace Relevo.Index.Fields;

/// <summary>One commit's postings of one text field (<see cref="TextFields"/>), segment by segment in the commit's
/// order and with its deletions, and the field's statistics, as Lucene keeps them per field: documents with at least
/// one term in the field (docCount), summed lengths, and per term its document and collection frequencies. Opened once
/// per commit and field (<see cref="IndexReader.Component{T}"/>) and disposed with the reader.</summary>
internal sealed class FieldView : IDisposable, ICollectionStatistics
{
    public string Field { get; }
    public IReadOnlyList<SegmentReader> Segments { get; }
    public long DocCount { get; }
    public long SumTotalTermFreq { get; }

    private FieldView(string field, IReadOnlyList<SegmentReader> segments)
    {
        Field = field;
        Segments = segments;
        foreach (var s in segments)
        {
            foreach (byte n in s.Norms) if (n != 0) DocCount++; // length 0 encodes as 0, and only then
            for (int t = 0; t < s.TermCount; t++) SumTotalTermFreq += s.TotalTermFreq(t);
        }
    }

    /// <summary>Whether every segment of the commit has postings of <paramref name="field"/> (an empty commit: no).</summary>
    public static bool Has(IndexReader reader, string field)
    {
        if (reader.Manifest.Segments.Count == 0) return false;
        foreach (var s in reader.Manifest.Segments)
            if (s.Component(TextFields.Component, field) is null) return false;
        return true;
    }

    /// <summary>The commit's postings of <paramref name="field"/>, or a RelevoException saying how to build them.</summary>
    public static FieldView Of(IndexReader reader, string field) => reader.Component("fields." + field, r => Open(r, field));

    private static FieldView Open(IndexReader reader, string field)
    {
        if (!TextFields.IsField(field, reader.Schema)) throw new RelevoException(TextFields.NotAField(field, reader.Schema));
        if (reader.Manifest.Segments.Count == 0) throw new RelevoException($"{reader.Directory}: the index is empty");
        var segments = new List<SegmentReader>(reader.Segments.Count);
        try
        {
            for (int i = 0; i < reader.Segments.Count; i++)
            {
                var entry = reader.Manifest.Segments[i];
                if (entry.Component(TextFields.Component, field) is null)
                    throw new RelevoException($"{reader.Directory}: segment {entry.Name} has no postings of the field '{field}'; " +
                                              (TextFields.IsField(field) ? "build them with `relevo index --index DIR --fields`"
                                                                          : "commit again to have them written (every commit writes a declared text field's postings)"));
                segments.Add(TextFields.Open(reader.Directory, entry.Name, field, reader.Segments[i].Deletes));
            }
            return new FieldView(field, segments);
        }
        catch
        {
            foreach (var s in segments) s.Dispose();
            throw;
        }
    }

    public long DocFreq(string term) => IndexStatistics.DocFreq(Segments, term);

    public long TotalTermFreq(string term) => IndexStatistics.TotalTermFreq(Segments, term);

    public void Dispose()
    {
        foreach (var s in Segments) s.Dispose();
    }
}
