using System.Diagnostics;
using System.Globalization;
using System.Numerics.Tensors;
using Relevo.Collections;
using Relevo.Dense;

namespace Relevo.Bench.Dense.Explain;

/// <summary>Relevance propagation of dense scores on SciFact's top-10 pairs (docs/results/explanations.md): for each
/// judged query, the 10 documents with the highest cosine (the same ranking as exact dense search), each pair explained
/// to the document's tokens with the query's vector fixed. Reports the conservation error (|Σ shares − score| / |score|)
/// and a deletion test: the score after removing the top k% of the document's inner tokens by relevance
/// (comprehensiveness: the drop) or keeping only them (sufficiency: what is kept), against random tokens, as AOPC
/// over k ∈ {1, 5, 10, 20, 50}%, on the first <c>--deletion-queries</c> queries' pairs (each costs 20 forward passes).</summary>
internal static class RelevanceBenchmark
{
    private static readonly int[] Percents = [1, 5, 10, 20, 50];

    public static int Run(Args options, BeirDataset dataset)
    {
        string name = options.Get("model", "minilm");
        int queryCount = options.Int("queries", 100), top = options.Int("top", 10), deletionQueries = options.Int("deletion-queries", 20);
        using var model = EmbeddingModel.Load(name);
        var encoder = new NativeEncoder(BertWeights.Read(model.OnnxFile));
        var docs = JsonlReader.ReadCorpus(dataset.CorpusPath).ToList();
        var texts = docs.Select(DenseIndexer.PassageText).ToList();
        var vectors = new float[texts.Count * model.Dimensions];
        model.EmbedPassages(texts, vectors); // through the embedding cache
        var qrels = Relevo.Evaluation.Qrels.Load(dataset.QrelsPath);
        var queries = JsonlReader.ReadQueries(dataset.QueriesPath).Where(q => qrels.ForQuery(q.Id) is not null).Take(queryCount).ToList();
        Console.WriteLine($"{name}: {queries.Count} SciFact queries × top {top} by cosine over {docs.Count} documents; {Environment.ProcessorCount} cores");
        var errors = new List<double>();
        var rng = new Random(42);
        var comprehensiveness = new double[2, Percents.Length];
        var sufficiency = new double[2, Percents.Length];
        int pairs = 0, deleted = 0;
        var explainTime = new Stopwatch();
        foreach (var (_, text) in queries)
        {
            var q = model.EmbedQuery(text);
            var scores = new float[docs.Count];
            for (int d = 0; d < docs.Count; d++) scores[d] = TensorPrimitives.Dot(q, vectors.AsSpan(d * model.Dimensions, model.Dimensions));
            var best = Enumerable.Range(0, docs.Count).OrderByDescending(d => scores[d]).Take(top);
            foreach (int d in best)
            {
                var tokens = model.Tokenizer.Encode(texts[d], model.Config.MaxTokens);
                explainTime.Start();
                var relevance = EncoderRelevance.ForCosine(encoder, model.Config, tokens, q);
                explainTime.Stop();
                errors.Add(relevance.ConservationError);
                if (!(relevance.ConservationError <= 0.01)) Console.WriteLine(F($"pair {docs[d].Id}: score {relevance.Score}, shares sum to {relevance.Sum} ({tokens.Length} tokens)"));
                pairs++;
                if (pairs > deletionQueries * top) continue;
                deleted++;
                var inner = Enumerable.Range(1, tokens.Length - 2).ToArray();
                var byRelevance = inner.OrderByDescending(i => relevance.Tokens[i]).ToArray();
                var shuffled = inner.OrderBy(_ => rng.Next()).ToArray();
                for (int m = 0; m < 2; m++)
                {
                    var order = m == 0 ? byRelevance : shuffled;
                    for (int p = 0; p < Percents.Length; p++)
                    {
                        int k = Math.Max(1, (int)Math.Round(inner.Length * Percents[p] / 100.0));
                        var chosen = order.Take(k).ToHashSet();
                        comprehensiveness[m, p] += relevance.Score - Cosine(encoder, model.Config, tokens.Where((_, i) => !chosen.Contains(i)).ToArray(), q);
                        sufficiency[m, p] += relevance.Score - Cosine(encoder, model.Config, tokens.Where((_, i) => i == 0 || i == tokens.Length - 1 || chosen.Contains(i)).ToArray(), q);
                    }
                }
            }
            Console.Error.Write($"\r{pairs} pairs, {explainTime.Elapsed.TotalSeconds:F0} s explaining");
        }
        Console.Error.WriteLine();
        errors.Sort(); // a NaN would sort first: the count below does not take it as within 1%
        int within = errors.Count(e => e <= 0.01);
        Console.WriteLine(F($"conservation error: median {errors[errors.Count / 2]:E2}, 99th percentile {errors[(int)(errors.Count * 0.99)]:E2}, max {errors[^1]:E2}; within 1% of the score: {within} of {errors.Count} pairs ({100.0 * within / errors.Count:F1}%)"));
        Console.WriteLine(F($"explanation time: {explainTime.Elapsed.TotalMilliseconds / pairs:F0} ms per pair (one traced forward pass and one backward, one thread)"));
        if (deleted == 0) return 0;
        Console.WriteLine($"score drop (comprehensiveness, higher is more faithful) and score lost keeping only those tokens (sufficiency, lower is more faithful), mean over the first {deleted} pairs:");
        Console.WriteLine("| method | " + string.Join(" | ", Percents.Select(p => $"comp. {p}%")) + " | AOPC comp. | " + string.Join(" | ", Percents.Select(p => $"suff. {p}%")) + " | AOPC suff. |");
        Console.WriteLine("|---|" + string.Concat(Enumerable.Repeat("---|", 2 * Percents.Length + 2)));
        for (int m = 0; m < 2; m++)
        {
            var c = Enumerable.Range(0, Percents.Length).Select(p => comprehensiveness[m, p] / deleted).ToArray();
            var s = Enumerable.Range(0, Percents.Length).Select(p => sufficiency[m, p] / deleted).ToArray();
            Console.WriteLine(F($"| {(m == 0 ? "LRP" : "random")} | {string.Join(" | ", c.Select(x => x.ToString("F4", CultureInfo.InvariantCulture)))} | {c.Average():F4} | {string.Join(" | ", s.Select(x => x.ToString("F4", CultureInfo.InvariantCulture)))} | {s.Average():F4} |"));
        }
        return 0;
    }

    private static double Cosine(NativeEncoder encoder, ModelConfig config, int[] tokens, float[] q) =>
        TensorPrimitives.CosineSimilarity(encoder.Embed(tokens, config), q);

    private static string F(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
