using System.Text.Json;
using Relevo.Dense;
using Relevo.Index;
using static Relevo.IntegrationTests.Cli.GraphIndexes;

namespace Relevo.IntegrationTests.Cli;

/// <summary>The graph flags of `relevo index --dense` and `relevo dense` (--hnsw-m, --hnsw-ef-construction, --threads):
/// what each writes, what is refused, and graphs added later to vectors that have none.</summary>
public sealed class DenseGraphCliTests
{
    private static CliRunner.Result Run(params string[] args)
    {
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 0, $"relevo {string.Join(' ', args)}: {r.Stderr}");
        return r;
    }

    /// <summary>`relevo search --json` hit ids.</summary>
    private static List<string> Search(string index, string query, string pipeline, int k)
    {
        var r = Run("search", "--index", index, "--query", query, "-k", k.ToString(System.Globalization.CultureInfo.InvariantCulture), "--pipeline", pipeline, "--json");
        using var json = JsonDocument.Parse(r.Stdout);
        return json.RootElement.GetProperty("hits").EnumerateArray().Select(h => h.GetProperty("id").GetString()!).ToList();
    }

    [Fact]
    public void Index_writes_graphs_with_the_parameters_given()
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        var r = Run("index", "--dataset", WriteDataset(tmp["tiny"], First), "--index", index, "--dense", GraphIndexes.Model,
            "--hnsw-m", "8", "--hnsw-ef-construction", "40");
        Assert.Contains("HNSW graphs (M 8, ef_construction 40) built for 1 segment(s), 10 nodes", r.Stdout);
        AssertEveryGraphVerifies(index, new HnswParameters(8, 40));
        Assert.Equal(NamedGraphs(index), GraphsOnDisk(index));
        var graph = Search(index, CatQuery, $"dense(model={GraphIndexes.Model},exact=false)", 10);
        Assert.Equal("d2", graph[0]);
        Assert.Equal(Search(index, CatQuery, $"dense(model={GraphIndexes.Model},exact=true)", 10), graph); // ten nodes: the walk reaches all
    }

    [Fact]
    public void Hnsw_m_0_writes_no_graph_and_dense_search_scans()
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        var r = Run("index", "--dataset", WriteDataset(tmp["tiny"], First), "--index", index, "--dense", GraphIndexes.Model, "--hnsw-m", "0");
        Assert.Contains("no graphs (--hnsw-m 0)", r.Stdout);
        Assert.Empty(GraphsOnDisk(index));
        var vectors = Assert.Single(Vectors(index)).Vectors;
        Assert.NotNull(vectors);
        Assert.Null(SegmentGraphs.GraphFile(vectors));
        Assert.Equal(2, vectors.Files.Count); // float32 and int8 rows only
        foreach (string pipeline in new[] { "", ",exact=false", ",exact=true", ",int8=true" })
            Assert.Equal("d2", Search(index, CatQuery, $"dense(model={GraphIndexes.Model}{pipeline})", 3)[0]);
    }

    [Theory]
    [InlineData("--hnsw-m", "1", "--hnsw-m must be 0 (no graph) or between 2 and 256")]
    [InlineData("--hnsw-m", "257", "--hnsw-m must be 0 (no graph) or between 2 and 256")]
    [InlineData("--hnsw-ef-construction", "0", "--hnsw-ef-construction must be between 1 and 4096")]
    public void Bad_graph_parameters_are_refused_and_nothing_is_written(string flag, string value, string message)
    {
        using var tmp = new TempDir();
        string index = tmp["idx"], dataset = WriteDataset(tmp["tiny"], First);
        var r = CliRunner.Run(["index", "--dataset", dataset, "--index", index, "--dense", GraphIndexes.Model, flag, value]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stdout + r.Stderr);
        Assert.False(Directory.Exists(index), "relevo index wrote something though its flags were refused");

        // relevo dense refuses them too, and leaves the index as it was
        Run("index", "--dataset", dataset, "--index", index, "--hnsw-m", "0");
        var files = Directory.GetFiles(index).Select(f => (Path.GetFileName(f), File.GetLastWriteTimeUtc(f))).OrderBy(f => f.Item1).ToList();
        r = CliRunner.Run(["dense", "--index", index, "--model", GraphIndexes.Model, flag, value]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(message, r.Stdout + r.Stderr);
        Assert.Equal(files, Directory.GetFiles(index).Select(f => (Path.GetFileName(f), File.GetLastWriteTimeUtc(f))).OrderBy(f => f.Item1).ToList());
    }

    /// <summary>Vectors stored without graphs get them from `relevo dense` without being embedded again, and the graph
    /// files are the same bytes whatever the number of threads that build them.</summary>
    [Fact]
    public void Dense_adds_graphs_to_vectors_without_embedding_again()
    {
        using var tmp = new TempDir();
        string one = tmp["one"], two = tmp["two"];
        foreach (string index in new[] { one, two })
        {
            Run("index", "--corpus", WriteCorpus(tmp["first.jsonl"], First), "--index", index, "--dense", GraphIndexes.Model, "--hnsw-m", "0");
            Run("index", "--corpus", WriteCorpus(tmp["more.jsonl"], More), "--index", index, "--dense", GraphIndexes.Model, "--hnsw-m", "0");
        }
        Assert.Equal(2, Vectors(one).Count());
        Assert.Empty(GraphsOnDisk(one));
        var vectorFiles = Directory.GetFiles(one, "*.vec").Concat(Directory.GetFiles(one, "*.vq8"))
            .ToDictionary(f => f, f => File.GetLastWriteTimeUtc(f), StringComparer.Ordinal);

        var r = Run("dense", "--index", one, "--model", GraphIndexes.Model, "--threads", "1");
        Assert.Contains($"{GraphIndexes.Model}: 0 passages embedded in 0 segment(s) (2 already had vectors)", r.Stdout);
        Assert.Contains("HNSW graphs (M 16, ef_construction 100) built for 2 segment(s), 14 nodes", r.Stdout);
        AssertEveryGraphVerifies(one, HnswParameters.Default);
        Assert.Equal(NamedGraphs(one), GraphsOnDisk(one));
        foreach (var (file, written) in vectorFiles) Assert.Equal(written, File.GetLastWriteTimeUtc(file)); // not rewritten
        Assert.Equal("m3", Search(one, BeeQuery, $"dense(model={GraphIndexes.Model},exact=false)", 1)[0]);

        // again: nothing left to do, nothing committed
        long generation = Manifest.Read(one).Generation;
        r = Run("dense", "--index", one, "--model", GraphIndexes.Model);
        Assert.Contains("0 passages embedded in 0 segment(s) (2 already had vectors)", r.Stdout);
        Assert.Contains("built for 0 segment(s)", r.Stdout);
        Assert.Equal(generation, Manifest.Read(one).Generation);

        // the same vectors give the same graph files on 2 threads
        Run("dense", "--index", two, "--model", GraphIndexes.Model, "--threads", "2");
        var graphsOne = GraphsOnDisk(one).ToList();
        var graphsTwo = GraphsOnDisk(two).ToList();
        Assert.Equal(graphsOne.Select(Path.GetFileName), graphsTwo.Select(Path.GetFileName));
        for (int i = 0; i < graphsOne.Count; i++) Assert.Equal(File.ReadAllBytes(graphsOne[i]), File.ReadAllBytes(graphsTwo[i]));
    }

    /// <summary>Documents added to a sharded index that has vectors, by a run without --dense and with the default
    /// --merge final, get the index's vectors (embedded with its model) and graphs built with the existing graphs'
    /// parameters, in every shard, before the shards' new segments are merged and committed.</summary>
    [Fact]
    public void Adding_to_a_sharded_index_with_graphs_embeds_and_links_the_new_documents()
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        var graph = new HnswParameters(8, 40); // not the defaults: the new graphs must take the index's
        Run("index", "--corpus", WriteCorpus(tmp["first.jsonl"], First), "--index", index, "--shards", "2", "--dense", GraphIndexes.Model,
            "--hnsw-m", "8", "--hnsw-ef-construction", "40");
        var before = Vectors(index).Select(v => (v.Folder, v.Segment.Name)).ToHashSet();
        Assert.Equal(2, before.Count);

        Run("index", "--corpus", WriteCorpus(tmp["more.jsonl"], More), "--index", index);

        var after = Vectors(index).ToList();
        Assert.Equal(14, after.Sum(v => v.Segment.MaxDoc - v.Segment.DeleteCount));
        var added = after.Where(v => !before.Contains((v.Folder, v.Segment.Name))).ToList();
        Assert.NotEmpty(added);
        Assert.Equal(4, added.Sum(v => v.Segment.MaxDoc));
        // --merge final: each shard's new documents in one segment
        Assert.Equal(added.Count, added.Select(v => v.Folder).Distinct().Count());
        AssertEveryGraphVerifies(index, graph); // every segment: minilm vectors, a graph with (8, 40), verified
        Assert.Equal(NamedGraphs(index), GraphsOnDisk(index));

        var walked = Search(index, BeeQuery, $"dense(model={GraphIndexes.Model},exact=false)", 20);
        Assert.Equal("m3", walked[0]);
        Assert.Equal(14, walked.Count);
        Assert.Equal(Search(index, BeeQuery, $"dense(model={GraphIndexes.Model},exact=true)", 20), walked);
    }

    /// <summary>A shard that never held a document (one document over two shards) gets, with its first documents, the
    /// vectors and graphs (same parameters) that the other shard's segments have.</summary>
    [Fact]
    public void A_shard_that_never_held_documents_gets_vectors_and_graphs_with_its_first()
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        var graph = new HnswParameters(8, 40);
        Run("index", "--corpus", WriteCorpus(tmp["one.jsonl"], First[..1]), "--index", index, "--shards", "2", "--dense", GraphIndexes.Model,
            "--hnsw-m", "8", "--hnsw-ef-construction", "40");
        Assert.Single(Vectors(index)); // one shard holds the document, the other nothing
        Run("index", "--corpus", WriteCorpus(tmp["more.jsonl"], More), "--index", index);
        var after = Vectors(index).ToList();
        Assert.Equal(5, after.Sum(v => v.Segment.MaxDoc - v.Segment.DeleteCount));
        Assert.Equal(2, after.Select(v => v.Folder).Distinct().Count());
        AssertEveryGraphVerifies(index, graph);
        var walked = Search(index, BeeQuery, $"dense(model={GraphIndexes.Model},exact=false)", 20);
        Assert.Equal("m3", walked[0]);
        Assert.Equal(5, walked.Count);
        Assert.Equal(Search(index, BeeQuery, $"dense(model={GraphIndexes.Model},exact=true)", 20), walked);
    }
}
