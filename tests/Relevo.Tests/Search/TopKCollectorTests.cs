using Relevo.Search;

namespace Relevo.Tests.Search;

/// <summary>The top-k collector: buffered collection (selection in batches) must keep exactly what one heap update
/// per document keeps, ties by smaller document number, for any k and any mix of the two ways.</summary>
public class TopKCollectorTests
{
    private static (int[] Docs, float[] Scores) Drain(TopKCollector c)
    {
        var docs = new int[c.Capacity];
        var scores = new float[c.Capacity];
        int n = c.DrainInto(docs, scores);
        return (docs[..n], scores[..n]);
    }

    /// <summary>The reference: sort every offered (doc, score) by score descending, then doc ascending.</summary>
    private static (int[] Docs, float[] Scores) Expected(List<(int Doc, float Score)> offered, int k)
    {
        var sorted = offered.OrderByDescending(x => x.Score).ThenBy(x => x.Doc).Take(k).ToArray();
        return (sorted.Select(x => x.Doc).ToArray(), sorted.Select(x => x.Score).ToArray());
    }

    [Theory]
    [InlineData(1)]
    [InlineData(10)]
    [InlineData(100)]
    [InlineData(1000)]
    [InlineData(3000)]
    public void BufferedEqualsHeap(int k)
    {
        var random = new Random(k);
        var buffered = new TopKCollector(4);
        var heap = new TopKCollector(4);
        for (int round = 0; round < 30; round++)
        {
            buffered.Reset(k);
            heap.Reset(k);
            int n = random.Next(0, 12_000);
            int distinct = random.Next(3) switch { 0 => 5, 1 => 300, _ => 1_000_000 }; // many ties, some, few
            var offered = new List<(int, float)>(n);
            float threshold = float.NegativeInfinity;
            for (int i = 0; i < n; i++)
            {
                int doc = random.Next(3) == 0 ? random.Next(1 << 30) : i; // also out-of-order doc numbers
                float score = random.Next(distinct) / 7f - (random.Next(20) == 0 ? 50f : 0f); // some negative
                if (random.Next(50) == 0) score = random.Next(2) == 0 ? 0f : -0f;
                offered.Add((doc, score));
                heap.Collect(doc, score);
                if (round % 2 == 0) buffered.CollectBuffered(doc, score);
                else buffered.CollectBuffered([doc - 3], [score], 3); // the batch form, one pair at a time
                // the threshold while buffering never passes the true one (a safe bound for pruning)
                Assert.True(buffered.Threshold <= heap.Threshold);
                Assert.True(buffered.Threshold >= threshold);
                threshold = buffered.Threshold;
            }
            var expected = Expected(offered, k);
            var a = Drain(heap);
            var b = Drain(buffered);
            Assert.Equal(expected.Docs, a.Docs);
            Assert.Equal(expected.Docs, b.Docs);
            Assert.Equal(expected.Scores, b.Scores);
        }
    }

    [Fact]
    public void BatchesEqualSingleOffers()
    {
        var random = new Random(5);
        var one = new TopKCollector(700);
        var batch = new TopKCollector(700);
        var docs = new int[3000];
        var scores = new float[3000];
        for (int round = 0; round < 20; round++)
        {
            int n = random.Next(docs.Length);
            for (int i = 0; i < n; i++)
            {
                docs[i] = round * 10_000 + i;
                scores[i] = random.Next(400) / 3f;
                one.CollectBuffered(docs[i] + 100, scores[i]);
            }
            batch.CollectBuffered(docs.AsSpan(0, n), scores.AsSpan(0, n), 100);
        }
        Assert.Equal(Drain(one).Docs, Drain(batch).Docs);
        Assert.Throws<ArgumentException>(() => batch.CollectBuffered(docs.AsSpan(0, 2), scores.AsSpan(0, 1), 0));
    }

    [Fact]
    public void MixingCollectAndBufferedKeepsTheBest()
    {
        var random = new Random(3);
        var c = new TopKCollector(500);
        var offered = new List<(int, float)>();
        for (int i = 0; i < 20_000; i++)
        {
            int doc = random.Next(1_000_000);
            float score = random.Next(2000) / 13f;
            offered.Add((doc, score));
            if ((i / 777) % 2 == 0) c.CollectBuffered(doc, score); else c.Collect(doc, score);
            if (i % 5000 == 0) c.Flush();
        }
        var expected = Expected(offered, 500);
        var drained = c.Drain();
        Assert.Equal(expected.Docs, drained.Select(x => x.Doc).ToArray());
        Assert.Equal(expected.Scores, drained.Select(x => x.Score).ToArray());
        // the collector is reusable after a drain, also with a smaller k
        c.Reset(3);
        c.CollectBuffered(5, 1f);
        c.CollectBuffered(4, 1f);
        c.CollectBuffered(9, 2f);
        c.CollectBuffered(1, 0.5f);
        Assert.Equal(4, c.PendingCount);
        var (docs, scores) = Drain(c);
        Assert.Equal([9, 4, 5], docs);
        Assert.Equal([2f, 1f, 1f], scores);
    }
}
