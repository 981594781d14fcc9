using System.Diagnostics;
using Relevo.Cluster;
using Relevo.Collections;
using Relevo.Sharding;
using Xunit.Abstractions;

namespace Relevo.IntegrationTests.Cluster;

/// <summary>Three `relevo silo` processes, each with its own folder (simulated machines), serve 4 SciFact shards × 2
/// copies. A client streams acknowledged writes (held-out SciFact documents, one per commit) and searches, each search
/// checked against one ordinary index that gets the same acknowledged documents in the same order. Each silo in turn is
/// killed with SIGKILL and its folder deleted: every acknowledged document must still be found, every ranking must
/// equal the single index's, the cluster must be back to two in-sync copies of every shard within 10 s, and the silo,
/// restarted on its (empty) folder, must get copies again and serve. Needs `redis-server` (.ci/run installs it).</summary>
public sealed class ReplicatedSiloFailureTests(ITestOutputHelper output)
{
    /// <summary>The stated recovery bound: from the kill until every shard has two in-sync copies on live silos, and
    /// until the first search after the kill is answered.</summary>
    public static readonly TimeSpan Recovery = TimeSpan.FromSeconds(10);

    private const int HeldOut = 150;

    [Fact]
    public async Task KillingEachSiloAndDeletingItsFolderLosesNoAcknowledgedWriteAndKeepsEveryRanking()
    {
        var dataset = TestData.Dataset("scifact");
        var corpus = JsonlReader.ReadCorpus(dataset.CorpusPath).ToList();
        int baseDocs = corpus.Count - HeldOut;
        using var data = new ShardedPair(dataset, maxDocs: baseDocs);
        var writes = corpus.Skip(baseDocs).ToList();
        data.Close();
        // the oracle: one ordinary index that gets each acknowledged document, in the same order
        using var single = SearchIndex.Open(data.SingleDir, new SearchIndexOptions { Writable = true });
        using var redis = RedisServerProcess.Start();
        string clusterId = "relevo-rep-" + Guid.NewGuid().ToString("N")[..8];
        string membership = $"redis://127.0.0.1:{redis.Port}";
        string nodes = Path.Combine(Path.GetTempPath(), "relevo-nodes-" + Guid.NewGuid().ToString("N")[..8]);
        var folders = Enumerable.Range(0, 3).Select(i => Path.Combine(nodes, $"silo{i}")).ToArray();
        var silos = new SiloProcess?[3];
        try
        {
            for (int i = 0; i < 3; i++) silos[i] = SiloProcess.Start(CliRunner.RelevoDll, membership, folders[i], clusterId);
            long created = await ClusterAdmin.WithClusterAsync(membership, clusterId, TimeSpan.FromSeconds(90),
                g => ClusterAdmin.CreateAsync(g, data.ShardedDir, replicas: 2, acks: 0, output.WriteLine));
            output.WriteLine($"created cluster version {created}");
            using var cluster = await RelevoCluster.ConnectAsync(membership, clusterId: clusterId, timeout: TimeSpan.FromSeconds(90));
            var index = (OrleansShards)((ShardedIndexSource)cluster.Source).Connection;
            await AssertCopiesAsync(index, silos, exclude: null);

            var acked = new List<string>();
            int next = 0, searches = 0;
            var random = new Random(7);
            var clock = Stopwatch.StartNew();

            // one step of the stream: a write (retried until acknowledged) and two searches, each checked
            async Task<TimeSpan> StepAsync()
            {
                var started = clock.Elapsed;
                if (next < writes.Count)
                {
                    var doc = writes[next++];
                    await WriteUntilAcknowledgedAsync(cluster, doc);
                    await single.AddAsync([doc]);
                    acked.Add(doc.Id);
                }
                for (int i = 0; i < 2; i++)
                {
                    var (id, text) = data.Queries[random.Next(data.Queries.Count)];
                    var expected = (await single.SearchAsync(text, "bm25", 10)).Hits;
                    var actual = (await cluster.SearchAsync(text, "bm25", 10)).Hits;
                    RankingComparison.AssertSame(RankingComparison.Compare(expected, actual, 10), $"query {id} after {acked.Count} writes");
                    Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
                    searches++;
                }
                return clock.Elapsed - started;
            }

            for (int i = 0; i < 10; i++) await StepAsync();
            for (int round = 0; round < 3; round++)
            {
                var victim = silos[round]!;
                string lostNode = victim.Node!;
                victim.Kill();
                var killedAt = clock.Elapsed;
                Directory.Delete(folders[round], recursive: true);
                output.WriteLine($"round {round}: killed silo {victim.SiloPort} (node {lostNode}) and deleted its folder at {killedAt.TotalSeconds:F1} s");
                victim.Dispose();
                silos[round] = null;

                // the stream goes on; the cluster drops the lost copies, promotes, and copies the shards again
                var slowest = TimeSpan.Zero;
                TimeSpan? restored = null;
                int ackedBefore = acked.Count;
                while (restored is null || clock.Elapsed - killedAt < TimeSpan.FromSeconds(3))
                {
                    var took = await StepAsync();
                    if (took > slowest) slowest = took;
                    if (restored is null && await FullyCopiedAsync(index, silos, lostNode)) restored = clock.Elapsed - killedAt;
                    Assert.True(clock.Elapsed - killedAt < TimeSpan.FromSeconds(60), "the cluster did not restore two copies of every shard within 60 s");
                }
                output.WriteLine($"round {round}: two in-sync copies of every shard again {restored!.Value.TotalSeconds:F2} s after the kill; " +
                                 $"slowest step (write + 2 searches) {slowest.TotalSeconds:F2} s; {acked.Count} writes acknowledged, {searches} searches checked");
                Assert.True(restored <= Recovery, $"recovery took {restored.Value.TotalSeconds:F1} s (bound {Recovery.TotalSeconds:F0} s)");
                Assert.True(acked.Count > ackedBefore, "no write was acknowledged between the kill and the silo's return");
                Assert.True(slowest <= Recovery, $"a step across the kill took {slowest.TotalSeconds:F1} s (bound {Recovery.TotalSeconds:F0} s)");
                await AssertAcknowledgedFoundAsync(cluster, acked);

                // the silo comes back on its empty folder: a new node, which gets copies and serves
                silos[round] = SiloProcess.Start(CliRunner.RelevoDll, membership, folders[round], clusterId);
                string fresh = silos[round]!.Node!;
                Assert.NotEqual(lostNode, fresh);
                var back = clock.Elapsed;
                while (!(await index.RoutingAsync()).Copies!.Any(c => c.Contains(fresh)))
                {
                    await StepAsync();
                    Assert.True(clock.Elapsed - back < TimeSpan.FromSeconds(60), $"the restarted node {fresh} got no copy within 60 s");
                }
                output.WriteLine($"round {round}: restarted node {fresh} holds copies {(clock.Elapsed - back).TotalSeconds:F2} s after it started");
                for (int i = 0; i < 10; i++) await StepAsync();
                await AssertCopiesAsync(index, silos, exclude: null);
            }
            await AssertAcknowledgedFoundAsync(cluster, acked);
            // every step writes one held-out document: 10 before the first kill, 10 after each return, and those during each failover
            Assert.True(acked.Count >= 40, $"only {acked.Count} writes were acknowledged");
            // the whole query set, after all three losses
            foreach (var (id, text) in data.Queries)
            {
                var expected = (await single.SearchAsync(text, "bm25", 10)).Hits;
                var actual = (await cluster.SearchAsync(text, "bm25", 10)).Hits;
                RankingComparison.AssertSame(RankingComparison.Compare(expected, actual, 10), $"query {id}");
                Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
            }
            // other pipelines on the replicas: query likelihood, fusion, feedback from the shards' documents
            foreach (string pipeline in new[] { "ql", "fuse(rrf,bm25,ql)", "bm25>>rm3>>bm25" })
                foreach (var (id, text) in data.Queries.Take(40))
                {
                    var expected = (await single.SearchAsync(text, pipeline, 10)).Hits;
                    var actual = (await cluster.SearchAsync(text, pipeline, 10)).Hits;
                    RankingComparison.AssertSame(RankingComparison.Compare(expected, actual, 10), $"{pipeline}, query {id}");
                    Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
                }
            // a server that joins the cluster as a silo of its own (`relevo serve --cluster … --silo-data DIR`) ranks the same,
            // once the writer's balancing gave its node copies (which it then reads in process, the rest from other silos)
            using (var joined = await RelevoCluster.JoinAsync(membership, Path.Combine(nodes, "joined"), clusterId: clusterId, timeout: TimeSpan.FromSeconds(60)))
            {
                string joinedNode = ClusterHosting.NodeOf(Path.Combine(nodes, "joined"))!;
                var waiting = clock.Elapsed;
                while (!(await index.RoutingAsync()).Copies!.Any(c => c.Contains(joinedNode)))
                {
                    Assert.True(clock.Elapsed - waiting < TimeSpan.FromSeconds(60), $"the joined node {joinedNode} got no copy within 60 s");
                    await Task.Delay(200);
                }
                foreach (var (id, text) in data.Queries.Take(40))
                {
                    var expected = (await single.SearchAsync(text, "bm25", 10)).Hits;
                    var actual = (await joined.SearchAsync(text, "bm25", 10)).Hits;
                    RankingComparison.AssertSame(RankingComparison.Compare(expected, actual, 10), $"joined, query {id}");
                    Assert.Equal(expected.Select(h => h.Id), actual.Select(h => h.Id));
                }
            }
            output.WriteLine($"{acked.Count} writes acknowledged, {searches + data.Queries.Count + 160} searches equal to the single index's");
        }
        catch
        {
            // what the silos logged (copies, removals, the writer's decisions), for a failure in CI
            foreach (var s in silos)
                if (s is not null) output.WriteLine($"--- silo {s.SiloPort} (node {s.Node}):\n{string.Join('\n', s.Log.Split('\n').Where(l => l.Contains("Relevo", StringComparison.Ordinal) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)).TakeLast(80))}");
            throw;
        }
        finally
        {
            foreach (var s in silos) s?.Dispose();
            try { Directory.Delete(nodes, recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Adds one document, retrying while the cluster recovers. After a failed attempt the client first looks
    /// the document up: a commit whose answer was lost may have landed (as a careful client of any replicated store
    /// does), and adding it again would replace it.</summary>
    private static async Task WriteUntilAcknowledgedAsync(SearchIndex cluster, Document doc)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            try
            {
                await cluster.AddAsync([doc]);
                return;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
                try
                {
                    if (await cluster.GetDocumentAsync(doc.Id) is not null) return;
                }
                catch (Exception) when (DateTime.UtcNow < deadline) { }
            }
        }
    }

    private static async Task AssertAcknowledgedFoundAsync(SearchIndex cluster, List<string> acked)
    {
        foreach (var id in acked)
            Assert.True(await cluster.GetDocumentAsync(id) is not null, $"acknowledged document {id} is lost");
    }

    /// <summary>Every shard has two copies, all on live silos, none on <paramref name="lost"/>.</summary>
    private static async Task<bool> FullyCopiedAsync(OrleansShards index, SiloProcess?[] silos, string lost)
    {
        var live = silos.Where(s => s is not null).Select(s => s!.Node!).ToHashSet();
        var routing = await index.RoutingAsync();
        return routing.Copies!.All(c => c.Length == 2 && c.All(live.Contains) && !c.Contains(lost));
    }

    private static async Task AssertCopiesAsync(OrleansShards index, SiloProcess?[] silos, string? exclude)
    {
        var routing = await index.RoutingAsync();
        var live = silos.Where(s => s is not null).Select(s => s!.Node!).ToHashSet();
        foreach (var copies in routing.Copies!)
        {
            Assert.Equal(2, copies.Length);
            Assert.Equal(2, copies.Distinct().Count());
            Assert.All(copies, c => Assert.Contains(c, live));
            if (exclude is not null) Assert.DoesNotContain(exclude, copies);
        }
    }
}
