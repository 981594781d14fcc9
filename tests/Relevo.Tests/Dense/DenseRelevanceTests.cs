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
                Assert.Equal(System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(q, d), relevance.Score, 4);
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
