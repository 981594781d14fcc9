using System.Diagnostics;
using System.Numerics.Tensors;
using Relevo.Collections;

namespace Relevo.Dense;

/// <summary>How a token attribution of a dense score is made, for the faithfulness comparison.</summary>
internal enum AttributionMethod
{
    /// <summary>Layer-wise relevance propagation with the conservative rules (what explanations use).</summary>
    Lrp,
    /// <summary>The true gradient at each token's summed embedding, times that embedding.</summary>
    GradientInput,
    /// <summary>Leave one token out: the score lost without it (one forward pass per token).</summary>
    Occlusion,
    /// <summary>A random order: the floor any attribution must clear.</summary>
    Random,
}

/// <summary>What <see cref="Faithfulness.Run"/> measures over one model's pairs.</summary>
internal sealed class FaithfulnessReport
{
    public static readonly int[] Percents = [1, 5, 10, 20, 50];

    public required string Model { get; init; }
    public required int MaxTokens { get; init; }
    public required int Queries { get; init; }
    /// <summary>|Σ LRP shares − score| / |score| of every pair, sorted (a NaN sorts first and never counts as within 1%).</summary>
    public List<double> ConservationErrors { get; } = [];
    /// <summary>Per method: pairs measured, seconds spent attributing, and the summed score drops per k.</summary>
    public Dictionary<AttributionMethod, MethodTotals> Methods { get; } = [];
    /// <summary>The same over the pairs occlusion was measured on too (every method, the same pairs).</summary>
    public Dictionary<AttributionMethod, MethodTotals> OcclusionPairs { get; } = [];
}

/// <summary>One method's sums over the pairs it was measured on.</summary>
internal sealed class MethodTotals
{
    public int Pairs { get; set; }
    public double Seconds { get; set; }
    public double[] Comprehensiveness { get; } = new double[FaithfulnessReport.Percents.Length];
    public double[] Sufficiency { get; } = new double[FaithfulnessReport.Percents.Length];
    public double Comp(int p) => Comprehensiveness[p] / Pairs;
    public double Suff(int p) => Sufficiency[p] / Pairs;
    public double AopcComp => Enumerable.Range(0, Comprehensiveness.Length).Average(Comp);
    public double AopcSuff => Enumerable.Range(0, Sufficiency.Length).Average(Suff);
}

/// <summary>Faithfulness of token attributions of dense scores, by deletion (ERASER's comprehensiveness and
/// sufficiency, as AOPC over k ∈ {1, 5, 10, 20, 50}%): for each judged query of a dataset, its top pairs by cosine
/// over the whole corpus (exact search), each document's inner tokens ([CLS] and [SEP] stay) ranked by an attribution;
/// comprehensiveness is the score lost when the top k% are removed (higher: the attribution found what the score
/// depends on), sufficiency the score lost when only they are kept (lower is better). Scores of edited token sequences
/// come from the model as deployed (ONNX Runtime); attributions from the C# encoder. Occlusion costs one forward pass
/// per token, so it runs on the first <c>occlusionQueries</c> queries only.</summary>
internal static class Faithfulness
{
    public static FaithfulnessReport Run(EmbeddingModel model, NativeEncoder encoder, BeirDataset dataset, int queries, int top,
        int occlusionQueries, Action<int, int>? progress = null, CancellationToken cancellation = default)
    {
        var docs = JsonlReader.ReadCorpus(dataset.CorpusPath).ToList();
        var texts = docs.Select(DenseIndexer.PassageText).ToList();
        int dims = model.Dimensions;
        var vectors = new float[texts.Count * dims];
        model.EmbedPassages(texts, vectors); // through the embedding cache
        var qrels = Evaluation.Qrels.Load(dataset.QrelsPath);
        var judged = JsonlReader.ReadQueries(dataset.QueriesPath).Where(q => qrels.ForQuery(q.Id) is not null).Take(queries).ToList();
        var report = new FaithfulnessReport { Model = model.Name, MaxTokens = model.Config.MaxTokens, Queries = judged.Count };
        foreach (var m in Enum.GetValues<AttributionMethod>())
        {
            report.Methods[m] = new MethodTotals();
            report.OcclusionPairs[m] = new MethodTotals();
        }
        var rng = new Random(42);
        var scores = new float[docs.Count];
        for (int qi = 0; qi < judged.Count; qi++)
        {
            cancellation.ThrowIfCancellationRequested();
            var q = model.EmbedQuery(judged[qi].Text);
            for (int d = 0; d < docs.Count; d++) scores[d] = TensorPrimitives.Dot(q, vectors.AsSpan(d * dims, dims));
            var best = Enumerable.Range(0, docs.Count).OrderByDescending(d => scores[d]).ThenBy(d => d).Take(top);
            foreach (int d in best)
            {
                var ids = model.Tokenizer.Encode(model.Config.PassagePrefix + texts[d], model.Config.MaxTokens);
                var full = new float[dims];
                model.EmbedIds([ids], full);
                float score = TensorPrimitives.CosineSimilarity(q, full);
                foreach (var method in Enum.GetValues<AttributionMethod>())
                {
                    if (method == AttributionMethod.Occlusion && qi >= occlusionQueries) continue;
                    var clock = Stopwatch.StartNew();
                    var (attribution, conservation) = Attribute(method, model, encoder, ids, q, score, rng);
                    var totals = report.Methods[method];
                    totals.Seconds += clock.Elapsed.TotalSeconds;
                    if (method == AttributionMethod.Lrp) report.ConservationErrors.Add(conservation);
                    Delete(model, ids, q, score, Rank(attribution), totals, qi < occlusionQueries ? report.OcclusionPairs[method] : null);
                }
            }
            progress?.Invoke(qi + 1, judged.Count);
        }
        report.ConservationErrors.Sort();
        return report;
    }

    /// <summary>Each token's attribution under a method (index = position in <paramref name="ids"/>), and for LRP its
    /// conservation error.</summary>
    private static (float[] Tokens, double Conservation) Attribute(AttributionMethod method, EmbeddingModel model, NativeEncoder encoder,
        int[] ids, float[] q, float score, Random rng)
    {
        switch (method)
        {
            case AttributionMethod.Lrp:
            {
                var relevance = EncoderRelevance.ForCosine(encoder, model.Config, ids, q);
                return (relevance.Tokens, relevance.ConservationError);
            }
            case AttributionMethod.GradientInput:
                return (EncoderRelevance.ForCosine(encoder, model.Config, ids, q, Propagation.Gradient).Tokens, double.NaN);
            case AttributionMethod.Occlusion:
            {
                var edited = new List<int[]>(ids.Length - 2);
                for (int i = 1; i < ids.Length - 1; i++) edited.Add(Without(ids, i));
                var rows = new float[edited.Count * model.Dimensions];
                model.EmbedIds(edited, rows);
                var drop = new float[ids.Length];
                for (int i = 1; i < ids.Length - 1; i++)
                    drop[i] = score - TensorPrimitives.CosineSimilarity(q, rows.AsSpan((i - 1) * model.Dimensions, model.Dimensions));
                return (drop, double.NaN);
            }
            default:
            {
                var random = new float[ids.Length];
                for (int i = 0; i < random.Length; i++) random[i] = (float)rng.NextDouble();
                return (random, double.NaN);
            }
        }
    }

    /// <summary>The inner positions (1 .. n−2) by attribution, highest first; ties by position.</summary>
    private static int[] Rank(float[] attribution)
    {
        var inner = new int[Math.Max(0, attribution.Length - 2)];
        for (int i = 0; i < inner.Length; i++) inner[i] = i + 1;
        Array.Sort(inner, (a, b) =>
        {
            int c = attribution[b].CompareTo(attribution[a]);
            return c != 0 ? c : a.CompareTo(b);
        });
        return inner;
    }

    /// <summary>Adds one pair's score drops: without the top k% (comprehensiveness) and with only them (sufficiency).</summary>
    private static void Delete(EmbeddingModel model, int[] ids, float[] q, float score, int[] ranked, MethodTotals totals, MethodTotals? subset)
    {
        var percents = FaithfulnessReport.Percents;
        var edited = new List<int[]>(2 * percents.Length);
        foreach (int p in percents)
        {
            int k = Math.Max(1, (int)Math.Round(ranked.Length * p / 100.0));
            var chosen = new HashSet<int>(ranked.Take(k));
            edited.Add([.. ids.Where((_, i) => !chosen.Contains(i))]);
            edited.Add([.. ids.Where((_, i) => i == 0 || i == ids.Length - 1 || chosen.Contains(i))]);
        }
        var rows = new float[edited.Count * model.Dimensions];
        model.EmbedIds(edited, rows);
        foreach (var t in subset is null ? [totals] : new[] { totals, subset })
        {
            for (int p = 0; p < percents.Length; p++)
            {
                t.Comprehensiveness[p] += score - TensorPrimitives.CosineSimilarity(q, rows.AsSpan(2 * p * model.Dimensions, model.Dimensions));
                t.Sufficiency[p] += score - TensorPrimitives.CosineSimilarity(q, rows.AsSpan((2 * p + 1) * model.Dimensions, model.Dimensions));
            }
            t.Pairs++;
        }
    }

    private static int[] Without(int[] ids, int position)
    {
        var result = new int[ids.Length - 1];
        ids.AsSpan(0, position).CopyTo(result);
        ids.AsSpan(position + 1).CopyTo(result.AsSpan(position));
        return result;
    }
}
