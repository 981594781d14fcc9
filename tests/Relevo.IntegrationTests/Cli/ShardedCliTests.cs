using Relevo.Sharding;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Sharding;

/// <summary>`relevo index --shards N` and `relevo run`/`search` over the sharded folder, through the real CLI.</summary>
public sealed class ShardedCliTests(ITestOutputHelper output)
{
    private static string Scifact => Path.Combine(TestData.DatasetsDir, "scifact");

    private CliRunner.Result Run(params string[] args) => CliRunner.Logged(output, args);

    [Fact]
    public void Four_shards_of_scifact_reach_the_bm25_baseline_and_the_shard_count_cannot_change()
    {
        using var tmp = new TempDir();
        string index = tmp["scifact-4"];
        var r = Run("index", "--dataset", Scifact, "--index", index, "--shards", "4");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("(4 shards, 5,183 live documents, cluster version 1)", r.Stdout);
        var manifest = ShardedManifest.Read(index);
        Assert.Equal(4, manifest.ShardCount);
        Assert.Equal(1, manifest.Version);

        // Pyserini's BEIR scifact bm25-flat: nDCG@10 0.6789 (../shared/datasets/BASELINES.md), as on one index
        r = Run("run", "--index", index, "--dataset", Scifact, "--eval");
        Assert.Equal(0, r.ExitCode);
        var ndcg = r.Stdout.Split('\n').Single(l => l.Contains("ndcg_cut_10", StringComparison.Ordinal));
        Assert.Contains("0.6789", ndcg);

        r = Run("search", "--index", index, "--query", "vitamin d deficiency and cancer", "-k", "3");
        Assert.Equal(0, r.ExitCode);

        r = Run("index", "--dataset", Scifact, "--index", index, "--shards", "3");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(ShardedManifest.FileName, r.Stdout + r.Stderr);
        Assert.Contains("4 shards, not 3", r.Stdout + r.Stderr);
        Assert.Equal(1, ShardedManifest.Read(index).Version);

        // adding the same corpus again (shard count taken from cluster.json) is refused whole: nothing committed
        r = Run("index", "--dataset", Scifact, "--index", index);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("nothing was committed", r.Stdout + r.Stderr);
        Assert.Equal(1, ShardedManifest.Read(index).Version);
    }

    [Fact]
    public void A_sharded_index_with_vectors_answers_a_dense_search()
    {
        using var tmp = new TempDir();
        string index = tmp["adi-4"];
        var r = Run("index", "--corpus", TestData.Dataset("adi").CorpusPath, "--index", index, "--shards", "4", "--dense", "arctic-xs");
        Assert.Equal(0, r.ExitCode);
        Assert.Equal(2, ShardedManifest.Read(index).Version); // documents, then vectors
        foreach (var pipeline in new[] { "dense(model=arctic-xs)", "fuse(minmax,bm25,dense(model=arctic-xs))" })
        {
            r = Run("search", "--index", index, "--query", "computer programs for indexing", "-k", "3", "--pipeline", pipeline, "--json");
            Assert.Equal(0, r.ExitCode);
            using var json = System.Text.Json.JsonDocument.Parse(r.Stdout);
            Assert.Equal(3, json.RootElement.GetProperty("hits").GetArrayLength());
        }
    }

    [Fact]
    public void Sharding_a_folder_that_holds_an_ordinary_index_is_refused()
    {
        using var tmp = new TempDir();
        string index = tmp["adi"];
        string adi = TestData.Dataset("adi").CorpusPath;
        Assert.Equal(0, Run("index", "--corpus", adi, "--index", index).ExitCode);
        var r = Run("index", "--corpus", adi, "--index", index, "--shards", "2");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("ordinary (unsharded) index", r.Stdout + r.Stderr);
        Assert.False(ShardedManifest.Exists(index));
        Assert.False(Directory.Exists(Path.Combine(index, ShardedManifest.FolderName(0))));
    }
}
