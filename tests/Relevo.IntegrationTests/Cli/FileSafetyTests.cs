using Relevo.Index;

namespace Relevo.IntegrationTests.Cli;

/// <summary>Relevo deletes only files it can prove are its own: a folder that is not an index is refused, an index
/// whose manifest is gone is reported as damaged, and nothing in either is touched.</summary>
public class FileSafetyTests
{
    private static string OneDocument(TempDir tmp)
    {
        string corpus = tmp["one.jsonl"];
        File.WriteAllText(corpus, "{\"_id\":\"a\",\"text\":\"hi\"}\n");
        return corpus;
    }

    private static Dictionary<string, byte[]> Snapshot(string folder)
    {
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var f in Directory.GetFiles(folder, "*", SearchOption.AllDirectories)) files[Path.GetRelativePath(folder, f)] = File.ReadAllBytes(f);
        return files;
    }

    private static void AssertUnchanged(Dictionary<string, byte[]> before, string folder)
    {
        var after = Snapshot(folder);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        foreach (var (name, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} changed");
    }

    [Theory]
    [InlineData(null)]
    [InlineData("2")]
    public void A_folder_that_is_not_an_index_is_refused_and_left_alone(string? shards)
    {
        using var tmp = new TempDir();
        string pkg = tmp["p/pkg"];
        Directory.CreateDirectory(pkg);
        File.WriteAllText(Path.Combine(pkg, "__init__.py"), "x\n");
        File.WriteAllText(Path.Combine(pkg, "_0.tdict.notes"), "mine\n");
        var before = Snapshot(pkg);
        string[] args = ["index", "--corpus", OneDocument(tmp), "--index", pkg];
        if (shards is not null) args = [.. args, "--shards", shards];
        var r = CliRunner.Run(args);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("not empty", r.Stderr);
        Assert.Contains(pkg, r.Stderr);
        AssertUnchanged(before, pkg);
    }

    [Fact]
    public void An_index_whose_manifest_is_missing_is_reported_damaged_and_nothing_is_deleted()
    {
        using var tmp = new TempDir();
        string index = tmp["idx"];
        var r = CliRunner.Run(["index", "--corpus", TestData.Dataset("adi").CorpusPath, "--index", index]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        File.Delete(Path.Combine(index, Manifest.FileName));
        var before = Snapshot(index);

        r = CliRunner.Run(["index", "--corpus", OneDocument(tmp), "--index", index]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("damaged", r.Stderr);
        AssertUnchanged(before, index);

        r = CliRunner.Run(["search", "--index", index, "--query", "hi"]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("damaged", r.Stderr);
        AssertUnchanged(before, index);
    }

    [Fact]
    public void An_index_that_never_committed_is_cleaned_up_by_the_next_writer()
    {
        // a first run killed before its commit leaves a marked folder with segment files and no manifest: those files
        // are Relevo's, so the next writer may remove them, and the index starts empty
        using var tmp = new TempDir();
        string index = tmp["idx"];
        var killed = CliRunner.Run(["index", "--corpus", TestData.Dataset("adi").CorpusPath, "--index", index],
            new Dictionary<string, string> { ["RELEVO_TEST_KILL_AT"] = "segments-written" });
        Assert.NotEqual(0, killed.ExitCode);
        Assert.False(Manifest.Exists(index));
        Assert.NotEmpty(Directory.GetFiles(index, "_*"));
        var r = CliRunner.Run(["index", "--corpus", OneDocument(tmp), "--index", index]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var reader = IndexReader.Open(index);
        Assert.Equal(1, reader.LiveDocs);
    }

    [Fact]
    public void Quickstart_rebuilds_only_an_index_it_can_recognise()
    {
        using var tmp = new TempDir();
        string folder = tmp["mine"];
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "thesis.tex"), "\\documentclass{article}\n");
        var before = Snapshot(folder);
        string adi = Path.GetDirectoryName(TestData.Dataset("adi").CorpusPath)!;
        var r = CliRunner.Run(["quickstart", "--dataset", adi, "--index", folder]);
        Assert.NotEqual(0, r.ExitCode);
        AssertUnchanged(before, folder);

        // on a real index it rebuilds, and leaves files of others that share the folder
        string index = tmp["idx"];
        r = CliRunner.Run(["quickstart", "--dataset", adi, "--index", index]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        r = CliRunner.Run(["quickstart", "--dataset", adi, "--index", index]);
        Assert.True(r.ExitCode == 0, r.Stderr);
        using var reader = IndexReader.Open(index);
        Assert.Equal(82, reader.LiveDocs);
    }

    [Fact]
    public void A_first_index_that_fails_leaves_no_folder_behind()
    {
        using var tmp = new TempDir();
        string bad = tmp["bad.jsonl"];
        File.WriteAllText(bad, "{\"_id\":\"a\",\"text\":\"fine\"}\n{\"_id\":\"a\",\"text\":\"again\"}\n");
        string index = tmp["new-index"];
        var r = CliRunner.Run(["index", "--corpus", bad, "--index", index]);
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("bad.jsonl:2: field _id", r.Stderr);
        Assert.Contains("nothing was committed", r.Stderr);
        Assert.False(Directory.Exists(index), "the failed run left the folder it created");
    }
}
