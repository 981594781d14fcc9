using System.Text.Json;
using Onnx;

namespace Relevo.Dense;

/// <summary>How the matrices to quantize are chosen.</summary>
internal enum PrecisionChoice
{
    /// <summary>The least relevant first, by relevance propagated over calibration pairs (LRP-QViT's idea).</summary>
    Lrp,
    /// <summary>Every matrix (the budget is ignored).</summary>
    Uniform,
    /// <summary>A random order, at the same budget: the control for <see cref="Lrp"/>.</summary>
    Random,
}

/// <summary>One weight matrix of the encoder and the precision chosen for it.</summary>
/// <param name="Int8">Quantized (to int8, or to 4 bits when <paramref name="FourBit"/>).</param>
internal sealed record MatrixPrecision(string Module, string Initializer, long Parameters, double Relevance, bool Int8, bool FourBit = false)
{
    public string Precision => FourBit ? "int4" : Int8 ? "int8" : "float32";
}

/// <summary>Relevance-guided mixed precision: each matrix product's share of relevance over calibration pairs
/// (<see cref="EncoderRelevance"/>), then int8 for the least relevant until the budget (a fraction of the matrices'
/// parameters) is spent, float32 for the rest; the result is a model folder that loads like any other.</summary>
internal static class MixedPrecision
{
    private static readonly string[] Slots =
        ["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense", "intermediate.dense", "output.dense"];

    /// <summary>Calibration pairs from a corpus, no queries: each titled document's title as the query and its text as
    /// the passage, every <c>stride</c>-th document so they spread over the collection.</summary>
    public static List<(string Query, string Passage)> CalibrationPairs(IEnumerable<Document> corpus, int count)
    {
        var titled = corpus.Where(d => d.Title.Length > 0 && d.Text.Length > 0).ToList();
        if (titled.Count == 0) throw new RelevoException("no document has both a title and a text to calibrate with");
        int stride = Math.Max(1, titled.Count / count);
        var pairs = new List<(string, string)>();
        for (int i = 0; i < titled.Count && pairs.Count < count; i += stride) pairs.Add((titled[i].Title, titled[i].Text));
        return pairs;
    }

    /// <summary>Each matrix product's relevance (layer by layer, <see cref="EncoderRelevance.MatricesPerLayer"/> each),
    /// summed over the pairs, each pair's shares first divided by their total so every pair weighs the same.</summary>
    public static double[] Measure(EmbeddingModel model, NativeEncoder encoder, IReadOnlyList<(string Query, string Passage)> pairs,
        Action<int>? progress = null)
    {
        var total = new double[encoder.Weights.Layers.Length * EncoderRelevance.MatricesPerLayer];
        var pair = new double[total.Length];
        for (int i = 0; i < pairs.Count; i++)
        {
            Array.Clear(pair);
            var q = model.EmbedQuery(pairs[i].Query);
            var ids = model.Tokenizer.Encode(model.Config.PassagePrefix + pairs[i].Passage, model.Config.MaxTokens);
            EncoderRelevance.ForCosine(encoder, model.Config, ids, q, matrices: pair);
            double sum = pair.Sum();
            if (sum > 0)
                for (int m = 0; m < total.Length; m++) total[m] += pair[m] / sum;
            progress?.Invoke(i + 1);
        }
        return total;
    }

    /// <summary>Per layer, the largest |activation| of each channel at the two post-LayerNorm inputs of its matrix
    /// products, over the calibration passages: <c>[2l]</c> the layer's input (read by the query, key and value
    /// products), <c>[2l + 1]</c> the attention block's normed output (read by the intermediate product).</summary>
    public static float[][] PostNormRanges(EmbeddingModel model, NativeEncoder encoder, IReadOnlyList<string> passages)
    {
        int layers = encoder.Weights.Layers.Length, h = encoder.Weights.Hidden;
        var ranges = new float[2 * layers][];
        for (int r = 0; r < ranges.Length; r++) ranges[r] = new float[h];
        foreach (string passage in passages)
        {
            var ids = model.Tokenizer.Encode(model.Config.PassagePrefix + passage, model.Config.MaxTokens);
            var (_, trace) = encoder.EncodeTraced(ids);
            for (int l = 0; l < layers; l++)
            {
                ChannelMax(trace.Layers[l].Input, ids.Length, ranges[2 * l]);
                ChannelMax(trace.Layers[l].AttentionNormed, ids.Length, ranges[2 * l + 1]);
            }
        }
        return ranges;
    }

    private static void ChannelMax(float[] x, int rows, float[] max)
    {
        int h = max.Length;
        for (int i = 0; i < rows; i++)
            for (int j = 0; j < h; j++) max[j] = Math.Max(max[j], Math.Abs(x[i * h + j]));
    }

    /// <summary>SmoothQuant's per-channel factors for the int8 products that read a post-LayerNorm activation: channel j
    /// of the activation is divided by <c>s_j = max|x_j|^α / max|w_j|^(1−α)</c> and row j of each weight matrix multiplied
    /// by it, which leaves the product unchanged in exact arithmetic but moves the activations' outlier channels (the
    /// reason one scale per tensor quantizes them coarsely) into the weights, which are quantized per column. The
    /// query, key and value products share one factor per channel (they read one tensor); it is computed over those of
    /// them the plan puts in int8. Keyed by weight initializer; products in float32 are not touched.</summary>
    public static Dictionary<string, float[]> SmoothingFactors(ModelProto onnx, IReadOnlyList<MatrixPrecision> plan, float[][] ranges, double alpha)
    {
        var result = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (alpha <= 0) return result;
        var tensors = BertWeights.Initializers(onnx.Graph);
        var byModule = plan.ToDictionary(m => m.Module, StringComparer.Ordinal);
        int layers = ranges.Length / 2;
        for (int l = 0; l < layers; l++)
        {
            string[][] groups = [[$"encoder.layer.{l}.attention.self.query", $"encoder.layer.{l}.attention.self.key", $"encoder.layer.{l}.attention.self.value"],
                                 [$"encoder.layer.{l}.intermediate.dense"]];
            for (int g = 0; g < groups.Length; g++)
            {
                var members = groups[g].Select(m => byModule[m]).Where(m => m.Int8 && !m.FourBit).ToList();
                if (members.Count == 0) continue;
                float[] x = ranges[2 * l + g];
                var wmax = new float[x.Length];
                foreach (var m in members)
                {
                    var w = BertWeights.Floats(tensors[m.Initializer], "the model");
                    int columns = w.Length / x.Length;
                    for (int j = 0; j < x.Length; j++)
                        for (int c = 0; c < columns; c++) wmax[j] = Math.Max(wmax[j], Math.Abs(w[j * columns + c]));
                }
                var factors = new float[x.Length];
                for (int j = 0; j < factors.Length; j++)
                    factors[j] = (float)(Math.Pow(Math.Max(x[j], 1e-5), alpha) / Math.Pow(Math.Max(wmax[j], 1e-5), 1 - alpha));
                foreach (var m in members) result[m.Initializer] = factors;
            }
        }
        return result;
    }

    /// <summary>The precision of each matrix: int8 for the first in the choice's order until <paramref name="budget"/>
    /// of the parameters are int8 (a matrix that would overshoot is skipped, smaller ones after it may still fit).</summary>
    /// <param name="fourBit">The fraction of the parameters whose weights go to 4 bits: the first in the choice's order
    /// (the least relevant for <see cref="PrecisionChoice.Lrp"/>), within <paramref name="budget"/>; for
    /// <see cref="PrecisionChoice.Uniform"/>, 1 puts every matrix in 4 bits.</param>
    public static List<MatrixPrecision> Plan(ModelProto onnx, double[] relevance, PrecisionChoice choice, double budget, int seed = 7, double fourBit = 0)
    {
        var graph = onnx.Graph;
        var tensors = BertWeights.Initializers(graph);
        var names = BertWeights.MatrixNames(graph, tensors, BertWeights.Consumers(graph));
        int layers = relevance.Length / Slots.Length;
        var matrices = new List<(string Module, string Initializer, long Parameters, double Relevance)>();
        for (int l = 0; l < layers; l++)
            for (int s = 0; s < Slots.Length; s++)
            {
                string module = $"encoder.layer.{l}.{Slots[s]}";
                if (!names.TryGetValue(module, out var initializer)) throw new RelevoException($"the model has no matrix for {module}");
                long parameters = tensors[initializer].Dims.Aggregate(1L, (a, b) => a * b);
                matrices.Add((module, initializer, parameters, relevance[l * Slots.Length + s]));
            }
        long all = matrices.Sum(m => m.Parameters);
        IEnumerable<int> order = choice switch
        {
            PrecisionChoice.Lrp => Enumerable.Range(0, matrices.Count).OrderBy(i => matrices[i].Relevance).ThenBy(i => i),
            PrecisionChoice.Random => Enumerable.Range(0, matrices.Count).ToArray().Shuffled(new Random(seed)),
            _ => Enumerable.Range(0, matrices.Count),
        };
        double limit = choice == PrecisionChoice.Uniform ? all : budget * all;
        double fourLimit = Math.Min(limit, fourBit * all);
        var int8 = new bool[matrices.Count];
        var int4 = new bool[matrices.Count];
        long spent = 0, spent4 = 0;
        foreach (int i in order)
        {
            long parameters = matrices[i].Parameters;
            if (spent + parameters > limit + 0.5) continue;
            int8[i] = true;
            spent += parameters;
            if (spent4 + parameters <= fourLimit + 0.5)
            {
                int4[i] = true;
                spent4 += parameters;
            }
        }
        return [.. matrices.Select((m, i) => new MatrixPrecision(m.Module, m.Initializer, m.Parameters, m.Relevance, int8[i], int4[i]))];
    }

    /// <summary>Writes the quantized model folder: the source folder's tokenizer files, model.onnx with the plan's
    /// matrices in int8 and (unless <paramref name="fuseAttention"/> is false) each attention block fused into one
    /// unmasked node (<see cref="AttentionFusion"/>), relevo-model.json under <paramref name="name"/> (the name its
    /// vectors are stored under; <c>unpadded</c> when attention was fused) and quantization.json recording the plan. Files already in <paramref name="folder"/> with those names are replaced
    /// when an earlier quantization wrote them; a folder with another model (a model.onnx and no quantization.json) is
    /// refused. Nothing else there is touched.</summary>
    public static void Write(EmbeddingModel source, ModelProto onnx, IReadOnlyList<MatrixPrecision> plan, string folder, string name,
        PrecisionChoice choice, double budget, int calibrationPairs, IReadOnlyDictionary<string, float[]>? smoothing = null, double alpha = 0,
        bool fuseAttention = true)
    {
        if (File.Exists(Path.Combine(folder, "model.onnx")) && !File.Exists(Path.Combine(folder, "quantization.json")))
            throw new RelevoException($"{folder}: holds a model.onnx that relevo quantize did not write; choose another --out");
        Directory.CreateDirectory(folder);
        var chosen = plan.Where(m => m.Int8).Select(m => m.Initializer).ToHashSet(StringComparer.Ordinal);
        var fourBit = plan.Where(m => m.FourBit).Select(m => m.Initializer).ToHashSet(StringComparer.Ordinal);
        int rewritten = Int8Rewriter.Rewrite(onnx, chosen, smoothing, fourBit);
        if (rewritten != chosen.Count) throw new RelevoException($"{rewritten} of the {chosen.Count} chosen matrix products were rewritten");
        int fused = fuseAttention ? AttentionFusion.Fuse(onnx) : 0;
        foreach (var file in new[] { "vocab.txt", "tokenizer.json" })
            if (File.Exists(Path.Combine(source.Folder, file))) Replace(Path.Combine(folder, file), Path.Combine(source.Folder, file));
        string model = Path.Combine(folder, "model.onnx");
        string temp = model + ".tmp";
        using (var stream = File.Create(temp)) Google.Protobuf.MessageExtensions.WriteTo(onnx, stream);
        // the settings first: should this stop between the two, an unpadded flag beside an older graph only costs speed,
        // where a fused graph beside older settings would be run padded (its graph says unpadded too, which the encoder reads)
        File.WriteAllText(Path.Combine(folder, ModelConfig.FileName), (source.Config with { Name = name, Unpadded = source.Config.Unpadded || fused > 0 }).ToJson());
        File.Move(temp, model, overwrite: true);
        var record = new
        {
            source = source.Name, choice = choice.ToString().ToLowerInvariant(), budget, calibrationPairs,
            smoothing = smoothing is { Count: > 0 } ? alpha : 0, smoothedProducts = smoothing?.Count ?? 0,
            int8Parameters = plan.Where(m => m.Int8 && !m.FourBit).Sum(m => m.Parameters), parameters = plan.Sum(m => m.Parameters),
            int4Parameters = plan.Where(m => m.FourBit).Sum(m => m.Parameters),
            fusedAttention = fused,
            matrices = plan.Select(m => new { m.Module, precision = m.Precision, m.Parameters, relevance = Math.Round(m.Relevance, 6) }),
        };
        File.WriteAllText(Path.Combine(folder, "quantization.json"), JsonSerializer.Serialize(record, new JsonSerializerOptions { WriteIndented = true }));
    }

    private static void Replace(string target, string source)
    {
        string temp = target + ".tmp";
        File.Copy(source, temp, overwrite: true);
        File.Move(temp, target, overwrite: true);
    }

    private static IEnumerable<int> Shuffled(this int[] items, Random rng)
    {
        rng.Shuffle(items);
        return items;
    }
}
