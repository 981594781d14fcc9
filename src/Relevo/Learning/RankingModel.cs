using System.Text.Json;
using System.Text.Json.Serialization;

namespace Relevo.Learning;

/// <summary>One query's candidates for learning to rank: their feature rows (one value per feature, in the model's
/// feature order), graded labels (training) and document ids.</summary>
internal sealed record QueryExamples(string QueryId, string[] DocIds, float[][] Rows, int[] Labels);

/// <summary>A linear model: weights over features normalized per query (min–max over the query's candidates, so a
/// feature's scale across queries does not matter), as RankLib's coordinate ascent learns it.</summary>
internal sealed record LinearModel(double[] Weights);

/// <summary>One regression tree: internal node i tests <c>Feature[i] ≤ Threshold[i]</c> (left) or not (right); a child
/// reference <c>c &lt; 0</c> is leaf <c>~c</c>. A tree of one leaf has no internal nodes.</summary>
internal sealed record RegressionTree(int[] Feature, float[] Threshold, int[] Left, int[] Right, double[] Leaf, double Weight)
{
    public double Evaluate(ReadOnlySpan<float> row)
    {
        if (Feature.Length == 0) return Weight * Leaf[0];
        int node = 0;
        while (true)
        {
            int next = row[Feature[node]] <= Threshold[node] ? Left[node] : Right[node];
            if (next < 0) return Weight * Leaf[~next];
            node = next;
        }
    }
}

/// <summary>A tree ensemble (LambdaMART): bias plus the weighted sum of the trees' leaf values, over raw features.</summary>
internal sealed record TreeEnsemble(double Bias, RegressionTree[] Trees);

/// <summary>A learned ranker as <c>relevo train</c> writes it (<c>model.json</c>) and <c>ltr(model=...)</c> reads it: the
/// features stage it was trained on (its canonical text, which names every feature in order), the pipeline before it
/// and the score columns that pipeline leaves (<see cref="Stages"/>: what ltr checks the incoming ranking against), the
/// learner and its parameters, and where it was trained.</summary>
internal sealed record RankingModel(
    int Format, string Learner, string Features, IReadOnlyList<string> FeatureNames, string Pipeline, IReadOnlyList<string> Stages,
    string TrainedOn, LinearModel? Linear, TreeEnsemble? Trees)
{
    public const int CurrentFormat = 1;
    public const string FileName = "model.json";

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>Scores of one query's candidates (rows in the model's feature order).</summary>
    public double[] Score(IReadOnlyList<float[]> rows)
    {
        var scores = new double[rows.Count];
        if (Linear is { } linear)
        {
            var normalized = Normalize(rows, linear.Weights.Length);
            for (int i = 0; i < rows.Count; i++)
            {
                double s = 0;
                for (int f = 0; f < linear.Weights.Length; f++) s += linear.Weights[f] * normalized[i][f];
                scores[i] = s;
            }
        }
        else if (Trees is { } trees)
        {
            for (int i = 0; i < rows.Count; i++)
            {
                double s = trees.Bias;
                foreach (var t in trees.Trees) s += t.Evaluate(rows[i]);
                scores[i] = s;
            }
        }
        else throw new RelevoException("the model has neither linear weights nor trees");
        return scores;
    }

    /// <summary>Min–max per feature over one query's candidates; a constant feature becomes 0. NaN (a feature that
    /// could not be computed) counts as the minimum.</summary>
    public static float[][] Normalize(IReadOnlyList<float[]> rows, int features)
    {
        var result = new float[rows.Count][];
        for (int i = 0; i < rows.Count; i++) result[i] = new float[features];
        for (int f = 0; f < features; f++)
        {
            float min = float.PositiveInfinity, max = float.NegativeInfinity;
            foreach (var r in rows)
            {
                if (float.IsNaN(r[f])) continue;
                min = Math.Min(min, r[f]);
                max = Math.Max(max, r[f]);
            }
            float range = max - min;
            for (int i = 0; i < rows.Count; i++)
            {
                float v = rows[i][f];
                result[i][f] = range > 0 && !float.IsNaN(v) ? (v - min) / range : 0;
            }
        }
        return result;
    }

    public void Write(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, FileName), JsonSerializer.Serialize(this, Json));
    }

    /// <summary>Reads <paramref name="path"/> (a model folder or its model.json); errors name the file.</summary>
    public static RankingModel Read(string path)
    {
        string file = Directory.Exists(path) ? Path.Combine(path, FileName) : path;
        if (!File.Exists(file)) throw new RelevoException($"{file}: no learned model here (relevo train --output writes one)");
        RankingModel? model;
        try
        {
            model = JsonSerializer.Deserialize<RankingModel>(File.ReadAllText(file), Json);
        }
        catch (JsonException e)
        {
            throw new RelevoException($"{file}: not a learned model ({e.Message})");
        }
        if (model is null || model.Features is null || model.FeatureNames is null || model.Pipeline is null || model.Stages is null ||
            (model.Linear is null && model.Trees is null))
            throw new RelevoException($"{file}: not a learned model (features, pipeline and linear weights or trees are required)");
        if (model.Format != CurrentFormat) throw new RelevoException($"{file}: model format {model.Format} is not supported (this build reads {CurrentFormat})");
        int n = model.FeatureNames.Count;
        if (model.Linear is { } l && l.Weights.Length != n)
            throw new RelevoException($"{file}: {l.Weights.Length} weights for {n} features");
        if (model.Trees is { } t)
            foreach (var tree in t.Trees)
                if (Array.Exists(tree.Feature, f => f < 0 || f >= n))
                    throw new RelevoException($"{file}: a tree tests a feature outside the {n} features");
        return model;
    }
}
