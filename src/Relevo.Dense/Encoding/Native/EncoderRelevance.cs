using System.Numerics.Tensors;

namespace Relevo.Dense;

/// <summary>Layer-wise relevance propagation of a dense score to the tokens of one side: the cosine between a fixed
/// vector (the other side's embedding) and this text's embedding, attributed to this text's tokens, with the
/// conservative rules for transformers of Ali et al. (2022, "XAI for Transformers: better explanations through
/// conservative propagation"), in the spirit of AttnLRP: the factors that make the encoder non-linear are held at their
/// values in the forward pass, and what remains is an affine function of the token embeddings.
/// <list type="bullet">
/// <item>the final normalization: the norm |d| is held constant (so the cosine is linear in the pooled vector);</item>
/// <item>LayerNorm: its standard deviation is held constant (centering stays: it is linear);</item>
/// <item>attention: the softmax probabilities are held constant, so it is linear in the values;</item>
/// <item>GELU(u) = u·Φ(u): the gate Φ(u) is held constant.</item>
/// </list>
/// With those held, the score is exactly Σ (embedding · gradient) + Σ (bias · gradient) over every position (Euler's
/// theorem for an affine map), and relevance is that product, with no division anywhere (the ratio form of LRP-0
/// divides by pre-activations and blew up to 10¹⁵ on SciFact). Biases are handled explicitly: a bias (or LayerNorm β)
/// added at token i's row is token i's computation, so its share goes to token i. So the token shares add up to the
/// score up to float rounding (<see cref="TokenRelevance.ConservationError"/>).</summary>
internal static class EncoderRelevance
{
    /// <summary>The cosine between <paramref name="target"/> and the embedding of <paramref name="ids"/>, and each
    /// token's share of it.</summary>
    public static TokenRelevance ForCosine(NativeEncoder encoder, ModelConfig config, ReadOnlySpan<int> ids, ReadOnlySpan<float> target)
    {
        var w = encoder.Weights;
        int n = ids.Length, h = w.Hidden;
        if (target.Length != h) throw new ArgumentException($"target has {target.Length} dimensions, the encoder {h}", nameof(target));
        var (hidden, trace) = encoder.EncodeTraced(ids);
        var pooled = NativeEncoder.Pool(hidden, n, h, config.Pooling);
        float scale = 1f / (TensorPrimitives.Norm(pooled) * TensorPrimitives.Norm(target));
        double score = TensorPrimitives.Dot(pooled, target) * (double)scale;
        // the gradient at the last hidden state, with |d| held
        var g = new float[n * h];
        if (config.Pooling == Pooling.Cls) TensorPrimitives.Multiply(target, scale, g.AsSpan(0, h));
        else
            for (int i = 0; i < n; i++) TensorPrimitives.Multiply(target, scale / n, g.AsSpan(i * h, h));
        var bias = new double[n];
        for (int l = w.Layers.Length - 1; l >= 0; l--) g = Layer(w.Layers[l], trace.Layers[l], g, n, w, bias);
        g = LayerNorm(trace.Embedded, g, n, h, w.EmbeddingNormWeight, w.EmbeddingNormBias, w.Epsilon, bias);
        var tokens = new float[n];
        var embedded = new float[n];
        for (int i = 0; i < n; i++)
        {
            embedded[i] = TensorPrimitives.Dot(trace.Embedded.AsSpan(i * h, h), g.AsSpan(i * h, h));
            tokens[i] = (float)(embedded[i] + bias[i]);
        }
        return new TokenRelevance(tokens, score) { FromEmbeddings = embedded, Embedding = pooled };
    }

    /// <summary>One layer backwards: the gradient at its output in, at its input out; biases' shares into
    /// <paramref name="bias"/> by row.</summary>
    private static float[] Layer(BertLayer l, LayerTrace t, float[] g, int n, BertWeights w, double[] bias)
    {
        int h = w.Hidden, inner = w.IntermediateSize;
        var outputSum = LayerNorm(t.OutputSum, g, n, h, l.OutputNormWeight, l.OutputNormBias, w.Epsilon, bias);
        // outputSum = feed-forward out + attention normed: both get the gradient
        var activated = Linear(outputSum, n, h, l.Output, l.OutputBias, inner, bias);
        for (int i = 0; i < activated.Length; i++)
        {
            float u = t.PreActivation[i];
            activated[i] *= u == 0 ? 0.5f : t.Activated[i] / u; // the GELU gate Φ(u), held
        }
        var attentionNormed = Linear(activated, n, inner, l.Intermediate, l.IntermediateBias, h, bias);
        TensorPrimitives.Add(attentionNormed, outputSum, attentionNormed);
        var attentionSum = LayerNorm(t.AttentionSum, attentionNormed, n, h, l.AttentionNormWeight, l.AttentionNormBias, w.Epsilon, bias);
        // attentionSum = attention out + input
        var context = Linear(attentionSum, n, h, l.AttentionOut, l.AttentionOutBias, h, bias);
        var values = Attention(t.Probabilities, context, n, h, w.Heads);
        var input = Linear(values, n, h, l.Value, l.ValueBias, h, bias);
        TensorPrimitives.Add(input, attentionSum, input);
        return input;
    }

    /// <summary>y = x·Wᵀ + b (W <c>[out][in]</c>): the gradient at x from the gradient at y; the bias's share b·g goes to
    /// the row's token.</summary>
    private static float[] Linear(float[] gy, int n, int outputs, float[] weight, float[] b, int inputs, double[] bias)
    {
        var gx = new float[n * inputs];
        for (int i = 0; i < n; i++)
        {
            var gi = gy.AsSpan(i * outputs, outputs);
            bias[i] += TensorPrimitives.Dot(gi, b);
            var acc = gx.AsSpan(i * inputs, inputs);
            for (int j = 0; j < outputs; j++)
                if (gi[j] != 0) TensorPrimitives.MultiplyAdd(weight.AsSpan(j * inputs, inputs), gi[j], acc, acc);
        }
        return gx;
    }

    /// <summary>LayerNorm with σ held: y = γ(z − mean z)/σ + β, so the gradient at z is (γ·g − mean(γ·g))/σ; β's share
    /// β·g goes to the row's token.</summary>
    private static float[] LayerNorm(float[] z, float[] g, int n, int h, float[] gamma, float[] beta, float epsilon, double[] bias)
    {
        var gz = new float[n * h];
        for (int i = 0; i < n; i++)
        {
            var zi = z.AsSpan(i * h, h);
            var gi = g.AsSpan(i * h, h);
            bias[i] += TensorPrimitives.Dot(gi, beta);
            float mean = TensorPrimitives.Sum<float>(zi) / h;
            float variance = 0;
            for (int k = 0; k < h; k++) variance += (zi[k] - mean) * (zi[k] - mean);
            float sigma = MathF.Sqrt(variance / h + epsilon);
            var dest = gz.AsSpan(i * h, h);
            TensorPrimitives.Multiply(gi, gamma, dest);
            float m = TensorPrimitives.Sum<float>(dest) / h;
            TensorPrimitives.Subtract(dest, m, dest);
            TensorPrimitives.Divide(dest, sigma, dest);
        }
        return gz;
    }

    /// <summary>context[i] = Σⱼ p[i,j]·v[j] per head, p held: the gradient at v[j] is Σᵢ p[i,j]·g[i].</summary>
    private static float[] Attention(float[] probabilities, float[] g, int n, int h, int heads)
    {
        int d = h / heads;
        var result = new float[n * h];
        for (int head = 0; head < heads; head++)
            for (int i = 0; i < n; i++)
            {
                var gi = g.AsSpan(i * h + head * d, d);
                var p = probabilities.AsSpan((head * n + i) * n, n);
                for (int j = 0; j < n; j++)
                {
                    var rj = result.AsSpan(j * h + head * d, d);
                    TensorPrimitives.MultiplyAdd(gi, p[j], rj, rj);
                }
            }
        return result;
    }
}

/// <summary>Each token's share of a score (<see cref="Score"/>), and how far their sum is from it.</summary>
internal sealed record TokenRelevance(float[] Tokens, double Score)
{
    /// <summary>Each token's share through its embedding alone (embedding · gradient), without the biases at its row.</summary>
    public float[] FromEmbeddings { get; init; } = [];

    /// <summary>The explained text's pooled embedding (before normalization), as the C# encoder computed it.</summary>
    public float[] Embedding { get; init; } = [];

    public double Sum => TensorPrimitives.Sum<float>(Tokens);

    /// <summary>|Σ relevance − score| / |score|.</summary>
    public double ConservationError => Math.Abs(Sum - Score) / Math.Max(Math.Abs(Score), 1e-12);
}
