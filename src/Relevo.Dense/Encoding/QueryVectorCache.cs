using System.Collections.Concurrent;

namespace Relevo.Dense;

/// <summary>Query vectors by query text. Texts announced through <see cref="Prepare"/> are embedded together in
/// length-sorted batches (much faster than one at a time on a CPU) and remembered, so a run of many queries pays the
/// model once per text. Thread-safe; bounded for texts that were not prepared.</summary>
internal sealed class QueryVectorCache(Func<EmbeddingModel> model)
{
    private readonly ConcurrentDictionary<string, float[]> _vectors = new(StringComparer.Ordinal);

    public void Prepare(IReadOnlyList<string> texts)
    {
        var missing = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var t in texts)
            if (!_vectors.ContainsKey(t) && seen.Add(t)) missing.Add(t);
        if (missing.Count == 0) return;
        var m = model();
        int dims = m.Dimensions;
        var vectors = new float[missing.Count * dims];
        m.EmbedQueries(missing, vectors);
        for (int i = 0; i < missing.Count; i++) _vectors[missing[i]] = vectors.AsSpan(i * dims, dims).ToArray();
    }

    /// <summary>Vectors kept for texts that were not prepared (a server's queries): at most this many.</summary>
    public const int MaxUnprepared = 20_000;

    public float[] Get(string text)
    {
        if (_vectors.TryGetValue(text, out var v)) return v;
        v = model().EmbedQuery(text);
        if (_vectors.Count < MaxUnprepared) _vectors.TryAdd(text, v);
        return v;
    }
}
