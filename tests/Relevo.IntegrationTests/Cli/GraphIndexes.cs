using System.Text.Json;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.IntegrationTests.Cli;

/// <summary>Tiny corpora for minilm (embedded in well under a second, then cached) and the checks the graph tests make
/// on an index folder: which .hnsw files its commit names, that each of them verifies, which lie on disk.</summary>
internal static class GraphIndexes
{
    public const string Model = "minilm";
    public const int Dimensions = 384;

    /// <summary>Ten documents on ten topics.</summary>
    public static readonly Document[] First =
    [
        new("d1", "Vitamin D", "Vitamin D deficiency raises the risk of several cancers."),
        new("d2", "Cats", "Domestic cats sleep for most of the day."),
        new("d3", "Python", "Python is a programming language with dynamic typing."),
        new("d4", "Volcanoes", "Lava flows from an erupting volcano in Iceland."),
        new("d5", "Football", "The striker scored twice in the cup final."),
        new("d6", "Coffee", "Caffeine in coffee blocks adenosine receptors and keeps you awake."),
        new("d7", "Rivers", "The Nile is the longest river in Africa."),
        new("d8", "Bread", "Sourdough bread rises thanks to wild yeast."),
        new("d9", "Planets", "Jupiter is the largest planet of the solar system."),
        new("d10", "Violins", "A violin has four strings and is played with a bow."),
    ];

    /// <summary>Four more, on other topics, with ids that cannot clash with <see cref="First"/>'s.</summary>
    public static readonly Document[] More =
    [
        new("m1", "Chess", "A grandmaster sacrificed her queen to win the game of chess."),
        new("m2", "Glaciers", "Glaciers in the Alps are melting as the climate warms."),
        new("m3", "Bees", "Honey bees pollinate crops and make honey in their hives."),
        new("m4", "Trains", "The high-speed train runs between Paris and Lyon in two hours."),
    ];

    /// <summary>A query whose best match among <see cref="First"/> is d2, and one whose best in <see cref="More"/> is m3.</summary>
    public const string CatQuery = "which animal naps all day long";
    public const string BeeQuery = "insects that make honey";

    public static string WriteCorpus(string path, IEnumerable<Document> docs)
    {
        using var w = new StreamWriter(path);
        foreach (var d in docs)
            w.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = d.Id, ["title"] = d.Title, ["text"] = d.Text }));
        return path;
    }

    /// <summary>A BEIR-style dataset folder (corpus.jsonl, queries.jsonl) for --dataset.</summary>
    public static string WriteDataset(string folder, IEnumerable<Document> docs)
    {
        Directory.CreateDirectory(folder);
        WriteCorpus(Path.Combine(folder, "corpus.jsonl"), docs);
        File.WriteAllText(Path.Combine(folder, "queries.jsonl"), JsonSerializer.Serialize(new Dictionary<string, string> { ["_id"] = "q1", ["text"] = CatQuery }) + "\n");
        return folder;
    }

    /// <summary>The index folders and the commit each is read at: the folder itself (its manifest), or every shard at the
    /// commit cluster.json names.</summary>
    public static IReadOnlyList<(string Folder, Manifest Commit)> Commits(string index) =>
        ShardedManifest.Exists(index)
            ? ShardedManifest.Read(index).Shards.Select(s => (Path.Combine(index, s.Folder), s.Commit)).ToList()
            : [(index, Manifest.Read(index))];

    /// <summary>The model's vectors record of every segment of the commits (null where a segment has none).</summary>
    public static IEnumerable<(string Folder, SegmentEntry Segment, ComponentData? Vectors)> Vectors(string index) =>
        Commits(index).SelectMany(c => c.Commit.Segments.Select(s => (c.Folder, s, s.Component(VectorComponent.ComponentName, Model))));

    /// <summary>Paths of the .hnsw files the commits name.</summary>
    public static SortedSet<string> NamedGraphs(string index) =>
        new(Vectors(index).Where(v => v.Vectors is not null && SegmentGraphs.GraphFile(v.Vectors) is not null)
            .Select(v => Path.Combine(v.Folder, SegmentGraphs.GraphFile(v.Vectors!)!)), StringComparer.Ordinal);

    /// <summary>Paths of the .hnsw files on disk in the index's folders.</summary>
    public static SortedSet<string> GraphsOnDisk(string index) =>
        new(Commits(index).SelectMany(c => Directory.GetFiles(c.Folder, "*.hnsw")), StringComparer.Ordinal);

    /// <summary>Every segment has the model's vectors and a graph built with <paramref name="parameters"/>, and every
    /// graph verifies (checksum, shape against the segment's vectors) when opened.</summary>
    public static void AssertEveryGraphVerifies(string index, HnswParameters parameters)
    {
        foreach (var (folder, segment, vectors) in Vectors(index))
        {
            Assert.True(vectors is not null, $"{folder}: segment {segment.Name} has no {Model} vectors");
            string? file = SegmentGraphs.GraphFile(vectors);
            Assert.True(file is not null, $"{folder}: segment {segment.Name}'s {Model} vectors have no graph");
            Assert.Equal(parameters, SegmentGraphs.ParametersOf(folder, vectors));
            using var graph = HnswFile.Open(Path.Combine(folder, file), segment.MaxDoc, Dimensions); // throws unless it verifies
            Assert.Equal(parameters, graph.Parameters);
        }
    }

    /// <summary>The graphs the commits name verify (segments without vectors or without a graph are skipped).</summary>
    public static void AssertNamedGraphsVerify(string index)
    {
        foreach (var (folder, segment, vectors) in Vectors(index))
            if (vectors is not null && SegmentGraphs.GraphFile(vectors) is { } file)
                using (HnswFile.Open(Path.Combine(folder, file), segment.MaxDoc, Dimensions)) { }
    }

    /// <summary>The index opened in process with the dense extension, queries embedded by <paramref name="model"/>.</summary>
    public static SearchIndex Open(string index, EmbeddingModel model) =>
        SearchIndex.Open(index, new SearchIndexOptions { Extensions = [new DenseExtension(_ => model)] });

    /// <summary>Dense search through the graphs returns exactly what the scan of every vector returns, ids and scores,
    /// for a query on each corpus (k at least the live documents: a walk of a tiny graph reaches every node).</summary>
    public static void AssertGraphSearchEqualsExact(string index, EmbeddingModel model, int k)
    {
        using var search = Open(index, model);
        foreach (string query in new[] { CatQuery, BeeQuery })
        {
            var graph = search.Search(query, $"dense(model={Model},exact=false)", k).Hits;
            var exact = search.Search(query, $"dense(model={Model},exact=true)", k).Hits;
            Assert.NotEmpty(exact);
            Assert.Equal(exact, graph);
        }
    }

    /// <summary>Opens a writer on the index and closes it: what any later writer does first (its clean-up included).</summary>
    public static void OpenAndCloseWriter(string index, EmbeddingModel model)
    {
        using var w = SearchIndex.OpenWriter(index, new WriterOptions(), [new DenseExtension(_ => model)]);
    }
}

/// <summary>minilm loaded once for a test class.</summary>
public sealed class MiniLmModel : IDisposable
{
    internal EmbeddingModel Encoder { get; } = EmbeddingModel.Load(GraphIndexes.Model);
    public void Dispose() => Encoder.Dispose();
}
