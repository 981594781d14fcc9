using Relevo.Collections;
using Relevo.Index;
using Relevo.Sharding;

namespace Relevo.Tests.Index;

/// <summary>Segments merge by a log policy at commits, by CommitMerged (a batch's own segments) and by ForceMerge; none
/// of it changes a ranking, ties included, on an ordinary index or on shards (whose documents keep their ordinals).</summary>
public class MergeTests
{
    private static readonly MergePolicy Policy = MergePolicy.Default;

    [Fact]
    public void Nine_small_segments_wait_for_a_tenth()
    {
        Assert.Null(Policy.FindMerge([.. Enumerable.Repeat(500L, 9)]));
        Assert.Equal((0, 10), Policy.FindMerge([.. Enumerable.Repeat(500L, 10)]));
    }

    [Fact]
    public void The_newest_run_of_one_level_merges_and_larger_segments_are_left_alone()
    {
        // a level-1 segment (200k docs), then eleven small ones: the newest ten merge
        List<long> live = [200_000, .. Enumerable.Repeat(1_000L, 11)];
        Assert.Equal((2, 10), Policy.FindMerge(live));
        // ten level-1 segments merge into a level-2 one; small segments after them do not join
        List<long> big = [.. Enumerable.Repeat(150_000L, 10), 5, 5];
        Assert.Equal((0, 10), Policy.FindMerge(big));
        // nor does a run that mixes levels
        Assert.Null(Policy.FindMerge([150_000, .. Enumerable.Repeat(1_000L, 9)]));
    }

    [Fact]
    public void Segments_carrying_different_data_do_not_merge_together()
    {
        // the oldest segment has vectors, nine later ones do not: merging them would drop the vectors
        List<long> live = [.. Enumerable.Repeat(500L, 10)];
        List<string> kinds = ["vectors/arctic-xs", .. Enumerable.Repeat("", 9)];
        Assert.Null(Policy.FindMerge(live, kinds));
        kinds.Add("");
        live.Add(500);
        Assert.Equal((1, 10), Policy.FindMerge(live, kinds));
    }

    [Fact]
    public void No_merge_grows_past_the_largest_merged_size()
    {
        var policy = MergePolicy.Default with { MaxMergedDocs = 50_000 };
        Assert.Null(policy.FindMerge([.. Enumerable.Repeat(9_000L, 10)]));
        Assert.Equal((0, 10), policy.FindMerge([.. Enumerable.Repeat(5_000L, 10)]));
    }

    [Fact]
    public void Many_small_commits_stay_few_segments_and_rank_like_one_index()
    {
        var docs = TiedCorpus(3_000);
        using var tmp = new TempDir();
        using (var w = SearchIndex.OpenWriter(tmp["one"], new WriterOptions()))
        {
            w.AddRange(docs);
            w.Commit();
        }
        using (var w = SearchIndex.OpenWriter(tmp["many"], new WriterOptions()))
        {
            for (int i = 0; i < docs.Count; i += 25)
            {
                w.AddRange(docs.Skip(i).Take(25));
                w.Commit(); // 120 commits
            }
        }
        var manifest = Manifest.Read(tmp["many"]);
        // 120 flushes of 25 documents, all on level 0: merged ten at a time, with fewer than ten left over at the end
        Assert.InRange(manifest.Segments.Count, 2, 19);
        AssertSameRankings(tmp["one"], tmp["many"]);
    }

    [Fact]
    public void Without_merging_every_commit_keeps_its_segment()
    {
        var docs = TiedCorpus(300);
        using var tmp = new TempDir();
        using (var w = SearchIndex.OpenWriter(tmp["i"], new WriterOptions { MergeSegments = false }))
        {
            for (int i = 0; i < docs.Count; i += 20)
            {
                w.AddRange(docs.Skip(i).Take(20));
                w.Commit();
            }
        }
        Assert.Equal(15, Manifest.Read(tmp["i"]).Segments.Count);
    }

    [Fact]
    public void CommitMerged_merges_the_batch_and_leaves_the_segments_it_found()
    {
        var docs = TiedCorpus(2_000);
        using var tmp = new TempDir();
        using (var w = SearchIndex.OpenWriter(tmp["one"], new WriterOptions()))
        {
            w.AddRange(docs);
            w.Commit();
        }
        string first;
        using (var w = SearchIndex.OpenWriter(tmp["two"], new WriterOptions()))
        {
            w.AddRange(docs.Take(500));
            w.Commit();
            first = Manifest.Read(tmp["two"]).Segments.Single().Name;
        }
        // a small RAM budget flushes the batch into many segments
        using (var w = SearchIndex.OpenWriter(tmp["two"], new WriterOptions { RamBudgetBytes = 64 << 10, MergeSegments = false }))
        {
            w.AddRange(docs.Skip(500));
            w.CommitMerged();
        }
        var segments = Manifest.Read(tmp["two"]).Segments;
        Assert.Equal(2, segments.Count);
        Assert.Equal(first, segments[0].Name);
        Assert.Equal(1_500, segments[1].MaxDoc);
        AssertSameRankings(tmp["one"], tmp["two"]);
    }

    [Fact]
    public void Shards_merging_by_policy_and_by_force_keep_their_ordinals()
    {
        // ties break by the order documents were added (each document's ordinal); merges inside a shard must keep it
        var docs = TiedCorpus(2_000);
        using var tmp = new TempDir();
        using (var w = SearchIndex.OpenWriter(tmp["one"], new WriterOptions()))
        {
            w.AddRange(docs);
            w.Commit();
        }
        using (var w = SearchIndex.OpenWriter(tmp["sharded"], new WriterOptions { Shards = 2 }))
        {
            for (int i = 0; i < docs.Count; i += 40)
            {
                w.AddRange(docs.Skip(i).Take(40));
                w.Commit(); // 50 cluster-wide commits: each shard merges by policy
            }
        }
        var manifest = ShardedManifest.Read(tmp["sharded"]);
        foreach (var shard in manifest.Shards) Assert.InRange(shard.Commit.Segments.Count, 1, 12);
        AssertSameRankings(tmp["one"], tmp["sharded"]);
        using (var w = SearchIndex.OpenWriter(tmp["sharded"], new WriterOptions()))
            w.ForceMerge();
        foreach (var shard in ShardedManifest.Read(tmp["sharded"]).Shards) Assert.Single(shard.Commit.Segments);
        AssertSameRankings(tmp["one"], tmp["sharded"]);
    }

    /// <summary>Documents over a vocabulary of twelve words, many with the same text (so equal scores abound and the
    /// order of documents decides between them).</summary>
    private static List<Document> TiedCorpus(int n)
    {
        string[] words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma", "omega", "rho"];
        var random = new Random(5);
        var docs = new List<Document>(n);
        for (int i = 0; i < n; i++)
        {
            int length = 2 + random.Next(4);
            var text = new string[length];
            for (int j = 0; j < length; j++) text[j] = words[random.Next(words.Length)];
            docs.Add(new Document($"d{i}", "", string.Join(' ', text)));
        }
        return docs;
    }

    private static readonly string[] Queries = ["alpha", "beta gamma", "delta epsilon zeta", "omega", "rho sigma alpha", "kappa lambda theta beta"];

    private static void AssertSameRankings(string expectedDir, string actualDir)
    {
        using var expected = SearchIndex.Open(expectedDir);
        using var actual = SearchIndex.Open(actualDir);
        foreach (var q in Queries)
        {
            var x = expected.Search(q, k: 200).Hits;
            var y = actual.Search(q, k: 200).Hits;
            Assert.Equal(x.Count, y.Count);
            int ties = 0;
            for (int i = 0; i < x.Count; i++)
            {
                Assert.True(x[i].Id == y[i].Id && x[i].Score == y[i].Score,
                    $"'{q}' rank {i + 1}: {x[i].Id} {x[i].Score} vs {y[i].Id} {y[i].Score}");
                if (i > 0 && x[i].Score == x[i - 1].Score) ties++;
            }
            Assert.True(ties > 10, $"'{q}': only {ties} ties; the corpus should make many");
        }
    }
}
