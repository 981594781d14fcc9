namespace Relevo.Analysis;

/// <summary>Lucene's default English stop set (StopAnalyzer.ENGLISH_STOP_WORDS_SET, used by EnglishAnalyzer): 33 words.</summary>
internal static class EnglishStopWords
{
    /// <summary>The 33 words, lower-case.</summary>
    public static IReadOnlyList<string> Words { get; } =
    [
        "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it", "no", "not",
        "of", "on", "or", "such", "that", "the", "their", "then", "there", "these", "they", "this", "to", "was",
        "will", "with",
    ];

    private static readonly HashSet<string> Set = new(Words, StringComparer.Ordinal);
    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> Lookup = Set.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>True if the (already lower-cased) term is a stop word; case-sensitive like Lucene's set.</summary>
    public static bool Contains(ReadOnlySpan<char> term) => term.Length <= 5 && Lookup.Contains(term);
}
