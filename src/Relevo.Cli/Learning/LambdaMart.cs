using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Relevo.Learning;
using RegressionTree = Relevo.Learning.RegressionTree;

namespace Relevo.Cli.Learning;

/// <summary>LambdaMART through ML.NET's FastTree ranking trainer, with trec_eval's linear gains (grade g gains g) so it
/// optimises the nDCG we report; the trained trees are copied into Relevo's own <see cref="TreeEnsemble"/>, so applying
/// a model (<c>ltr</c>) needs no ML.NET. Parameters are fixed a priori (100 trees of 10 leaves, learning rate 0.1, at
/// least 20 examples per leaf; one thread, seeded, so training is deterministic), never tuned on test queries.</summary>
internal static class LambdaMart
{
    public sealed record Options(int Trees = 100, int Leaves = 10, int MinLeafExamples = 20, double LearningRate = 0.1, int Seed = 42);

    private sealed class Row
    {
        public float Label { get; set; }
        public uint GroupId { get; set; }
        public float[] Features { get; set; } = [];
    }

    public static TreeEnsemble Train(IReadOnlyList<QueryExamples> queries, int features, Options? options = null) =>
        Train(queries, features, options ?? new Options(), out _);

    /// <param name="model">ML.NET's own model, for tests that check the copied trees score as it does.</param>
    internal static TreeEnsemble Train(IReadOnlyList<QueryExamples> queries, int features, Options options, out ITransformer model)
    {
        var ml = new MLContext(options.Seed);
        var data = ml.Data.LoadFromEnumerable(Rows(queries), Schema(features, queries.Count));
        int maxLabel = 0;
        foreach (var q in queries) foreach (int l in q.Labels) maxLabel = Math.Max(maxLabel, l);
        var trainer = ml.Ranking.Trainers.FastTree(new FastTreeRankingTrainer.Options
        {
            LabelColumnName = "Label", FeatureColumnName = "Features", RowGroupColumnName = "GroupId",
            NumberOfTrees = options.Trees, NumberOfLeaves = options.Leaves, MinimumExampleCountPerLeaf = options.MinLeafExamples,
            LearningRate = options.LearningRate, NumberOfThreads = 1, Seed = options.Seed,
            CustomGains = Enumerable.Range(0, Math.Max(maxLabel + 1, 5)).Select(g => (double)g).ToArray(), // FastTree wants at least 5 levels
        });
        RankingPredictionTransformer<FastTreeRankingModelParameters> fitted;
        try
        {
            fitted = trainer.Fit(data);
        }
        catch (DllNotFoundException e)
        {
            // FastTree's native library is published for x64 and x86 only (not linux-arm64 or osx-arm64)
            throw new RelevoException($"LambdaMART training needs ML.NET's FastTree native library, which this platform lacks " +
                $"({System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}: {e.Message}); train with --learner linear, " +
                "or train on x64 and apply the model here (ltr needs no ML.NET)");
        }
        model = fitted;
        var ensemble = fitted.Model.TrainedTreeEnsemble;
        var trees = new RegressionTree[ensemble.Trees.Count];
        for (int t = 0; t < trees.Length; t++)
        {
            var tree = ensemble.Trees[t];
            trees[t] = new RegressionTree([.. tree.NumericalSplitFeatureIndexes], [.. tree.NumericalSplitThresholds],
                [.. tree.LeftChild], [.. tree.RightChild], [.. tree.LeafValues], ensemble.TreeWeights[t]);
        }
        return new TreeEnsemble(ensemble.Bias, trees);
    }

    /// <summary>ML.NET's scores for the queries' rows, in order (tests).</summary>
    internal static float[] Predict(ITransformer model, IReadOnlyList<QueryExamples> queries, int features)
    {
        var ml = new MLContext(0);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(Rows(queries), Schema(features, queries.Count)));
        return [.. scored.GetColumn<float>("Score")];
    }

    private static IEnumerable<Row> Rows(IReadOnlyList<QueryExamples> queries)
    {
        for (int q = 0; q < queries.Count; q++)
            for (int i = 0; i < queries[q].Rows.Length; i++)
                yield return new Row { Label = queries[q].Labels[i], GroupId = (uint)q + 1, Features = queries[q].Rows[i] };
    }

    private static SchemaDefinition Schema(int features, int groups)
    {
        var schema = SchemaDefinition.Create(typeof(Row));
        schema["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
        schema["GroupId"].ColumnType = new KeyDataViewType(typeof(uint), (ulong)groups + 1);
        return schema;
    }
}
