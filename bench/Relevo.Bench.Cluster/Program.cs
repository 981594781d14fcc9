using System.Diagnostics;
using System.Globalization;
using Relevo;
using Relevo.Analysis;
using Relevo.Cluster;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Pipelines;
using Relevo.Search;
using Relevo.Sharding;
using Microsoft.Extensions.DependencyInjection;

// Scatter-gather overhead and throughput of a sharded index: one index in process, the same documents in N shards in
// process (statistics round trip + merge, no network), served by 1 and by 3 `relevo silo` processes on loopback over
// one shared folder, and by 3 silos that each keep copies in their own folder (N shards × 2 copies; reads spread over
// the copies) (Orleans, Redis membership). For each Orleans setup it also times every query in process and through
// the setup back to back, and prints the overhead so measured at the end. docs/benchmarks.md has the results and the
// command.
//
//   dotnet run -c Release --project bench/Relevo.Bench.Cluster -- --dataset ../shared/datasets/scifact [--shards 4]
//     [--k 10] [--clients 1,8,32] [--seconds 10] [--rounds 2] [--work /tmp/rbc] [--setups all|replicated]
//
// --work: the indexes are built there once (in "single" and "sharded") and reused. The harness deletes only folders it
// recorded as its own there (in .relevo-bench-cluster); a "single" or "sharded" it did not make stops it.

var opts = Options.Parse(args);
string dataset = opts.Get("dataset", Path.Combine("..", "shared", "datasets", "scifact"));
int shards = opts.Int("shards", 4), k = opts.Int("k", 10), seconds = opts.Int("seconds", 10), rounds = opts.Int("rounds", 2);
int[] clientCounts = opts.Get("clients", "1,8,32").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
bool onlyReplicated = opts.Get("setups", "all") == "replicated";
string work = opts.Get("work", Path.Combine(Path.GetTempPath(), "relevo-bench-cluster"));
var data = BeirDataset.FromFolder(dataset);
Console.WriteLine($"cluster bench: {Environment.ProcessorCount} cores, .NET {Environment.Version}; {data.Name}, {shards} shards, k={k}, " +
                  $"{string.Join("/", clientCounts)} clients for throughput; load average {File.ReadAllText("/proc/loadavg").Split(' ')[0]}");

string single = Path.Combine(work, "single"), sharded = Path.Combine(work, "sharded");
if (!Manifest.Exists(single) || !ShardedManifest.Exists(sharded) || ShardedManifest.Read(sharded).ShardCount != shards)
{
    if (WorkFolder.Prepare(work, ["single", "sharded"]) is { } refusal)
    {
        Console.Error.WriteLine(refusal);
        return 2;
    }
    Console.WriteLine($"indexing {data.CorpusPath} into {work} (one index, and {shards} shards)");
    using (var w = SearchIndex.OpenWriter(single)) { w.AddCorpus(data.CorpusPath); w.ForceMerge(); }
    using (var w = SearchIndex.OpenWriter(sharded, new WriterOptions { Shards = shards })) { w.AddCorpus(data.CorpusPath); w.Commit(); }
}
var queryTexts = JsonlReader.ReadQueries(data.QueriesPath).Select(q => q.Text).ToList();
using var reader = IndexReader.Open(single);
var bm25 = new Bm25Searcher(reader);
var queries = queryTexts.Select(t => Query.Parse(t, bm25.Analyzer)).Where(q => q.Terms.Count > 0).ToList();
Console.WriteLine($"{queries.Count} queries");

// one query's time in ms, waited for on this thread
double Time(Func<Query, Task<int>> search, Query q)
{
    long t0 = Stopwatch.GetTimestamp();
    search(q).GetAwaiter().GetResult();
    return Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
}

var oneClient = new Dictionary<string, (double Mean, double P50, double P90, double P99)>();
void Measure(string name, Func<Query, Task<int>> search)
{
    // warm-up, not counted: the most clients for up to 5 s (every process's code reaches its optimized tier)
    Loops(clientCounts.Max(), Math.Min(seconds, 5));
    // throughput: n concurrent loops over the queries for `seconds`, for each n of --clients
    var qps = new List<string>();
    List<double>? every = null;
    foreach (int clients in clientCounts)
        qps.Add(Loops(clients, seconds, clients == 1 ? every = [] : null).ToString("N0", CultureInfo.InvariantCulture));
    if (every is { Count: > 0 })
    {
        // one client: every query's time, not only the best of rounds (the host's scheduling stalls included)
        every.Sort();
        var all = (Mean: every.Average(), P50: every[every.Count / 2], P90: every[every.Count * 9 / 10], P99: every[every.Count * 99 / 100]);
        oneClient[name] = all;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  one client, every one of {every.Count:N0} queries: mean {all.Mean:F3}, p50 {all.P50:F3}, p90 {all.P90:F3}, p99 {all.P99:F3} ms"));
    }
    // latency, after two more passes over every query
    for (int i = 0; i < 2; i++) foreach (var q in queries) search(q).GetAwaiter().GetResult();
    var best = new double[queries.Count];
    Array.Fill(best, double.MaxValue);
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < queries.Count; i++) best[i] = Math.Min(best[i], Time(search, queries[i]));
    var sorted = best.Order().ToArray();
    double mean = best.Average(), p50 = sorted[sorted.Length / 2], p99 = sorted[(int)(sorted.Length * 0.99)];
    string row = string.Create(CultureInfo.InvariantCulture, $"| {name} | {mean:F3} | {p50:F3} | {p99:F3} | {string.Join(" | ", qps)} |");
    Console.WriteLine(row);

    // queries per second of `clients` concurrent loops over the queries for `secs` seconds
    double Loops(int clients, int secs, List<double>? times = null)
    {
        long done = 0;
        var stop = DateTime.UtcNow + TimeSpan.FromSeconds(secs);
        var sw = Stopwatch.StartNew();
        var loops = Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            for (int i = c; DateTime.UtcNow < stop; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                await search(queries[i % queries.Count]);
                times?.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds); // (one loop only)
                Interlocked.Increment(ref done);
            }
        })).ToArray();
        Task.WaitAll(loops);
        return done / sw.Elapsed.TotalSeconds;
    }
}

// The overhead of a setup over the shards in process, measured interleaved: each query runs in process and through the
// setup back to back, so that the host's other tenants weigh on both alike; which runs first alternates by query and by
// round (so each follows the other as often as itself). Per query the best of --rounds counts for each, as in Measure.
var overheads = new List<string>();
void Interleaved(string name, Func<Query, Task<int>> inProcess, Func<Query, Task<int>> setup)
{
    foreach (var q in queries) { inProcess(q).GetAwaiter().GetResult(); setup(q).GetAwaiter().GetResult(); }
    var bestIn = new double[queries.Count];
    var bestSetup = new double[queries.Count];
    Array.Fill(bestIn, double.MaxValue);
    Array.Fill(bestSetup, double.MaxValue);
    for (int r = 0; r < Math.Max(rounds, 2); r++)
        for (int i = 0; i < queries.Count; i++)
        {
            if ((r + i) % 2 == 0)
            {
                bestIn[i] = Math.Min(bestIn[i], Time(inProcess, queries[i]));
                bestSetup[i] = Math.Min(bestSetup[i], Time(setup, queries[i]));
            }
            else
            {
                bestSetup[i] = Math.Min(bestSetup[i], Time(setup, queries[i]));
                bestIn[i] = Math.Min(bestIn[i], Time(inProcess, queries[i]));
            }
        }
    var differences = new double[queries.Count];
    for (int i = 0; i < differences.Length; i++) differences[i] = bestSetup[i] - bestIn[i];
    Array.Sort(differences);
    string row = string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {bestIn.Average():F3} | {bestSetup.Average():F3} | {bestSetup.Average() - bestIn.Average():F3} | {differences[differences.Length / 2]:F3} |");
    Console.WriteLine($"  interleaved: {row}");
    overheads.Add(row);
}

// BM25 top k over shards, without fetching documents: one ShardedTarget per query (it keeps the cluster version its
// query read), sharing the global statistics cache, as a sharded SearchIndex makes them.
var bm25Stage = (RetrieverStage)Pipeline.Parse("bm25", ExtensionRegistry.Core).Root;
Func<Query, Task<int>> Sharded(IReadOnlyList<IShardService> shardServices, string analyzerName)
{
    var analyzer = Analyzer.Create(analyzerName);
    var cache = new GlobalStatisticsCache();
    return async q => (await new ShardedTarget(shardServices, analyzer, cache)
        .RetrieveAsync(bm25Stage, new RetrievalRequest(q), k, CancellationToken.None).ConfigureAwait(false)).Length;
}

Console.WriteLine($"| setup | mean ms | p50 ms | p99 ms | {string.Join(" | ", clientCounts.Select(c => $"QPS ({c} client{(c > 1 ? "s" : "")})"))} |");
Console.WriteLine($"| --- | ---: | ---: | ---: | {string.Join(" | ", clientCounts.Select(_ => "---:"))} |");
if (!onlyReplicated) Measure("one index, in process", q => Task.FromResult(bm25.Search(q, k).Count));
var hosts = ShardedFolders.OpenLocal(sharded, ExtensionRegistry.Core);
var inProcess = Sharded(hosts, ShardedManifest.Read(sharded).Analyzer);
Measure($"{shards} shards, in process (statistics + merge)", inProcess);
string relevoDll = Path.Combine(AppContext.BaseDirectory, "relevo.dll");
using (var redis = RedisServerProcess.Start())
{
    foreach (int silos in onlyReplicated ? Array.Empty<int>() : [1, 3])
    {
        string clusterId = $"bench-{silos}-{Guid.NewGuid():N}"[..20];
        var processes = new List<SiloProcess>();
        try
        {
            for (int i = 0; i < silos; i++) processes.Add(SiloProcess.Start(relevoDll, redis.Membership, sharded, clusterId));
            using var index = await OrleansShards.ConnectAsync(Relevo.Cluster.Membership.Parse(redis.Membership), clusterId);
            var viaCluster = Sharded(index.Shards, index.Analyzer);
            Measure($"{shards} shards on {silos} silo{(silos > 1 ? "s" : "")}, one shared folder (Orleans, loopback)", viaCluster);
            Interleaved($"{shards} shards on {silos} silo{(silos > 1 ? "s" : "")}, one shared folder (Orleans, loopback)", inProcess, viaCluster);
            Console.WriteLine($"  placement: {string.Join(", ", await index.ShardSilosAsync())}");
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
        }
    }
    // three silos, each with its own folder (made here, removed after), holding shards × 2 copies
    {
        string clusterId = $"bench-r-{Guid.NewGuid():N}"[..20];
        string nodes = Path.Combine(Path.GetTempPath(), "relevo-bench-nodes-" + Guid.NewGuid().ToString("N")[..8]);
        var processes = new List<SiloProcess>();
        try
        {
            for (int i = 0; i < 3; i++) processes.Add(SiloProcess.Start(relevoDll, redis.Membership, Path.Combine(nodes, $"silo{i}"), clusterId));
            await ClusterAdmin.WithClusterAsync(redis.Membership, clusterId, TimeSpan.FromSeconds(60), g => ClusterAdmin.CreateAsync(g, sharded, 2, 0));
            using var index = await OrleansShards.ConnectAsync(Relevo.Cluster.Membership.Parse(redis.Membership), clusterId);
            var viaCluster = Sharded(index.Shards, index.Analyzer);
            Measure($"{shards} shards × 2 copies on 3 silos, each its own folder (Orleans, loopback)", viaCluster);
            Interleaved($"{shards} shards × 2 copies on 3 silos, each its own folder (Orleans, loopback)", inProcess, viaCluster);
            Console.WriteLine($"  {(await index.StatusAsync()).Replace("\n", "\n  ")}");
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
            if (Directory.Exists(nodes)) Directory.Delete(nodes, recursive: true); // made above
        }
    }
    // the same, but this process is the third silo (as `relevo serve --cluster … --silo-data DIR` runs): its calls go
    // straight to the silos hosting the shards, not through a gateway silo
    {
        string clusterId = $"bench-j-{Guid.NewGuid():N}"[..20];
        string nodes = Path.Combine(Path.GetTempPath(), "relevo-bench-nodes-" + Guid.NewGuid().ToString("N")[..8]);
        var processes = new List<SiloProcess>();
        try
        {
            for (int i = 0; i < 2; i++) processes.Add(SiloProcess.Start(relevoDll, redis.Membership, Path.Combine(nodes, $"silo{i}"), clusterId));
            var membership = Relevo.Cluster.Membership.Parse(redis.Membership);
            var host = await OrleansShards.StartSiloAsync(membership, Path.Combine(nodes, "silo2"), ExtensionRegistry.Core, clusterId);
            var grains = host.Services.GetRequiredService<IGrainFactory>();
            for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(500))
            {
                try { await ClusterAdmin.CreateAsync(grains, sharded, 2, 0); break; }
                catch (RelevoException e) when (e.Message.Contains("are live", StringComparison.Ordinal) && DateTime.UtcNow < deadline) { } // silos still joining
            }
            using var index = await OrleansShards.OpenAsync(host, clusterId, DateTime.UtcNow.AddSeconds(60));
            var viaCluster = Sharded(index.Shards, index.Analyzer);
            Measure($"{shards} shards × 2 copies on 3 silos, each its own folder, this process one of them (Orleans, loopback)", viaCluster);
            Interleaved($"{shards} shards × 2 copies on 3 silos, each its own folder, this process one of them (Orleans, loopback)", inProcess, viaCluster);
            Console.WriteLine($"  {(await index.StatusAsync()).Replace("\n", "\n  ")}");
        }
        finally
        {
            foreach (var p in processes) p.Dispose();
            if (Directory.Exists(nodes)) Directory.Delete(nodes, recursive: true); // made above
        }
    }
}
foreach (var h in hosts) h.Dispose();
if (overheads.Count > 0)
{
    Console.WriteLine();
    Console.WriteLine($"Overhead over {shards} shards in process, each query timed in process and through the setup back to back (best of {Math.Max(rounds, 2)} rounds per query):");
    Console.WriteLine("| setup | in process, mean ms | setup, mean ms | overhead, mean ms | overhead, median of per-query ms |");
    Console.WriteLine("| --- | ---: | ---: | ---: | ---: |");
    foreach (var row in overheads) Console.WriteLine(row);
    string shardsInProcess = $"{shards} shards, in process (statistics + merge)";
    if (oneClient.TryGetValue(shardsInProcess, out var baseline))
    {
        Console.WriteLine();
        Console.WriteLine($"Overhead over {shards} shards in process from the one-client throughput runs (every query, each setup in its own run):");
        Console.WriteLine("| setup | mean ms | p50 ms | p90 ms | p99 ms | overhead, mean ms | overhead, p50 ms |");
        Console.WriteLine("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var (name, a) in oneClient)
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {name} | {a.Mean:F3} | {a.P50:F3} | {a.P90:F3} | {a.P99:F3} | {a.Mean - baseline.Mean:F3} | {a.P50 - baseline.P50:F3} |"));
    }
}
return 0;

internal sealed class Options(Dictionary<string, string> values)
{
    public string Get(string name, string fallback) => values.GetValueOrDefault(name, fallback);
    public int Int(string name, int fallback) => values.TryGetValue(name, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public static Options Parse(string[] args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"unexpected argument '{args[i]}'");
            d[args[i][2..]] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        }
        return new Options(d);
    }
}

/// <summary>The --work folder: the harness deletes only subfolders it recorded in its marker file as made by itself.</summary>
internal static class WorkFolder
{
    public const string MarkerName = ".relevo-bench-cluster";

    /// <summary>Makes <paramref name="work"/> ready to build <paramref name="names"/> in: each of them that the marker
    /// records is deleted, and the marker records them all before anything is built (so that a run stopped half-way
    /// leaves folders the next run knows as its own). Returns why not, without deleting anything, when one of them
    /// exists without being recorded.</summary>
    public static string? Prepare(string work, IReadOnlyList<string> names)
    {
        string marker = Path.Combine(work, MarkerName);
        var recorded = File.Exists(marker)
            ? new HashSet<string>(File.ReadAllLines(marker), StringComparer.Ordinal)
            : new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            string path = Path.Combine(work, name);
            if (File.Exists(path) || (Directory.Exists(path) && !recorded.Contains(name)))
                return $"{path} exists and this benchmark did not create it (it is not recorded in {marker}), so it will " +
                       "not delete it; pass a new or empty --work folder, or move it away yourself";
        }
        Directory.CreateDirectory(work);
        File.WriteAllLines(marker, names);
        foreach (string name in names)
        {
            string path = Path.Combine(work, name);
            if (Directory.Exists(path)) Directory.Delete(path, recursive: true); // recorded: checked above
        }
        return null;
    }
}
