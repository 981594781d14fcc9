using Relevo.Index;

namespace Relevo.Dense;

/// <summary>What <see cref="DenseIndexer.AddVectors"/> did.</summary>
internal sealed record DenseIndexResult(string Model, int SegmentsEncoded, int SegmentsSkipped, long Passages, TimeSpan Elapsed,
    int GraphsBuilt = 0, TimeSpan GraphTime = default);

/// <summary>Adds vectors for a model to an index: every segment that lacks them gets its vector files (the text of
/// its live documents embedded, through the embedding cache), then every segment with vectors but no graph gets its
/// HNSW graph (unless the options say none), then one atomic commit names them (one cluster-wide commit on a sharded
/// index). Segments that already have them are left alone, so after adding documents only the new segments are
/// encoded.</summary>
internal static class DenseIndexer
{
    /// <summary>The text a passage is embedded as: title and text joined by a space (as MTEB/BEIR do).</summary>
    public static string PassageText(Document doc)
    {
        if (doc.Title.Length == 0) return doc.Text;
        if (doc.Text.Length == 0) return doc.Title;
        return doc.Title + " " + doc.Text;
    }

    /// <param name="writer">An open writer; committed changes only are encoded, so commit first.</param>
    /// <param name="graph">The graphs to build (null: <see cref="GraphOptions.Default"/>); its progress counts nodes.</param>
    /// <param name="progress">Called with (fraction done, passages done) while embedding.</param>
    public static DenseIndexResult AddVectors(DocumentWriter writer, EmbeddingModel model, Action<double, long>? progress = null,
        GraphOptions? graph = null)
    {
        var embedded = Embed(writer, model, progress);
        var graphs = BuildGraphs(writer, model.Name, graph ?? GraphOptions.Default);
        if (embedded.SegmentsEncoded > 0 || graphs.Built > 0) writer.Commit();
        return embedded with { GraphsBuilt = graphs.Built, GraphTime = graphs.Elapsed };
    }

    /// <summary>Writes the vector files of every segment that lacks the model's vectors and names them in the writer's
    /// next commit (not committed here).</summary>
    public static DenseIndexResult Embed(DocumentWriter writer, EmbeddingModel model, Action<double, long>? progress = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long total = 0;
        int skipped = 0;
        writer.ForEachIndexWriter((w, shard) =>
        {
            foreach (var (entry, reader) in w.Segments())
            {
                if (entry.Component(VectorComponent.ComponentName, model.Name) is not null) skipped++;
                else total += reader.LiveDocs;
            }
        });
        long done = 0;
        int encoded = 0;
        progress?.Invoke(total == 0 ? 1 : 0, 0);
        writer.ForEachIndexWriter((w, shard) =>
        {
            foreach (var (entry, reader) in w.Segments())
            {
                if (entry.Component(VectorComponent.ComponentName, model.Name) is not null) continue;
                long before = done;
                done += Encode(w.Directory, entry, reader, model, n => progress?.Invoke(total == 0 ? 1 : (double)(before + n) / total, before + n));
                w.AddComponentData(entry.Name, VectorComponent.Data(entry.Name, model.Name));
                encoded++;
            }
        });
        progress?.Invoke(1, done);
        return new DenseIndexResult(model.Name, encoded, skipped, done, clock.Elapsed);
    }

    /// <summary>Builds the HNSW graph of every segment whose vectors for the model have none (those of this writer's
    /// uncommitted <see cref="Embed"/> included) and names it in the writer's next commit (not committed here). Nothing
    /// when the options say no graph.</summary>
    public static (int Built, long Nodes, TimeSpan Elapsed) BuildGraphs(DocumentWriter writer, string model, GraphOptions graph)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (graph.Parameters is not { } parameters) return (0, 0, clock.Elapsed);
        long nodes = 0, total = 0;
        int built = 0;
        writer.ForEachIndexWriter((w, shard) =>
        {
            foreach (var (entry, reader) in w.Segments())
                if (entry.Component(VectorComponent.ComponentName, model) is { } data && SegmentGraphs.GraphFile(data) is null)
                    total += reader.LiveDocs;
        });
        graph.Progress?.Invoke(total == 0 ? 1 : 0, 0);
        writer.ForEachIndexWriter((w, shard) =>
        {
            foreach (var (entry, reader) in w.Segments())
            {
                if (entry.Component(VectorComponent.ComponentName, model) is not { } data || SegmentGraphs.GraphFile(data) is not null) continue;
                long before = nodes;
                SegmentGraphs.Build(w.Directory, entry.Name, model, entry.MaxDoc, parameters, d => !reader.IsDeleted(d),
                    graph.ThreadCount, n => graph.Progress?.Invoke((double)(before + n) / total, before + n));
                nodes += reader.LiveDocs;
                w.AddComponentData(entry.Name, VectorComponent.Data(entry.Name, model, graph: true));
                built++;
            }
        });
        graph.Progress?.Invoke(1, nodes);
        return (built, nodes, clock.Elapsed);
    }

    /// <summary>Writes (and fsyncs) a segment's vector files for a model; returns the passages embedded.</summary>
    internal static int Encode(string directory, SegmentEntry entry, SegmentReader reader, EmbeddingModel model, Action<int> progress)
    {
        var live = new List<int>(reader.LiveDocs);
        var texts = new List<string>(reader.LiveDocs);
        for (int d = 0; d < reader.MaxDoc; d++)
        {
            if (reader.IsDeleted(d)) continue;
            live.Add(d);
            texts.Add(PassageText(reader.GetDocument(d)));
        }
        var embedded = new float[texts.Count * model.Dimensions];
        model.EmbedPassages(texts, embedded, progress);
        // rows in doc-number order; deleted documents get zero rows (they are never scored)
        var rows = new float[(long)reader.MaxDoc * model.Dimensions];
        for (int i = 0; i < live.Count; i++)
            embedded.AsSpan(i * model.Dimensions, model.Dimensions).CopyTo(rows.AsSpan(live[i] * model.Dimensions));
        VectorFiles.Write(directory, entry.Name, model.Name, model.Dimensions, rows);
        return texts.Count;
    }
}
