using System.Runtime.CompilerServices;

namespace Relevo.Analysis;

/// <summary>Lucene 4.8's StandardTokenizer over a span: UAX#29 word segmentation as its JFlex grammar
/// (StandardTokenizerImpl) states it, i.e. the longest match of
/// <code>
///   word    = ENL* (K (ENL* K)* | (H (SQ | DQ H) | N ((ENL* | MidNum) N)* | HA ((ENL* | MidLetter) HA)*)+)
///             (ENL+ (same group))* ENL*          -- ALPHANUM / NUM / KATAKANA / HANGUL
///   Complex_Context+                             -- SOUTHEAST_ASIAN (Thai, Lao, Myanmar, Khmer ...), no WB4
///   Han | Hiragana                               -- IDEOGRAPHIC / HIRAGANA, one char each
/// </code>
/// where every symbol absorbs the Extend/Format chars after it (WB4); anything else is skipped one code point at
/// a time. Tokens longer than <see cref="MaxTokenLength"/> chars are dropped, as Lucene does. Token types are not
/// reported because nothing downstream in Lucene's English chain uses them.</summary>
internal ref struct StandardTokenizer
{
    /// <summary>Lucene's default maxTokenLength: longer tokens are skipped entirely.</summary>
    public const int MaxTokenLength = 255;

    private readonly ReadOnlySpan<char> text;
    private int pos;

    public StandardTokenizer(ReadOnlySpan<char> text)
    {
        this.text = text;
        pos = 0;
    }

    /// <summary>States of the word automaton; the accepting ones are those where a token may end.</summary>
    private enum State : byte
    {
        Fail,
        Start,
        LeadEnl,      // only ExtendNumLet so far (not a token by itself)
        Katakana,     // accepting
        Letter,       // accepting: last symbol ALetter
        Hebrew,       // accepting: last symbol Hebrew_Letter
        Numeric,      // accepting
        AfterEnl,     // accepting: ExtendNumLet after content
        MidLetter,    // letter + MidLetter/MidNumLet/Single_Quote: needs a letter
        MidNum,       // number + MidNum/MidNumLet/Single_Quote: needs a number
        HebrewQuote,  // accepting: Hebrew_Letter Single_Quote (WB7a)
        HebrewDQuote, // Hebrew_Letter Double_Quote: needs a Hebrew_Letter (WB7b)
        HebrewDQH,    // accepting: Hebrew_Letter Double_Quote Hebrew_Letter (WB7c)
    }

    /// <summary>Tokens dropped for their length just before the token <see cref="Next"/> found last (Lucene's
    /// StandardTokenizer adds them to that token's position increment).</summary>
    public int Skipped { get; private set; }

    /// <summary>Finds the next token; false at the end of the text.</summary>
    public bool Next(out int start, out int length)
    {
        Skipped = 0;
        while (pos < text.Length)
        {
            int at = pos;
            int end = MatchAt(at);
            if (end < 0)
            {
                pos = at + CodePointLength(at); // not part of any token: skip one code point
                continue;
            }
            pos = end;
            if (end - at <= MaxTokenLength)
            {
                start = at;
                length = end - at;
                return true;
            }
            Skipped++;
        }
        start = length = 0;
        return false;
    }

    /// <summary>The end of the longest token starting at <paramref name="at"/>, or -1 if none starts there.</summary>
    private readonly int MatchAt(int at)
    {
        int lastAccept = -1;
        var state = State.Start;
        int p = at;
        WordBreakClass first = 0;
        while (p < text.Length)
        {
            WordBreakClass cls = Read(p, out int next);
            if (p == at) first = cls;
            state = Step(state, cls & WordBreakClass.ClassMask);
            if (state == State.Fail) break;
            p = SkipExtends(next);
            if (state is State.Katakana or State.Letter or State.Hebrew or State.Numeric or State.AfterEnl
                or State.HebrewQuote or State.HebrewDQH)
                lastAccept = p;
        }
        if (lastAccept >= 0)
            return lastAccept;

        if ((first & WordBreakClass.ComplexContext) != 0)
        {
            // South East Asian run: Complex_Context chars only; other marks do not join it (Lucene has no WB4 here)
            p = at;
            while (p < text.Length && (Read(p, out int next) & WordBreakClass.ComplexContext) != 0)
                p = next;
            return p;
        }
        if ((first & (WordBreakClass.Han | WordBreakClass.Hiragana)) != 0)
        {
            Read(at, out int next);
            return SkipExtends(next);
        }
        return -1;
    }

    /// <summary>The word automaton's transition on one symbol (a base char; its Extend/Format chars are absorbed).</summary>
    private static State Step(State s, WordBreakClass c)
    {
        switch (s)
        {
            case State.Start:
            case State.LeadEnl:
            case State.AfterEnl:
                return c switch
                {
                    WordBreakClass.ExtendNumLet => s == State.AfterEnl ? State.AfterEnl : State.LeadEnl,
                    WordBreakClass.Katakana => State.Katakana,
                    _ => Content(c),
                };
            case State.Katakana:
                return c switch
                {
                    WordBreakClass.Katakana => State.Katakana,
                    WordBreakClass.ExtendNumLet => State.AfterEnl,
                    _ => State.Fail,
                };
            case State.Letter:
                return c switch
                {
                    WordBreakClass.MidLetter or WordBreakClass.MidNumLet or WordBreakClass.SingleQuote => State.MidLetter,
                    WordBreakClass.ExtendNumLet => State.AfterEnl,
                    _ => Content(c),
                };
            case State.Hebrew:
                return c switch
                {
                    WordBreakClass.MidLetter or WordBreakClass.MidNumLet => State.MidLetter,
                    WordBreakClass.SingleQuote => State.HebrewQuote,
                    WordBreakClass.DoubleQuote => State.HebrewDQuote,
                    WordBreakClass.ExtendNumLet => State.AfterEnl,
                    _ => Content(c),
                };
            case State.Numeric:
                return c switch
                {
                    WordBreakClass.MidNum or WordBreakClass.MidNumLet or WordBreakClass.SingleQuote => State.MidNum,
                    WordBreakClass.ExtendNumLet => State.AfterEnl,
                    _ => Content(c),
                };
            case State.HebrewQuote:
            case State.HebrewDQH:
                return c == WordBreakClass.ExtendNumLet ? State.AfterEnl : Content(c);
            case State.MidLetter:
                return c switch
                {
                    WordBreakClass.ALetter => State.Letter,
                    WordBreakClass.HebrewLetter => State.Hebrew,
                    _ => State.Fail,
                };
            case State.MidNum:
                return c == WordBreakClass.Numeric ? State.Numeric : State.Fail;
            case State.HebrewDQuote:
                return c == WordBreakClass.HebrewLetter ? State.HebrewDQH : State.Fail;
            default:
                return State.Fail;
        }
    }

    /// <summary>Letters and digits may follow each other directly (WB5, WB9, WB10); Katakana may not.</summary>
    private static State Content(WordBreakClass c) => c switch
    {
        WordBreakClass.ALetter => State.Letter,
        WordBreakClass.HebrewLetter => State.Hebrew,
        WordBreakClass.Numeric => State.Numeric,
        _ => State.Fail,
    };

    /// <summary>Skips the Extend/Format code points starting at <paramref name="p"/> (WB4).</summary>
    private readonly int SkipExtends(int p)
    {
        while (p < text.Length)
        {
            WordBreakClass c = Read(p, out int next) & WordBreakClass.ClassMask;
            if (c != WordBreakClass.Extend && c != WordBreakClass.Format)
                break;
            p = next;
        }
        return p;
    }

    /// <summary>The class of the code point at <paramref name="p"/>; <paramref name="next"/> is the index after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private readonly WordBreakClass Read(int p, out int next)
    {
        char c = text[p];
        if (char.IsHighSurrogate(c) && p + 1 < text.Length && char.IsLowSurrogate(text[p + 1]))
        {
            next = p + 2;
            return WordBreakTable.Get(char.ConvertToUtf32(c, text[p + 1]));
        }
        next = p + 1;
        return WordBreakTable.Get(c);
    }

    private readonly int CodePointLength(int p) =>
        char.IsHighSurrogate(text[p]) && p + 1 < text.Length && char.IsLowSurrogate(text[p + 1]) ? 2 : 1;
}
