using Relevo.Index;

namespace Relevo.Testing;

/// <summary>Indexes built for tests and benchmarks.</summary>
internal static class TestIndexes
{
    /// <summary>Five short documents (vitamins, sleep, coffee, exercise).</summary>
    public static readonly Document[] Small =
    [
        new("d1", "Vitamin D and cancer", "Vitamin D deficiency is linked to a higher risk of several cancers."),
        new("d2", "Sleep and memory", "Deep sleep consolidates memory; missing sleep harms recall."),
        new("d3", "Coffee", "Coffee drinkers report less fatigue, and caffeine blocks adenosine."),
        new("d4", "Exercise and the heart", "Regular exercise lowers blood pressure and strengthens the heart."),
        new("d5", "Vitamin C", "Vitamin C does not prevent the common cold in most people."),
    ];

    /// <summary>A committed index of <paramref name="docs"/> in a new folder.</summary>
    public static void Write(string dir, IEnumerable<Document> docs)
    {
        using var w = IndexWriter.Open(dir, new IndexWriterOptions { ReplaceExisting = true });
        foreach (var d in docs) w.Add(d);
        w.Commit();
    }

    /// <summary>Indexes a JSON-lines corpus into <paramref name="dir"/> (one commit) and opens it.</summary>
    public static IndexReader Build(string corpus, string dir)
    {
        using (var writer = IndexWriter.Open(dir))
        {
            CorpusIndexer.AddCorpus(writer, corpus);
            writer.Commit();
        }
        return IndexReader.Open(dir);
    }
}
