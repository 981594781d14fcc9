using System.Globalization;
using System.Numerics.Tensors;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Search.Filters;

namespace Relevo.Tests.Dense;

/// <summary>Filters inside dense retrieval: with a 1%-selective filter every query gets k hits and they are the exact
/// filtered top k (the search falls back to scanning the few matching vectors, as Lucene does under a selective filter);
/// a graph walk under a broad filter returns only matching documents, k of them, with high recall; int8 and float
/// searches agree with the exact filtered ranking.</summary>
public sealed class FilteredDenseTests
{
    private const int N = 20_000, Dims = 32, K = 10;
    private const string Model = "m";

    /// <summary>An index of N documents with typed keys ("sel": 1% of them "yes"; "grp": 0-4, each 20%), their vectors
    /// written for one segment with an HNSW graph.</summary>
    private static (float[] Rows, float[] Queries) Build(string dir)
    {
        var rows = HnswTests.Clustered(N + 200, Dims, 80, seed: 11);
        using (var w = IndexWriter.Open(dir))
        {
            for (int i = 0; i < N; i++)
                w.Add(new Document("d" + i.ToString(CultureInfo.InvariantCulture), "", "doc")
                {
                    Fields = $$"""{"sel":"{{(i % 100 == 0 ? "yes" : "no")}}","grp":{{i % 5}}}""",
                });
            w.Commit();
            string segment = w.Segments().Single().Entry.Name;
            VectorFiles.Write(dir, segment, Model, Dims, rows.AsSpan(0, N * Dims));
            SegmentGraphs.Build(dir, segment, Model, N, HnswParameters.Default, null, threads: 2, progress: null);
            w.AddComponentData(segment, VectorComponent.Data(segment, Model, graph: true));
            w.Commit();
        }
        return (rows[..(N * Dims)], rows[(N * Dims)..]);
    }

    private static int[] Search(IndexReader reader, float[] q, bool int8, SearchMode mode, DocFilter? filter)
    {
        var searcher = DenseSearcher.For(reader, Model, int8);
        var docs = new int[K];
        var scores = new float[K];
        int n = searcher.Search(q, K, 4, docs, scores, mode: mode, filter: filter);
        return docs[..n];
    }

    [Fact]
    public void A_one_percent_filter_returns_k_hits_equal_to_exact_filtered_search()
    {
        using var tmp = new TempDir();
        var (rows, queries) = Build(tmp.Path);
        using var reader = IndexReader.Open(tmp.Path);
        var filter = DocFilter.For(reader, "sel:yes")!;
        Assert.Equal(N / 100, filter.Matching);
        var searcher = DenseSearcher.For(reader, Model, int8: false);
        Assert.False(searcher.UsesGraph(0, SearchMode.Auto, filter)); // too selective for the walk: scanned
        Assert.True(searcher.UsesGraph(0, SearchMode.Auto));
        for (int qi = 0; qi < 200; qi++)
        {
            var q = queries.AsSpan(qi * Dims, Dims).ToArray();
            var exact = HnswTests.Exact(rows, Dims, q, K, d => d % 100 == 0);
            foreach (bool int8 in new[] { false, true })
            {
                var got = Search(reader, q, int8, SearchMode.Auto, filter);
                Assert.Equal(K, got.Length);
                Assert.Equal(exact, got);
            }
            // a walk forced through the graph still finds k matching documents (it crosses non-matching nodes)
            var walked = Search(reader, q, false, SearchMode.Graph, filter);
            Assert.Equal(K, walked.Length);
            Assert.All(walked, d => Assert.Equal(0, d % 100));
        }
    }

    [Fact]
    public void A_broad_filter_walks_the_graph_and_returns_only_matching_documents()
    {
        using var tmp = new TempDir();
        var (rows, queries) = Build(tmp.Path);
        using var reader = IndexReader.Open(tmp.Path);
        var filter = DocFilter.For(reader, "NOT grp:0")!; // 80%: enough live documents for the walk
        Assert.True(DenseSearcher.For(reader, Model, int8: false).UsesGraph(0, SearchMode.Auto, filter));
        double recall = 0;
        for (int qi = 0; qi < 200; qi++)
        {
            var q = queries.AsSpan(qi * Dims, Dims).ToArray();
            var exact = HnswTests.Exact(rows, Dims, q, K, d => d % 5 != 0);
            var got = Search(reader, q, false, SearchMode.Auto, filter);
            Assert.Equal(K, got.Length);
            Assert.All(got, d => Assert.True(d % 5 != 0));
            Assert.Equal(exact, Search(reader, q, false, SearchMode.Exact, filter));
            recall += got.Intersect(exact).Count() / (double)K;
        }
        Assert.True(recall / 200 >= 0.95, $"filtered recall@10 {recall / 200:F3}");
    }

    /// <summary>The dense stage applies a pipeline's filter: the same hits as the searcher given the filter.</summary>
    [Fact]
    public void Scores_are_unchanged_by_a_filter()
    {
        using var tmp = new TempDir();
        var (rows, queries) = Build(tmp.Path);
        using var reader = IndexReader.Open(tmp.Path);
        var q = queries.AsSpan(0, Dims).ToArray();
        var searcher = DenseSearcher.For(reader, Model, int8: false);
        var docs = new int[K];
        var scores = new float[K];
        int n = searcher.Search(q, K, 4, docs, scores, mode: SearchMode.Exact, filter: DocFilter.For(reader, "grp:3"));
        for (int i = 0; i < n; i++) Assert.Equal(TensorPrimitives.Dot(rows.AsSpan(docs[i] * Dims, Dims), q), scores[i]);
    }
}
