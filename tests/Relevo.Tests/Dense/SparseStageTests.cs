using System.Globalization;
using System.Text;
using Relevo.Dense;
using Relevo.Index;
using Relevo.Index.Impacts;
using Relevo.Search.Impacts;

namespace Relevo.Tests.Dense;

/// <summary>sparse(model=DIR) end to end: queries encoded at query time by a SPLADE-style ONNX model (a tiny one this
/// test generates; the encoder itself is checked against a reference computation in <see cref="SparseEncoderTests"/>)
/// rank a pre-encoded index exactly as a brute-force dot product of the encoder's weights with the stored impacts.</summary>
public class SparseStageTests
{
    [Fact]
    public void Sparse_stage_ranks_as_the_encoded_query_dot_the_stored_impacts()
    {
        using var tmp = new TempDir();
        var lm = TinyMaskedLm.Write(tmp["model"], seed: 3);
        var vocab = lm.Vocabulary.Where(t => !t.StartsWith('[')).ToArray();
        var random = new Random(8);
        var docs = new List<(string Id, Dictionary<string, int> Vector)>();
        var sb = new StringBuilder();
        for (int d = 0; d < 400; d++)
        {
            var v = new Dictionary<string, int>();
            for (int i = random.Next(2, 15); i > 0; i--) v[vocab[random.Next(vocab.Length)]] = random.Next(1, 200);
            docs.Add(($"p{d:D4}", v));
            sb.Append(CultureInfo.InvariantCulture, $"{{\"id\": \"p{d:D4}\", \"contents\": \"c\", \"vector\": {{")
              .AppendJoin(", ", v.Select(p => $"\"{p.Key}\": {p.Value}")).Append("}}\n");
        }
        File.WriteAllText(tmp["corpus.jsonl"], sb.ToString());
        var scan = VectorCorpus.Measure(tmp["corpus.jsonl"]);
        Assert.True(scan.Integers); // integer weights under 256 are kept as they are
        using (var w = IndexWriter.Open(tmp["index"], new IndexWriterOptions { Analyzer = "whitespace" }))
        {
            w.AddRange(VectorCorpus.Documents(tmp["corpus.jsonl"], scan, 8, new Queue<(int, double)>()), 1);
            w.Commit();
            ImpactBuilder.Build([w], ImpactModel.Weights, 8, default, scan.Maximum);
            w.Commit();
        }
        using var encoder = SparseEncoder.Load(tmp["model"]);
        using var index = SearchIndex.Open(tmp["index"], new SearchIndexOptions { Extensions = [new DenseExtension()] });
        Assert.Equal("impact", index.PipelineChoices()[0].Pipeline); // a search page offers the impacts first
        string pipeline = $"sparse(model={tmp["model"]},terms=12)";
        foreach (var text in new[] { "running search engines quickly", "the cat sat", "sparse retrieval of documents", "zzz unknown words" })
        {
            var q = encoder.Encode(text, 12);
            var expected = new List<(string Id, float Score)>();
            foreach (var (id, v) in docs)
            {
                double sum = 0;
                bool any = false;
                foreach (var (term, weight) in q)
                    if (v.TryGetValue(term, out int impact)) { sum += weight * (float)impact; any = true; }
                if (any) expected.Add((id, (float)sum));
            }
            var top = expected.OrderByDescending(e => e.Score).ThenBy(e => e.Id, StringComparer.Ordinal).Take(20).ToList();
            Assert.True(top.Count >= 10, $"{text}: {top.Count} documents match");
            var got = index.Search(text, pipeline, 20).Hits.Select(h => (h.Id, h.Score)).ToList();
            Assert.Equal(top, got);
        }
        Assert.Contains("sparse needs model=DIR", Assert.ThrowsAny<RelevoException>(() => index.Search("x", "sparse", 5)).Message);
    }
}
