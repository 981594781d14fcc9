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
/// <remarks>With <see cref="Propagation.Gradient"/> nothing is held: the backward pass is the true gradient (the
/// LayerNorm's, softmax's, GELU's and the norm's full derivatives, the attention scores' path through queries and keys
/// included), and each token's value is gradient × input (its summed embedding · the gradient there), the baseline
/// explanations are compared against. It does not add up to the score.</remarks>
internal static class EncoderRelevance
{
    /// <summary>The cosine between <paramref name="target"/> and the embedding of <paramref name="ids"/>, and each
    /// token's share of it (or, with <see cref="Propagation.Gradient"/>, its gradient × input).</summary>
    /// <param name="matrices">When given (<see cref="MatricesPerLayer"/> per layer), each matrix product's relevance
    /// is added to it: Σ over tokens of |input · gradient at the input| through that product (query, key, value,
    /// attention output, intermediate, output, in that order per layer); what relevance-guided quantization ranks.</param>
    public static TokenRelevance ForCosine(NativeEncoder encoder, ModelConfig config, ReadOnlySpan<int> ids, ReadOnlySpan<float> target,
        Propagation rule = Propagation.Conservative, double[]? matrices = null)
    {
        bool exact = rule == Propagation.Gradient;
        var w = encoder.Weights;
        int n = ids.Length, h = w.Hidden;
        if (target.Length != h) throw new ArgumentException($"target has {target.Length} dimensions, the encoder {h}", nameof(target));
        var (hidden, trace) = encoder.EncodeTraced(ids);
        var pooled = NativeEncoder.Pool(hidden, n, h, config.Pooling);
        float scale = 1f / (TensorPrimitives.Norm(pooled) * TensorPrimitives.Norm(target));
        double score = TensorPrimitives.Dot(pooled, target) * (double)scale;
        // the gradient at the pooled vector: with |d| held, target / (|d||t|); exactly, minus cos · d / |d|²
        var gp = new float[h];
        TensorPrimitives.Multiply(target, scale, gp);
        if (exact) TensorPrimitives.MultiplyAdd(pooled, (float)(-score / TensorPrimitives.Dot(pooled, pooled)), gp, gp);
        // the gradient at the last hidden state
        var g = new float[n * h];
        if (config.Pooling == Pooling.Cls) gp.CopyTo(g.AsSpan(0, h));
        else
            for (int i = 0; i < n; i++) TensorPrimitives.Multiply(gp, 1f / n, g.AsSpan(i * h, h));
        var bias = new double[n];
        if (matrices is not null && matrices.Length != w.Layers.Length * MatricesPerLayer)
            throw new ArgumentException($"{matrices.Length} matrix slots for {w.Layers.Length} layers", nameof(matrices));
        for (int l = w.Layers.Length - 1; l >= 0; l--)
            g = Layer(w.Layers[l], trace.Layers[l], g, n, w, bias, exact, matrices is null ? default : matrices.AsSpan(l * MatricesPerLayer, MatricesPerLayer));
        g = LayerNorm(trace.Embedded, g, n, h, w.EmbeddingNormWeight, w.EmbeddingNormBias, w.Epsilon, bias, exact);
        var tokens = new float[n];
        var embedded = new float[n];
        for (int i = 0; i < n; i++)
        {
            embedded[i] = TensorPrimitives.Dot(trace.Embedded.AsSpan(i * h, h), g.AsSpan(i * h, h));
            tokens[i] = exact ? embedded[i] : (float)(embedded[i] + bias[i]);
        }
        return new TokenRelevance(tokens, score) { FromEmbeddings = embedded, Embedding = pooled };
    }

    /// <summary>The matrix products of a layer: query, key, value, attention output, intermediate, output.</summary>
    public const int MatricesPerLayer = 6;

    /// <summary>Σ over the rows of |x_i · g_i|: a matrix product's relevance from its input x and the gradient there.</summary>
    private static double Through(float[] x, float[] g, int n, int width)
    {
        double sum = 0;
        for (int i = 0; i < n; i++) sum += Math.Abs(TensorPrimitives.Dot(x.AsSpan(i * width, width), g.AsSpan(i * width, width)));
        return sum;
    }

    /// <summary>One layer backwards: the gradient at its output in, at its input out; biases' shares into
    /// <paramref name="bias"/> by row, each matrix product's relevance into <paramref name="matrices"/> (when not empty).</summary>
    private static float[] Layer(BertLayer l, LayerTrace t, float[] g, int n, BertWeights w, double[] bias, bool exact, Span<double> matrices)
    {
        int h = w.Hidden, inner = w.IntermediateSize;
        var outputSum = LayerNorm(t.OutputSum, g, n, h, l.OutputNormWeight, l.OutputNormBias, w.Epsilon, bias, exact);
        // outputSum = feed-forward out + attention normed: both get the gradient
        var activated = Linear(outputSum, n, h, l.Output, l.OutputBias, inner, bias);
        if (!matrices.IsEmpty) matrices[5] += Through(t.Activated, activated, n, inner);
        if (exact)
            for (int i = 0; i < activated.Length; i++)
            {
                float u = t.PreActivation[i];
                float gate = u == 0 ? 0.5f : t.Activated[i] / u; // the exact derivative Φ(u) + u φ(u)
                activated[i] *= gate + u * MathF.Exp(-0.5f * u * u) * 0.3989422804f;
            }
        else
        {
            // Φ(u) = GELU(u) / u held (½ at 0)
            var gates = new float[activated.Length];
            TensorPrimitives.Divide(t.Activated, t.PreActivation, gates);
            for (int i = 0; i < gates.Length; i++)
                if (t.PreActivation[i] == 0) gates[i] = 0.5f;
            TensorPrimitives.Multiply(activated, gates, activated);
        }
        var attentionNormed = Linear(activated, n, inner, l.Intermediate, l.IntermediateBias, h, bias);
        if (!matrices.IsEmpty) matrices[4] += Through(t.AttentionNormed, attentionNormed, n, h);
        TensorPrimitives.Add(attentionNormed, outputSum, attentionNormed);
        var attentionSum = LayerNorm(t.AttentionSum, attentionNormed, n, h, l.AttentionNormWeight, l.AttentionNormBias, w.Epsilon, bias, exact);
        // attentionSum = attention out + input
        var context = Linear(attentionSum, n, h, l.AttentionOut, l.AttentionOutBias, h, bias);
        if (!matrices.IsEmpty) matrices[3] += Through(t.Context, context, n, h);
        var values = Attention(t.Probabilities, context, n, h, w.Heads);
        var input = Linear(values, n, h, l.Value, l.ValueBias, h, bias);
        if (!matrices.IsEmpty) matrices[2] += Through(t.Input, input, n, h);
        TensorPrimitives.Add(input, attentionSum, input);
        if (exact)
        {
            var (queries, keys) = Scores(t, context, n, h, w.Heads);
            var fromQueries = Linear(queries, n, h, l.Query, l.QueryBias, h, bias);
            var fromKeys = Linear(keys, n, h, l.Key, l.KeyBias, h, bias);
            if (!matrices.IsEmpty)
            {
                matrices[0] += Through(t.Input, fromQueries, n, h);
                matrices[1] += Through(t.Input, fromKeys, n, h);
            }
            TensorPrimitives.Add(input, fromQueries, input);
            TensorPrimitives.Add(input, fromKeys, input);
        }
        return input;
    }

    /// <summary>The gradient through the attention scores s[i,j] = q[i]·k[j]/√d (what holding the softmax drops): at
    /// the probabilities g·v[j], through the softmax p(δ − p), then to the queries and keys.</summary>
    private static (float[] Queries, float[] Keys) Scores(LayerTrace t, float[] g, int n, int h, int heads)
    {
        int d = h / heads;
        float scale = 1f / MathF.Sqrt(d);
        var gq = new float[n * h];
        var gk = new float[n * h];
        var gs = new float[n];
        for (int head = 0; head < heads; head++)
            for (int i = 0; i < n; i++)
            {
                var gi = g.AsSpan(i * h + head * d, d);
                var p = t.Probabilities.AsSpan((head * n + i) * n, n);
                float mean = 0;
                for (int j = 0; j < n; j++)
                {
                    gs[j] = TensorPrimitives.Dot(gi, t.Values.AsSpan(j * h + head * d, d));
                    mean += p[j] * gs[j];
                }
                var qi = gq.AsSpan(i * h + head * d, d);
                for (int j = 0; j < n; j++)
                {
                    float s = p[j] * (gs[j] - mean) * scale;
                    if (s == 0) continue;
                    TensorPrimitives.MultiplyAdd(t.Keys.AsSpan(j * h + head * d, d), s, qi, qi);
                    var kj = gk.AsSpan(j * h + head * d, d);
                    TensorPrimitives.MultiplyAdd(t.Queries.AsSpan(i * h + head * d, d), s, kj, kj);
                }
            }
        return (gq, gk);
    }

    /// <summary>y = x·Wᵀ + b (W <c>[out][in]</c>): the gradient at x from the gradient at y, g·W (W packed once per matrix, <see cref="Gemm"/>); the bias's share b·g goes to the row's token.</summary>
    private static float[] Linear(float[] gy, int n, int outputs, float[] weight, float[] b, int inputs, double[] bias)
    {
        var gx = new float[n * inputs];
        for (int i = 0; i < n; i++) bias[i] += TensorPrimitives.Dot(gy.AsSpan(i * outputs, outputs), b);
        Gemm.MultiplyBy(gy, n, outputs, weight, inputs, gx);
        return gx;
    }

    /// <summary>LayerNorm with σ held: y = γ(z − mean z)/σ + β, so the gradient at z is (γ·g − mean(γ·g))/σ; β's share
    /// β·g goes to the row's token. Exactly, σ's own derivative adds − x̂·mean(γ·g·x̂)/σ (x̂ the normalized row).</summary>
    private static float[] LayerNorm(float[] z, float[] g, int n, int h, float[] gamma, float[] beta, float epsilon, double[] bias,
        bool exact = false)
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
            if (exact)
            {
                float c = 0;
                for (int k = 0; k < h; k++) c += dest[k] * (zi[k] - mean) / sigma;
                c /= h;
                for (int k = 0; k < h; k++) dest[k] -= (zi[k] - mean) / sigma * c;
            }
            TensorPrimitives.Subtract(dest, m, dest);
            TensorPrimitives.Divide(dest, sigma, dest);
        }
        return gz;
    }

    /// <summary>context[i] = Σⱼ p[i,j]·v[j] per head, p held: the gradient at v[j] is Σᵢ p[i,j]·g[i], per head the
    /// probabilities' transpose times the gradient (<see cref="Gemm.MultiplyTransposedRows"/>).</summary>
    private static float[] Attention(float[] probabilities, float[] g, int n, int h, int heads)
    {
        int d = h / heads;
        var result = new float[n * h];
        for (int head = 0; head < heads; head++)
            Gemm.MultiplyTransposedRows(probabilities.AsSpan(head * n * n, n * n), n, n, n, g.AsSpan(head * d), h, d, result.AsSpan(head * d), h);
        return result;
    }
}

/// <summary>How relevance goes back through the encoder: LRP's conservative rules, or the plain gradient.</summary>
internal enum Propagation { Conservative, Gradient }

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
