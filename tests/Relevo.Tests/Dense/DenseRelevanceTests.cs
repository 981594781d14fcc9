using Relevo.Collections;
using Relevo.Dense;
using Xunit.Abstractions;

namespace Relevo.Tests.Dense;

/// <summary>Relevance propagation of a dense score (query embedding fixed) to the document's tokens: the shares add up
/// to the score, and removing the tokens with the most relevance lowers the score more than removing as many at
/// random.</summary>
public sealed class DenseRelevanceTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("arctic-xs")]
    [InlineData("minilm")]
    public void TokenSharesAddUpToTheCosineAndPointAtWhatMatters(string name)
    {
        using var model = EmbeddingModel.Load(name, new EncoderOptions { UseCache = false });
        var encoder = new NativeEncoder(BertWeights.Read(model.OnnxFile));
        var ds = TestData.Dataset("scifact");
        var corpus = JsonlReader.ReadCorpus(ds.CorpusPath).ToDictionary(d => d.Id);
        var qrels = Relevo.Evaluation.Qrels.Load(ds.QrelsPath);
        var queries = JsonlReader.ReadQueries(ds.QueriesPath).Where(q => qrels.ForQuery(q.Id) is not null).Take(6).ToList();
        var rng = new Random(5);
        var ids = corpus.Keys.Order(StringComparer.Ordinal).ToList();
        var errors = new List<double>();
        double lrpDrop = 0, randomDrop = 0;
        int pairs = 0;
        foreach (var (qid, text) in queries)
        {
            var q = model.EmbedQuery(text);
            foreach (var docId in qrels.ForQuery(qid)!.Keys.Take(1).Append(ids[rng.Next(ids.Count)]))
            {
                var doc = corpus[docId];
                string passage = DenseIndexer.PassageText(doc);
                var tokens = model.Tokenizer.Encode(passage, model.Config.MaxTokens);
                var relevance = EncoderRelevance.ForCosine(encoder, model.Config, tokens, q);
                // the explained score is the score ONNX Runtime's vectors give
                var d = new float[model.Dimensions];
                model.Embed([passage], d, useCache: false);
                Assert.Equal(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(q, d), relevance.Score, 1e-4);
                errors.Add(relevance.ConservationError);
                // deletion: drop the 10% of inner tokens with the most relevance, or as many at random
                int k = Math.Max(1, (tokens.Length - 2) / 10);
                var inner = Enumerable.Range(1, tokens.Length - 2).ToList();
                var top = inner.OrderByDescending(i => relevance.Tokens[i]).Take(k).ToHashSet();
                var random = inner.OrderBy(_ => rng.Next()).Take(k).ToHashSet();
                lrpDrop += relevance.Score - Cosine(encoder, model.Config, tokens.Where((_, i) => !top.Contains(i)).ToArray(), q);
                randomDrop += relevance.Score - Cosine(encoder, model.Config, tokens.Where((_, i) => !random.Contains(i)).ToArray(), q);
                pairs++;
            }
        }
        errors.Sort();
        output.WriteLine($"{name}: {pairs} pairs, conservation error median {errors[errors.Count / 2]:E2}, max {errors[^1]:E2}; " +
                         $"mean score drop removing the top 10% by relevance {lrpDrop / pairs:F4}, random 10% {randomDrop / pairs:F4}");
        Assert.All(errors, e => Assert.True(e <= 0.01, $"conservation error {e:E2}"));
        // measured: 0.07 to 0.15 against about 0 (docs/results/explanations.md)
        Assert.True(lrpDrop / pairs > randomDrop / pairs + 0.03, $"top-relevance deletion {lrpDrop / pairs:F4} vs random {randomDrop / pairs:F4}");
    }

    private static double Cosine(NativeEncoder encoder, ModelConfig config, int[] tokens, float[] q) =>
        System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(encoder.Embed(tokens, config), q);
}

/// <summary>The relevance code against an independent reference on a tiny random encoder the test builds: a forward pass
/// written here in double precision, run once to record the factors LRP holds (each LayerNorm's σ, the softmax
/// probabilities, GELU's gate, the final norm) and then with them held; central finite differences of that frozen
/// function give each token's embedding · gradient, which must equal the code's, and the shares must add up to the
/// score.</summary>
public sealed class TinyEncoderRelevanceTests
{
    private const int H = 8, Heads = 2, Inner = 16, Vocab = 30, Positions = 16;

    private static BertWeights Tiny(int seed, double attentionScale = 1)
    {
        var rng = new Random(seed);
        float[] R(int n, double scale = 0.5) => [.. Enumerable.Range(0, n).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale))];
        float[] Near1(int n) => [.. Enumerable.Range(0, n).Select(_ => (float)(1 + (rng.NextDouble() - 0.5) * 0.4))];
        BertLayer Layer() => new(R(H * H, 0.5 * attentionScale), R(H, 0.1), R(H * H, 0.5 * attentionScale), R(H, 0.1), R(H * H), R(H, 0.1), R(H * H), R(H, 0.1), Near1(H), R(H, 0.1),
            R(Inner * H), R(Inner, 0.1), R(H * Inner), R(H, 0.1), Near1(H), R(H, 0.1));
        return new BertWeights
        {
            Hidden = H, Heads = Heads, IntermediateSize = Inner, Epsilon = 1e-5f, Word = R(Vocab * H, 1), Position = R(Positions * H, 0.3),
            TokenType = R(2 * H, 0.1), EmbeddingNormWeight = Near1(H), EmbeddingNormBias = R(H, 0.1), Layers = [Layer(), Layer()],
        };
    }

    private static readonly int[] Ids = [2, 17, 5, 9, 28, 3, 11];

    /// <summary>A tiny random model, a pooling, a random target and the summed input embeddings of <see cref="Ids"/>.</summary>
    private static (BertWeights W, ModelConfig Config, float[] Target, double[,] Embedded) Case(int seed, string pooling)
    {
        var w = Tiny(seed);
        var config = ModelConfig.MiniLM with { Pooling = pooling == "cls" ? Pooling.Cls : Pooling.Mean };
        var rng = new Random(seed + 100);
        var target = Enumerable.Range(0, H).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var e = new double[Ids.Length, H];
        for (int i = 0; i < Ids.Length; i++)
            for (int k = 0; k < H; k++) e[i, k] = w.Word[Ids[i] * H + k] + w.Position[i * H + k] + w.TokenType[k];
        return (w, config, target, e);
    }

    /// <summary>Σₖ e[i,k] · ∂f/∂e[i,k] by central differences: token i's embedding · gradient of <paramref name="f"/>.</summary>
    private static double EmbeddingTimesGradient(Func<double[,], double> f, double[,] e, int i)
    {
        const double delta = 1e-4;
        double share = 0;
        for (int k = 0; k < H; k++)
        {
            double keep = e[i, k];
            e[i, k] = keep + delta;
            double up = f(e);
            e[i, k] = keep - delta;
            double down = f(e);
            e[i, k] = keep;
            share += keep * (up - down) / (2 * delta);
        }
        return share;
    }

    [Theory]
    [InlineData(1, "mean")]
    [InlineData(2, "cls")]
    [InlineData(3, "mean")]
    public void SharesEqualFiniteDifferencesOfTheFrozenEncoderAndAddUpToTheScore(int seed, string pooling)
    {
        var (w, config, target, e) = Case(seed, pooling);
        var relevance = EncoderRelevance.ForCosine(new NativeEncoder(w), config, Ids, target);
        var reference = new Reference(w, config.Pooling == Pooling.Cls, target);
        double score = reference.Run(e, record: true);
        Assert.Equal(score, relevance.Score, 1e-5);
        Assert.Equal(score, relevance.Sum, 1e-4); // tolerances: rounding both to 4 places failed two values 2e-7 apart
        for (int i = 0; i < Ids.Length; i++)
        {
            double share = EmbeddingTimesGradient(x => reference.Run(x, record: false), e, i);
            Assert.True(Math.Abs(share - relevance.FromEmbeddings[i]) <= 1e-3 * Math.Max(1, Math.Abs(share)),
                $"token {i}: finite differences {share:F6}, LRP {relevance.FromEmbeddings[i]:F6}");
        }
    }

    [Theory]
    [InlineData(5, "mean")]
    [InlineData(6, "cls")]
    public void GradientTimesInputEqualsFiniteDifferencesOfTheLiveEncoder(int seed, string pooling)
    {
        var (w, config, target, e) = Case(seed, pooling);
        var gradient = EncoderRelevance.ForCosine(new NativeEncoder(w), config, Ids, target, Propagation.Gradient);
        var conservative = EncoderRelevance.ForCosine(new NativeEncoder(w), config, Ids, target);
        var reference = new Reference(w, config.Pooling == Pooling.Cls, target);
        Assert.Equal(reference.Live(e), gradient.Score, 1e-5);
        int differs = 0;
        for (int i = 0; i < Ids.Length; i++)
        {
            double share = EmbeddingTimesGradient(reference.Live, e, i);
            Assert.True(Math.Abs(share - gradient.Tokens[i]) <= 1e-3 * Math.Max(1, Math.Abs(share)),
                $"token {i}: finite differences {share:F6}, gradient × input {gradient.Tokens[i]:F6}");
            if (Math.Abs(gradient.Tokens[i] - conservative.FromEmbeddings[i]) > 1e-3) differs++;
        }
        Assert.True(differs > 0, "the gradient equals the held-factor one: nothing was differentiated");
    }

    [Fact]
    public void AttentionScoresFarAboveWhatExpCanHoldStayFinite()
    {
        // query and key weights 40 times larger: scores of several hundred, whose exp overflows float unless shifted
        var w = Tiny(4, attentionScale: 40);
        var hidden = new NativeEncoder(w).Encode(Ids);
        Assert.All(hidden, v => Assert.True(float.IsFinite(v)));
        var target = Enumerable.Range(0, H).Select(i => (float)Math.Cos(i)).ToArray();
        var relevance = EncoderRelevance.ForCosine(new NativeEncoder(w), ModelConfig.MiniLM, Ids, target);
        Assert.True(relevance.ConservationError < 1e-4, $"{relevance.Sum} vs {relevance.Score}");
    }

    /// <summary>The encoder in double, written from BERT's definition; with <c>record</c> it keeps the factors, without
    /// it reuses them (the frozen function LRP linearizes).</summary>
    private sealed class Reference(BertWeights w, bool cls, float[] target)
    {
        private readonly List<double> _sigmas = [], _gates = [];
        private readonly List<double[,]> _probabilities = [];
        private double _norm;
        private int _sigma, _gate, _probability;

        /// <summary>The encoder's output with every factor computed afresh (the true function, not the frozen one).</summary>
        public double Live(double[,] e)
        {
            _sigmas.Clear();
            _gates.Clear();
            _probabilities.Clear();
            return Run(e, record: true);
        }

        public double Run(double[,] e, bool record)
        {
            _sigma = _gate = _probability = 0;
            int n = e.GetLength(0);
            var x = Norm((double[,])e.Clone(), w.EmbeddingNormWeight, w.EmbeddingNormBias, record);
            foreach (var l in w.Layers)
            {
                var q = Linear(x, l.Query, l.QueryBias, H);
                var k = Linear(x, l.Key, l.KeyBias, H);
                var v = Linear(x, l.Value, l.ValueBias, H);
                var context = new double[n, H];
                int d = H / Heads;
                for (int head = 0; head < Heads; head++)
                {
                    double[,] p;
                    if (record)
                    {
                        p = new double[n, n];
                        for (int i = 0; i < n; i++)
                        {
                            var s = new double[n];
                            for (int j = 0; j < n; j++)
                                for (int c = 0; c < d; c++) s[j] += q[i, head * d + c] * k[j, head * d + c] / Math.Sqrt(d);
                            double max = s.Max(), sum = s.Sum(z => Math.Exp(z - max));
                            for (int j = 0; j < n; j++) p[i, j] = Math.Exp(s[j] - max) / sum;
                        }
                        _probabilities.Add(p);
                    }
                    else p = _probabilities[_probability];
                    _probability++;
                    for (int i = 0; i < n; i++)
                        for (int j = 0; j < n; j++)
                            for (int c = 0; c < d; c++) context[i, head * d + c] += p[i, j] * v[j, head * d + c];
                }
                var a = Add(Linear(context, l.AttentionOut, l.AttentionOutBias, H), x);
                var y1 = Norm(a, l.AttentionNormWeight, l.AttentionNormBias, record);
                var u = Linear(y1, l.Intermediate, l.IntermediateBias, Inner);
                for (int i = 0; i < n; i++)
                    for (int c = 0; c < Inner; c++)
                    {
                        if (record) _gates.Add(0.5 * (1 + NativeEncoder.Erf(u[i, c] / Math.Sqrt(2))));
                        u[i, c] *= _gates[_gate++];
                    }
                x = Norm(Add(Linear(u, l.Output, l.OutputBias, H), y1), l.OutputNormWeight, l.OutputNormBias, record);
            }
            var pooled = new double[H];
            for (int c = 0; c < H; c++)
                pooled[c] = cls ? x[0, c] : Enumerable.Range(0, n).Average(i => x[i, c]);
            if (record) _norm = Math.Sqrt(pooled.Sum(z => z * z)) * Math.Sqrt(target.Sum(z => (double)z * z));
            return pooled.Select((z, c) => z * target[c]).Sum() / _norm;
        }

        private double[,] Norm(double[,] z, float[] gamma, float[] beta, bool record)
        {
            int n = z.GetLength(0);
            var y = new double[n, H];
            for (int i = 0; i < n; i++)
            {
                double mean = Enumerable.Range(0, H).Average(c => z[i, c]);
                if (record) _sigmas.Add(Math.Sqrt(Enumerable.Range(0, H).Average(c => (z[i, c] - mean) * (z[i, c] - mean)) + w.Epsilon));
                double sigma = _sigmas[_sigma++];
                for (int c = 0; c < H; c++) y[i, c] = gamma[c] * (z[i, c] - mean) / sigma + beta[c];
            }
            return y;
        }

        private static double[,] Linear(double[,] x, float[] weight, float[] bias, int outputs)
        {
            int n = x.GetLength(0), inputs = x.GetLength(1);
            var y = new double[n, outputs];
            for (int i = 0; i < n; i++)
                for (int o = 0; o < outputs; o++)
                {
                    double s = bias[o];
                    for (int c = 0; c < inputs; c++) s += x[i, c] * weight[o * inputs + c];
                    y[i, o] = s;
                }
            return y;
        }

        private static double[,] Add(double[,] a, double[,] b)
        {
            var c = (double[,])a.Clone();
            for (int i = 0; i < a.GetLength(0); i++)
                for (int j = 0; j < a.GetLength(1); j++) c[i, j] += b[i, j];
            return c;
        }
    }
}
