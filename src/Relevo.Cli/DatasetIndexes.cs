using System.Text.Json;
using Relevo.Collections;
using Relevo.Dense;
using Relevo.Index;

namespace Relevo.Cli;

/// <summary>Builds (or reuses) the index of a dataset's corpus, with a progress bar.</summary>
internal static class DatasetIndexes
{
    private const string SourceFile = "relevo-source.json";

    private sealed record Source(string Corpus, long Bytes, DateTime Modified, string Analyzer);

    /// <summary>The index folder for a dataset, built now unless it already holds exactly this corpus.</summary>
    public static string Ensure(BeirDataset dataset, string indexDir, bool rebuild = false, string analyzer = "english")
    {
        var info = new FileInfo(dataset.CorpusPath);
        var source = new Source(Path.GetFullPath(dataset.CorpusPath), info.Length, info.LastWriteTimeUtc, analyzer);
        string sourcePath = Path.Combine(indexDir, SourceFile);
        if (!rebuild && Manifest.Exists(indexDir) && File.Exists(sourcePath) &&
            JsonSerializer.Deserialize<Source>(File.ReadAllText(sourcePath)) == source)
            return indexDir;

        IndexFolder.DeleteIndex(indexDir, SourceFile); // only the index's own files: a wrong --index loses nothing
        using (var writer = SearchIndex.OpenWriter(indexDir, new WriterOptions { Analyzer = analyzer }, CliIndex.Extensions()))
        {
            ProgressReporter.Run($"index {dataset.Name}", "docs", report =>
                writer.AddCorpus(dataset.CorpusPath, (f, n) => report(f, 1, n)));
            writer.Commit();
        }
        File.WriteAllText(sourcePath, JsonSerializer.Serialize(source));
        return indexDir;
    }

    /// <summary>Adds a model's vectors, and their HNSW graphs with the default parameters, to the segments that lack
    /// them (the embedding cache makes repeats cheap).</summary>
    public static void EnsureVectors(string indexDir, string model)
    {
        string name = EmbeddingModel.ResolveName(model);
        var segments = Manifest.Read(indexDir).Segments;
        if (VectorComponent.Everywhere(segments, name) &&
            segments.All(s => SegmentGraphs.GraphFile(s.Component(VectorComponent.ComponentName, name)!) is not null)) return;
        using var embedding = EmbeddingModel.Load(model);
        using var writer = SearchIndex.OpenWriter(indexDir, new WriterOptions(), CliIndex.Extensions());
        Commands.DenseCommand.Run(writer, embedding, HnswParameters.Default, summary: false);
    }
}
