using Relevo.Collections;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Tests.Index;

public class IndexWriterTests
{
    private static List<Document> Cranfield() => [.. JsonlReader.ReadCorpus(TestData.Dataset("cranfield").CorpusPath)];
    private static List<(string Id, string Text)> Queries() => JsonlReader.ReadQueries(TestData.Dataset("cranfield").QueriesPath);

    private static IndexReader Build(string dir, IEnumerable<Document> docs)
    {
        using (var w = IndexWriter.Open(dir))
        {
            foreach (var d in docs) w.Add(d);
            w.Commit();
        }
        return IndexReader.Open(dir);
    }

    private static void AssertSameRankings(IndexReader expected, IndexReader actual, int k = 50)
    {
        var a = new Bm25Searcher(expected);
        var b = new Bm25Searcher(actual);
        foreach (var (qid, text) in Queries())
        {
            var x = a.Search(text, k);
            var y = b.Search(text, k);
            Assert.Equal(x.Count, y.Count);
            for (int i = 0; i < x.Count; i++)
            {
                Assert.True(x[i].Id == y[i].Id && x[i].Score == y[i].Score,
                    $"q{qid} rank {i + 1}: {x[i].Id} {x[i].Score} vs {y[i].Id} {y[i].Score}");
            }
        }
    }

    [Fact]
    public void SegmentsAddedOverSeveralCommitsRankLikeOneIndex()
    {
        var docs = Cranfield();
        using var tmp = new TempDir();
        using var single = Build(tmp["one"], docs);
        using (var w = IndexWriter.Open(tmp["many"]))
        {
            for (int i = 0; i < docs.Count; i++)
            {
                w.Add(docs[i]);
                if (i % 500 == 499) w.Commit(); // three commits, three segments
            }
            w.Commit();
        }
        using var many = IndexReader.Open(tmp["many"]);
        Assert.Equal(3, many.Segments.Count);
        Assert.Equal(docs.Count, many.LiveDocs);
        // Collection statistics span all segments, so the scores are exactly those of one segment.
        AssertSameRankings(single, many);
    }

    [Fact]
    public void DeletedDocumentsVanishAndMergeEqualsFreshIndex()
    {
        var docs = Cranfield();
        var deleted = new HashSet<string>();
        for (int i = 0; i < docs.Count; i += 7) deleted.Add(docs[i].Id);
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp["idx"]))
        {
            for (int i = 0; i < docs.Count; i++)
            {
                w.Add(docs[i]);
                if (i % 600 == 599) w.Commit();
            }
            w.Commit();
            foreach (var id in deleted) Assert.True(w.Delete(id));
            Assert.False(w.Delete("no-such-id"));
            w.Commit();
        }
        using (var reader = IndexReader.Open(tmp["idx"]))
        {
            Assert.Equal(docs.Count - deleted.Count, reader.LiveDocs);
            var searcher = new Bm25Searcher(reader);
            foreach (var (_, text) in Queries())
                foreach (var hit in searcher.Search(text, 1000))
                    Assert.DoesNotContain(hit.Id, deleted);
            Assert.Null(reader.GetDocument(docs[0].Id));
            Assert.Equal(docs[1].Text, reader.GetDocument(docs[1].Id)!.Text);
        }

        using (var w = IndexWriter.Open(tmp["idx"])) w.ForceMerge();
        using var merged = IndexReader.Open(tmp["idx"]);
        Assert.Single(merged.Segments);
        Assert.Equal(0, merged.Segments[0].Deletes.Count);
        using var fresh = Build(tmp["fresh"], docs.Where(d => !deleted.Contains(d.Id)));
        AssertSameRankings(fresh, merged);
        // Only the live files of the last commit remain.
        Assert.Equal(6, Directory.GetFiles(tmp["idx"]).Count(f => Path.GetFileName(f) is not ("write.lock" or IndexFolder.MarkerFileName)));
    }

    [Fact]
    public void ReplaceUpdatesADocumentAndDuplicatesAreRefused()
    {
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp.Path))
        {
            w.Add(new Document("1", "", "apples and pears"));
            w.Add(new Document("2", "", "pears only"));
            w.Commit();
            Assert.Throws<DuplicateDocumentIdException>(() => w.Add(new Document("1", "", "again")));
            w.Add(new Document("3", "", "x"));
            Assert.Throws<DuplicateDocumentIdException>(() => w.Add(new Document("3", "", "x again"))); // duplicate within the uncommitted batch
        }
        // Disposing without a commit drops document 3.
        using (var r = IndexReader.Open(tmp.Path)) Assert.Equal(2, r.LiveDocs);
        using (var w = IndexWriter.Open(tmp.Path, new IndexWriterOptions { ReplaceExisting = true }))
        {
            w.Add(new Document("1", "", "bananas"));
            w.Commit();
        }
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Equal(2, reader.LiveDocs);
        Assert.Equal("bananas", reader.GetDocument("1")!.Text);
        var searcher = new Bm25Searcher(reader);
        Assert.Empty(searcher.Search("apples", 10));
        Assert.Equal("1", Assert.Single(searcher.Search("banana", 10)).Id);
    }

    [Fact]
    public void StoredDocumentsRoundTrip()
    {
        var docs = Cranfield();
        using var tmp = new TempDir();
        using var reader = Build(tmp.Path, docs);
        foreach (var d in docs)
            Assert.Equal(d, reader.GetDocument(d.Id));
    }

    [Fact]
    public void SecondWriterIsRefused()
    {
        using var tmp = new TempDir();
        using var w = IndexWriter.Open(tmp.Path);
        var e = Assert.Throws<RelevoException>(() => IndexWriter.Open(tmp.Path));
        Assert.Contains("lock", e.Message);
    }
}

/// <summary>Parallel analysis (IndexWriter.AddRange) writes byte-identical files for any thread count, and the same as
/// adding the documents one by one.</summary>
public class ParallelIndexingTests
{
    [Fact]
    public void SameIndexForOneAndTwoThreadsAndForAdd()
    {
        var corpus = TestData.Dataset("scifact").CorpusPath;
        var options = new IndexWriterOptions { RamBudgetBytes = 4 << 20, ReplaceExisting = true };
        var docs = new List<Document>(Relevo.Collections.JsonlReader.ReadCorpus(corpus));
        docs.Add(docs[17] with { Text = "replaced " + docs[17].Text }); // a replacement across a flush
        using var one = new TempDir();
        using var two = new TempDir();
        using var add = new TempDir();
        using (var w = IndexWriter.Open(one.Path, options)) { w.AddRange(docs, threads: 1); w.Commit(); }
        using (var w = IndexWriter.Open(two.Path, options)) { w.AddRange(docs, threads: 2); w.Commit(); }
        using (var w = IndexWriter.Open(add.Path, options)) { foreach (var d in docs) w.Add(d); w.Commit(); }
        var files = Directory.GetFiles(one.Path).Select(Path.GetFileName).Where(f => f != IndexWriter.LockFileName).Order().ToList();
        Assert.True(files.Count > 6, "several segments expected");
        foreach (var dir in new[] { two.Path, add.Path })
        {
            Assert.Equal(files, Directory.GetFiles(dir).Select(Path.GetFileName).Where(f => f != IndexWriter.LockFileName).Order().ToList());
            foreach (var f in files)
                Assert.True(File.ReadAllBytes(Path.Combine(one.Path, f!)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(dir, f!))), $"{f} differs");
        }
    }
}

public class MergeStoredTests
{
    /// <summary>A merge copies stored blocks (no deletions) or re-serializes them (deletions): every document reads back.</summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void MergedSegmentsKeepEveryStoredDocument(bool withDeletes)
    {
        var docs = new List<Document>(Relevo.Collections.JsonlReader.ReadCorpus(TestData.Dataset("scifact").CorpusPath));
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp.Path, new IndexWriterOptions { RamBudgetBytes = 1 << 20 }))
        {
            w.AddRange(docs, threads: 2);
            w.Commit();
            if (withDeletes) for (int i = 0; i < docs.Count; i += 7) w.Delete(docs[i].Id);
            w.ForceMerge();
        }
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Single(reader.Segments);
        for (int i = 0; i < docs.Count; i++)
        {
            var got = reader.GetDocument(docs[i].Id);
            if (withDeletes && i % 7 == 0) { Assert.Null(got); continue; }
            Assert.Equal(docs[i], got);
        }
    }
}
