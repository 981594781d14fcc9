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

    /// <summary>The same corpus as one index in <paramref name="single"/> and as a sharded one in
    /// <paramref name="sharded"/>, each with field postings and positions, a schema file declared first when given.</summary>
    public static (SearchIndex Single, SearchIndex Sharded) SingleAndSharded(string corpus, string single, string sharded, int shards = 3,
        string? schema = null)
    {
        var both = new List<SearchIndex>();
        foreach (var (dir, count) in new[] { (single, (int?)null), (sharded, shards) })
        {
            using (var w = SearchIndex.OpenWriter(dir, new WriterOptions { Shards = count }))
            {
                if (schema is not null) w.ForEachIndexWriter((iw, _) => iw.DeclareSchema(schema));
                w.AddCorpus(corpus);
                w.Commit();
                var writers = new List<IndexWriter>();
                w.ForEachIndexWriter((iw, _) => writers.Add(iw));
                Relevo.Index.Fields.FieldIndexer.Build(writers);
                Relevo.Index.Positions.PositionsIndexer.Build(writers);
                w.Commit();
            }
            both.Add(SearchIndex.Open(dir));
        }
        return (both[0], both[1]);
    }
}
