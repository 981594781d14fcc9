using System.Numerics.Tensors;
using Relevo.Collections;
using Relevo.Dense;

namespace Relevo.Tests.Dense;

/// <summary>Relevance-guided mixed precision: the int8 rewrite keeps the embeddings (against the float32 model run by
/// ONNX Runtime), the plan quantizes the least relevant matrices within the budget, and the folder loads as a model.</summary>
public sealed class QuantizationTests
{
    private static List<string> Passages(int n) =>
        JsonlReader.ReadCorpus(TestData.Dataset("scifact").CorpusPath).Take(n).Select(DenseIndexer.PassageText).ToList();

    [Fact]
    public void Uniform_int8_embeds_what_float32_embeds_and_loads_as_a_model_folder()
    {
        using var tmp = new TempDir();
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        var onnx = BertWeights.Parse(model.OnnxFile);
        var plan = MixedPrecision.Plan(onnx, new double[36], PrecisionChoice.Uniform, 1);
        Assert.All(plan, m => Assert.True(m.Int8));
        MixedPrecision.Write(model, onnx, plan, tmp["int8"], "minilm-int8", PrecisionChoice.Uniform, 1, 0);
        // writing again replaces its own files; a folder holding another model is refused, its model.onnx untouched
        MixedPrecision.Write(model, BertWeights.Parse(model.OnnxFile), plan, tmp["int8"], "minilm-int8", PrecisionChoice.Uniform, 1, 0);
        Directory.CreateDirectory(tmp["other"]);
        File.WriteAllText(tmp["other/model.onnx"], "someone's model");
        var refused = Assert.Throws<RelevoException>(() => MixedPrecision.Write(model, onnx, plan, tmp["other"], "x", PrecisionChoice.Uniform, 1, 0));
        Assert.Contains("did not write", refused.Message);
        Assert.Equal("someone's model", File.ReadAllText(tmp["other/model.onnx"]));
        // every product is one fused ONNX Runtime node, which also adds the product's bias
        var written = BertWeights.Parse(tmp["int8/model.onnx"]).Graph.Node;
        Assert.Equal(36, written.Count(n => n.OpType == "DynamicQuantizeMatMul" && n.Domain == "com.microsoft" && n.Input.Count == 5 && n.Input[4].Length > 0));
        Assert.DoesNotContain(written, n => n.OpType == "MatMul" && n.Input.Any(i => i.EndsWith("_int8", StringComparison.Ordinal)));
        using var int8 = EmbeddingModel.Load(tmp["int8"], new EncoderOptions { UseCache = false });
        Assert.Equal("minilm-int8", int8.Name);
        Assert.NotEqual(model.Fingerprint, int8.Fingerprint); // its own embedding-cache entries
        Assert.True(new FileInfo(int8.OnnxFile).Length < 0.7 * new FileInfo(model.OnnxFile).Length);
        var texts = Passages(24);
        var a = new float[texts.Count * model.Dimensions];
        var b = new float[texts.Count * model.Dimensions];
        model.Embed(texts, a, useCache: false);
        int8.Embed(texts, b, useCache: false);
        for (int i = 0; i < texts.Count; i++)
        {
            float cos = TensorPrimitives.CosineSimilarity(a.AsSpan(i * 384, 384), b.AsSpan(i * 384, 384));
            Assert.True(cos >= 0.98, $"passage {i}: cosine {cos} between float32 and int8");
        }
    }

    /// <summary>Each attention block fused into one unmasked MultiHeadAttention node embeds what ONNX Runtime's unfused
    /// graph embeds (the float32 model, so nothing but the order of the arithmetic differs), because the folder says
    /// the graph is unpadded and the encoder then never pads: both models are asked for batches of 8 passages of
    /// different lengths, which the unfused graph runs padded and masked.</summary>
    [Fact]
    public void Fused_attention_embeds_what_the_masked_graph_embeds_and_is_never_padded()
    {
        using var tmp = new TempDir();
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false, BatchSize = 8, Threads = 1 });
        var onnx = BertWeights.Parse(model.OnnxFile);
        Assert.Equal(6, AttentionFusion.Fuse(onnx));
        var nodes = onnx.Graph.Node;
        Assert.Equal(6, nodes.Count(n => n.OpType == "MultiHeadAttention" && n.Domain == "com.microsoft"));
        Assert.DoesNotContain(nodes, n => n.OpType is "Softmax" or "Transpose");
        Assert.DoesNotContain(nodes, n => n.Input.Contains("attention_mask")); // the mask's arithmetic went with it
        // and so did its constants: no initializer is left that nothing reads (ONNX Runtime warns of each one)
        var read = nodes.SelectMany(n => n.Input).ToHashSet();
        Assert.DoesNotContain(onnx.Graph.Initializer, t => !read.Contains(t.Name));
        string folder = tmp["fused"];
        Directory.CreateDirectory(folder);
        using (var f = File.Create(Path.Combine(folder, "model.onnx"))) Google.Protobuf.MessageExtensions.WriteTo(onnx, f);
        File.Copy(Path.Combine(model.Folder, "vocab.txt"), Path.Combine(folder, "vocab.txt"));
        File.WriteAllText(Path.Combine(folder, ModelConfig.FileName), (model.Config with { Name = "minilm-fused", Unpadded = true }).ToJson());
        using var fused = EmbeddingModel.Load(folder, new EncoderOptions { UseCache = false, BatchSize = 8, Threads = 1 });
        Assert.True(fused.Config.Unpadded);
        var texts = Passages(200).Where(t => model.Tokenizer.Encode(t, 512).Length < 250).Take(24).ToList();
        Assert.True(texts.Select(t => model.Tokenizer.Encode(t, 256).Length).Distinct().Count() > 12); // padding would matter
        var a = new float[texts.Count * 384];
        var b = new float[texts.Count * 384];
        model.Embed(texts, a, useCache: false);
        fused.Embed(texts, b, useCache: false);
        for (int i = 0; i < texts.Count; i++)
        {
            float cos = TensorPrimitives.CosineSimilarity(a.AsSpan(i * 384, 384), b.AsSpan(i * 384, 384));
            Assert.True(cos >= 0.99999f, $"passage {i}: cosine {cos} between the unfused and the fused graph");
        }
        // without the flag in relevo-model.json the graph's own metadata still says unpadded, and the vectors are the same
        File.WriteAllText(Path.Combine(folder, ModelConfig.FileName), (model.Config with { Name = "minilm-fused" }).ToJson());
        using (var byGraph = EmbeddingModel.Load(folder, new EncoderOptions { UseCache = false, BatchSize = 8, Threads = 1 }))
        {
            Assert.True(byGraph.Config.Unpadded);
            byGraph.Embed(texts, b, useCache: false);
            for (int i = 0; i < texts.Count; i++)
                Assert.True(TensorPrimitives.CosineSimilarity(a.AsSpan(i * 384, 384), b.AsSpan(i * 384, 384)) >= 0.99999f, $"passage {i}, flag in the graph only");
        }
        // with the flag in neither place the graph is run padded, and its shorter passages then differ: the flag matters
        var unflagged = onnx.Clone();
        unflagged.MetadataProps.Clear();
        using (var f = File.Create(Path.Combine(folder, "model.onnx"))) Google.Protobuf.MessageExtensions.WriteTo(unflagged, f);
        using var padded = EmbeddingModel.Load(folder, new EncoderOptions { UseCache = false, BatchSize = 8, Threads = 1 });
        Assert.False(padded.Config.Unpadded);
        padded.Embed(texts, b, useCache: false);
        int differing = 0;
        for (int i = 0; i < texts.Count; i++)
            if (TensorPrimitives.CosineSimilarity(a.AsSpan(i * 384, 384), b.AsSpan(i * 384, 384)) < 0.999f) differing++;
        Assert.True(differing > 0, "running the unmasked graph padded changed no vector");
    }

    /// <summary>A block whose scores get more than the padding mask added (here a bias from another graph input), or
    /// whose softmax is over another axis, is left as it is: fusing it would drop that bias or change the sums.</summary>
    [Fact]
    public void Attention_with_more_than_the_padding_mask_or_another_softmax_axis_is_left_unfused()
    {
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        var biased = BertWeights.Parse(model.OnnxFile);
        var producers = new Dictionary<string, Onnx.NodeProto>();
        foreach (var n in biased.Graph.Node)
            foreach (var o in n.Output) producers[o] = n;
        var add = producers[biased.Graph.Node.First(n => n.OpType == "Softmax").Input[0]];
        int scoreSide = Enumerable.Range(0, 2).First(i => producers.TryGetValue(add.Input[i], out var p) && p.OpType is "Div" or "Mul"
            && producers.TryGetValue(p.Input[0], out var m) && m.OpType == "MatMul");
        biased.Graph.Input.Add(new Onnx.ValueInfoProto { Name = "position_bias" });
        biased.Graph.Node.Add(new Onnx.NodeProto { OpType = "Add", Name = "biased_mask", Input = { add.Input[1 - scoreSide], "position_bias" }, Output = { "biased_mask" } });
        add.Input[1 - scoreSide] = "biased_mask";
        Assert.Equal(5, AttentionFusion.Fuse(biased));
        Assert.Contains(biased.Graph.Node, n => n.Name == "biased_mask");

        var otherAxis = BertWeights.Parse(model.OnnxFile);
        var softmax = otherAxis.Graph.Node.First(n => n.OpType == "Softmax");
        softmax.Attribute.Clear();
        softmax.Attribute.Add(new Onnx.AttributeProto { Name = "axis", Type = Onnx.AttributeProto.Types.AttributeType.Int, I = 1 });
        Assert.Equal(5, AttentionFusion.Fuse(otherAxis));
        Assert.Equal(6, AttentionFusion.Fuse(BertWeights.Parse(model.OnnxFile))); // untouched, every block
    }

    /// <summary>A quantized folder gets fused attention by default and says so; many passages run side by side on two
    /// threads give the vectors one thread gives, row for row.</summary>
    [Fact]
    public void Quantized_folders_fuse_attention_and_side_by_side_runs_keep_every_row()
    {
        using var tmp = new TempDir();
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        var plan = MixedPrecision.Plan(BertWeights.Parse(model.OnnxFile), new double[36], PrecisionChoice.Uniform, 1);
        MixedPrecision.Write(model, BertWeights.Parse(model.OnnxFile), plan, tmp["int8"], "minilm-int8", PrecisionChoice.Uniform, 1, 0);
        Assert.Contains("\"unpadded\": true", File.ReadAllText(tmp["int8/" + ModelConfig.FileName]));
        Assert.Contains("\"fusedAttention\": 6", File.ReadAllText(tmp["int8/quantization.json"]));
        Assert.Equal(6, BertWeights.Parse(tmp["int8/model.onnx"]).Graph.Node.Count(n => n.OpType == "MultiHeadAttention"));
        using var one = EmbeddingModel.Load(tmp["int8"], new EncoderOptions { UseCache = false, Threads = 1 });
        using var two = EmbeddingModel.Load(tmp["int8"], new EncoderOptions { UseCache = false, Threads = 2 });
        two.SideBySideChunk = 4; // 30 passages one per call: 8 chunks, the last one short
        var texts = Passages(30);
        var a = new float[texts.Count * 384];
        var b = new float[texts.Count * 384];
        one.Embed(texts, a, useCache: false);
        int reported = 0;
        two.Embed(texts, b, useCache: false, progress: done => reported = done);
        Assert.Equal(texts.Count, reported);
        for (int i = 0; i < texts.Count; i++)
        {
            float cos = TensorPrimitives.CosineSimilarity(a.AsSpan(i * 384, 384), b.AsSpan(i * 384, 384));
            Assert.True(cos >= 0.99999f, $"passage {i}: cosine {cos} between one thread and two");
        }
        // a model.onnx replaced after loading (here by the float32 weights) is not read by the session for runs side by
        // side, which opens on first use: those runs go through the session opened at load, with the loaded weights
        using var three = EmbeddingModel.Load(tmp["int8"], new EncoderOptions { UseCache = false, Threads = 2 });
        File.Copy(model.OnnxFile, tmp["int8/model.onnx"], overwrite: true);
        Array.Clear(b);
        three.Embed(texts, b, useCache: false);
        for (int i = 0; i < texts.Count; i++)
        {
            float cos = TensorPrimitives.CosineSimilarity(a.AsSpan(i * 384, 384), b.AsSpan(i * 384, 384));
            Assert.True(cos >= 0.99999f, $"passage {i}: cosine {cos} after the file was replaced");
        }
    }

    /// <summary>SmoothQuant's per-channel factors on the post-LayerNorm inputs (ranges from calibration passages):
    /// the query, key and value products of a layer share one set, one Mul per smoothed tensor divides the activation,
    /// and on passages the calibration did not see the smoothed int8 vectors are closer to float32 than plain int8's.</summary>
    [Fact]
    public void Smoothing_post_layernorm_activations_brings_int8_closer_to_float32()
    {
        using var tmp = new TempDir();
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        var encoder = new NativeEncoder(BertWeights.Read(model.OnnxFile));
        var passages = Passages(40);
        var ranges = MixedPrecision.PostNormRanges(model, encoder, passages.Take(8).ToList());
        Assert.Equal(12, ranges.Length);
        Assert.All(ranges, r => Assert.Equal(384, r.Length));
        Assert.All(ranges, r => Assert.True(r.Min() > 0, "a channel that never fired"));

        var onnx = BertWeights.Parse(model.OnnxFile);
        var plan = MixedPrecision.Plan(onnx, new double[36], PrecisionChoice.Uniform, 1);
        var factors = MixedPrecision.SmoothingFactors(onnx, plan, ranges, 0.5);
        Assert.Equal(24, factors.Count); // query, key, value and intermediate of 6 layers
        var byModule = plan.ToDictionary(m => m.Module, m => m.Initializer);
        Assert.Same(factors[byModule["encoder.layer.3.attention.self.query"]], factors[byModule["encoder.layer.3.attention.self.value"]]);
        Assert.NotSame(factors[byModule["encoder.layer.3.attention.self.query"]], factors[byModule["encoder.layer.3.intermediate.dense"]]);
        MixedPrecision.Write(model, onnx, plan, tmp["smoothed"], "minilm-smoothed", PrecisionChoice.Uniform, 1, 8, factors, 0.5);
        Assert.Equal(12, BertWeights.Parse(tmp["smoothed/model.onnx"]).Graph.Node.Count(n => n.OpType == "Mul" && n.Name.Contains("_smoothed", StringComparison.Ordinal)));
        MixedPrecision.Write(model, BertWeights.Parse(model.OnnxFile), plan, tmp["plain"], "minilm-plain", PrecisionChoice.Uniform, 1, 0);

        var held = passages.Skip(8).ToList();
        var reference = new float[held.Count * 384];
        model.Embed(held, reference, useCache: false);
        double Distance(string folder)
        {
            using var m = EmbeddingModel.Load(folder, new EncoderOptions { UseCache = false });
            var v = new float[held.Count * 384];
            m.Embed(held, v, useCache: false);
            double d = 0;
            for (int i = 0; i < held.Count; i++) d += 1 - TensorPrimitives.CosineSimilarity(reference.AsSpan(i * 384, 384), v.AsSpan(i * 384, 384));
            return d / held.Count;
        }
        double smoothed = Distance(tmp["smoothed"]), plain = Distance(tmp["plain"]);
        Assert.True(smoothed < plain, $"mean cosine distance to float32: smoothed {smoothed:E2}, plain {plain:E2}");
    }

    [Fact]
    public void Column_codes_round_trip_within_half_a_step()
    {
        var rng = new Random(3);
        var w = Enumerable.Range(0, 6 * 4).Select(_ => (float)(rng.NextDouble() * 2 - 1) * 3).ToArray();
        w[5] = 0; // a column with a zero still has a scale
        var tensor = new Onnx.TensorProto { Name = "w", DataType = (int)Onnx.TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange([6, 4]);
        tensor.FloatData.AddRange(w);
        var (codes, scales) = Int8Rewriter.QuantizeColumns(tensor);
        var q = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, sbyte>(codes.RawData.Span).ToArray();
        var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(scales.RawData.Span).ToArray();
        for (int c = 0; c < 4; c++)
        {
            float max = Enumerable.Range(0, 6).Max(r => Math.Abs(w[r * 4 + c]));
            Assert.Equal(max / 127, s[c], 6);
            for (int r = 0; r < 6; r++) Assert.True(Math.Abs(q[r * 4 + c] * s[c] - w[r * 4 + c]) <= s[c] / 2 + 1e-6);
        }
    }

    /// <summary>MatMulNBits' layout, decoded by hand: per column, blocks of 32 inputs, scale max|w| / 7, codes + 8 two to
    /// a byte with the even element low; every weight within half a step.</summary>
    [Fact]
    public void Four_bit_blocks_round_trip_within_half_a_step()
    {
        var rng = new Random(5);
        const int K = 64, N = 3;
        var w = Enumerable.Range(0, K * N).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var tensor = new Onnx.TensorProto { Name = "w", DataType = (int)Onnx.TensorProto.Types.DataType.Float };
        tensor.Dims.AddRange([K, N]);
        tensor.FloatData.AddRange(w);
        var (packed, scales) = Int8Rewriter.QuantizeBlocks(tensor);
        Assert.Equal([N, 2, 16], packed.Dims);
        var bytes = packed.RawData.ToByteArray();
        var s = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(scales.RawData.Span).ToArray();
        for (int c = 0; c < N; c++)
            for (int k = 0; k < K; k++)
            {
                int b = k / 32, i = k % 32;
                byte pair = bytes[(c * 2 + b) * 16 + i / 2];
                int code = i % 2 == 0 ? pair & 0xF : pair >> 4;
                float scale = s[c * 2 + b];
                Assert.Equal(Enumerable.Range(b * 32, 32).Max(r => Math.Abs(w[r * N + c])) / 7, scale, 6);
                Assert.True(Math.Abs((code - 8) * scale - w[k * N + c]) <= scale / 2 + 1e-6, $"column {c} row {k}");
            }
    }

    /// <summary>A model whose every product has 4-bit weights loads and still embeds roughly what float32 does (4 bits
    /// per weight lose more: docs/results/quantization.md has the measured figures).</summary>
    [Fact]
    public void Four_bit_weights_load_and_embed_close_to_float32()
    {
        using var tmp = new TempDir();
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        var onnx = BertWeights.Parse(model.OnnxFile);
        var plan = MixedPrecision.Plan(onnx, new double[36], PrecisionChoice.Uniform, 1, fourBit: 1);
        Assert.All(plan, m => Assert.Equal("int4", m.Precision));
        MixedPrecision.Write(model, onnx, plan, tmp["int4"], "minilm-int4", PrecisionChoice.Uniform, 1, 0);
        Assert.Equal(36, BertWeights.Parse(tmp["int4/model.onnx"]).Graph.Node.Count(n => n.OpType == "MatMulNBits"));
        using var int4 = EmbeddingModel.Load(tmp["int4"], new EncoderOptions { UseCache = false });
        var texts = Passages(8);
        var a = new float[texts.Count * 384];
        var b = new float[texts.Count * 384];
        model.Embed(texts, a, useCache: false);
        int4.Embed(texts, b, useCache: false);
        for (int i = 0; i < texts.Count; i++)
            Assert.True(TensorPrimitives.CosineSimilarity(a.AsSpan(i * 384, 384), b.AsSpan(i * 384, 384)) >= 0.85, $"passage {i}");
    }

    [Fact]
    public void The_plan_quantizes_the_least_relevant_within_the_budget_and_random_is_a_different_choice()
    {
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        var onnx = BertWeights.Parse(model.OnnxFile);
        var relevance = Enumerable.Range(0, 36).Select(i => (double)((i * 7) % 36)).ToArray();
        var lrp = MixedPrecision.Plan(onnx, relevance, PrecisionChoice.Lrp, 0.5);
        long all = lrp.Sum(m => m.Parameters), int8 = lrp.Where(m => m.Int8).Sum(m => m.Parameters);
        Assert.InRange(int8, (long)(0.4 * all), (long)(0.5 * all));
        // every int8 matrix is less relevant than every float32 one of at least its size (a larger one may not have fit)
        foreach (var q in lrp.Where(m => m.Int8))
            Assert.DoesNotContain(lrp, f => !f.Int8 && f.Parameters <= q.Parameters && f.Relevance < q.Relevance);
        var random = MixedPrecision.Plan(onnx, relevance, PrecisionChoice.Random, 0.5);
        Assert.InRange(random.Where(m => m.Int8).Sum(m => m.Parameters), (long)(0.4 * all), (long)(0.5 * all));
        Assert.NotEqual(lrp.Select(m => m.Int8), random.Select(m => m.Int8));
        // three levels: the least relevant quarter in 4 bits, then int8 up to the budget, the rest float32
        var mixed = MixedPrecision.Plan(onnx, relevance, PrecisionChoice.Lrp, 0.5, fourBit: 0.25);
        Assert.Equal(lrp.Select(m => m.Int8), mixed.Select(m => m.Int8));
        Assert.InRange(mixed.Where(m => m.FourBit).Sum(m => m.Parameters), (long)(0.15 * all), (long)(0.25 * all));
        foreach (var q in mixed.Where(m => m.FourBit))
            Assert.DoesNotContain(mixed, f => f.Int8 && !f.FourBit && f.Parameters <= q.Parameters && f.Relevance < q.Relevance);
    }

    [Fact]
    public void Calibration_relevance_covers_every_matrix_the_conservative_rules_reach()
    {
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        var encoder = new NativeEncoder(BertWeights.Read(model.OnnxFile));
        var pairs = MixedPrecision.CalibrationPairs(JsonlReader.ReadCorpus(TestData.Dataset("scifact").CorpusPath), 3);
        Assert.Equal(3, pairs.Count);
        var relevance = MixedPrecision.Measure(model, encoder, pairs);
        Assert.Equal(3, relevance.Sum(), 6); // each pair's shares sum to 1
        for (int l = 0; l < 6; l++)
        {
            // the softmax is held, so nothing flows through the query and key products; everything else carries some
            Assert.Equal(0, relevance[l * 6], 12);
            Assert.Equal(0, relevance[l * 6 + 1], 12);
            for (int s = 2; s < 6; s++) Assert.True(relevance[l * 6 + s] > 0, $"layer {l} matrix {s}");
        }
    }
}
