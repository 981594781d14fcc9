using Relevo.Index;
using Relevo.Search;

namespace Relevo.Tests.Index;

public sealed class ReaderManagerTests : IDisposable
{
    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void A_lease_keeps_its_snapshot_across_a_refresh_and_new_leases_see_the_commit()
    {
        TestIndexes.Write(_dir["idx"], TestIndexes.Small);
        using var manager = new ReaderManager(_dir["idx"]);
        var old = manager.Acquire();
        Assert.False(manager.Refresh()); // nothing new

        using (var w = IndexWriter.Open(_dir["idx"], new IndexWriterOptions { ReplaceExisting = true }))
        {
            w.Add(new Document("n1", "zebra", "stripes"));
            w.Delete("d1");
            w.Commit();
            w.ForceMerge(); // removes the old segment's files from the folder
        }
        Assert.True(manager.Refresh());

        // The old lease still searches its own commit, although its files were deleted by the merge.
        Assert.Empty(new Bm25Searcher(old.Reader).Search("zebra", 10));
        Assert.Single(new Bm25Searcher(old.Reader).Search("deficiency", 10));
        using (var fresh = manager.Acquire())
        {
            Assert.Single(new Bm25Searcher(fresh.Reader).Search("zebra", 10));
            Assert.Empty(new Bm25Searcher(fresh.Reader).Search("deficiency", 10));
            Assert.True(fresh.Reader.Manifest.Generation > old.Reader.Manifest.Generation);
        }
        old.Dispose();
        old.Dispose(); // releasing twice is harmless
        Assert.Throws<ObjectDisposedException>(() => old.Reader);
    }

    [Fact]
    public void Leases_taken_and_released_from_many_threads_during_refreshes_never_see_a_closed_reader()
    {
        TestIndexes.Write(_dir["idx"], TestIndexes.Small);
        using var manager = new ReaderManager(_dir["idx"]);
        using var stop = new CancellationTokenSource();
        long searches = 0;
        var searchers = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
        {
            int n = 0;
            while (!stop.IsCancellationRequested)
            {
                using var lease = manager.Acquire();
                Assert.NotEmpty(new Bm25Searcher(lease.Reader).Search("vitamin", 10));
                n++;
                Interlocked.Increment(ref searches);
            }
            return n;
        })).ToArray();
        using (var w = IndexWriter.Open(_dir["idx"], new IndexWriterOptions { ReplaceExisting = true }))
        {
            for (int i = 0; i < 20; i++)
            {
                w.Add(new Document("v" + i, "vitamin", "more " + i));
                w.Commit();
                Assert.True(manager.Refresh());
                long seen = Interlocked.Read(ref searches);
                Assert.True(SpinWait.SpinUntil(() => Interlocked.Read(ref searches) >= seen + 2, TimeSpan.FromSeconds(10)));
            }
        }
        stop.Cancel();
        Assert.True(searchers.Sum(t => t.Result) >= 40); // .Result rethrows any failure of a searcher
        using var last = manager.Acquire();
        Assert.Equal(25, last.Reader.LiveDocs);
    }
}
