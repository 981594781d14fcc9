namespace Relevo.Collections;

/// <summary>The rule for a document's <c>_id</c>, in one place for every way in: the corpus reader (CLI), the
/// server's document parser and the index writer (library callers). An id is 1 to <see cref="MaxLength"/> UTF-16
/// characters, none of them a control character or half of a surrogate pair, so that it can be printed on one line
/// of a TREC run and fetched or deleted over HTTP.</summary>
internal static class DocumentIds
{
    /// <summary>The longest id, in UTF-16 characters.</summary>
    public const int MaxLength = 512;

    /// <summary>What is wrong with <paramref name="id"/> (a phrase such as "empty"), or null if it is a valid id.
    /// The id itself is never part of the phrase: it may be very long.</summary>
    public static string? Problem(string? id)
    {
        if (string.IsNullOrEmpty(id)) return "empty";
        if (id.Length > MaxLength) return $"longer than {MaxLength} characters (it has {id.Length})";
        for (int i = 0; i < id.Length; i++)
        {
            char c = id[i];
            if (char.IsControl(c))
                return $"has a control character (U+{(int)c:X4}) at character {i + 1}";
            if (char.IsHighSurrogate(c) && i + 1 < id.Length && char.IsLowSurrogate(id[i + 1]))
            {
                i++;
                continue;
            }
            if (char.IsSurrogate(c))
                return $"has a lone surrogate (U+{(int)c:X4}, half of a UTF-16 pair) at character {i + 1}";
        }
        return null;
    }
}
