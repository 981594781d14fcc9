namespace Relevo.Fusion;

internal enum Normalization { None, MinMax, ZScore }

/// <summary>Per-list score normalization before score-based fusion.</summary>
internal static class ScoreNormalization
{
    /// <summary>Normalized scores of a ranked list, in its order. Min-max maps to [0, 1] (all equal: 1); z-score
    /// subtracts the mean and divides by the population standard deviation (all equal: 0).</summary>
    public static double[] Normalize(IReadOnlyList<Hit> hits, Normalization method)
    {
        var result = new double[hits.Count];
        if (hits.Count == 0) return result;
        switch (method)
        {
            case Normalization.None:
                for (int i = 0; i < hits.Count; i++) result[i] = hits[i].Score;
                break;
            case Normalization.MinMax:
            {
                double min = double.MaxValue, max = double.MinValue;
                foreach (var h in hits) { min = Math.Min(min, h.Score); max = Math.Max(max, h.Score); }
                for (int i = 0; i < hits.Count; i++) result[i] = max > min ? (hits[i].Score - min) / (max - min) : 1.0;
                break;
            }
            case Normalization.ZScore:
            {
                double mean = 0;
                foreach (var h in hits) mean += h.Score;
                mean /= hits.Count;
                double var = 0;
                foreach (var h in hits) var += (h.Score - mean) * (h.Score - mean);
                double sd = Math.Sqrt(var / hits.Count);
                for (int i = 0; i < hits.Count; i++) result[i] = sd > 0 ? (hits[i].Score - mean) / sd : 0.0;
                break;
            }
        }
        return result;
    }
}
