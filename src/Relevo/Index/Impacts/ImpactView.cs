namespace Relevo.Index.Impacts;

/// <summary>One commit's segments as impact scoring reads them (<see cref="ImpactSegmentReader"/>), opened once per
/// commit and key (<see cref="IndexReader.Component{T}"/>) and disposed with the reader. Every segment must carry the
/// impacts, with the same settings.</summary>
internal sealed class ImpactView : IDisposable
{
    public const string Component = "impacts";

    public IReadOnlyList<SegmentReader> Segments { get; }
    public IReadOnlyList<int> DocBase { get; }
    public ImpactSettings Settings { get; }

    private ImpactView(IReadOnlyList<SegmentReader> segments, IReadOnlyList<int> docBase, ImpactSettings settings)
    {
        Segments = segments;
        DocBase = docBase;
        Settings = settings;
    }

    /// <summary>Whether every segment of the commit carries impacts under <paramref name="key"/> (an empty commit: no).</summary>
    public static bool Has(IndexReader reader, string key)
    {
        if (reader.Manifest.Segments.Count == 0) return false;
        foreach (var s in reader.Manifest.Segments)
            if (s.Component(Component, key) is null) return false;
        return true;
    }

    /// <summary>The commit's impact view for <paramref name="key"/>, or a RelevoException saying which segment lacks them.</summary>
    public static ImpactView Of(IndexReader reader, string key) => reader.Component("impacts." + key, r => Open(r, key));

    private static ImpactView Open(IndexReader reader, string key)
    {
        var segments = new List<SegmentReader>(reader.Segments.Count);
        try
        {
            ImpactSettings? settings = null;
            for (int i = 0; i < reader.Segments.Count; i++)
            {
                var entry = reader.Manifest.Segments[i];
                var data = entry.Component(Component, key)
                    ?? throw new RelevoException($"{reader.Directory}: segment {entry.Name} has no '{key}' impacts " +
                                                 $"(documents were added after they were built); rebuild them with `relevo index --impacts {key}`");
                var file = ImpactFile.Open(Path.Combine(reader.Directory, data.Files[0]), reader.Segments[i]);
                segments.Add(new ImpactSegmentReader(reader.Segments[i], file));
                if (settings is null) settings = file.Settings;
                else if (settings != file.Settings)
                    throw new RelevoException($"{file.Path}: its impacts were computed with other settings than the index's " +
                                              $"other segments ({file.Settings} against {settings}); rebuild them with `relevo index --impacts {key}`");
            }
            if (settings is null) throw new RelevoException($"{reader.Directory}: the index is empty");
            return new ImpactView(segments, reader.DocBase, settings);
        }
        catch
        {
            foreach (var s in segments) ((ImpactSegmentReader)s).Impacts.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var s in Segments) ((ImpactSegmentReader)s).Impacts.Dispose();
    }
}
