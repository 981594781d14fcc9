namespace Relevo;

/// <summary>A document as it is indexed and stored: its external id, title and text. Title and text are indexed
/// together as one field ("title text"), as Pyserini's BEIR flat indexes are.</summary>
public sealed record Document(string Id, string Title, string Text)
{
    /// <summary>The text that is analysed and indexed: title and text joined by a space.</summary>
    public string IndexedText => Title.Length == 0 ? Text : Text.Length == 0 ? Title : Title + " " + Text;
}
