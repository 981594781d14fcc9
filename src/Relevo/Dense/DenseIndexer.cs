using Relevo.Index;

namespace Relevo.Dense;

/// <summary>What <see cref="DenseIndexer.AddVectors"/> did.</summary>
public sealed record DenseIndexResult(string Model, int SegmentsEncoded, int SegmentsSkipped, long Passages, TimeSpan Elapsed);

/// <summary>Adds vectors for a model to an index: every segment that lacks them gets its vector files (the text of
/// its live documents embedded, through the embedding cache), then one atomic manifest commit names them. Segments
/// that already have them are left alone, so after adding documents only the new segments are encoded.</summary>
public static class DenseIndexer
{
    /// <summary>The text a passage is embedded as: title and text joined by a space (as MTEB/BEIR do).</summary>
    public static string PassageText(Document doc)
    {
        if (doc.Title.Length == 0) return doc.Text;
        if (doc.Text.Length == 0) return doc.Title;
        return doc.Title + " " + doc.Text;
    }

    /// <param name="writer">An open writer (it holds the index lock); committed changes only are encoded, so commit first.</param>
    /// <param name="progress">Called with (fraction done, passages done).</param>
    public static DenseIndexResult AddVectors(IndexWriter writer, EmbeddingModel model, Action<double, long>? progress = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var segments = writer.SegmentsForVectors();
        long total = 0;
        foreach (var (entry, reader) in segments)
            if (!entry.HasVectors(model.Name)) total += reader.LiveDocs;
        long done = 0;
        int encoded = 0, skipped = 0;
        progress?.Invoke(total == 0 ? 1 : 0, 0);
        foreach (var (entry, reader) in segments)
        {
            if (entry.HasVectors(model.Name)) { skipped++; continue; }
            var live = new List<int>(reader.LiveDocs);
            var texts = new List<string>(reader.LiveDocs);
            for (int d = 0; d < reader.MaxDoc; d++)
            {
                if (reader.IsDeleted(d)) continue;
                live.Add(d);
                texts.Add(PassageText(reader.GetDocument(d)));
            }
            var embedded = new float[texts.Count * model.Dimensions];
            long before = done;
            model.EmbedPassages(texts, embedded, n =>
            {
                progress?.Invoke(total == 0 ? 1 : (double)(before + n) / total, before + n);
            });
            done += texts.Count;
            // rows in doc-number order; deleted documents get zero rows (they are never scored)
            var rows = new float[(long)reader.MaxDoc * model.Dimensions];
            for (int i = 0; i < live.Count; i++)
                embedded.AsSpan(i * model.Dimensions, model.Dimensions).CopyTo(rows.AsSpan(live[i] * model.Dimensions));
            VectorFiles.Write(writer.Directory, entry.Name, model.Name, model.Dimensions, rows);
            writer.AddVectors(entry.Name, model.Name);
            encoded++;
        }
        if (encoded > 0) writer.Commit();
        progress?.Invoke(1, done);
        return new DenseIndexResult(model.Name, encoded, skipped, done, clock.Elapsed);
    }

    /// <summary>Opens the index for writing, adds the model's vectors where missing, and commits.</summary>
    public static DenseIndexResult AddVectors(string indexDirectory, EmbeddingModel model, Action<double, long>? progress = null)
    {
        if (!Manifest.Exists(indexDirectory)) throw new RelevoException($"{Path.Combine(indexDirectory, Manifest.FileName)}: no index here (the manifest is missing)");
        using var writer = IndexWriter.Open(indexDirectory);
        return AddVectors(writer, model, progress);
    }
}
