using System.Diagnostics;
using Relevo.Collections;
using Relevo.Index;

namespace Relevo.Bench;

/// <summary>Where Relevo's indexing time goes: reading the corpus, adding (analysis and inversion, flushes), commit,
/// and the merge to one segment; with a chosen number of analysis threads.</summary>
internal sealed class IndexBenchmark : IBenchmark
{
    public string Name => "index";
    public string Description => "Relevo indexing phases: --corpus FILE --work DIR [--threads cores] [--ram-mb 256]";

    public int Run(BenchOptions o)
    {
        string corpus = o.String("corpus") ?? throw new ArgumentException("--corpus FILE is required");
        string work = o.String("work") ?? Path.Combine(Path.GetTempPath(), "relevo-index-bench");
        int threads = o.Int("threads", Environment.ProcessorCount);
        long ram = o.Int("ram-mb", 256) * (1L << 20);
        var sw = Stopwatch.StartNew();
        long n = 0;
        foreach (var d in JsonlReader.ReadCorpus(corpus)) n += d.Id.Length > 0 ? 1 : 0;
        Console.WriteLine($"read {n:N0} documents: {sw.Elapsed.TotalSeconds:F1} s");
        var docs = new List<Document>(JsonlReader.ReadCorpus(corpus));
        var analyzer = Relevo.Analysis.Analyzer.Create("english");
        var sink = new CountingSink();
        sw.Restart();
        foreach (var d in docs) analyzer.Analyze(d.IndexedText, sink);
        Console.WriteLine($"analysis only, one thread: {sw.Elapsed.TotalSeconds:F1} s, {sink.Count:N0} terms");
        docs = null;
        string indexDir = work;
        global::Relevo.Index.IndexFolder.DeleteIndex(indexDir); // only an index's own files; anything else is refused
        using var w = IndexWriter.Open(indexDir, new IndexWriterOptions { RamBudgetBytes = ram });
        sw.Restart();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        CorpusIndexer.AddCorpus(w, corpus, threads: threads);
        Console.WriteLine($"add: cpu {(Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalSeconds:F1} s");
        Console.WriteLine($"add ({threads} analysis threads): {sw.Elapsed.TotalSeconds:F1} s; GC pauses so far {GC.GetTotalPauseDuration().TotalSeconds:F1} s, gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
        sw.Restart();
        w.Commit();
        Console.WriteLine($"commit: {sw.Elapsed.TotalSeconds:F1} s, {Manifest.Read(indexDir).Segments.Count} segments");
        sw.Restart();
        w.ForceMerge();
        Console.WriteLine($"merge to one segment: {sw.Elapsed.TotalSeconds:F1} s");
        return 0;
    }

    private sealed class CountingSink : Relevo.Analysis.ITermSink
    {
        public long Count;
        public void OnTerm(ReadOnlySpan<char> term) => Count++;
    }
}
