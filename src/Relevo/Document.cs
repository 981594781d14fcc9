namespace Relevo;

/// <summary>A document as it is indexed and stored: its external id, title and text. Title and text are indexed
/// together as one field ("title text"), as Pyserini's BEIR flat indexes are.</summary>
public sealed record Document(string Id, string Title, string Text)
{
    /// <summary>The text that is analysed and indexed: title and text joined by a space.</summary>
    public string IndexedText => Title.Length == 0 ? Text : Text.Length == 0 ? Title : Title + " " + Text;

    /// <summary>Words of a passage an LLM is shown by default (rerankers, tree navigation).</summary>
    internal const int PassageWords = 120;

    /// <summary>The document as an LLM is shown it: "title: text" (either alone when the other is empty), cut to its
    /// first <paramref name="maxWords"/> words.</summary>
    internal string Passage(int maxWords = PassageWords)
    {
        string full = Title.Length == 0 ? Text : Text.Length == 0 ? Title : Title + ": " + Text;
        var words = full.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return string.Join(' ', words.Length > maxWords ? words[..maxWords] : words);
    }

    /// <summary>Terms with their (already quantized) weights, indexed as given instead of analysing the text: a
    /// learned-sparse document read from a JsonVectorCollection, each weight becoming the term's frequency (as Anserini
    /// indexes them). Null for ordinary documents.</summary>
    internal IReadOnlyList<(string Term, int Weight)>? TermWeights { get; init; }

    /// <summary>The document's other keys (beside <c>_id</c>, <c>title</c> and <c>text</c>) as one JSON object, e.g.
    /// <c>{"year":2016,"lang":"en"}</c>; null when it has none. Stored with the document and typed by the index's schema
    /// (keyword, integer, float, date, boolean; arrays allowed) for filters, sorting and facets.</summary>
    public string? Fields { get; init; }
}
