using Relevo.Index;
using Relevo.Index.Formats;

namespace Relevo.Tests.Index;

/// <summary>A damaged file is refused with an error naming it.</summary>
public class ChecksumTests
{
    private static void BuildSmallIndex(string dir)
    {
        using var w = IndexWriter.Open(dir);
        Relevo.Index.CorpusIndexer.AddCorpus(w, TestData.Dataset("adi").CorpusPath);
        w.Commit();
        w.Delete("1");
        w.Commit(); // so a deletions file exists too
    }

    [Theory]
    [InlineData(".tdict")]
    [InlineData(".post")]
    [InlineData(".norm")]
    [InlineData(".ids")]
    [InlineData(".docs")]
    [InlineData(".del")]
    public void FlippedByteIsRefused(string extension)
    {
        using var tmp = new TempDir();
        BuildSmallIndex(tmp.Path);
        string file = Directory.GetFiles(tmp.Path).Single(f => f.EndsWith(extension, StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x10;
        File.WriteAllBytes(file, bytes);
        var e = Assert.Throws<CorruptIndexException>(() => IndexReader.Open(tmp.Path));
        Assert.Equal(file, e.FilePath);
        Assert.Contains("checksum mismatch", e.Message);
    }

    [Fact]
    public void TruncatedFileIsRefused()
    {
        using var tmp = new TempDir();
        BuildSmallIndex(tmp.Path);
        string file = Directory.GetFiles(tmp.Path).Single(f => f.EndsWith(".post", StringComparison.Ordinal));
        var bytes = File.ReadAllBytes(file);
        File.WriteAllBytes(file, bytes[..(bytes.Length - 5)]);
        var e = Assert.Throws<CorruptIndexException>(() => IndexReader.Open(tmp.Path));
        Assert.Contains(file, e.Message);
    }

    [Fact]
    public void EditedManifestIsRefused()
    {
        using var tmp = new TempDir();
        BuildSmallIndex(tmp.Path);
        string manifest = Path.Combine(tmp.Path, "manifest");
        File.WriteAllText(manifest, File.ReadAllText(manifest).Replace("\"maxDoc\": 82", "\"maxDoc\": 83"));
        var e = Assert.Throws<CorruptIndexException>(() => IndexReader.Open(tmp.Path));
        Assert.Contains(manifest, e.Message);
    }

    [Fact]
    public void FileOfAnotherKindIsRefused()
    {
        using var tmp = new TempDir();
        BuildSmallIndex(tmp.Path);
        string post = Directory.GetFiles(tmp.Path).Single(f => f.EndsWith(".post", StringComparison.Ordinal));
        string norm = Directory.GetFiles(tmp.Path).Single(f => f.EndsWith(".norm", StringComparison.Ordinal));
        File.Copy(norm, post, overwrite: true);
        var e = Assert.Throws<CorruptIndexException>(() => IndexReader.Open(tmp.Path));
        Assert.Contains("expected a 'POST' file", e.Message);
    }
}
