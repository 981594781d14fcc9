using Relevo.Dense;
using Relevo.Index;
using Relevo.Index.Formats;

namespace Relevo.Tests.Dense;

/// <summary>Vectors stored with the index: written per segment, committed atomically, kept by later writers,
/// carried through merges, refused when corrupt, never returning deleted documents.</summary>
public sealed class DenseIndexTests : IClassFixture<DenseIndexTests.Model>
{
    /// <summary>minilm loaded once for the class (small documents: a few seconds on 2 cores).</summary>
    public sealed class Model : IDisposable
    {
        public EmbeddingModel Encoder { get; } = EmbeddingModel.Load("minilm");
        public void Dispose() => Encoder.Dispose();
    }

    private static readonly Document[] First =
    [
        new("d1", "Vitamin D", "Vitamin D deficiency raises the risk of several cancers."),
        new("d2", "Cats", "Domestic cats sleep for most of the day."),
        new("d3", "Python", "Python is a programming language with dynamic typing."),
        new("d4", "Volcanoes", "Lava flows from an erupting volcano in Iceland."),
    ];

    private static readonly Document[] Second =
    [
        new("d5", "Football", "The striker scored twice in the cup final."),
        new("d6", "Coffee", "Caffeine in coffee blocks adenosine receptors and keeps you awake."),
    ];

    private readonly EmbeddingModel _model;

    public DenseIndexTests(Model model) => _model = model.Encoder;

    private static void AddAll(string dir, Document[] docs)
    {
        using var w = IndexWriter.Open(dir);
        foreach (var d in docs) w.Add(d);
        w.Commit();
    }

    [Fact]
    public void Search_finds_the_semantic_match_and_scores_are_cosines()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        var result = DenseIndexer.AddVectors(tmp.Path, _model);
        Assert.Equal(1, result.SegmentsEncoded);
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Equal(["minilm"], reader.Manifest.Segments[0].Vectors);
        using var searcher = new DenseSearcher(reader, "minilm", _model);
        Assert.Equal(384, searcher.Dimensions);
        var hits = searcher.Search("which animal naps all day long", 4);
        Assert.Equal("d2", hits[0].DocId);
        Assert.Equal(4, hits.Count);
        float[] q = searcher.EmbedQuery("which animal naps all day long");
        float expected = System.Numerics.Tensors.TensorPrimitives.Dot(q, searcher.GetVector(hits[0].Segment, hits[0].Doc));
        Assert.Equal(expected, hits[0].Score, 5);
        for (int i = 1; i < hits.Count; i++) Assert.True(hits[i - 1].Score >= hits[i].Score);
    }

    [Fact]
    public void New_segments_only_are_encoded_and_files_survive_later_writers()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        DenseIndexer.AddVectors(tmp.Path, _model);
        AddAll(tmp.Path, Second); // a second segment without vectors
        using (var reader = IndexReader.Open(tmp.Path))
        {
            Assert.False(DenseSearcher.IsAvailable(reader, "minilm"));
            var e = Assert.ThrowsAny<RelevoException>(() => new DenseSearcher(reader, "minilm", _model));
            Assert.Contains("relevo dense", e.Message);
        }
        var result = DenseIndexer.AddVectors(tmp.Path, _model);
        Assert.Equal(1, result.SegmentsEncoded);
        Assert.Equal(1, result.SegmentsSkipped);
        Assert.Equal(2, result.Passages);
        using (var w = IndexWriter.Open(tmp.Path)) { } // a writer's clean-up must keep referenced vector files
        using var r2 = IndexReader.Open(tmp.Path);
        using var s2 = new DenseSearcher(r2, "minilm", _model);
        Assert.Equal("d6", s2.Search("caffeine keeps me awake", 1)[0].DocId);
        Assert.Equal("d1", s2.Search("vitamin deficiency and cancer", 1)[0].DocId);
    }

    [Fact]
    public void Deleted_documents_never_appear_and_merge_keeps_live_vectors()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddAll(tmp.Path, Second);
        DenseIndexer.AddVectors(tmp.Path, _model);
        var before = new Dictionary<string, float[]>();
        using (var reader = IndexReader.Open(tmp.Path))
        using (var s = new DenseSearcher(reader, "minilm", _model))
        {
            foreach (var h in s.Search("anything", 6)) before[h.DocId] = s.GetVector(h.Segment, h.Doc).ToArray();
        }
        using (var w = IndexWriter.Open(tmp.Path))
        {
            Assert.True(w.Delete("d2"));
            w.Commit();
        }
        using (var reader = IndexReader.Open(tmp.Path))
        using (var s = new DenseSearcher(reader, "minilm", _model))
        {
            var hits = s.Search("which animal naps all day long", 10);
            Assert.Equal(5, hits.Count);
            Assert.DoesNotContain(hits, h => h.DocId == "d2");
        }
        using (var w = IndexWriter.Open(tmp.Path)) w.ForceMerge();
        using (var reader = IndexReader.Open(tmp.Path))
        using (var s = new DenseSearcher(reader, "minilm", _model))
        {
            Assert.Single(reader.Segments);
            Assert.Equal(["minilm"], reader.Manifest.Segments[0].Vectors);
            var hits = s.Search("which animal naps all day long", 10);
            Assert.Equal(5, hits.Count);
            foreach (var h in hits) Assert.Equal(before[h.DocId], s.GetVector(h.Segment, h.Doc).ToArray());
        }
        // the old segments' vector files are gone
        Assert.Single(Directory.GetFiles(tmp.Path, "*.vec"));
    }

    [Fact]
    public void Int8_search_rescoring_agrees_with_float()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddAll(tmp.Path, Second);
        DenseIndexer.AddVectors(tmp.Path, _model);
        using var reader = IndexReader.Open(tmp.Path);
        using var exact = new DenseSearcher(reader, "minilm", _model);
        using var int8 = new DenseSearcher(reader, "minilm", _model, new DenseSearchOptions { Int8 = true, MinCandidates = 3, Oversample = 1 });
        foreach (string q in new[] { "coffee", "volcano eruption", "soccer goal", "programming" })
        {
            var a = exact.Search(q, 3);
            var b = int8.Search(q, 3);
            Assert.Equal(a[0].DocId, b[0].DocId);
            Assert.Equal(a[0].Score, b[0].Score); // rescored in float32: the exact score
        }
    }

    [Fact]
    public void Corrupt_vector_file_is_refused_naming_the_file()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        DenseIndexer.AddVectors(tmp.Path, _model);
        string vec = Path.Combine(tmp.Path, VectorFiles.FloatFile("_0", "minilm"));
        byte[] bytes = File.ReadAllBytes(vec);
        bytes[100] ^= 0x10;
        File.WriteAllBytes(vec, bytes);
        using var reader = IndexReader.Open(tmp.Path);
        var e = Assert.Throws<CorruptIndexException>(() => new DenseSearcher(reader, "minilm", _model));
        Assert.Contains(vec, e.Message);
    }

    [Fact]
    public void Orphan_vector_files_from_a_crash_are_removed_and_old_manifests_read()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        // vector files written but never committed (a crash before the manifest rename)
        VectorFiles.Write(tmp.Path, "_0", "minilm", 2, new float[First.Length * 2]);
        using (var w = IndexWriter.Open(tmp.Path)) { }
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.vec"));
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.vq8"));
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Empty(reader.Manifest.Segments[0].Vectors);
    }

    [Fact]
    public void Manifest_without_vectors_property_still_reads()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        string path = Path.Combine(tmp.Path, Manifest.FileName);
        string text = File.ReadAllText(path);
        int at = text.LastIndexOf("\nchecksum ", StringComparison.Ordinal);
        string body = System.Text.RegularExpressions.Regex.Replace(text[..at], @",\s*""vectors"": \[\s*\]", "");
        Assert.DoesNotContain("vectors", body);
        string sum = System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(body)).ToString("x16");
        File.WriteAllText(path, body + "\nchecksum " + sum + "\n");
        var m = Manifest.Read(tmp.Path);
        Assert.Empty(m.Segments[0].Vectors);
    }

    [Fact]
    public void Embedding_cache_makes_the_second_run_free()
    {
        using var tmp = new TempDir();
        var texts = new[] { "cache me " + Guid.NewGuid(), "and me " + Guid.NewGuid() };
        var a = new float[2 * 384];
        var b = new float[2 * 384];
        _model.EmbedPassages(texts, a);
        int ran = -1;
        _model.EmbedPassages(texts, b, n => { if (ran < 0) ran = n; }); // first progress call: texts found in the cache
        Assert.Equal(2, ran);
        Assert.Equal(a, b);
    }

    [Fact]
    public void Pipeline_stage_text_parses()
    {
        Assert.Equal("dense(model=arctic-xs)", Relevo.Pipelines.Pipeline.Parse("dense(model=arctic-xs)").Text);
        Assert.Equal("dense(model=minilm,int8=true,oversample=8)", Relevo.Pipelines.Pipeline.Parse("dense(model=minilm, int8=true, oversample=8)").Text);
        Assert.Equal("dense(model=minilm,int8=true)", Relevo.Pipelines.Pipeline.Parse("dense(model=minilm,int8=true,oversample=4)").Text);
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => Relevo.Pipelines.Pipeline.Parse("dense(model=x,int8=yes)"));
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => Relevo.Pipelines.Pipeline.Parse("dense(model=x,color=red)"));
    }
}
