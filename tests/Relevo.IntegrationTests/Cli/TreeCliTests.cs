using System.Globalization;
using System.Text.RegularExpressions;

namespace Relevo.IntegrationTests.Cli;

/// <summary>`relevo tree build` and `relevo tree status` on ADI with arctic-xs, and `lattice(beam=...)` run from the CLI:
/// the same tree for the same seed, staleness after writes and --extend, and what is refused.</summary>
public sealed partial class TreeCliTests
{
    private static CliRunner.Result Run(params string[] args)
    {
        var r = CliRunner.Run(args, timeoutMs: 300_000);
        Assert.True(r.ExitCode == 0, $"relevo {string.Join(' ', args)}: {r.Stdout}{r.Stderr}");
        return r;
    }

    private static string Adi => Path.Combine(TestData.DatasetsDir, "adi");

    private static string IndexAdi(TempDir tmp, string name)
    {
        string index = tmp[name];
        Run("index", "--dataset", Adi, "--index", index);
        return index;
    }

    [Fact]
    public void A_tree_is_built_once_per_seed_navigated_and_extended()
    {
        using var tmp = new TempDir();
        string a = IndexAdi(tmp, "a"), b = IndexAdi(tmp, "b");
        var built = Run("tree", "build", "--index", a, "--model", "arctic-xs", "--seed", "7");
        Assert.Contains("82 passages embedded", built.Stdout); // the vectors were missing: embedded first
        Assert.Matches(@"tree: 82 documents, \d+ nodes, height \d, branching 10, top-down, model arctic-xs, extractive summaries", built.Stdout);
        Run("tree", "build", "--index", b, "--model", "arctic-xs", "--seed", "7");
        string treeA = Assert.Single(Directory.GetFiles(a, "tree.*.lattice"));
        string treeB = Assert.Single(Directory.GetFiles(b, "tree.*.lattice"));
        Assert.Equal(File.ReadAllBytes(treeA), File.ReadAllBytes(treeB)); // deterministic for a seed
        Assert.Contains("up to date", Run("tree", "status", "--index", a).Stdout);

        // navigating by embeddings finds most of what exact dense search finds on ADI
        double Ndcg(string pipeline)
        {
            var r = Run("run", "--dataset", Adi, "--index", a, "--pipeline", pipeline, "--output", tmp["run.txt"], "--eval", "--measures", "ndcg_cut_10");
            return double.Parse(NdcgRow().Match(r.Stdout).Groups[1].Value, CultureInfo.InvariantCulture);
        }
        double dense = Ndcg("dense(model=arctic-xs,exact=true)"), lattice = Ndcg("lattice(beam=4)");
        Assert.True(lattice > 0.7 * dense && lattice <= dense + 0.05, $"lattice {lattice:F4} vs dense {dense:F4}");

        // a write makes it stale; --extend adds the new document without a rebuild
        File.WriteAllText(tmp["extra.jsonl"], "{\"_id\":\"new-1\",\"title\":\"Indexing\",\"text\":\"automatic indexing of documents by computers\"}\n");
        Run("index", "--corpus", tmp["extra.jsonl"], "--index", a);
        Assert.Contains("stale — 1 live document(s) not in the tree", Run("tree", "status", "--index", a).Stdout);
        Assert.Contains("tree: 1 document(s) added (83 in all", Run("tree", "build", "--index", a, "--extend").Stdout);
        Assert.Contains("up to date", Run("tree", "status", "--index", a).Stdout);
        Assert.Single(Directory.GetFiles(a, "tree.*.lattice")); // the old tree file went with its commit

        var bottomUp = Run("tree", "build", "--index", b, "--model", "arctic-xs", "--strategy", "bottom-up", "--branching", "4");
        Assert.Contains("branching 4, bottom-up", bottomUp.Stdout);
    }

    [Fact]
    public void What_is_refused_is_said()
    {
        using var tmp = new TempDir();
        var r = CliRunner.Run(["tree", "build", "--index", tmp["none"]]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("no index here", r.Stderr);
        r = CliRunner.Run(["tree", "build", "--index", tmp["none"], "--strategy", "sideways"]);
        Assert.Contains("--strategy must be top-down or bottom-up", r.Stdout + r.Stderr);
        r = CliRunner.Run(["tree", "build", "--index", tmp["none"], "--branching", "1"]);
        Assert.Contains("--branching must be between 2 and 100", r.Stdout + r.Stderr);
        string index = IndexAdi(tmp, "adi");
        r = CliRunner.Run(["search", "--index", index, "--query", "indexing", "--pipeline", "lattice(beam=2)"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("has no semantic tree; build one with: relevo tree build --index", r.Stderr);
        Assert.Contains("no semantic tree", Run("tree", "status", "--index", index).Stdout);
    }

    [GeneratedRegex(@"ndcg_cut_10\s*│\s*([0-9.]+)")]
    private static partial Regex NdcgRow();
}
