using Relevo.Collections;
using Relevo.Dense;
using Xunit.Abstractions;

namespace Relevo.Tests.Dense;

/// <summary>The C# forward pass over the weights read from the ONNX file gives ONNX Runtime's embeddings: cosine at
/// least 0.9999 on sampled SciFact passages, for both shipped models.</summary>
public sealed class NativeEncoderTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("arctic-xs")]
    [InlineData("minilm")]
    public void TheNativeForwardPassGivesOnnxRuntimesEmbeddings(string name)
    {
        using var model = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false });
        var weights = BertWeights.Read(model.OnnxFile);
        Assert.Equal(384, weights.Hidden);
        Assert.Equal(12, weights.Heads);
        Assert.Equal(6, weights.Layers.Length);
        Assert.Equal(1e-12f, weights.Epsilon);
        var encoder = new NativeEncoder(weights);
        // a seeded sample of passages, plus the longest one (cut at the model's token limit) and a one-word text
        var corpus = JsonlReader.ReadCorpus(TestData.Dataset("scifact").CorpusPath).Select(DenseIndexer.PassageText).ToList();
        var rng = new Random(17);
        var texts = Enumerable.Range(0, 12).Select(_ => corpus[rng.Next(corpus.Count)])
            .Append(corpus.MaxBy(t => t.Length)!).Append("vitamin").ToList();
        var reference = new float[texts.Count * model.Dimensions];
        model.Embed(texts, reference, useCache: false);
        double worst = 1;
        for (int i = 0; i < texts.Count; i++)
        {
            var ids = model.Tokenizer.Encode(texts[i], model.Config.MaxTokens);
            var ours = encoder.Embed(ids, model.Config);
            double cosine = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(ours, reference.AsSpan(i * model.Dimensions, model.Dimensions));
            worst = Math.Min(worst, cosine);
            Assert.True(cosine >= 0.9999, $"{name}, passage {i} ({ids.Length} tokens): cosine {cosine:F6}");
        }
        output.WriteLine($"{name}: worst cosine {worst:F7} over {texts.Count} passages");
    }

    [Fact]
    public void ErfAndGeluMatchTheirKnownValues()
    {
        // erf(x) from tables (Abramowitz and Stegun, table 7.1)
        foreach (var (x, erf) in new[] { (0.0, 0.0), (0.5, 0.5204998778), (1.0, 0.8427007929), (2.0, 0.9953222650), (-1.0, -0.8427007929), (3.5, 0.9999992569) })
            Assert.Equal(erf, NativeEncoder.Erf(x), 6);
        Assert.Equal(0.8413447f, NativeEncoder.Gelu(1f), 5); // Φ(1)
        Assert.Equal(0f, NativeEncoder.Gelu(0f));
        // the vectorized form agrees with the scalar one across the range activations take
        var xs = Enumerable.Range(-4000, 8001).Select(i => i / 500f).ToArray();
        var vectorized = (float[])xs.Clone();
        NativeEncoder.GeluInPlace(vectorized);
        for (int i = 0; i < xs.Length; i++) Assert.True(Math.Abs(vectorized[i] - NativeEncoder.Gelu(xs[i])) <= 2e-6f * Math.Max(1, Math.Abs(xs[i])), $"{xs[i]}");
    }

    [Fact]
    public void AFileThatIsNotABertExportIsRefusedByName()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir["model.onnx"], [0xff, 0xff, 0xff, 0x01, 0x02]);
        var e = Assert.Throws<RelevoException>(() => BertWeights.Read(dir["model.onnx"]));
        Assert.Contains(dir["model.onnx"], e.Message);
    }
}
