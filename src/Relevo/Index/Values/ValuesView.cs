namespace Relevo.Index.Values;

/// <summary>One commit's doc values: per segment (the commit's order) its columns by field, and the commit's schema.
/// Opened once per commit (<see cref="IndexReader.Component{T}"/>).</summary>
internal sealed class ValuesView
{
    public Schema Schema { get; }
    public IReadOnlyList<IReadOnlyDictionary<string, ValueColumn>> Segments { get; }

    private ValuesView(Schema schema, IReadOnlyList<IReadOnlyDictionary<string, ValueColumn>> segments)
    {
        Schema = schema;
        Segments = segments;
    }

    public static ValuesView Of(IndexReader reader) => reader.Component("values", Open);

    private static ValuesView Open(IndexReader reader)
    {
        var schema = reader.Schema;
        var segments = new List<IReadOnlyDictionary<string, ValueColumn>>(reader.Segments.Count);
        for (int i = 0; i < reader.Segments.Count; i++)
        {
            var entry = reader.Manifest.Segments[i];
            if (entry.Component(ValuesFile.Component, ValuesFile.Key) is null)
            {
                // a segment whose documents are all deleted (kept for other data) has no values to give
                if (!schema.IsEmpty && reader.Segments[i].LiveDocs > 0)
                    throw new RelevoException($"{reader.Directory}: segment {entry.Name} has no doc values; " +
                                              "build them with `relevo index --index DIR --schema FILE`");
                segments.Add(new Dictionary<string, ValueColumn>());
                continue;
            }
            segments.Add(ValuesFile.Read(Path.Combine(reader.Directory, ValuesFile.Name(entry.Name)), entry.MaxDoc));
        }
        return new ValuesView(schema, segments);
    }
}
