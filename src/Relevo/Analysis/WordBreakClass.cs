namespace Relevo.Analysis;

/// <summary>The UAX#29 Word_Break values StandardTokenizer's grammar distinguishes (low 4 bits of a
/// <see cref="WordBreakTable"/> entry), plus flags for the script/line-break classes it also uses.</summary>
internal enum WordBreakClass : byte
{
    Other = 0,
    ALetter = 1,
    HebrewLetter = 2,
    Numeric = 3,
    Katakana = 4,
    ExtendNumLet = 5,
    MidLetter = 6,
    MidNum = 7,
    MidNumLet = 8,
    SingleQuote = 9,
    DoubleQuote = 10,
    Extend = 11,
    Format = 12,
    RegionalIndicator = 13,

    /// <summary>Flag: Line_Break=Complex_Context (Thai, Lao, Myanmar, Khmer ...): runs are kept together.</summary>
    ComplexContext = 0x10,
    /// <summary>Flag: Script=Han: each ideograph is a token of its own.</summary>
    Han = 0x20,
    /// <summary>Flag: Script=Hiragana: each char is a token of its own.</summary>
    Hiragana = 0x40,

    ClassMask = 0x0F,
}
