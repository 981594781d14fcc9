using Relevo.Analysis;
using Relevo.Index;
using Relevo.Search.Similarities;

namespace Relevo.Search;

/// <summary>Per-field collection statistics of one commit, for BM25 on the title and on the text separately (the
/// index keeps one concatenated field): each field's document frequencies, documents with the field and summed
/// length, from every live document analysed once, when first asked for, and cached with the reader. Until fields
/// are indexed (per-field postings), this is how a feature scores one field.</summary>
internal sealed class FieldStatistics
{
    public sealed class Field
    {
        public Dictionary<string, int> DocFreq { get; } = new(StringComparer.Ordinal);
        public long Documents { get; set; }
        public long SumLength { get; set; }
        public float AverageLength => Bm25Scorer.AverageLength(SumLength, Documents);
    }

    public Field Title { get; } = new();
    public Field Text { get; } = new();

    /// <summary>The commit's field statistics: computed by the first caller, then shared by every search of the reader.
    /// The work checks <paramref name="cancellation"/> between documents, so a request that is cancelled stops it and
    /// leaves nothing half-built (the next caller starts again); callers arriving meanwhile wait without a thread.</summary>
    public static async ValueTask<FieldStatistics> ForAsync(IndexReader reader, CancellationToken cancellation = default)
    {
        var slot = reader.Component("features.fields", _ => new Slot());
        if (Volatile.Read(ref slot.Value) is { } ready) return ready;
        await slot.Gate.WaitAsync(cancellation).ConfigureAwait(false);
        try
        {
            if (slot.Value is { } built) return built;
            var value = await Task.Run(() => Build(reader, cancellation), cancellation).ConfigureAwait(false);
            Volatile.Write(ref slot.Value, value);
            return value;
        }
        finally
        {
            slot.Gate.Release();
        }
    }

    private sealed class Slot : IDisposable
    {
        public readonly SemaphoreSlim Gate = new(1, 1);
        public FieldStatistics? Value;

        public void Dispose() => Gate.Dispose();
    }

    private static FieldStatistics Build(IndexReader reader, CancellationToken cancellation)
    {
        var stats = new FieldStatistics();
        var analyzer = reader.AnalyzerInstance;
        foreach (var seg in reader.Segments)
            for (int d = 0; d < seg.MaxDoc; d++)
            {
                if ((d & 255) == 0) cancellation.ThrowIfCancellationRequested();
                if (seg.IsDeleted(d)) continue;
                var doc = seg.GetDocument(d);
                Add(stats.Title, analyzer.Terms(doc.Title));
                Add(stats.Text, analyzer.Terms(doc.Text));
            }
        return stats;
    }

    private static void Add(Field field, List<string> terms)
    {
        if (terms.Count == 0) return;
        field.Documents++;
        field.SumLength += terms.Count;
        foreach (var t in new HashSet<string>(terms, StringComparer.Ordinal))
            field.DocFreq[t] = field.DocFreq.GetValueOrDefault(t) + 1;
    }

    /// <summary>BM25 (k1, b) of a query's analysed terms over one field's analysed text, with that field's statistics;
    /// the length is quantized to Lucene's one-byte norm, as the index's own BM25 does.</summary>
    public static float Score(Field field, IReadOnlyList<(string Term, float Weight)> query, List<string> text, Bm25Parameters p)
    {
        if (text.Count == 0) return 0;
        var tf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in text) tf[t] = tf.GetValueOrDefault(t) + 1;
        float length = SmallFloat.LengthTable[SmallFloat.IntToByte4(text.Count)];
        float normInverse = 1f / (p.K1 * ((1 - p.B) + p.B * length / field.AverageLength));
        double sum = 0;
        foreach (var (term, weight) in query)
        {
            if (!tf.TryGetValue(term, out int f) || !field.DocFreq.TryGetValue(term, out int df)) continue;
            sum += Bm25Scorer.Score(weight * Bm25Scorer.Idf(df, field.Documents), f, normInverse);
        }
        return (float)sum;
    }
}
