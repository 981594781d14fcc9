using Relevo.Collections;
using Relevo.Index;
using Relevo.Search;

namespace Relevo.Tests.Index;

/// <summary>A new commit's reader shares the segments it has in common with the last one (nothing is opened twice); a
/// refresh that fails after a commit is retried, never reported as a failed write; merges in the background swap in
/// their segment with the deletions made meanwhile, and rank as before.</summary>
public sealed class ReopenAndBackgroundMergeTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private static List<Document> Cranfield() => [.. JsonlReader.ReadCorpus(TestData.Dataset("cranfield").CorpusPath)];
    private static List<(string Id, string Text)> Queries() => JsonlReader.ReadQueries(TestData.Dataset("cranfield").QueriesPath);

    private static void AssertSameRankings(IndexReader expected, IndexReader actual)
    {
        var a = new Bm25Searcher(expected);
        var b = new Bm25Searcher(actual);
        foreach (var (qid, text) in Queries())
        {
            var x = a.Search(text, 100);
            var y = b.Search(text, 100);
            Assert.Equal(x.Count, y.Count);
            for (int i = 0; i < x.Count; i++)
                Assert.True(x[i].Id == y[i].Id && x[i].Score == y[i].Score, $"q{qid} rank {i + 1}: {x[i].Id} {x[i].Score} vs {y[i].Id} {y[i].Score}");
        }
    }

    [Fact]
    public void Reopening_shares_unchanged_segments_and_reads_their_new_deletions()
    {
        var docs = Cranfield();
        string dir = _dir["idx"];
        using (var w = IndexWriter.Open(dir))
        {
            w.AddRange(docs.Take(1000));
            w.Commit();
        }
        var first = IndexReader.Open(dir);
        using (var w = IndexWriter.Open(dir))
        {
            w.AddRange(docs.Skip(1000));
            w.Delete(docs[10].Id);
            w.Commit();
        }
        using var second = IndexReader.Open(dir, reuse: first);
        using var fresh = IndexReader.Open(dir);
        Assert.Equal(2, second.Segments.Count);
        Assert.Equal(docs.Count - 1, second.LiveDocs);
        Assert.True(first.Segments[0].LiveDocs == 1000, "the old reader keeps its own deletions");
        AssertSameRankings(fresh, second);
        // the shared files stay open for the new reader after the old one closes
        first.Dispose();
        AssertSameRankings(fresh, second);
        Assert.Equal(docs[500].Text, second.GetDocument(docs[500].Id)!.Text);
    }

    [Fact]
    public void A_refresh_that_fails_is_retried_by_the_next_search()
    {
        string dir = _dir["idx"];
        TestIndexes.Write(dir, TestIndexes.Small);
        var problems = new List<Exception>();
        using var manager = new ReaderManager(dir) { RefreshFailed = problems.Add };
        string hidden;
        using (var w = IndexWriter.Open(dir))
        {
            w.Add(new Document("n1", "zebra", "stripes"));
            w.Commit();
            hidden = Path.Combine(dir, w.LastCommit.Segments[^1].Name + ".post");
        }
        // the new segment cannot be opened (as when the process is out of file descriptors)
        File.Move(hidden, hidden + ".away");
        Assert.False(manager.TryRefresh());
        Assert.Single(problems);
        using (var lease = manager.Acquire()) Assert.Empty(new Bm25Searcher(lease.Reader).Search("zebra", 10)); // retried, failed again
        Assert.Equal(2, problems.Count);
        File.Move(hidden + ".away", hidden);
        using (var lease = manager.Acquire()) Assert.Single(new Bm25Searcher(lease.Reader).Search("zebra", 10));
        Assert.Equal(2, problems.Count);
    }

    [Fact]
    public void A_background_merge_carries_over_deletions_made_while_it_ran_and_ranks_as_before()
    {
        var docs = Cranfield();
        string dir = _dir["merged"], plain = _dir["plain"];
        var deletedDuring = new[] { docs[5].Id, docs[150].Id, docs[1399].Id };
        // the same commits on two indexes; one of them merges in the background meanwhile
        using var w = IndexWriter.Open(dir);
        using var p = IndexWriter.Open(plain);
        for (int i = 0; i < 1000; i += 100)
        {
            foreach (var x in new[] { w, p })
            {
                x.AddRange(docs.Skip(i).Take(100));
                x.Commit(); // ten level-0 segments
            }
        }
        var merge = w.StartMerge(MergePolicy.Default) ?? throw new Xunit.Sdk.XunitException("ten small segments should merge");
        Assert.Null(w.StartMerge(MergePolicy.Default)); // the segments being merged are not picked twice
        Assert.Equal(1000, merge.Documents);
        foreach (var x in new[] { w, p })
        {
            x.AddRange(docs.Skip(1000));
            foreach (var id in deletedDuring) Assert.True(x.Delete(id)); // two of them in segments being merged
            x.Commit(); // commits go on during the merge: its files must survive them
        }
        merge.Run();
        w.FinishMerge(merge);
        w.Commit();
        Assert.Equal(2, w.LastCommit.Segments.Count);
        Assert.Equal(2, w.LastCommit.Segments[0].DeleteCount);
        using var merged = IndexReader.Open(dir);
        using var unmerged = IndexReader.Open(plain);
        Assert.Equal(docs.Count - 3, merged.LiveDocs);
        foreach (var id in deletedDuring) Assert.Null(merged.GetDocument(id));
        AssertSameRankings(unmerged, merged);
    }

    [Fact]
    public void An_abandoned_background_merge_leaves_no_files_and_the_index_as_it_was()
    {
        string dir = _dir["idx"];
        var docs = Cranfield();
        using var w = IndexWriter.Open(dir);
        for (int i = 0; i < 1000; i += 100)
        {
            w.AddRange(docs.Skip(i).Take(100));
            w.Commit();
        }
        var before = Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var merge = w.StartMerge(MergePolicy.Default)!;
        merge.Run();
        w.AbandonMerge(merge);
        Assert.Equal(before, Directory.GetFiles(dir).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList());
        Assert.NotNull(w.StartMerge(MergePolicy.Default)); // the segments can be merged again
    }
}
