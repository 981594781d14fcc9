using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace Relevo.Dense;

/// <summary>A BERT encoder's forward pass in C# over <see cref="BertWeights"/>, for one sequence (no padding, token
/// types 0, as Relevo embeds): the same numbers ONNX Runtime computes, up to float rounding, with every layer's
/// activations at hand (what relevance propagation and per-layer precision need). Matrix products go through
/// <see cref="Gemm"/>, an outer-product kernel over weights packed once per matrix.
/// Plain embedding stays with ONNX Runtime, which is faster (docs/benchmarks.md).</summary>
internal sealed class NativeEncoder(BertWeights weights)
{
    public BertWeights Weights { get; } = weights;

    /// <summary>The last hidden state, <c>[tokens × hidden]</c>, of a sequence of token ids ([CLS] ... [SEP]).</summary>
    public float[] Encode(ReadOnlySpan<int> ids) => Run(ids, null);

    /// <summary>The last hidden state and every activation relevance propagation reads on the way back.</summary>
    public (float[] Hidden, EncoderTrace Trace) EncodeTraced(ReadOnlySpan<int> ids)
    {
        var trace = new EncoderTrace();
        var hidden = Run(ids, trace);
        return (hidden, trace);
    }

    private float[] Run(ReadOnlySpan<int> ids, EncoderTrace? trace)
    {
        var w = Weights;
        int n = ids.Length, h = w.Hidden;
        if (n == 0) throw new ArgumentException("no tokens", nameof(ids));
        if (n > w.MaxPositions) throw new RelevoException($"{n} tokens: the encoder has {w.MaxPositions} positions");
        var x = new float[n * h];
        for (int i = 0; i < n; i++)
        {
            if ((uint)ids[i] >= (uint)w.Vocabulary) throw new RelevoException($"token id {ids[i]} is outside the vocabulary ({w.Vocabulary})");
            var row = x.AsSpan(i * h, h);
            TensorPrimitives.Add(w.Word.AsSpan(ids[i] * h, h), w.Position.AsSpan(i * h, h), row);
            TensorPrimitives.Add(row, w.TokenType.AsSpan(0, h), row);
        }
        if (trace is not null) trace.Embedded = (float[])x.Clone();
        for (int i = 0; i < n; i++) LayerNorm(x.AsSpan(i * h, h), w.EmbeddingNormWeight, w.EmbeddingNormBias, w.Epsilon);
        foreach (var layer in w.Layers) x = Layer(layer, x, n, trace);
        return x;
    }

    private float[] Layer(BertLayer l, float[] x, int n, EncoderTrace? trace)
    {
        var w = Weights;
        int h = w.Hidden, heads = w.Heads, d = h / heads;
        var q = Linear(x, n, h, l.Query, l.QueryBias, h);
        var k = Linear(x, n, h, l.Key, l.KeyBias, h);
        var v = Linear(x, n, h, l.Value, l.ValueBias, h);
        var context = new float[n * h];
        var probabilities = trace is null ? null : new float[heads * n * n];
        var scores = new float[n * n];
        var keysT = new float[d * n];
        float scale = 1f / MathF.Sqrt(d);
        for (int head = 0; head < heads; head++)
        {
            // scores[i, j] = q_i · k_j / √d over this head's columns (the keys transposed, so each row is built whole)
            for (int j = 0; j < n; j++)
                for (int c = 0; c < d; c++) keysT[c * n + j] = k[j * h + head * d + c];
            Gemm.MultiplyRows(q.AsSpan(head * d), h, n, d, keysT, n, n, scores, n);
            for (int i = 0; i < n; i++) Softmax(scores.AsSpan(i * n, n), scale);
            if (probabilities is not null) scores.CopyTo(probabilities.AsSpan(head * n * n, n * n));
            // context_i = Σ_j p[i, j] v_j over this head's columns
            Gemm.MultiplyRows(scores, n, n, n, v.AsSpan(head * d), h, d, context.AsSpan(head * d), h);
        }
        var attended = Linear(context, n, h, l.AttentionOut, l.AttentionOutBias, h);
        var attentionOut = trace is null ? null : (float[])attended.Clone();
        TensorPrimitives.Add(attended, x, attended);
        var attentionSum = trace is null ? null : (float[])attended.Clone();
        for (int i = 0; i < n; i++) LayerNorm(attended.AsSpan(i * h, h), l.AttentionNormWeight, l.AttentionNormBias, w.Epsilon);
        var inner = Linear(attended, n, h, l.Intermediate, l.IntermediateBias, w.IntermediateSize);
        var preActivation = trace is null ? null : (float[])inner.Clone();
        GeluInPlace(inner);
        var output = Linear(inner, n, w.IntermediateSize, l.Output, l.OutputBias, h);
        var feedForwardOut = trace is null ? null : (float[])output.Clone();
        TensorPrimitives.Add(output, attended, output);
        var outputSum = trace is null ? null : (float[])output.Clone();
        for (int i = 0; i < n; i++) LayerNorm(output.AsSpan(i * h, h), l.OutputNormWeight, l.OutputNormBias, w.Epsilon);
        trace?.Layers.Add(new LayerTrace(x, q, k, v, probabilities!, context, attentionOut!, attentionSum!, attended, preActivation!, inner,
            feedForwardOut!, outputSum!));
        return output;
    }

    /// <summary>The softmax of a row of scores times <paramref name="scale"/> (&gt; 0), in place: from the largest score
    /// down, so that no exponent overflows, in one pass for the exponents and their sum and one for the division.</summary>
    internal static void Softmax(Span<float> row, float scale)
    {
        float max = TensorPrimitives.Max<float>(row);
        float sum = 0;
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref float at = ref MemoryMarshal.GetReference(row);
            var sums = Vector<float>.Zero;
            for (; j + Vector<float>.Count <= row.Length; j += Vector<float>.Count)
            {
                var e = Vector.Exp((Vector.LoadUnsafe(ref at, (nuint)j) - new Vector<float>(max)) * scale);
                e.StoreUnsafe(ref at, (nuint)j);
                sums += e;
            }
            sum = Vector.Sum(sums);
        }
        for (; j < row.Length; j++)
        {
            row[j] = MathF.Exp((row[j] - max) * scale);
            sum += row[j];
        }
        TensorPrimitives.Multiply(row, 1f / sum, row);
    }

    /// <summary>y = x · Wᵀ + b for <paramref name="n"/> rows, W stored <c>[out][in]</c> (<see cref="Gemm"/>).</summary>
    internal static float[] Linear(float[] x, int n, int inputs, float[] weight, float[] bias, int outputs)
    {
        var y = new float[n * outputs];
        Gemm.Multiply(x, n, inputs, weight, outputs, bias, y);
        return y;
    }

    internal static void LayerNorm(Span<float> row, float[] weight, float[] bias, float epsilon)
    {
        float mean = TensorPrimitives.Sum<float>(row) / row.Length;
        TensorPrimitives.Subtract(row, mean, row);
        float variance = TensorPrimitives.SumOfSquares<float>(row) / row.Length;
        TensorPrimitives.Multiply(row, 1f / MathF.Sqrt(variance + epsilon), row);
        TensorPrimitives.Multiply(row, weight, row);
        TensorPrimitives.Add(row, bias, row);
    }

    /// <summary>GELU with the exact erf, as BERT uses it.</summary>
    internal static float Gelu(float x) => 0.5f * x * (1f + (float)Erf(x / Math.Sqrt(2)));

    private static readonly float[] ErfPolynomial =
        [0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f];

    /// <summary><see cref="Gelu"/> over a whole array in one vectorized pass: the same Chebyshev erf (<see cref="Erf"/>),
    /// evaluated in float vectors (relative error around 10⁻⁶), with no branch on the sign (random signs made a scalar
    /// loop mispredict half the time) and no temporary arrays.</summary>
    internal static void GeluInPlace(Span<float> u)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            ref float at = ref MemoryMarshal.GetReference(u);
            for (; i + Vector<float>.Count <= u.Length; i += Vector<float>.Count)
            {
                var x = Vector.LoadUnsafe(ref at, (nuint)i);
                var z = Vector.Abs(x) * (1f / MathF.Sqrt(2));
                var t = Vector<float>.One / (Vector<float>.One + z * 0.5f);
                var r = new Vector<float>(ErfPolynomial[0]);
                for (int c = 1; c < ErfPolynomial.Length; c++) r = Vector.FusedMultiplyAdd(r, t, new Vector<float>(ErfPolynomial[c]));
                r = Vector.FusedMultiplyAdd(r, t, new Vector<float>(-1.26551223f)) - z * z;
                var erfc = Vector.Exp(r) * t;
                var gate = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(x, Vector<float>.Zero), new Vector<float>(2f) - erfc, erfc);
                (x * 0.5f * gate).StoreUnsafe(ref at, (nuint)i);
            }
        }
        for (; i < u.Length; i++) u[i] = Gelu(u[i]);
    }

    /// <summary>erf from the Chebyshev fit of the complementary error function (fractional error below 1.2e-7
    /// everywhere); .NET has no Math.Erf.</summary>
    internal static double Erf(double x)
    {
        double z = Math.Abs(x);
        double t = 1 / (1 + 0.5 * z);
        double r = t * Math.Exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 +
            t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return x >= 0 ? 1 - r : r - 1;
    }

    /// <summary>The pooled sentence vector of a sequence, as <see cref="EmbeddingModel"/> pools ONNX Runtime's output.</summary>
    public float[] Embed(ReadOnlySpan<int> ids, ModelConfig config)
    {
        var v = Pool(Encode(ids), ids.Length, Weights.Hidden, config.Pooling);
        if (config.Normalize) TensorPrimitives.Divide(v, Math.Max(TensorPrimitives.Norm(v), 1e-12f), v);
        return v;
    }

    /// <summary>The sentence vector of a last hidden state of <paramref name="n"/> tokens: the [CLS] row, or the mean
    /// of the rows.</summary>
    internal static float[] Pool(float[] hidden, int n, int h, Pooling pooling)
    {
        var v = new float[h];
        if (pooling == Pooling.Cls) hidden.AsSpan(0, h).CopyTo(v);
        else
        {
            for (int i = 0; i < n; i++) TensorPrimitives.Add(v, hidden.AsSpan(i * h, h), v);
            TensorPrimitives.Divide(v, n, v);
        }
        return v;
    }
}

/// <summary>One layer's activations from a traced forward pass, each <c>[tokens × width]</c> (probabilities:
/// <c>[heads × tokens × tokens]</c>).</summary>
internal sealed record LayerTrace(float[] Input, float[] Queries, float[] Keys, float[] Values, float[] Probabilities, float[] Context, float[] AttentionOut,
    float[] AttentionSum, float[] AttentionNormed, float[] PreActivation, float[] Activated, float[] FeedForwardOut, float[] OutputSum);

/// <summary>What a traced forward pass keeps: the summed embeddings before their LayerNorm and each layer's activations.</summary>
internal sealed class EncoderTrace
{
    public float[] Embedded { get; set; } = [];
    public List<LayerTrace> Layers { get; } = [];
}
