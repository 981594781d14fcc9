using System.Text.Json.Serialization;

namespace Relevo.Index;

/// <summary>Data a segment carries beside its postings for one component (e.g. the vectors of one model): the
/// component's name, its key within the component (the model) and the files it occupies in the index folder, which
/// the manifest lists so that every program keeps them, whether or not it knows the component.</summary>
internal sealed record ComponentData(string Component, string Key, IReadOnlyList<string> Files);

/// <summary>One live segment as the manifest records it.</summary>
internal sealed record SegmentEntry(
    string Name, int MaxDoc, long SumTotalTermFreq, int DocsWithTerms, int TermCount,
    long DeleteGeneration, int DeleteCount)
{
    public string? DeletesFile => DeleteGeneration == 0 ? null : Formats.V1.SegmentFiles.Deletes(Name, DeleteGeneration);

    /// <summary>Per-segment component data (vectors, ...) with the files each occupies.</summary>
    public IReadOnlyList<ComponentData> Components { get; init; } = [];

    /// <summary>Format 1 listed a segment's vector models here (files <c>{segment}.{model}.vec</c> and <c>.vq8</c>);
    /// read only, turned into <see cref="Components"/> by <see cref="Manifest.Upgrade"/>.</summary>
    [JsonPropertyName("vectors")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? Format1Vectors { get; init; }

    /// <summary>The data of <paramref name="component"/> under <paramref name="key"/>, or null.</summary>
    public ComponentData? Component(string component, string key)
    {
        foreach (var c in Components)
            if (string.Equals(c.Component, component, StringComparison.Ordinal) && string.Equals(c.Key, key, StringComparison.Ordinal))
                return c;
        return null;
    }

    /// <summary>The component data (the first segment's records) that every one of <paramref name="segments"/> carries,
    /// matched by component and key; null when there is no segment.</summary>
    public static List<ComponentData>? CommonComponents(IEnumerable<SegmentEntry> segments)
    {
        List<ComponentData>? common = null;
        foreach (var e in segments)
        {
            if (common is null) common = [.. e.Components];
            else common.RemoveAll(c => e.Component(c.Component, c.Key) is null);
        }
        return common;
    }

    /// <summary>Every document deleted (a commit keeps such a segment only to carry component data).</summary>
    [JsonIgnore]
    public bool IsEmptied => DeleteCount == MaxDoc;

    /// <summary>Every file of the segment's component data.</summary>
    public IEnumerable<string> ComponentFiles()
    {
        foreach (var c in Components)
            foreach (var f in c.Files) yield return f;
    }
}

/// <summary>The one file that says which segments make up the index at a commit. It is replaced atomically
/// (write a temp file, fsync, rename, fsync the folder), so a crash leaves either the old or the new commit.</summary>
internal sealed record Manifest(int Format, long Generation, string Analyzer, int NextSegment, IReadOnlyList<SegmentEntry> Segments)
{
    public const string FileName = "manifest";
    /// <summary>2: per-segment component data with their files (1: a list of vector models).</summary>
    public const int CurrentFormat = 2;

    public static Manifest Empty(string analyzer) => new(CurrentFormat, 0, analyzer, 0, []);

    /// <summary>Data of the whole index beside its segments (the semantic tree of <c>relevo tree build</c>), with the
    /// files each occupies: committed with the segments it was built from, kept by every writer, replaced by the next
    /// build. Older builds of format 2 ignore it (and drop it at their next commit).</summary>
    public IReadOnlyList<ComponentData> IndexComponents { get; init; } = [];

    /// <summary>The types of the documents' other keys (<see cref="Values.Schema"/>): field → keyword, integer, float,
    /// date or boolean; absent when no document has other keys.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyDictionary<string, string>? Schema { get; init; }

    /// <summary>The index-level data of <paramref name="component"/>, or null.</summary>
    public ComponentData? IndexComponent(string component)
    {
        foreach (var c in IndexComponents)
            if (string.Equals(c.Component, component, StringComparison.Ordinal)) return c;
        return null;
    }

    public static bool Exists(string directory) => File.Exists(Path.Combine(directory, FileName));

    public static Manifest Read(string directory)
    {
        string path = Path.Combine(directory, FileName);
        if (!File.Exists(path))
            throw new RelevoException($"{path}: no index here (the manifest is missing)");
        return Formats.ChecksummedJson.Read<Manifest>(path).Upgrade(path);
    }

    /// <summary>The commit as its on-disk JSON (how a commit travels between processes: it is rare, and its layout has
    /// one definition, the format's).</summary>
    public string ToJson() => System.Text.Json.JsonSerializer.Serialize(this, Formats.ChecksummedJson.Options);

    /// <summary>A commit sent as <see cref="ToJson"/>, checked and upgraded; <paramref name="from"/> names it for errors.</summary>
    public static Manifest FromJson(string json, string from) =>
        (System.Text.Json.JsonSerializer.Deserialize<Manifest>(json, Formats.ChecksummedJson.Options)
         ?? throw new Formats.CorruptIndexException(from, "unreadable: empty manifest")).Upgrade(from);

    /// <summary>Checks a manifest read from <paramref name="path"/> and brings an older format's to the current one.</summary>
    public Manifest Upgrade(string path)
    {
        if (Segments is null || Analyzer is null)
            throw new Formats.CorruptIndexException(path, "unreadable: empty manifest");
        if (Format is < 1 or > CurrentFormat)
            throw new Formats.CorruptIndexException(path, $"manifest format {Format} is not supported (this build reads 1 to {CurrentFormat})");
        if (Format == CurrentFormat) return this;
        var segments = new List<SegmentEntry>(Segments.Count);
        foreach (var s in Segments)
        {
            var components = new List<ComponentData>();
            foreach (var model in s.Format1Vectors ?? [])
                components.Add(new ComponentData("vectors", model, [$"{s.Name}.{model}.vec", $"{s.Name}.{model}.vq8"]));
            segments.Add(s with { Components = components, Format1Vectors = null });
        }
        return this with { Format = CurrentFormat, Segments = segments };
    }

    /// <summary>Atomically makes this manifest the index's current commit.</summary>
    public void Commit(string directory, Action<string>? stage = null) =>
        Formats.ChecksummedJson.Write(directory, FileName, this, stage, "manifest-");
}
