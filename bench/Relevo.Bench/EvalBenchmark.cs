using System.Globalization;
using Relevo.Evaluation;

namespace Relevo.Bench;

/// <summary>Evaluator throughput: a synthetic run of Q queries × D documents against graded qrels, for 10 measures.
/// Scores are unsorted with ties, so the trec_eval re-sort is included in the time.</summary>
internal sealed class EvalBenchmark : IBenchmark
{
    public string Name => "eval";
    public string Description => "Evaluator: --queries 10000 --docs 1000 --judged 100 --repeat 5 (10 measures)";

    private static readonly string[] Measures =
        ["ndcg_cut_10", "ndcg_cut_100", "map", "map_cut_100", "recall_100", "recall_1000", "P_10", "recip_rank", "bpref", "judged_10"];

    public int Run(BenchOptions o)
    {
        int queries = o.Int("queries", 10_000), docs = o.Int("docs", 1_000), judged = o.Int("judged", 100);
        int repeat = o.Int("repeat", 5), warmup = o.Int("warmup", 1), collection = o.Int("collection", 1_000_000);
        var rng = new Random(12345);
        var docIds = new string[collection];
        for (int i = 0; i < collection; i++) docIds[i] = "doc" + i.ToString(CultureInfo.InvariantCulture);

        var judgments = new List<(string, string, int)>(queries * judged);
        var run = new TrecRun("bench");
        var used = new HashSet<int>();
        for (int q = 0; q < queries; q++)
        {
            string qid = "q" + q.ToString(CultureInfo.InvariantCulture);
            used.Clear();
            var ranked = new (string, double)[docs];
            for (int d = 0; d < docs; d++)
            {
                int id;
                do id = rng.Next(collection); while (!used.Add(id));
                // scores rounded to 2 decimals: many ties, order shuffled relative to score
                ranked[d] = (docIds[id], Math.Round(rng.NextDouble() * 20, 2));
            }
            run.AddRanking(qid, ranked);
            // half the judgments on retrieved documents, half elsewhere; grades 0..3
            for (int j = 0; j < judged; j++)
            {
                string doc = j % 2 == 0 ? ranked[rng.Next(docs)].Item1 : docIds[rng.Next(collection)];
                judgments.Add((qid, doc, rng.Next(4)));
            }
        }
        var dedup = new Dictionary<(string, string), int>();
        foreach (var (q, d, g) in judgments) dedup[(q, d)] = g;
        var qrels = Qrels.FromJudgments(dedup.Select(kv => (kv.Key.Item1, kv.Key.Item2, kv.Value)));
        Console.WriteLine($"run: {queries:N0} queries × {docs:N0} docs = {run.Count:N0} entries; qrels: {qrels.Count:N0} judgments; measures: {string.Join(",", Measures)}");

        EvaluationResult? result = null;
        var times = BenchHost.Time(() => result = new Evaluator(qrels).Evaluate(run, Measures), warmup, repeat);
        Console.WriteLine($"evaluate (10 measures): {BenchHost.Summary(times)}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"check: ndcg_cut_10 {result!.Mean("ndcg_cut_10"):F4}, map {result.Mean("map"):F4}, bpref {result.Mean("bpref"):F4}"));
        return 0;
    }
}
