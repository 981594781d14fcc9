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
        internal EmbeddingModel Encoder { get; } = EmbeddingModel.Load("minilm");
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

    private static DenseIndexResult AddVectors(string dir, EmbeddingModel model, GraphOptions? graph = null)
    {
        using var w = SearchIndex.OpenWriter(dir, new WriterOptions(), [new DenseExtension()]);
        return DenseIndexer.AddVectors(w, model, graph: graph);
    }

    private static ComponentData VectorsOf(SegmentEntry s) => s.Component(VectorComponent.ComponentName, "minilm")!;

    /// <summary>The index opened with dense retrieval that embeds queries with the class's model.</summary>
    private SearchIndex Open(string dir) => SearchIndex.Open(dir, new SearchIndexOptions { Extensions = [new DenseExtension(_ => _model)] });

    private static IReadOnlyList<string> Models(SegmentEntry s) =>
        s.Components.Where(c => c.Component == VectorComponent.ComponentName).Select(c => c.Key).ToList();

    [Fact]
    public void Search_finds_the_semantic_match_and_scores_are_cosines()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        var result = AddVectors(tmp.Path, _model);
        Assert.Equal(1, result.SegmentsEncoded);
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Equal(["minilm"], Models(reader.Manifest.Segments[0]));
        var vectors = DenseSearcher.For(reader, "minilm", int8: false);
        Assert.Equal(384, vectors.Dimensions);
        using var index = Open(tmp.Path);
        var hits = index.Search("which animal naps all day long", "dense(model=minilm)", 4).Hits;
        Assert.Equal("d2", hits[0].Id);
        Assert.Equal(4, hits.Count);
        float[] q = _model.EmbedQuery("which animal naps all day long");
        float expected = System.Numerics.Tensors.TensorPrimitives.Dot(q, vectors.GetVector(hits[0].Segment, hits[0].Doc));
        Assert.Equal(expected, hits[0].Score, 5);
        for (int i = 1; i < hits.Count; i++) Assert.True(hits[i - 1].Score >= hits[i].Score);
    }

    [Fact]
    public void Dense_scores_are_explained_by_tokens_words_and_sentences_that_add_up_and_point_at_what_matters()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddVectors(tmp.Path, _model);
        using var index = Open(tmp.Path);
        const string query = "does vitamin d lower the risk of cancer";
        var result = index.Search(query, "dense(model=minilm)", 4, new SearchOptions { Documents = true, Explain = true });
        float[] q = _model.EmbedQuery(query);
        int checkedDeletion = 0;
        for (int i = 0; i < result.Hits.Count; i++)
        {
            var doc = result.Documents![i]!;
            var e = result.Explanations![i]!;
            Assert.Equal(result.Hits[i].Score, e.Score);
            var a = e.Tokens!;
            Assert.Equal(DenseIndexer.PassageText(doc), a.Text);
            Assert.Equal(result.Hits[i].Score, a.Cosine, 3); // recomputed in C# from the text, against ONNX Runtime's stored vector
            Assert.True(a.ConservationError <= 0.01, $"{doc.Id}: conservation error {a.ConservationError}");
            Assert.Equal(a.Cosine, a.DocumentTokens.Sum(t => (double)t.Relevance), 2);
            Assert.Equal(a.Cosine, a.QueryTokens.Sum(t => (double)t.Relevance), 2);
            // words and sentences regroup the tokens inside the text, nothing lost
            double inText = a.DocumentTokens.Where(t => t.Start >= 0).Sum(t => (double)t.Relevance);
            Assert.Equal(inText, a.Words.Sum(w => (double)w.Relevance), 4);
            Assert.Equal(inText, a.Sentences.Sum(w => (double)w.Relevance), 4);
            Assert.Equal((0, doc.Title.Length), (a.Sentences[0].Start, a.Sentences[0].End));
            Assert.All(a.Words, w => Assert.DoesNotContain(' ', a.Text[w.Start..w.End]));
            // faithful where there is a score to explain: deleting the most relevant word costs more of it than deleting the
            // least relevant one (near-zero cosines of unrelated documents are noise either way)
            if (a.Cosine < 0.3) continue;
            checkedDeletion++;
            var top = a.Words.MaxBy(w => w.Relevance)!;
            var bottom = a.Words.MinBy(w => w.Relevance)!;
            float Without(SpanShare w)
            {
                var v = new float[_model.Dimensions];
                _model.EmbedPassages([a.Text[..w.Start] + a.Text[w.End..]], v);
                return System.Numerics.Tensors.TensorPrimitives.Dot(q, v);
            }
            Assert.True(Without(top) < Without(bottom), $"{doc.Id}: without '{a.Text[top.Start..top.End]}' {Without(top)}, without '{a.Text[bottom.Start..bottom.End]}' {Without(bottom)}");
        }
        Assert.True(checkedDeletion >= 1);
        Assert.Equal("d1", result.Hits[0].Id);
        var vitamin = result.Explanations![0]!.Tokens!;
        Assert.Contains(vitamin.Words.OrderByDescending(w => w.Relevance).Take(5), w => vitamin.Text[w.Start..w.End] == "Vitamin");
    }

    [Theory]
    [InlineData("fuse(rrf,bm25,dense(model=minilm))")]
    [InlineData("bm25>>rerank(dense(model=minilm),depth=3)")]
    [InlineData("bm25>>rerank(dense(model=minilm),passages=1)")]
    public void Fused_and_reranked_dense_scores_pass_down_to_the_token_explanation(string pipeline)
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, [.. First, new Document("d7", "Vitamin D trials", "The trial enrolled adults. Vitamin D supplements lowered cancer deaths. Cats were not involved.")]);
        AddVectors(tmp.Path, _model);
        using var index = Open(tmp.Path);
        var result = index.Search("vitamin d cancer", pipeline, 10, new SearchOptions { Explain = true });
        int explained = 0;
        for (int i = 0; i < result.Hits.Count; i++)
        {
            var e = result.Explanations![i]!;
            Assert.Equal(result.Hits[i].Score, e.Score);
            if (pipeline.StartsWith("fuse", StringComparison.Ordinal))
                Assert.Equal(e.Score, e.Parts!.Sum(p => p.Share!.Value), 5);
            var part = e.Parts?.FirstOrDefault(p => p.Stage.Contains("dense", StringComparison.Ordinal));
            if (part?.Explanation is not { Tokens: { } a } inner) continue;
            explained++;
            Assert.Equal(part.InputScore, inner.Score);
            // the explained cosine is the score the stage gave: the whole text, or the best window
            Assert.Equal(part.InputScore!.Value, a.Cosine, 3);
            Assert.True(a.ConservationError <= 0.01);
            if (pipeline.Contains("passages", StringComparison.Ordinal) && result.Hits[i].Id == "d7")
                Assert.DoesNotContain("Cats", a.Text); // one sentence and the title: the vitamin sentence
        }
        Assert.True(explained >= 2, $"{explained} hits explained down to tokens"); // d1 and d7 (bm25 finds only those)
    }

    [Fact]
    public void New_segments_only_are_encoded_and_files_survive_later_writers()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddVectors(tmp.Path, _model);
        AddAll(tmp.Path, Second); // a second segment without vectors
        using (var index = Open(tmp.Path))
        {
            var e = Assert.ThrowsAny<RelevoException>(() => index.Search("coffee", "dense(model=minilm)", 1));
            Assert.Contains("relevo dense", e.Message);
            Assert.Single(index.PipelineChoices()); // dense is offered only when every segment has vectors
        }
        var result = AddVectors(tmp.Path, _model);
        Assert.Equal(1, result.SegmentsEncoded);
        Assert.Equal(1, result.SegmentsSkipped);
        Assert.Equal(2, result.Passages);
        using (var w = IndexWriter.Open(tmp.Path)) { } // a writer's clean-up must keep referenced vector files
        using var i2 = Open(tmp.Path);
        Assert.Equal(3, i2.PipelineChoices().Count);
        Assert.Equal("d6", i2.Search("caffeine keeps me awake", "dense(model=minilm)", 1).Hits[0].Id);
        Assert.Equal("d1", i2.Search("vitamin deficiency and cancer", "dense(model=minilm)", 1).Hits[0].Id);
    }

    [Fact]
    public void Deleted_documents_never_appear_and_merge_keeps_live_vectors()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddAll(tmp.Path, Second);
        AddVectors(tmp.Path, _model);
        var before = new Dictionary<string, float[]>();
        using (var reader = IndexReader.Open(tmp.Path))
        using (var index = Open(tmp.Path))
        {
            var vectors = DenseSearcher.For(reader, "minilm", int8: false);
            foreach (var h in index.Search("anything", "dense(model=minilm)", 6).Hits) before[h.Id] = vectors.GetVector(h.Segment, h.Doc).ToArray();
        }
        using (var w = SearchIndex.OpenWriter(tmp.Path, new WriterOptions(), [new DenseExtension()]))
        {
            Assert.True(w.Delete("d2"));
            w.Commit();
        }
        using (var index = Open(tmp.Path))
        {
            var hits = index.Search("which animal naps all day long", "dense(model=minilm)", 10).Hits;
            Assert.Equal(5, hits.Count);
            Assert.DoesNotContain(hits, h => h.Id == "d2");
        }
        using (var w = SearchIndex.OpenWriter(tmp.Path, new WriterOptions(), [new DenseExtension()])) w.ForceMerge();
        using (var reader = IndexReader.Open(tmp.Path))
        using (var index = Open(tmp.Path))
        {
            Assert.Single(reader.Segments);
            Assert.Equal(["minilm"], Models(reader.Manifest.Segments[0]));
            var vectors = DenseSearcher.For(reader, "minilm", int8: false);
            var hits = index.Search("which animal naps all day long", "dense(model=minilm)", 10).Hits;
            Assert.Equal(5, hits.Count);
            foreach (var h in hits) Assert.Equal(before[h.Id], vectors.GetVector(h.Segment, h.Doc).ToArray());
        }
        // the old segments' vector files are gone
        Assert.Single(Directory.GetFiles(tmp.Path, "*.vec"));
    }

    [Fact]
    public void A_merge_without_the_dense_extension_is_refused_rather_than_dropping_vectors()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddAll(tmp.Path, Second);
        AddVectors(tmp.Path, _model);
        using (var w = IndexWriter.Open(tmp.Path))
        {
            var e = Assert.Throws<RelevoException>(() => w.ForceMerge());
            Assert.Contains("'vectors'", e.Message);
        }
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Equal(2, reader.Segments.Count);
        Assert.All(reader.Manifest.Segments, s => Assert.Equal(["minilm"], Models(s)));
    }

    [Fact]
    public void Int8_search_rescoring_agrees_with_float()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddAll(tmp.Path, Second);
        AddVectors(tmp.Path, _model);
        using var index = Open(tmp.Path);
        foreach (string q in new[] { "coffee", "volcano eruption", "soccer goal", "programming" })
        {
            var a = index.Search(q, "dense(model=minilm)", 3).Hits;
            var b = index.Search(q, "dense(model=minilm,int8=true,oversample=1)", 3).Hits;
            Assert.Equal(a[0].Id, b[0].Id);
            Assert.Equal(a[0].Score, b[0].Score); // rescored in float32: the exact score
        }
    }

    /// <summary>A flipped bit in the float32 vectors (.vec) or in the graph (.hnsw) is found by the file's checksum
    /// when a search opens the commit, and the error names the file.</summary>
    [Theory]
    [InlineData("vec", 100, 0x10)]
    [InlineData("hnsw", 40, 0x01)]
    public void Corrupt_vector_or_graph_file_is_refused_naming_the_file(string kind, int at, int bit)
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddVectors(tmp.Path, _model);
        string path = Path.Combine(tmp.Path, kind == "vec" ? VectorFiles.FloatFile("_0", "minilm") : HnswFile.FileName("_0", "minilm"));
        byte[] bytes = File.ReadAllBytes(path);
        bytes[at] ^= (byte)bit;
        File.WriteAllBytes(path, bytes);
        using var index = Open(tmp.Path);
        var e = Assert.Throws<CorruptIndexException>(() => index.Search("coffee", "dense(model=minilm)", 3));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Orphan_vector_files_from_a_crash_are_removed()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        // vector files written but never committed (a crash before the manifest rename)
        VectorFiles.Write(tmp.Path, "_0", "minilm", 2, new float[First.Length * 2]);
        HnswFile.Write(Path.Combine(tmp.Path, HnswFile.FileName("_0", "minilm")),
            HnswBuilder.Build(new float[First.Length * 2], 2, First.Length, HnswParameters.Default));
        using (var w = IndexWriter.Open(tmp.Path)) { }
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.vec"));
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.vq8"));
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.hnsw"));
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Empty(reader.Manifest.Segments[0].Components);
    }

    [Fact]
    public void A_format_1_manifest_with_vectors_reads_as_component_data_and_searches()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddVectors(tmp.Path, _model);
        // rewrite the manifest as format 1 wrote it: "vectors": [models] per segment, no components
        string path = Path.Combine(tmp.Path, Manifest.FileName);
        string text = File.ReadAllText(path);
        string body = text[..text.LastIndexOf("\nchecksum ", StringComparison.Ordinal)];
        var json = System.Text.Json.Nodes.JsonNode.Parse(body)!.AsObject();
        json["format"] = 1;
        foreach (var seg in json["segments"]!.AsArray())
        {
            seg!.AsObject().Remove("components");
            seg.AsObject()["vectors"] = new System.Text.Json.Nodes.JsonArray("minilm");
        }
        body = json.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        string sum = System.IO.Hashing.XxHash64.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(body)).ToString("x16");
        File.WriteAllText(path, body + "\nchecksum " + sum + "\n");
        var m = Manifest.Read(tmp.Path);
        Assert.Equal(Manifest.CurrentFormat, m.Format);
        Assert.Equal(["_0.minilm.vec", "_0.minilm.vq8"], m.Segments[0].ComponentFiles());
        using (var w = IndexWriter.Open(tmp.Path)) { } // the upgraded manifest names the files: a writer keeps them
        using var index = Open(tmp.Path);
        Assert.Equal("d2", index.Search("which animal naps all day long", "dense(model=minilm)", 1).Hits[0].Id);
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
    public void Vectors_come_with_a_graph_that_finds_what_the_scan_finds_and_skips_deleted_documents()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddAll(tmp.Path, Second);
        var result = AddVectors(tmp.Path, _model);
        Assert.Equal(2, result.GraphsBuilt);
        using (var reader = IndexReader.Open(tmp.Path))
            foreach (var s in reader.Manifest.Segments)
            {
                Assert.Equal(HnswFile.FileName(s.Name, "minilm"), SegmentGraphs.GraphFile(VectorsOf(s)));
                Assert.Equal(HnswParameters.Default, SegmentGraphs.ParametersOf(tmp.Path, VectorsOf(s)));
            }
        using (var w = SearchIndex.OpenWriter(tmp.Path, new WriterOptions(), [new DenseExtension()]))
        {
            Assert.True(w.Delete("d2"));
            w.Commit();
        }
        using var index = Open(tmp.Path);
        foreach (string q in new[] { "which animal naps all day long", "coffee", "volcano eruption", "soccer goal", "programming" })
        {
            var scan = index.Search(q, "dense(model=minilm,exact=true)", 10).Hits;
            var graph = index.Search(q, "dense(model=minilm,exact=false)", 10).Hits;
            var graph8 = index.Search(q, "dense(model=minilm,int8=true,exact=false,ef=20)", 10).Hits;
            Assert.Equal(5, scan.Count);
            Assert.Equal(scan.Select(h => (h.Id, h.Score)), graph.Select(h => (h.Id, h.Score)));
            Assert.Equal(scan.Select(h => (h.Id, h.Score)), graph8.Select(h => (h.Id, h.Score))); // rescored in float32
            Assert.DoesNotContain(graph, h => h.Id == "d2");
        }
    }

    [Fact]
    public void An_index_without_graphs_is_scanned_and_gets_them_later_without_embedding_again()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        var first = AddVectors(tmp.Path, _model, GraphOptions.None);
        Assert.Equal(0, first.GraphsBuilt);
        Assert.Empty(Directory.GetFiles(tmp.Path, "*.hnsw"));
        using (var index = Open(tmp.Path)) // no graph: exact=false scans too
            Assert.Equal("d2", index.Search("which animal naps all day long", "dense(model=minilm,exact=false)", 1).Hits[0].Id);
        var second = AddVectors(tmp.Path, _model, new GraphOptions(new HnswParameters(8, 50)));
        Assert.Equal((0, 0L, 1), (second.SegmentsEncoded, second.Passages, second.GraphsBuilt));
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Equal(new HnswParameters(8, 50), SegmentGraphs.ParametersOf(tmp.Path, VectorsOf(reader.Manifest.Segments[0])));
        using var i2 = Open(tmp.Path);
        Assert.Equal("d2", i2.Search("which animal naps all day long", "dense(model=minilm,exact=false)", 1).Hits[0].Id);
    }

    [Fact]
    public async Task Merged_and_newly_written_segments_get_graphs_with_the_index_parameters()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddAll(tmp.Path, Second);
        AddVectors(tmp.Path, _model, new GraphOptions(new HnswParameters(6, 40)));
        using (var w = SearchIndex.OpenWriter(tmp.Path, new WriterOptions(), [new DenseExtension()]))
        {
            Assert.True(w.Delete("d2"));
            w.ForceMerge();
        }
        // a served index embeds what a write adds and builds its graph like the others'
        using (var served = SearchIndex.Open(tmp.Path, new SearchIndexOptions { Writable = true, Extensions = [new DenseExtension(_ => _model)] }))
        {
            await served.AddAsync([new Document("d7", "Tea", "Green tea contains less caffeine than coffee.")]);
            var hits = served.Search("green tea", "dense(model=minilm,exact=false)", 10).Hits;
            Assert.Equal("d7", hits[0].Id);
            Assert.Equal(6, hits.Count);
            Assert.Equal(served.Search("green tea", "dense(model=minilm,exact=true)", 10).Hits.Select(h => h.Id), hits.Select(h => h.Id));
            Assert.DoesNotContain(hits, h => h.Id == "d2");
        }
        using var reader = IndexReader.Open(tmp.Path);
        Assert.Equal(2, reader.Segments.Count);
        foreach (var s in reader.Manifest.Segments)
            Assert.Equal(new HnswParameters(6, 40), SegmentGraphs.ParametersOf(tmp.Path, VectorsOf(s)));
        Assert.Equal(2, Directory.GetFiles(tmp.Path, "*.hnsw").Length); // the merged-away segments' graphs are gone
        using var graph = HnswFile.Open(Path.Combine(tmp.Path, SegmentGraphs.GraphFile(VectorsOf(reader.Manifest.Segments[0]))!), 5, 384);
        for (int d = 0; d < 5; d++) Assert.True(graph.LevelOf(d) >= 0); // the merge renumbered live documents only
    }

    /// <summary>A served index whose every document was deleted still embeds (and links) what a write adds: the
    /// index keeps its vectors, so dense search keeps working.</summary>
    [Fact]
    public async Task After_every_document_is_deleted_new_ones_are_still_embedded()
    {
        using var tmp = new TempDir();
        AddAll(tmp.Path, First);
        AddVectors(tmp.Path, _model);
        using var served = SearchIndex.Open(tmp.Path, new SearchIndexOptions { Writable = true, Extensions = [new DenseExtension(_ => _model)] });
        foreach (var d in First) Assert.True((await served.DeleteAsync(d.Id)).Deleted);
        await served.AddAsync([new Document("d7", "Tea", "Green tea contains less caffeine than coffee.")]);
        var hits = served.Search("green tea", "dense(model=minilm)", 10).Hits;
        Assert.Equal("d7", Assert.Single(hits).Id);
        Assert.Equal(hits.Select(h => h.Id), served.Search("green tea", "dense(model=minilm,exact=false)", 10).Hits.Select(h => h.Id));
    }

    [Fact]
    public void Pipeline_stage_text_parses()
    {
        var registry = ExtensionRegistry.Create([new DenseExtension()]);
        string Parse(string text) => Relevo.Pipelines.Pipeline.Parse(text, registry).Text;
        Assert.Equal("dense(model=arctic-xs)", Parse("dense(model=arctic-xs)"));
        Assert.Equal("dense(model=minilm,int8=true,oversample=8)", Parse("dense(model=minilm, int8=true, oversample=8)"));
        Assert.Equal("dense(model=minilm,int8=true)", Parse("dense(model=minilm,int8=true,oversample=4)"));
        Assert.Equal("dense(model=minilm,ef=50,exact=false)", Parse("dense(model=minilm, ef=50, exact=false)"));
        Assert.Equal("dense(model=minilm,exact=true)", Parse("dense(model=minilm,exact=true,ef=200)"));
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => Parse("dense(model=x,ef=0)"));
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => Parse("dense(model=x,exact=maybe)"));
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => Parse("dense(model=x,int8=yes)"));
        Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => Parse("dense(model=x,color=red)"));
        var e = Assert.Throws<Relevo.Pipelines.PipelineSyntaxException>(() => Relevo.Pipelines.Pipeline.Parse("dense(model=arctic-xs)"));
        Assert.Contains("unknown stage 'dense'", e.Message); // the core alone does not know the dense extension's stages
    }
}
