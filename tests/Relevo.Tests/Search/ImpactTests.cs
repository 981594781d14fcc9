using System.Globalization;
using System.IO.Compression;
using System.Text;
using Relevo.Collections;
using Relevo.Index;
using Relevo.Index.Formats;
using Relevo.Index.Impacts;
using Relevo.Search;
using Relevo.Search.Impacts;
using Relevo.Search.Similarities;
using Xunit.Abstractions;

namespace Relevo.Tests.Search;

/// <summary>Quantized impact indexes: the stored impacts follow the documented formula, every pruning algorithm ranks
/// exactly as the exhaustive scorer over them, a pre-encoded corpus ranks exactly as a brute-force dot product over
/// the same quantized weights, merges carry the impacts, stale impacts are never used by bm25, and bad input and
/// damaged files are refused by name.</summary>
public class ImpactTests(ITestOutputHelper output)
{
    private static readonly PruningAlgorithm[] Algorithms = [PruningAlgorithm.Exhaustive, PruningAlgorithm.MaxScore, PruningAlgorithm.BlockMaxWand];

    private static IndexWriterOptions Options(long ram = 256L << 20) =>
        new() { RamBudgetBytes = ram, ReplaceExisting = true, Components = [ImpactComponent.Instance] };

    private static ImpactBuildResult BuildImpacts(IndexWriter w, ImpactModel model = ImpactModel.Bm25, double maximum = 0, int bits = 8)
    {
        var r = ImpactBuilder.Build([w], model, bits, default, maximum);
        w.Commit();
        return r;
    }

    /// <summary>A Zipf-shaped synthetic text collection in several segments with deletions.</summary>
    private static void WriteSynthetic(string dir, int docs, int seed, long ram = 3 << 20)
    {
        var random = new Random(seed);
        const int vocabulary = 3000;
        int Zipf() => (int)Math.Min(vocabulary - 1, Math.Floor(Math.Pow(vocabulary, random.NextDouble())) - 1);
        using var w = IndexWriter.Open(dir, Options(ram));
        var sb = new StringBuilder();
        for (int d = 0; d < docs; d++)
        {
            sb.Clear();
            int len = random.Next(20) == 0 ? random.Next(200, 2000) : random.Next(1, 120);
            for (int i = 0; i < len; i++) sb.Append('w').Append(Zipf()).Append("x ");
            w.Add(new Document("d" + random.Next(docs + docs / 4), "", sb.ToString()));
            if (d % 97 == 0) w.Delete("d" + random.Next(docs));
        }
        w.Commit();
        BuildImpacts(w);
    }

    private static List<Query> RandomQueries(Random random, int count, Func<string> term, bool integerWeights)
    {
        var queries = new List<Query>();
        for (int q = 0; q < count; q++)
        {
            int n = random.Next(1, 9);
            var terms = new List<(string, float)>();
            for (int i = 0; i < n; i++)
            {
                string t = random.Next(30) == 0 ? "absent" + i : term();
                float weight = integerWeights ? random.Next(1, 4) : random.Next(3) == 0 ? 1 : (float)random.NextDouble() * 3 + 0.01f;
                if (terms.Exists(x => x.Item1 == t)) continue;
                terms.Add((t, weight));
            }
            queries.Add(new Query("synthetic", terms));
        }
        return queries;
    }

    [Fact]
    public void Stored_bm25_impacts_follow_the_formula()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        using (var w = IndexWriter.Open(tmp.Path, Options()))
        {
            CorpusIndexer.AddCorpus(w, ds.CorpusPath);
            w.Commit();
            BuildImpacts(w);
        }
        using var reader = IndexReader.Open(tmp.Path);
        var view = ImpactView.Of(reader, "bm25");
        var settings = view.Settings;
        // the reference, written from the documented formula in double: Lucene's BM25 (k1 0.9, b 0.4) with the
        // length a norm byte stands for, over the largest score in the collection, to 255 levels, at least 1
        var stats = reader.Statistics;
        double avgdl = (double)stats.SumTotalTermFreq / stats.DocCount;
        double Bm25(long df, int tf, byte norm)
        {
            double idf = Math.Log(1 + (stats.DocCount - df + 0.5) / (df + 0.5));
            double len = SmallFloat.Byte4ToInt(norm);
            return idf * tf / (tf + 0.9 * (1 - 0.4 + 0.4 * len / avgdl));
        }
        var seg = reader.Segments[0];
        var impacts = (ImpactSegmentReader)view.Segments[0];
        double max = 0;
        for (int t = 0; t < seg.TermCount; t++)
            foreach (var (tf, norm) in seg.ListImpacts(t)) max = Math.Max(max, Bm25(seg.DocFreq(t), tf, norm));
        Assert.Equal(max, settings.Maximum, 1e-5);
        long postings = 0, exact = 0;
        var norms = seg.Norms.ToArray();
        for (int t = 0; t < seg.TermCount; t += 7)
        {
            var plain = seg.Postings(t);
            var imp = impacts.Postings(t);
            for (int b = 0; b < plain.BlockCount; b++)
            {
                plain.ReadBlock(b);
                var docs = plain.Docs.AsSpan(0, plain.BlockLength).ToArray();
                var tfs = plain.Freqs.AsSpan(0, plain.BlockLength).ToArray();
                imp.ReadBlock(b);
                int blockMax = 0;
                for (int i = 0; i < docs.Length; i++)
                {
                    Assert.Equal(docs[i], imp.Docs[i]);
                    double expected = Math.Max(1, Math.Round(Bm25(seg.DocFreq(t), tfs[i], norms[docs[i]]) / max * 255, MidpointRounding.AwayFromZero));
                    int got = imp.Freqs[i];
                    Assert.True(Math.Abs(got - expected) <= 1, $"term {seg.Term(t)} doc {docs[i]}: impact {got}, formula {expected}");
                    if (got == expected) exact++;
                    postings++;
                    blockMax = Math.Max(blockMax, got);
                }
                var tfOut = new int[PostingsCursor.BlockSize];
                var normOut = new byte[PostingsCursor.BlockSize];
                Assert.Equal(1, imp.BlockImpacts(b, tfOut, normOut));
                Assert.Equal(blockMax, tfOut[0]); // the stored block maximum is the block's largest impact
            }
        }
        output.WriteLine($"{postings:N0} postings checked, {exact:N0} equal to the double-precision formula, the rest one level off (float rounding at a half)");
        Assert.True(exact >= postings * 0.999);
    }

    [Fact]
    public void Pruned_search_over_impacts_equals_the_exhaustive_scorer()
    {
        using var tmp = new TempDir();
        WriteSynthetic(tmp.Path, 12_000, 3);
        using var reader = IndexReader.Open(tmp.Path);
        Assert.True(reader.Segments.Count > 1, "want several segments");
        var searcher = new ImpactSearcher(reader, ImpactView.Of(reader, "bm25"));
        var random = new Random(4);
        int vocabulary = 3000;
        string Term() => "w" + (int)Math.Min(vocabulary - 1, Math.Floor(Math.Pow(vocabulary, random.NextDouble())) - 1) + "x";
        int compared = 0;
        foreach (bool integer in new[] { true, false })
            foreach (var q in RandomQueries(random, 700, Term, integer))
                foreach (int k in new[] { 1, 10, 100, 1000 })
                {
                    var expected = searcher.Search(q, k, PruningAlgorithm.Exhaustive);
                    foreach (var a in Algorithms.Skip(1))
                    {
                        var got = searcher.Search(q, k, a);
                        Assert.Equal(expected.Select(h => (h.Id, h.Score)), got.Select(h => (h.Id, h.Score)));
                        compared++;
                    }
                }
        output.WriteLine($"{compared} rankings identical to the exhaustive scorer's");
    }

    /// <summary>Fewer bits: impacts stay within 1..2^bits − 1, pruning stays exact, and the impacts serve fusion like
    /// any retriever.</summary>
    [Fact]
    public void Four_bit_impacts_stay_in_range_prune_exactly_and_fuse()
    {
        using var tmp = new TempDir();
        var random = new Random(31);
        using (var w = IndexWriter.Open(tmp.Path, Options()))
        {
            for (int d = 0; d < 3000; d++)
                w.Add(new Document($"d{d}", "", string.Join(' ', Enumerable.Range(0, random.Next(1, 60)).Select(_ => "w" + random.Next(300)))));
            w.Commit();
            Assert.Equal(15, BuildImpacts(w, bits: 4).Settings.Levels);
        }
        using var reader = IndexReader.Open(tmp.Path);
        var view = ImpactView.Of(reader, "bm25");
        Assert.Equal(4, view.Settings.Bits);
        var seg = view.Segments[0];
        int max = 0;
        for (int t = 0; t < seg.TermCount; t++)
        {
            var c = seg.Postings(t);
            for (int b = 0; b < c.BlockCount; b++)
            {
                c.ReadBlock(b);
                for (int i = 0; i < c.BlockLength; i++) { Assert.InRange(c.Freqs[i], 1, 15); max = Math.Max(max, c.Freqs[i]); }
            }
        }
        Assert.Equal(15, max); // the largest score maps to the top level
        var searcher = new ImpactSearcher(reader, view);
        foreach (var q in RandomQueries(random, 200, () => "w" + random.Next(300), integerWeights: true))
            foreach (int k in new[] { 10, 1000 })
                Assert.Equal(searcher.Search(q, k, PruningAlgorithm.Exhaustive).Select(h => (h.Id, h.Score)),
                    searcher.Search(q, k, PruningAlgorithm.MaxScore).Select(h => (h.Id, h.Score)));
        using var index = SearchIndex.Open(tmp.Path);
        var fused = index.Search("w1 w2 w3", "fuse(rrf, bm25, bm25(impacts=false))", 10);
        Assert.Equal(10, fused.Hits.Count);
        Assert.Equal("fuse(rrf,bm25,bm25(impacts=false))", fused.Pipeline);
    }

    /// <summary>A JsonVectorCollection written here (float weights) indexes and ranks exactly as a brute-force dot
    /// product over the same quantized weights, computed here from the file's numbers: every query, top 100, ties by
    /// document order.</summary>
    [Fact]
    public void Pre_encoded_corpus_ranks_as_a_brute_force_dot_product()
    {
        using var tmp = new TempDir();
        var random = new Random(9);
        var vocab = Enumerable.Range(0, 400).Select(i => i % 5 == 0 ? $"##p{i}" : $"t{i}").Append("^").ToArray();
        var docs = new List<(string Id, Dictionary<string, float> Vector)>();
        string corpus = tmp["corpus.jsonl.gz"];
        using (var gz = new GZipStream(File.Create(corpus), CompressionLevel.Fastest))
        using (var text = new StreamWriter(gz, new UTF8Encoding(false)))
        {
            for (int d = 0; d < 3000; d++)
            {
                var v = new Dictionary<string, float>();
                int n = random.Next(3, 60);
                for (int i = 0; i < n; i++)
                {
                    string t = vocab[(int)Math.Min(vocab.Length - 1, Math.Floor(Math.Pow(vocab.Length, random.NextDouble())))];
                    v[t] = random.Next(10) == 0 ? 0 : (float)(random.NextDouble() * 3);
                }
                string id = $"doc{d:D5}";
                docs.Add((id, v));
                var pairs = string.Join(", ", v.Select(p => $"\"{p.Key}\": {p.Value.ToString("R", CultureInfo.InvariantCulture)}"));
                text.WriteLine($"{{\"id\": \"{id}\", \"contents\": \"text of {id}\", \"vector\": {{{pairs}}}}}");
            }
        }
        var scan = VectorCorpus.Measure(corpus);
        Assert.False(scan.Integers);
        using (var w = IndexWriter.Open(tmp["index"], Options(2 << 20) with { Analyzer = "whitespace" }))
        {
            var lines = new Queue<(int, double)>();
            w.AddRange(VectorCorpus.Documents(corpus, scan, 8, lines), 2);
            w.Commit();
            BuildImpacts(w, ImpactModel.Weights, scan.Maximum);
        }
        // the reference: the file's weights quantized by the documented rule, in double
        double max = docs.Max(d => d.Vector.Values.DefaultIfEmpty(0).Max());
        int Quantized(float w) => w <= 0 ? 0 : (int)Math.Max(1, Math.Round(w / max * 255, MidpointRounding.AwayFromZero));
        using var reader = IndexReader.Open(tmp["index"]);
        Assert.Equal(3000, reader.LiveDocs);
        var searcher = new ImpactSearcher(reader, ImpactView.Of(reader, "weights"));
        int checkedQueries = 0;
        foreach (var q in RandomQueries(random, 300, () => vocab[random.Next(vocab.Length)], integerWeights: false))
        {
            var expected = new List<(string Id, float Score)>();
            foreach (var (id, v) in docs)
            {
                double sum = 0;
                bool any = false;
                foreach (var (term, weight) in q.Terms)
                    if (v.TryGetValue(term, out float dw) && Quantized(dw) > 0) { sum += weight * (float)Quantized(dw); any = true; }
                if (any) expected.Add((id, (float)sum));
            }
            var top = expected.OrderByDescending(e => e.Score).ThenBy(e => e.Id, StringComparer.Ordinal).Take(100).ToList();
            foreach (var a in Algorithms)
                Assert.Equal(top, searcher.Search(q, 100, a).Select(h => (h.Id, h.Score)).ToList());
            checkedQueries++;
        }
        Assert.Equal(300, checkedQueries);
    }

    [Fact]
    public void Merges_carry_the_impacts_and_drop_deleted_documents()
    {
        using var tmp = new TempDir();
        WriteSynthetic(tmp.Path, 6000, 21, ram: 1 << 20);
        var random = new Random(22);
        string Term() => "w" + random.Next(200) + "x";
        var queries = RandomQueries(random, 200, Term, integerWeights: true);
        List<List<(string, float)>> Rankings()
        {
            using var reader = IndexReader.Open(tmp.Path);
            var searcher = new ImpactSearcher(reader, ImpactView.Of(reader, "bm25"));
            return queries.Select(q => searcher.Search(q, 50).Select(h => (h.Id, h.Score)).ToList()).ToList();
        }
        var before = Rankings();
        int segmentsBefore;
        using (var r = IndexReader.Open(tmp.Path)) segmentsBefore = r.Segments.Count;
        Assert.True(segmentsBefore > 1);
        using (var w = IndexWriter.Open(tmp.Path, Options()))
        {
            w.ForceMerge();
        }
        using (var r = IndexReader.Open(tmp.Path))
        {
            Assert.Single(r.Segments);
            Assert.Equal(0, r.Segments[0].Deletes.Count);
            Assert.NotNull(r.Manifest.Segments[0].Component("impacts", "bm25"));
        }
        Assert.Equal(before, Rankings());
    }

    [Fact]
    public void Bm25_never_scores_by_stale_impacts_and_impact_names_the_segment_without_them()
    {
        using var tmp = new TempDir();
        TestIndexes.Write(tmp.Path, TestIndexes.Small);
        using (var w = IndexWriter.Open(tmp.Path, Options())) BuildImpacts(w);
        var index = SearchIndex.Open(tmp.Path);
        var quantized = index.Search("vitamin sleep", "bm25", 5);
        var exact = index.Search("vitamin sleep", "bm25(impacts=false)", 5);
        Assert.NotEqual(exact.Hits.Select(h => h.Score), quantized.Hits.Select(h => h.Score)); // the impacts are used
        Assert.Equal(quantized.Hits.Select(h => (h.Id, h.Score)), index.Search("vitamin sleep", "impact", 5).Hits.Select(h => (h.Id, h.Score)));
        index.Dispose();

        using (var w = IndexWriter.Open(tmp.Path, Options()))
        {
            w.Add(new Document("d6", "", "vitamin vitamin sleep"));
            w.Commit();
        }
        using (var stale = SearchIndex.Open(tmp.Path))
        {
            Assert.Equal(stale.Search("vitamin sleep", "bm25(impacts=false)", 6).Hits.Select(h => (h.Id, h.Score)),
                stale.Search("vitamin sleep", "bm25", 6).Hits.Select(h => (h.Id, h.Score)));
            var e = Assert.ThrowsAny<RelevoException>(() => stale.Search("vitamin sleep", "impact", 6));
            Assert.Contains("has no 'bm25' impacts", e.Message);
        }
        using (var w = IndexWriter.Open(tmp.Path, Options()))
        {
            var r = BuildImpacts(w);
            Assert.Equal(2, r.SegmentsWritten); // new statistics: every segment again
            Assert.Equal(0, BuildImpacts(w).SegmentsWritten); // and then they are current
        }
        // the replaced impact file went with the commit that replaced it: one per segment is left
        Assert.Equal(["_0.bm25.2.imp", "_1.bm25.1.imp"], Directory.GetFiles(tmp.Path, "*.imp").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        using var rebuilt = SearchIndex.Open(tmp.Path);
        Assert.Contains(rebuilt.Search("vitamin sleep", "impact", 6).Hits, h => h.Id == "d6");
    }

    /// <summary>A served write to a BM25 impact index is taken: its new segment goes without impacts (any write makes
    /// them stale), bm25 scores exactly, impact names the segment, and a rebuild brings them back. A pre-encoded
    /// (learned sparse) index refuses served writes of text and keeps its last commit.</summary>
    [Fact]
    public async Task Served_writes_leave_bm25_exact_until_a_rebuild_and_a_pre_encoded_index_refuses_them()
    {
        using var tmp = new TempDir();
        TestIndexes.Write(tmp.Path, TestIndexes.Small);
        using (var w = IndexWriter.Open(tmp.Path, Options())) BuildImpacts(w);
        using (var index = SearchIndex.Open(tmp.Path, new SearchIndexOptions { Writable = true }))
        {
            await index.AddAsync([new Document("d9", "", "vitamin vitamin")]);
            Assert.Equal(index.Search("vitamin", "bm25(impacts=false)", 10).Hits.Select(h => (h.Id, h.Score)),
                index.Search("vitamin", "bm25", 10).Hits.Select(h => (h.Id, h.Score)));
            Assert.Contains("has no 'bm25' impacts", Assert.ThrowsAny<RelevoException>(() => index.Search("vitamin", "impact", 10)).Message);
        }
        using (var w = IndexWriter.Open(tmp.Path, Options())) BuildImpacts(w);
        using (var index = SearchIndex.Open(tmp.Path))
            Assert.Equal("d9", index.Search("vitamin", "impact", 10).Hits[0].Id);

        string corpus = tmp["v.jsonl"];
        File.WriteAllText(corpus, "{\"id\": \"a\", \"vector\": {\"x\": 1.5, \"y\": 0.5}}\n{\"id\": \"b\", \"vector\": {\"y\": 2}}\n");
        var scan = VectorCorpus.Measure(corpus);
        using (var w = IndexWriter.Open(tmp["sparse"], Options() with { Analyzer = "whitespace" }))
        {
            w.AddRange(VectorCorpus.Documents(corpus, scan, 8, new Queue<(int, double)>()), 1);
            w.Commit();
            BuildImpacts(w, ImpactModel.Weights, scan.Maximum);
        }
        using var sparse = SearchIndex.Open(tmp["sparse"], new SearchIndexOptions { Writable = true });
        var before = sparse.Search("y x", "impact", 10).Hits.Select(h => (h.Id, h.Score)).ToList();
        var e = await Assert.ThrowsAnyAsync<RelevoException>(() => sparse.AddAsync([new Document("c", "", "x y")]));
        Assert.Contains("relevo index --vectors", e.Message);
        Assert.Equal(before, sparse.Search("y x", "impact", 10).Hits.Select(h => (h.Id, h.Score)).ToList());
        Assert.True((await sparse.DeleteAsync("a")).Deleted);
        Assert.Equal(["b"], sparse.Search("y x", "impact", 10).Hits.Select(h => h.Id));
    }

    [Fact]
    public void A_damaged_impact_file_is_refused_by_name()
    {
        using var tmp = new TempDir();
        TestIndexes.Write(tmp.Path, TestIndexes.Small);
        using (var w = IndexWriter.Open(tmp.Path, Options())) BuildImpacts(w);
        string file = Directory.GetFiles(tmp.Path, "*.imp").Single();
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(file, bytes);
        using var reader = IndexReader.Open(tmp.Path);
        var e = Assert.ThrowsAny<RelevoException>(() => ImpactView.Of(reader, "bm25"));
        Assert.Contains(Path.GetFileName(file), e.Message);
    }

    [Theory]
    [InlineData("{\"id\": \"a\", \"vector\": {\"x\": \"high\"}}", "field vector.x: the weight must be a number")]
    [InlineData("{\"id\": \"a\", \"vector\": {\"x\": -1.5}}", "field vector.x: the weight -1.5 is negative")]
    [InlineData("{\"id\": \"a\", \"vector\": {}}", "field vector: empty")]
    [InlineData("{\"id\": \"a\", \"vector\": {\"x\": 0}}", "field vector: empty")]
    [InlineData("{\"id\": \"a\", \"vector\": {\"two words\": 1}}", "field vector.two words: a term cannot hold white space")]
    [InlineData("{\"id\": \"a\", \"vector\": {\"x\": 1, \"x\": 2}}", "field vector.x: the term is given twice")]
    [InlineData("{\"contents\": \"c\", \"vector\": {\"x\": 1}}", "field id: missing")]
    [InlineData("{\"id\": \"a\", \"vector\": [1, 2]}", "field vector: expected an object")]
    [InlineData("{\"id\": \"a\", \"contents\": \"c\"}", "field vector: missing")]
    public void Bad_vector_lines_are_named_by_file_line_and_field(string line, string message)
    {
        using var tmp = new TempDir();
        string path = tmp["v.jsonl"];
        File.WriteAllText(path, "{\"id\": \"ok\", \"vector\": {\"x\": 1}}\n" + line + "\n");
        var e = Assert.Throws<RelevoException>(() => VectorCorpus.Measure(path));
        Assert.Contains($"{path}:2: {message}", e.Message);
    }

    [Fact]
    public void Pre_encoded_queries_read_as_weighted_terms()
    {
        var q = Query.ParseWeighted("apple ##ing apple ^ ^^0.5 x^2.5 y^abc");
        Assert.Equal([("apple", 2f), ("##ing", 1f), ("^", 1.5f), ("x", 2.5f), ("y^abc", 1f)], q.Terms);
        Assert.Throws<RelevoException>(() => Query.ParseWeighted("x^-1"));
        Assert.Throws<RelevoException>(() => Query.ParseWeighted("   "));

        using var tmp = new TempDir();
        File.WriteAllText(tmp["q.tsv"], "q1\tthe cat the\nq2\tdog\n");
        Assert.Equal([("q1", "the cat the"), ("q2", "dog")], JsonVectorReader.ReadQueries(tmp["q.tsv"]));
        File.WriteAllText(tmp["q.jsonl"], "{\"id\": \"q1\", \"contents\": \"x\", \"vector\": {\"b\": 1, \"a\": 0.25}}\n");
        var read = JsonVectorReader.ReadQueries(tmp["q.jsonl"]);
        Assert.Equal("b a^0.25", read.Single().Text);
        Assert.Equal([("b", 1f), ("a", 0.25f)], Query.ParseWeighted(read.Single().Text).Terms);
        File.WriteAllText(tmp["beir.jsonl"], "{\"_id\": \"q1\", \"text\": \"plain words\"}\n");
        Assert.Equal("plain words", JsonVectorReader.ReadQueries(tmp["beir.jsonl"]).Single().Text);
    }
}
