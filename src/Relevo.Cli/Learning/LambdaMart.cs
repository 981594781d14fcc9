using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;
using Relevo.Learning;
using RegressionTree = Relevo.Learning.RegressionTree;

namespace Relevo.Cli.Learning;

/// <summary>LambdaMART through ML.NET: LightGBM's lambdarank (the default: ahead of FastTree on three collections of
/// four, docs/results/ltr.md; its native library is published for x64 only) or ML.NET's own FastTree ranking trainer.
/// Both use trec_eval's linear gains (grade g gains g), so they optimise the nDCG we report. The trained trees are copied
/// into Relevo's own <see cref="TreeEnsemble"/>, so applying a model (<c>ltr</c>) needs no ML.NET. Parameters are fixed
/// a priori (100 trees of 10 leaves, learning rate 0.1, at least 20 examples per leaf; one thread, seeded, so training
/// is deterministic), never tuned on test queries.</summary>
internal static class LambdaMart
{
    public enum Engine { LightGbm, FastTree }

    public sealed record Options(int Trees = 100, int Leaves = 10, int MinLeafExamples = 20, double LearningRate = 0.1, int Seed = 42,
        Engine Engine = Engine.LightGbm);

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
        var gains = Enumerable.Range(0, Math.Max(maxLabel + 1, 5)).Select(g => (double)g).ToArray(); // FastTree wants at least 5 levels
        TreeEnsembleModelParametersBasedOnRegressionTree trained;
        try
        {
            if (options.Engine == Engine.FastTree)
            {
                var fitted = ml.Ranking.Trainers.FastTree(new FastTreeRankingTrainer.Options
                {
                    LabelColumnName = "Label", FeatureColumnName = "Features", RowGroupColumnName = "GroupId",
                    NumberOfTrees = options.Trees, NumberOfLeaves = options.Leaves, MinimumExampleCountPerLeaf = options.MinLeafExamples,
                    LearningRate = options.LearningRate, NumberOfThreads = 1, Seed = options.Seed, CustomGains = gains,
                }).Fit(data);
                (model, trained) = (fitted, fitted.Model);
            }
            else
            {
                var fitted = ml.Ranking.Trainers.LightGbm(new LightGbmRankingTrainer.Options
                {
                    LabelColumnName = "Label", FeatureColumnName = "Features", RowGroupColumnName = "GroupId",
                    NumberOfIterations = options.Trees, NumberOfLeaves = options.Leaves, MinimumExampleCountPerLeaf = options.MinLeafExamples,
                    LearningRate = options.LearningRate, NumberOfThreads = 1, Seed = options.Seed, CustomGains = gains.Select(g => (int)g).ToArray(),
                }).Fit(data);
                (model, trained) = (fitted, fitted.Model);
            }
        }
        catch (DllNotFoundException e)
        {
            // LightGBM's native library is published for x64 only; FastTree's for x64 and x86
            throw new RelevoException($"LambdaMART training with {(options.Engine == Engine.FastTree ? "ML.NET's FastTree" : "LightGBM")} needs a native " +
                $"library this platform lacks ({System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}: {e.Message}); " +
                (options.Engine == Engine.LightGbm ? "try --learner fasttree, or " : "") +
                "train with --learner linear, or train on x64 and apply the model here (ltr needs no ML.NET)");
        }
        var ensemble = trained.TrainedTreeEnsemble;
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
