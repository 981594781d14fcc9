namespace Relevo.Index;

internal sealed class DuplicateDocumentIdException(string id)
    : RelevoException($"duplicate _id '{id}': a document with this id is already in the index or in this batch (use --replace to update it)")
{
    public string Id { get; } = id;
}
