namespace Relevo.Index.Formats.V1;

/// <summary>File names and kinds of one segment in format version 1.</summary>
internal static class SegmentFiles
{
    public const int Version = 1;
    public const int BlockSize = 128;
    /// <summary>A stored-documents file of version 2 holds, after each document's title and text, its other keys as a
    /// JSON object (<see cref="Document.Fields"/>; empty when it has none). Segments of documents without other keys are
    /// written in version 1, byte for byte as before.</summary>
    public const int DocsWithFieldsVersion = 2;

    public const string TermsKind = "TDIC";
    public const string PostingsKind = "POST";
    public const string NormsKind = "NORM";
    public const string IdsKind = "IDS_";
    public const string DocsKind = "DOCS";
    public const string DeletesKind = "DELS";

    public static string Terms(string segment) => segment + ".tdict";
    public static string Postings(string segment) => segment + ".post";
    public static string Norms(string segment) => segment + ".norm";
    public static string Ids(string segment) => segment + ".ids";
    public static string Docs(string segment) => segment + ".docs";
    public static string Deletes(string segment, long gen) => $"{segment}_{gen}.del";

    public static IEnumerable<string> All(string segment) =>
        [Terms(segment), Postings(segment), Norms(segment), Ids(segment), Docs(segment)];

    /// <summary>The files of a segment of postings only (a field's: no ids, no stored documents).</summary>
    public static IReadOnlyList<string> PostingsOnly(string segment) => [Terms(segment), Postings(segment), Norms(segment)];
}
