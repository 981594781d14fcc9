using Relevo.Index;
using Relevo.Index.Impacts;
using Relevo.Search.Similarities;

namespace Relevo.Search.Impacts;

/// <summary>What <see cref="ImpactBuilder.Build"/> did.</summary>
internal sealed record ImpactBuildResult(ImpactSettings Settings, int SegmentsWritten, int SegmentsCurrent, long Postings, TimeSpan Elapsed);

/// <summary>Gives every segment of an index (every shard's, for a sharded one) its quantized impacts and commits them
/// in one atomic (cluster-wide) commit. BM25 impacts are each posting's BM25 score under the collection-wide
/// statistics (all shards together, so a sharded index scores as one index would), linearly quantized over the largest
/// score in the collection to 1 … 2^bits − 1 (PISA's and Anserini's linear quantization); weights impacts are the
/// pre-encoded weights the documents were indexed with (already quantized on the way in). Segments whose impacts are
/// current are left alone. The caller commits (one atomic commit, cluster-wide on a sharded index).</summary>
internal static class ImpactBuilder
{
    /// <param name="writers">The writer of the index, or of each shard, with their documents committed.</param>
    /// <param name="maximum">For <see cref="ImpactModel.Weights"/>: the largest weight of the corpus (recorded as the
    /// scale); ignored for BM25, whose maximum is computed.</param>
    /// <param name="progress">Called with (fraction done, postings done).</param>
    public static ImpactBuildResult Build(IReadOnlyList<IndexWriter> writers, ImpactModel model, int bits, Bm25Parameters bm25 = default,
        double maximum = 0, Action<double, long>? progress = null, CancellationToken cancellation = default)
    {
        if (bits is < 1 or > ImpactSettings.MaxBits)
            throw new RelevoException($"--bits: {bits} is outside 1..{ImpactSettings.MaxBits}");
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (bm25 == default) bm25 = new Bm25Parameters();
        var segments = new List<(IndexWriter Writer, SegmentEntry Entry, SegmentReader Reader)>();
        foreach (var w in writers)
            foreach (var (entry, reader) in w.Segments()) segments.Add((w, entry, reader));
        long docCount = 0, sumTtf = 0, total = 0;
        foreach (var (_, e, r) in segments)
        {
            docCount += e.DocsWithTerms;
            sumTtf += e.SumTotalTermFreq;
            for (int t = 0; t < r.TermCount; t++) total += r.DocFreq(t);
        }
        if (segments.Count == 0 || docCount == 0) throw new RelevoException("the index holds no documents to compute impacts for");

        // per segment and term: the idf under the collection-wide document frequency (every segment of every shard)
        var idfs = new float[segments.Count][];
        float[] normInverse = [];
        if (model == ImpactModel.Bm25)
        {
            normInverse = Bm25Scorer.NormInverseTable(bm25.K1, bm25.B, Bm25Scorer.AverageLength(sumTtf, docCount));
            double max = 0;
            for (int s = 0; s < segments.Count; s++)
            {
                var r = segments[s].Reader;
                var idf = idfs[s] = new float[r.TermCount];
                for (int t = 0; t < r.TermCount; t++)
                {
                    long df = 0;
                    string term = r.Term(t);
                    foreach (var (_, _, other) in segments)
                    {
                        int ord = ReferenceEquals(other, r) ? t : other.FindTerm(term);
                        if (ord >= 0) df += other.DocFreq(ord);
                    }
                    idf[t] = Bm25Scorer.Idf(df, docCount);
                    foreach (var (tf, norm) in r.ListImpacts(t))
                        max = Math.Max(max, Bm25Scorer.Score(idf[t], tf, normInverse[norm]));
                }
            }
            maximum = max;
        }
        else if (!(maximum > 0))
        {
            throw new ArgumentOutOfRangeException(nameof(maximum), "weights impacts need the corpus's largest weight");
        }
        var settings = new ImpactSettings(model, bits, model == ImpactModel.Bm25 ? bm25.K1 : 0, model == ImpactModel.Bm25 ? bm25.B : 0,
            docCount, sumTtf, maximum);

        long done = 0;
        int written = 0, current = 0;
        progress?.Invoke(0, 0);
        for (int s = 0; s < segments.Count; s++)
        {
            var (w, entry, reader) = segments[s];
            long postings = 0;
            for (int t = 0; t < reader.TermCount; t++) postings += reader.DocFreq(t);
            var existing = entry.Component(ImpactView.Component, settings.Key);
            if (existing is not null && SettingsOf(w.Directory, existing, reader) == settings)
            {
                current++;
                done += postings;
                continue;
            }
            string file = ImpactFile.FileName(entry.Name, settings.Key, NextGeneration(existing));
            var idf = idfs[s];
            int levels = settings.Levels;
            ImpactFile.Write(Path.Combine(w.Directory, file), reader, settings, model == ImpactModel.Bm25
                ? (ord, tf, norm) => settings.Quantize(Bm25Scorer.Score(idf[ord], tf, normInverse[norm]))
                : (ord, tf, norm) => tf <= levels ? tf
                    : throw new RelevoException($"segment {entry.Name}: term '{reader.Term(ord)}' has weight {tf}, above the {levels} that {bits} bits hold"),
                cancellation);
            w.AddComponentData(entry.Name, new ComponentData(ImpactView.Component, settings.Key, [file]));
            written++;
            done += postings;
            progress?.Invoke(total == 0 ? 1 : (double)done / total, done);
        }
        progress?.Invoke(1, done);
        return new ImpactBuildResult(settings, written, current, done, clock.Elapsed);
    }

    private static ImpactSettings? SettingsOf(string directory, ComponentData data, SegmentReader reader)
    {
        try
        {
            using var f = ImpactFile.Open(Path.Combine(directory, data.Files[0]), reader);
            return f.Settings;
        }
        catch (RelevoException)
        {
            return null; // unreadable: written again
        }
    }

    // {segment}.{key}.{generation}.imp: a rebuild writes a new file, so the committed one stays until the new commit
    private static long NextGeneration(ComponentData? existing)
    {
        if (existing is null) return 1;
        var parts = existing.Files[0].Split('.');
        return parts.Length >= 3 && long.TryParse(parts[^2], out long g) ? g + 1 : 1;
    }
}
