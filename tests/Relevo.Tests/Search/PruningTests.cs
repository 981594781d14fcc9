using Relevo.Search.Similarities;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Search;
using Relevo.Search.Pruning;
using Xunit.Abstractions;

namespace Relevo.Tests.Search;

/// <summary>Dynamic pruning against the exhaustive oracle: every algorithm must return the same top-k documents with
/// bit-identical scores (ties by smaller document number) on real and synthetic indexes, for several k.</summary>
public class PruningTests(ITestOutputHelper output)
{
    private static readonly int[] Ks = [1, 10, 100, 1000];
    private static readonly PruningAlgorithm[] Pruned = [PruningAlgorithm.MaxScore, PruningAlgorithm.BlockMaxWand];

    private int CompareAll<TScorer>(SparseSearcher<TScorer> searcher, IReadOnlyList<Query> queries, string name)
        where TScorer : struct, ITermScorer
    {
        int compared = 0;
        int cap = Math.Max(1, searcher.Reader.MaxDoc);
        var expectedDocs = new int[1000];
        var expectedScores = new float[1000];
        var docs = new int[1000];
        var scores = new float[1000];
        foreach (var q in queries)
        {
            foreach (int k in Ks)
            {
                int n = searcher.SearchDocs(q, k, expectedDocs, expectedScores, PruningAlgorithm.Exhaustive);
                Assert.True(n <= Math.Min(k, cap));
                foreach (var algorithm in Pruned)
                {
                    int m = searcher.SearchDocs(q, k, docs, scores, algorithm);
                    if (m != n || !docs.AsSpan(0, m).SequenceEqual(expectedDocs.AsSpan(0, n)) || !scores.AsSpan(0, m).SequenceEqual(expectedScores.AsSpan(0, n)))
                    {
                        int at = 0;
                        while (at < Math.Min(m, n) && docs[at] == expectedDocs[at] && scores[at] == expectedScores[at]) at++;
                        Assert.Fail($"{name} {algorithm} k={k} query '{q}': {m} hits vs {n}; first difference at rank {at + 1}: " +
                            (at < Math.Min(m, n) ? $"{docs[at]} {scores[at]:R} vs {expectedDocs[at]} {expectedScores[at]:R}" : "length"));
                    }
                    compared++;
                }
            }
        }
        output.WriteLine($"{name}: {queries.Count} queries × {Ks.Length} k × {Pruned.Length} algorithms = {compared} rankings identical");
        return compared;
    }

    [Theory]
    [InlineData("scifact")]
    [InlineData("cranfield")]
    [InlineData("cacm")]
    [InlineData("vaswani")]
    [InlineData("adi")]
    public void PrunedEqualsExhaustiveOnRealCollections(string name)
    {
        var ds = TestData.Dataset(name);
        using var tmp = new TempDir();
        using var reader = TestIndexes.Build(ds.CorpusPath, tmp.Path);
        var queries = new List<Query>();
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath))
        {
            var q = Query.Parse(text, reader.AnalyzerInstance);
            if (q.Terms.Count > 0) queries.Add(q);
        }
        Assert.True(CompareAll(new Bm25Searcher(reader), queries, $"{name} bm25") > 0);
        // query likelihood prunes with the same algorithms over the same impacts, so it joins the oracle test
        Assert.True(CompareAll(new QueryLikelihoodSearcher(reader), queries, $"{name} ql") > 0);
        Assert.True(CompareAll(new QueryLikelihoodSearcher(reader, mu: 200), queries, $"{name} ql(mu=200)") > 0);
    }

    /// <summary>A Zipf-shaped synthetic collection in several segments (a small RAM budget), with deletions and
    /// replaced documents, and thousands of random queries with repeated, fractional and absent terms.</summary>
    [Fact]
    public void PrunedEqualsExhaustiveOnSyntheticIndexes()
    {
        var random = new Random(11);
        using var tmp = new TempDir();
        const int vocabulary = 3000;
        string Word(int i) => "w" + i.ToString(System.Globalization.CultureInfo.InvariantCulture) + "x";
        int Zipf() => (int)Math.Min(vocabulary - 1, Math.Floor(Math.Pow(vocabulary, random.NextDouble())) - 1);
        using (var w = IndexWriter.Open(tmp.Path, new IndexWriterOptions { RamBudgetBytes = 3 << 20, ReplaceExisting = true }))
        {
            var sb = new System.Text.StringBuilder();
            for (int d = 0; d < 12_000; d++)
            {
                sb.Clear();
                int len = random.Next(20) == 0 ? random.Next(200, 2000) : random.Next(1, 120);
                for (int i = 0; i < len; i++) sb.Append(Word(Zipf())).Append(' ');
                w.Add(new Document("d" + random.Next(15_000), "", sb.ToString()));
                if (d % 97 == 0) w.Delete("d" + random.Next(15_000));
            }
            w.Commit();
        }
        using var reader = IndexReader.Open(tmp.Path);
        Assert.True(reader.Segments.Count > 1, "want several segments");
        var searcher = new Bm25Searcher(reader, new Bm25Parameters { K1 = 1.2f, B = 0.75f });
        var queries = new List<Query>();
        for (int q = 0; q < 2000; q++)
        {
            int n = random.Next(1, 9);
            var terms = new List<(string, float)>();
            for (int i = 0; i < n; i++)
            {
                string t = random.Next(30) == 0 ? "absent" + i : Word(Zipf());
                float weight = random.Next(4) switch { 0 => 1, 1 => 2, 2 => (float)random.NextDouble() + 0.01f, _ => 1 };
                terms.Add((searcher.Analyzer.Terms(t).FirstOrDefault() ?? t, weight));
            }
            queries.Add(new Query("synthetic", terms));
        }
        Assert.True(CompareAll(searcher, queries, "synthetic") > 10_000);
        Assert.True(CompareAll(new QueryLikelihoodSearcher(reader, mu: 1000), queries, "synthetic ql") > 10_000);
    }

    /// <summary>Every block's maximum over its stored impacts (and each list's, over the list's impact frontier) is at
    /// least every real score in the block, for every term of a real collection, for BM25 at several parameter settings
    /// and for query likelihood: the bounds MaxScore and block-max WAND prune with hold for either model.</summary>
    [Fact]
    public void BlockMaximaBoundEveryRealScore()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        using var reader = TestIndexes.Build(ds.CorpusPath, tmp.Path);
        long checkedScores = 0;
        foreach (var (k1, b) in new[] { (0.9f, 0.4f), (1.2f, 0.75f), (3f, 1f), (0.1f, 0f) })
        {
            var normInverse = Bm25Scorer.NormInverseTable(k1, b, 123.4f);
            checkedScores += CheckBounds(reader, ord => new Bm25TermScorer(0.5f + ord % 7, normInverse));
        }
        foreach (float mu in new[] { 1000f, 50f })
        {
            var lengths = DirichletTermScorer.LengthTable(mu);
            checkedScores += CheckBounds(reader, ord => new DirichletTermScorer(1f + ord % 3, mu, 1f / (100 + ord % 5000), lengths));
        }
        output.WriteLine($"{checkedScores} scores checked against their block maxima");
    }

    private static long CheckBounds<TScorer>(IndexReader reader, Func<int, TScorer> scorerOf) where TScorer : struct, ITermScorer
    {
        var seg = reader.Segments[0];
        var norms = seg.Norms.ToArray();
        var tfs = new int[Relevo.Index.PostingsCursor.BlockSize];
        var impactNorms = new byte[Relevo.Index.PostingsCursor.BlockSize];
        long checkedScores = 0;
        Relevo.Index.PostingsCursor? cursor = null;
        for (int ord = 0; ord < seg.TermCount; ord++)
        {
            var scorer = scorerOf(ord);
            cursor = seg.Postings(ord, cursor);
            float frontierMax = 0;
            foreach (var (tf, n) in seg.ListImpacts(ord)) frontierMax = Math.Max(frontierMax, scorer.Score(tf, n));
            float listMax = 0;
            for (int blk = 0; blk < cursor.BlockCount; blk++)
            {
                cursor.ReadBlock(blk);
                int count = cursor.BlockImpacts(blk, tfs, impactNorms);
                float max = 0;
                for (int i = 0; i < count; i++) max = Math.Max(max, scorer.Score(tfs[i], impactNorms[i]));
                listMax = Math.Max(listMax, max);
                for (int i = 0; i < cursor.BlockLength; i++)
                {
                    float s = scorer.Score(cursor.Freqs[i], norms[cursor.Docs[i]]);
                    if (s > max) Assert.Fail($"{seg.Term(ord)} block {blk}: score {s:R} above the block maximum {max:R}");
                    checkedScores++;
                }
            }
            Assert.Equal(listMax, frontierMax); // the frontier finds the list's maximum
        }
        return checkedScores;
    }

    /// <summary>The pruned top-10 and top-1000 paths allocate nothing per query in steady state, for BM25 and for
    /// query likelihood.</summary>
    [Theory]
    [InlineData("MaxScore", "bm25")]
    [InlineData("BlockMaxWand", "bm25")]
    [InlineData("MaxScore", "ql")]
    public void PrunedSearchAllocatesNothingPerQuery(string algorithmName, string model)
    {
        var algorithm = Enum.Parse<PruningAlgorithm>(algorithmName);
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        using var reader = TestIndexes.Build(ds.CorpusPath, tmp.Path);
        var queries = new List<Query>();
        foreach (var (_, text) in JsonlReader.ReadQueries(ds.QueriesPath)) queries.Add(Query.Parse(text, reader.AnalyzerInstance));
        if (model == "bm25") AssertNoAllocation(new Bm25Searcher(reader), queries, algorithm);
        else AssertNoAllocation(new QueryLikelihoodSearcher(reader), queries, algorithm);
    }

    private void AssertNoAllocation<TScorer>(SparseSearcher<TScorer> searcher, List<Query> queries, PruningAlgorithm algorithm)
        where TScorer : struct, ITermScorer
    {
        var docs = new int[1000];
        var scores = new float[1000];
        foreach (var q in queries) { searcher.SearchDocs(q, 10, docs, scores, algorithm); searcher.SearchDocs(q, 1000, docs, scores, algorithm); }
        foreach (int k in (int[])[10, 1000])
        {
            // Best of three passes: an allocation per query shows in every pass; a one-off of the runtime's (seen once in
            // a full parallel test run: 21 bytes per query at k = 1000, never when run alone) does not.
            var passes = new long[3];
            for (int pass = 0; pass < passes.Length; pass++)
            {
                long before = GC.GetAllocatedBytesForCurrentThread();
                foreach (var q in queries) searcher.SearchDocs(q, k, docs, scores, algorithm);
                passes[pass] = GC.GetAllocatedBytesForCurrentThread() - before;
            }
            long perQuery = passes.Min() / queries.Count;
            output.WriteLine($"{typeof(TScorer).Name} {algorithm} top-{k}: {perQuery} bytes per query over {queries.Count} queries (passes: {string.Join(", ", passes)} bytes)");
            Assert.Equal(0, passes.Min());
        }
    }
}
