using System.Text;

namespace Relevo.Analysis;

/// <summary>Lower-cases per code point with simple (1:1) case mapping, as Lucene's LowerCaseFilter does with
/// Character.toLowerCase; never uses the current culture.</summary>
internal static class LowerCaser
{
    /// <summary>Writes the lower-cased <paramref name="source"/> into <paramref name="destination"/> and returns
    /// the length written; the destination needs source.Length chars (a code point keeps its UTF-16 length
    /// under simple mapping, except in the rare cases handled by the slow path).</summary>
    public static int Lower(ReadOnlySpan<char> source, Span<char> destination)
    {
        int w = 0;
        for (int i = 0; i < source.Length; i++)
        {
            char c = source[i];
            if (c < 0x80)
            {
                destination[w++] = (uint)(c - 'A') <= 'Z' - 'A' ? (char)(c | 0x20) : c;
            }
            else if (!char.IsSurrogate(c))
            {
                destination[w++] = char.ToLowerInvariant(c);
            }
            else if (char.IsHighSurrogate(c) && i + 1 < source.Length && char.IsLowSurrogate(source[i + 1]))
            {
                Rune lower = Rune.ToLowerInvariant(new Rune(c, source[i + 1]));
                w += lower.EncodeToUtf16(destination[w..]);
                i++;
            }
            else
            {
                destination[w++] = c; // an unpaired surrogate stays as it is
            }
        }
        return w;
    }
}
