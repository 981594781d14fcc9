namespace Relevo.Analysis;

/// <summary>Lucene's EnglishPossessiveFilter (3.6+): drops a trailing 's or 'S, the apostrophe being U+0027,
/// U+2019 or U+FF07. It runs before lower-casing, hence the upper-case S.</summary>
internal static class EnglishPossessive
{
    /// <summary>The length of <paramref name="term"/> without its possessive suffix.</summary>
    public static int Strip(ReadOnlySpan<char> term)
    {
        int n = term.Length;
        if (n >= 2 && (term[n - 1] == 's' || term[n - 1] == 'S'))
        {
            char q = term[n - 2];
            if (q == '\'' || q == '\u2019' || q == '\uFF07')
                return n - 2;
        }
        return n;
    }
}
