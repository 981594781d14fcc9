using Relevo.Index;
using Relevo.Search;
using Relevo.Sharding;

namespace Relevo.Tests.Sharding;

/// <summary>Segment replication's file operations (<see cref="ShardCopy"/>): a copied commit reads exactly as its
/// source, a copy only fetches what it lacks, a stale file of an unpublished commit with a reused name is replaced, and
/// names from another node can never leave the shard folder.</summary>
public sealed class ShardCopyTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "relevo-shardcopy-" + Guid.NewGuid().ToString("N")[..8]);

    public void Dispose()
    {
        if (Directory.Exists(_root)) Directory.Delete(_root, recursive: true);
    }

    private static Document Doc(int i) => new($"d{i}", $"title {i % 7}", $"word{i % 13} common text {i % 3} alpha{i % 5}");

    private async Task<(ShardFile[] Files, int Copied)> CopyAsync(string source, string target, Manifest commit, Manifest? keep)
    {
        var files = ShardCopy.FilesOf(source, commit);
        var needed = ShardCopy.Plan(target, files, keep);
        await ShardCopy.CopyAsync(target, needed, (name, offset, count) => Task.FromResult(ShardCopy.Read(source, name, offset, count)));
        ShardCopy.Finish(target, files, commit);
        return (files, needed.Length);
    }

    /// <summary>Adds documents <paramref name="from"/> … and commits; the commit.</summary>
    private static Manifest Commit(IndexWriter writer, int from, int count)
    {
        writer.AddRange(Enumerable.Range(from, count).Select(Doc));
        writer.Commit();
        return writer.LastCommit;
    }

    private static string[] Top(string folder, Manifest commit, string query)
    {
        using var reader = IndexReader.Open(folder, commit);
        var bm25 = new Bm25Searcher(reader);
        return bm25.Search(Query.Parse(query, bm25.Analyzer), 10).Select(h => h.Id + ":" + h.Score.ToString("R")).ToArray();
    }

    [Fact]
    public async Task ACopiedCommitReadsAsItsSourceAndALaterCopyFetchesOnlyWhatChanged()
    {
        string source = Path.Combine(_root, "primary"), target = Path.Combine(_root, "replica");
        using var writer = IndexWriter.Open(source, new IndexWriterOptions());
        var first = Commit(writer, 0, 300);
        var (files, copied) = await CopyAsync(source, target, first, keep: null);
        Assert.Equal(files.Length, copied);
        Assert.Equal(first.Generation, Manifest.Read(target).Generation);
        foreach (var q in new[] { "common alpha1", "word3 title", "text 2" }) Assert.Equal(Top(source, first, q), Top(target, first, q));

        // a second commit adds a segment and deletes documents: only its new files travel
        writer.Delete("d7");
        var second = Commit(writer, 300, 50);
        var (files2, copied2) = await CopyAsync(source, target, second, keep: first);
        Assert.True(copied2 < files2.Length, $"copied {copied2} of {files2.Length} files: the first segment's files were already there");
        Assert.Contains(files2, f => f.Name.EndsWith(".del", StringComparison.Ordinal));
        foreach (var q in new[] { "common alpha1", "word3 title", "word7" }) Assert.Equal(Top(source, second, q), Top(target, second, q));
    }

    [Fact]
    public async Task AStaleFileOfAnUnpublishedCommitIsReplacedEvenAtTheSameLength()
    {
        string source = Path.Combine(_root, "primary"), target = Path.Combine(_root, "replica");
        using var writer = IndexWriter.Open(source, new IndexWriterOptions());
        var published = Commit(writer, 0, 100);
        await CopyAsync(source, target, published, keep: null);
        var next = Commit(writer, 100, 40);
        var files = ShardCopy.FilesOf(source, next);
        // the replica holds a file of the same name and length from a commit that was never published
        var newSegmentFile = files.First(f => !ShardCopy.FilesOf(target, published).Any(p => p.Name == f.Name) && f.Length > 0);
        File.WriteAllBytes(Path.Combine(target, newSegmentFile.Name), new byte[newSegmentFile.Length]);
        var needed = ShardCopy.Plan(target, files, published);
        Assert.Contains(needed, f => f.Name == newSegmentFile.Name);
        await ShardCopy.CopyAsync(target, needed, (name, offset, count) => Task.FromResult(ShardCopy.Read(source, name, offset, count)));
        ShardCopy.Finish(target, files, next);
        Assert.Equal(File.ReadAllBytes(Path.Combine(source, newSegmentFile.Name)), File.ReadAllBytes(Path.Combine(target, newSegmentFile.Name)));
        Assert.Equal(Top(source, next, "common alpha2"), Top(target, next, "common alpha2"));
    }

    [Theory]
    [InlineData("../cluster.json")]
    [InlineData("/etc/passwd")]
    [InlineData("cluster.json")]
    [InlineData("node.json")]
    [InlineData("notes.txt")]
    [InlineData("sub/_0.post")]
    public void NamesThatAreNotAShardsFilesAreRefused(string name)
    {
        Assert.Throws<RelevoException>(() => ShardCopy.CheckName(name));
        Directory.CreateDirectory(_root);
        Assert.Throws<RelevoException>(() => ShardCopy.Write(_root, name, 0, [1, 2, 3]));
        Assert.Throws<RelevoException>(() => ShardCopy.Plan(Path.Combine(_root, "x"), [new ShardFile(name, 3)], null));
    }

    [Fact]
    public void RemovingACopyLeavesFilesRelevoDidNotWrite()
    {
        string folder = Path.Combine(_root, "copy");
        using (var writer = IndexWriter.Open(folder, new IndexWriterOptions())) Commit(writer, 0, 20);
        File.WriteAllText(Path.Combine(folder, "README.txt"), "mine");
        ShardCopy.Remove(folder);
        Assert.Equal(["README.txt"], Directory.GetFiles(folder).Select(Path.GetFileName));
        File.Delete(Path.Combine(folder, "README.txt"));
        ShardCopy.Remove(folder);
        Assert.False(Directory.Exists(folder));
    }

    [Fact]
    public void AFolderHoldingSomethingElseIsNotCopiedInto()
    {
        string folder = Path.Combine(_root, "other");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "thesis.tex"), "mine");
        var e = Assert.Throws<RelevoException>(() => ShardCopy.Plan(folder, [new ShardFile("_0.post", 3)], null));
        Assert.Contains("thesis.tex", e.Message);
        Assert.True(File.Exists(Path.Combine(folder, "thesis.tex")));
    }
}
