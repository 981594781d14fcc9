using System.Globalization;

namespace Relevo.Analysis;

/// <summary>Word_Break classes per code point as Lucene 4.8's StandardTokenizer (JFlex, Unicode 6.3) sees them.
/// .NET has no Word_Break API, so this is derived from UnicodeCategory plus UAX#29's explicit code point lists;
/// the BMP is precomputed into a 64 KiB table, supplementary code points are classified on demand.</summary>
internal static class WordBreakTable
{
    private static readonly byte[] Bmp = BuildBmp();

    /// <summary>The class (and flags) of code point <paramref name="cp"/>.</summary>
    public static WordBreakClass Get(int cp) => cp < 0x10000 ? (WordBreakClass)Bmp[cp] : Classify(cp);

    private static byte[] BuildBmp()
    {
        var t = new byte[0x10000];
        for (int cp = 0; cp < t.Length; cp++)
            t[cp] = (byte)Classify(cp);
        return t;
    }

    /// <summary>Classifies one code point; explicit lists first, then the general category.</summary>
    internal static WordBreakClass Classify(int cp)
    {
        switch (cp)
        {
            case '\'':
                return WordBreakClass.SingleQuote;
            case '"':
                return WordBreakClass.DoubleQuote;
            // MidNumLet
            case '.': case 0x2018: case 0x2019: case 0x2024: case 0xFE52: case 0xFF07: case 0xFF0E:
                return WordBreakClass.MidNumLet;
            // MidLetter
            case ':': case 0x00B7: case 0x02D7: case 0x0387: case 0x05F4: case 0x2027: case 0xFE13: case 0xFE55: case 0xFF1A:
                return WordBreakClass.MidLetter;
            // MidNum
            case ',': case ';': case 0x037E: case 0x0589: case 0x060C: case 0x060D: case 0x066C: case 0x07F8:
            case 0x2044: case 0xFE10: case 0xFE14: case 0xFE50: case 0xFE54: case 0xFF0C: case 0xFF1B:
                return WordBreakClass.MidNum;
            // Numeric outside Nd (Arabic decimal separator); full-width digits are added by Lucene's grammar
            case 0x066B:
                return WordBreakClass.Numeric;
            // Grapheme_Extend letters/joiners that UnicodeCategory does not call marks
            case 0x200C: case 0x200D: case 0xFF9E: case 0xFF9F:
                return WordBreakClass.Extend;
            // Katakana by Word_Break though not by script
            case 0x3031: case 0x3032: case 0x3033: case 0x3034: case 0x3035: case 0x309B: case 0x309C:
            case 0x30A0: case 0x30FC: case 0xFF70:
                return WordBreakClass.Katakana;
            // Hebrew punctuation geresh, and Mongolian letters that were marks in Unicode 6.3
            case 0x05F3: case 0x1885: case 0x1886:
                return WordBreakClass.ALetter;
            // Ideographic but not Script=Han
            case 0x3006:
                return WordBreakClass.Other;
        }
        // circled Latin letters: symbols by category but Alphabetic, so ALetter
        if (cp >= 0x24B6 && cp <= 0x24E9)
            return WordBreakClass.ALetter;
        // New Tai Lue vowel signs were spacing marks (Extend) in Unicode 6.3
        if ((cp >= 0x19B0 && cp <= 0x19C0) || cp == 0x19C8 || cp == 0x19C9)
            return WordBreakClass.Extend | WordBreakClass.ComplexContext;
        if (cp >= 0x1F1E6 && cp <= 0x1F1FF)
            return WordBreakClass.RegionalIndicator;
        if (cp is 0x000A or 0x000B or 0x000C or 0x000D or 0x0085 or 0x2028 or 0x2029)
            return WordBreakClass.Other;

        UnicodeCategory cat = CharUnicodeInfo.GetUnicodeCategory(cp);
        bool complex = IsComplexContext(cp, cat);
        switch (cat)
        {
            case UnicodeCategory.NonSpacingMark:
            case UnicodeCategory.EnclosingMark:
            case UnicodeCategory.SpacingCombiningMark:
                return WordBreakClass.Extend | (complex ? WordBreakClass.ComplexContext : 0);
            case UnicodeCategory.Format:
                return cp == 0x200B ? WordBreakClass.Other : WordBreakClass.Format;
            case UnicodeCategory.ConnectorPunctuation:
                return WordBreakClass.ExtendNumLet;
            case UnicodeCategory.DecimalDigitNumber:
                return WordBreakClass.Numeric;
        }
        if (complex)
            return WordBreakClass.ComplexContext;
        if (IsKatakana(cp))
            return WordBreakClass.Katakana;
        if (IsHiragana(cp))
            return WordBreakClass.Hiragana;
        if (IsHanIdeograph(cp))
            return WordBreakClass.Han;
        switch (cat)
        {
            case UnicodeCategory.UppercaseLetter:
            case UnicodeCategory.LowercaseLetter:
            case UnicodeCategory.TitlecaseLetter:
            case UnicodeCategory.ModifierLetter:
            case UnicodeCategory.OtherLetter:
            case UnicodeCategory.LetterNumber:
                return IsHebrew(cp) && cat == UnicodeCategory.OtherLetter ? WordBreakClass.HebrewLetter : WordBreakClass.ALetter;
        }
        return WordBreakClass.Other;
    }

    private static bool IsHebrew(int cp) => (cp >= 0x0590 && cp <= 0x05FF) || (cp >= 0xFB1D && cp <= 0xFB4F);

    private static bool IsKatakana(int cp) =>
        (cp >= 0x30A1 && cp <= 0x30FA) || (cp >= 0x30FD && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF)
        || (cp >= 0x32D0 && cp <= 0x32FE) || (cp >= 0x3300 && cp <= 0x3357) || (cp >= 0xFF66 && cp <= 0xFF9D)
        || cp == 0x1B000;

    private static bool IsHiragana(int cp) =>
        (cp >= 0x3041 && cp <= 0x3096) || (cp >= 0x309D && cp <= 0x309F) || cp == 0x1B001 || cp == 0x1F200;

    /// <summary>Script=Han as of Unicode 6.3, less the iteration marks that are ALetter (U+3005, U+303B).</summary>
    private static bool IsHanIdeograph(int cp) =>
        (cp >= 0x2E80 && cp <= 0x2E99) || (cp >= 0x2E9B && cp <= 0x2EF3) || (cp >= 0x2F00 && cp <= 0x2FD5)
        || cp == 0x3007 || (cp >= 0x3021 && cp <= 0x3029) || (cp >= 0x3038 && cp <= 0x303A)
        || (cp >= 0x3400 && cp <= 0x4DB5) || (cp >= 0x4E00 && cp <= 0x9FCC) || (cp >= 0xF900 && cp <= 0xFA6D)
        || (cp >= 0xFA70 && cp <= 0xFAD9) || (cp >= 0x20000 && cp <= 0x2A6D6) || (cp >= 0x2A700 && cp <= 0x2B734)
        || (cp >= 0x2B740 && cp <= 0x2B81D) || (cp >= 0x2F800 && cp <= 0x2FA1D);

    /// <summary>Line_Break=Complex_Context: letters and marks of the South East Asian scripts written without spaces.</summary>
    private static bool IsComplexContext(int cp, UnicodeCategory cat)
    {
        bool sea = (cp >= 0x0E00 && cp <= 0x0EFF)    // Thai, Lao
            || (cp >= 0x1000 && cp <= 0x109F)        // Myanmar
            || (cp >= 0x1780 && cp <= 0x17FF)        // Khmer
            || (cp >= 0x1950 && cp <= 0x19DF)        // Tai Le, New Tai Lue
            || (cp >= 0x1A20 && cp <= 0x1AAF)        // Tai Tham
            || (cp >= 0xAA60 && cp <= 0xAADF);       // Myanmar Extended-A, Tai Viet
        if (!sea)
            return false;
        // digits are Numeric; these punctuation marks and currency signs have other line-break classes
        if (cat is UnicodeCategory.DecimalDigitNumber or UnicodeCategory.CurrencySymbol or UnicodeCategory.SpaceSeparator
            or UnicodeCategory.OtherNotAssigned)
            return false;
        return cp is not (0x0E4F or 0x0E5A or 0x0E5B or (>= 0x104A and <= 0x104F) or 0x17D4 or 0x17D5 or 0x17D6
            or 0x17D8 or 0x17D9 or 0x17DA or (>= 0x17F0 and <= 0x17F9));
    }
}
