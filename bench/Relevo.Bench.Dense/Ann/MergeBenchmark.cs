using System.Diagnostics;
using System.Globalization;
using Relevo.Dense;
using Relevo.Index;

namespace Relevo.Bench.Dense.Ann;

/// <summary>How a merge should build the merged segment's graph, measured through the real merge
/// (<see cref="VectorComponent.Merge"/> under <c>DocumentWriter.ForceMerge</c>, as <c>relevo optimize</c> runs it): from
/// scratch, or starting from the largest source's graph and inserting the rest (merge-insert). An index of synthetic
/// vectors (<see cref="AnnData.Synthetic"/>) is written as segments of the given sizes, each with its graph; two copies
/// are merged into one segment, one each way; the merge time and the merged graph's recall@10 are reported.</summary>
internal static class MergeBenchmark
{
    public static int Run(Args options)
    {
        var sizes = options.Get("segments", "80000,20000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        int n = sizes.Sum(), queries = options.Int("queries", 500), dims = options.Int("dims", 384);
        int m = options.Int("m", HnswParameters.DefaultM), efc = options.Int("ef-construction", HnswParameters.DefaultEfConstruction);
        int ef = options.Int("ef", DenseSearcher.DefaultEf);
        var data = AnnData.Synthetic(n, queries, dims, options.Int("centres", 2000),
            float.Parse(options.Get("sigma", AnnData.DefaultSigma.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture), options.Int("seed", 42));
        string root = Path.Combine(Path.GetTempPath(), $"relevo-merge-bench-{Environment.ProcessId}");
        try
        {
            string source = Path.Combine(root, "source");
            Write(source, data, sizes, new HnswParameters(m, efc));
            Console.WriteLine($"# Merge: {string.Join(" + ", sizes.Select(s => s.ToString("N0", CultureInfo.InvariantCulture)))} vectors × {dims} dims " +
                              $"into one segment (m {m}, ef_construction {efc}, {Environment.ProcessorCount} cores); recall@10 at ef {ef} over {queries} queries");
            Console.WriteLine();
            Console.WriteLine("| merged graph | merge s | recall@10 |");
            Console.WriteLine("|---|---:|---:|");
            foreach (bool insert in new[] { false, true, false, true })
            {
                string copy = Path.Combine(root, insert ? "insert" : "rebuild");
                if (Directory.Exists(copy)) Directory.Delete(copy, recursive: true);
                Directory.CreateDirectory(copy);
                foreach (string f in Directory.GetFiles(source)) File.Copy(f, Path.Combine(copy, Path.GetFileName(f)));
                VectorComponent.MergeInsert = insert;
                var clock = Stopwatch.StartNew();
                using (var w = SearchIndex.OpenWriter(copy, new WriterOptions(), [new DenseExtension()])) w.ForceMerge();
                double seconds = clock.Elapsed.TotalSeconds;
                Console.WriteLine(FormattableString.Invariant($"| {(insert ? "merge-insert (largest source's graph + the rest)" : "rebuilt from scratch")} | {seconds:F1} | {Recall(copy, data, ef):F4} |"));
            }
            VectorComponent.MergeInsert = true;
            return 0;
        }
        finally
        {
            if (Directory.Exists(root)) Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>An index whose segments hold the given numbers of the rows, in order, each with vectors and graph.</summary>
    private static void Write(string dir, AnnData data, int[] sizes, HnswParameters graph)
    {
        int next = 0;
        foreach (int size in sizes)
        {
            using var w = SearchIndex.OpenWriter(dir, new WriterOptions { Analyzer = "lowercase" }, [new DenseExtension()]);
            for (int i = 0; i < size; i++) w.Add(new Document((next + i).ToString("D8", CultureInfo.InvariantCulture), "", "x"));
            w.Commit();
            int first = next;
            w.ForEachIndexWriter((iw, _) =>
            {
                foreach (var (entry, segment) in iw.Segments())
                {
                    if (entry.Component(VectorComponent.ComponentName, "synthetic") is not null) continue;
                    var rows = new float[(long)segment.MaxDoc * data.Dims];
                    for (int d = 0; d < segment.MaxDoc; d++)
                        data.Rows.AsSpan(int.Parse(segment.GetId(d), CultureInfo.InvariantCulture) * data.Dims, data.Dims).CopyTo(rows.AsSpan(d * data.Dims));
                    VectorFiles.Write(iw.Directory, entry.Name, "synthetic", data.Dims, rows);
                    SegmentGraphs.Build(iw.Directory, entry.Name, "synthetic", segment.MaxDoc, graph, null, Environment.ProcessorCount, null);
                    iw.AddComponentData(entry.Name, VectorComponent.Data(entry.Name, "synthetic", graph: true));
                }
            });
            w.Commit();
            next += size;
        }
    }

    private static double Recall(string dir, AnnData data, int ef)
    {
        using var reader = IndexReader.Open(dir);
        if (reader.Segments.Count != 1) throw new InvalidOperationException("the merge left more than one segment");
        var searcher = DenseSearcher.For(reader, "synthetic", int8: false);
        var docs = new int[AnnData.TruthK];
        var scores = new float[AnnData.TruthK];
        double found = 0;
        for (int q = 0; q < data.QueryCount; q++)
        {
            int n = searcher.Search(data.Query(q), AnnData.TruthK, 4, docs, scores, ef: ef, mode: SearchMode.Graph);
            var truth = data.TruthOf(q);
            for (int i = 0; i < n; i++)
            {
                // the merged numbering is the rows' order (segments in order, no deletions)
                int row = int.Parse(reader.Segments[0].GetId(docs[i]), CultureInfo.InvariantCulture);
                if (truth.IndexOf(row) >= 0) found++;
            }
        }
        return found / (data.QueryCount * AnnData.TruthK);
    }
}
