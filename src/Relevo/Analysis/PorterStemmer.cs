namespace Relevo.Analysis;

/// <summary>The Porter stemming algorithm exactly as Lucene's PorterStemmer implements it (Martin Porter's
/// reference version, including its "Bug 1"/"Bug 2" fixes and the -logi step). Works in place on a span, so
/// stemming allocates nothing. Words of two chars or fewer are left alone.</summary>
internal ref struct PorterStemmer
{
    private readonly Span<char> b; // the word; the stem is b[0..k]
    private int k;                 // index of the last char of the current stem
    private int j;                 // end of the stem before the suffix found by Ends

    private PorterStemmer(Span<char> word)
    {
        b = word;
        k = word.Length - 1;
    }

    /// <summary>Stems <paramref name="word"/> in place and returns the stem's length (a prefix of the span).</summary>
    public static int Stem(Span<char> word)
    {
        if (word.Length <= 2)
            return word.Length;
        var s = new PorterStemmer(word);
        s.Step1();
        s.Step2();
        s.Step3();
        s.Step4();
        s.Step5();
        s.Step6();
        return s.k + 1;
    }

    /// <summary>True if b[i] is a consonant; 'y' is one at the start or after a vowel.</summary>
    private readonly bool Cons(int i)
    {
        switch (b[i])
        {
            case 'a': case 'e': case 'i': case 'o': case 'u':
                return false;
            case 'y':
                return i == 0 || !Cons(i - 1);
            default:
                return true;
        }
    }

    /// <summary>The number of consonant sequences in b[0..j] (the m of Porter's paper: [C](VC)^m[V]).</summary>
    private readonly int M()
    {
        int n = 0, i = 0;
        while (true)
        {
            if (i > j) return n;
            if (!Cons(i)) break;
            i++;
        }
        i++;
        while (true)
        {
            while (true)
            {
                if (i > j) return n;
                if (Cons(i)) break;
                i++;
            }
            i++;
            n++;
            while (true)
            {
                if (i > j) return n;
                if (!Cons(i)) break;
                i++;
            }
            i++;
        }
    }

    private readonly bool VowelInStem()
    {
        for (int i = 0; i <= j; i++)
            if (!Cons(i)) return true;
        return false;
    }

    /// <summary>True if b[i-1], b[i] is a double consonant.</summary>
    private readonly bool DoubleC(int i) => i >= 1 && b[i] == b[i - 1] && Cons(i);

    /// <summary>True if b[i-2..i] is consonant-vowel-consonant and the last is not w, x or y (hop(e), not snow).</summary>
    private readonly bool Cvc(int i)
    {
        if (i < 2 || !Cons(i) || Cons(i - 1) || !Cons(i - 2)) return false;
        char ch = b[i];
        return ch != 'w' && ch != 'x' && ch != 'y';
    }

    /// <summary>True if b[0..k] ends with <paramref name="s"/>; then j marks the char before it.</summary>
    private bool Ends(string s)
    {
        int o = k - s.Length + 1;
        if (o < 0 || !b.Slice(o, s.Length).SequenceEqual(s)) return false;
        j = k - s.Length;
        return true;
    }

    /// <summary>Replaces b[j+1..k] with <paramref name="s"/> (never longer than the room the word had).</summary>
    private void SetTo(string s)
    {
        s.AsSpan().CopyTo(b[(j + 1)..]);
        k = j + s.Length;
    }

    private void R(string s)
    {
        if (M() > 0) SetTo(s);
    }

    /// <summary>Plurals and -ed/-ing: caresses→caress, ponies→poni, agreed→agree, hopping→hop, hoping→hope.</summary>
    private void Step1()
    {
        if (b[k] == 's')
        {
            if (Ends("sses")) k -= 2;
            else if (Ends("ies")) SetTo("i");
            else if (b[k - 1] != 's') k--;
        }
        if (Ends("eed"))
        {
            if (M() > 0) k--;
        }
        else if ((Ends("ed") || Ends("ing")) && VowelInStem())
        {
            k = j;
            if (Ends("at")) SetTo("ate");
            else if (Ends("bl")) SetTo("ble");
            else if (Ends("iz")) SetTo("ize");
            else if (DoubleC(k))
            {
                char ch = b[k--];
                if (ch == 'l' || ch == 's' || ch == 'z') k++;
            }
            else if (M() == 1 && Cvc(k)) SetTo("e");
        }
    }

    /// <summary>Terminal y to i when the stem has a vowel.</summary>
    private void Step2()
    {
        if (Ends("y") && VowelInStem()) b[k] = 'i';
    }

    /// <summary>Double suffixes to single ones (-ization → -ize ...) when m &gt; 0.</summary>
    private void Step3()
    {
        if (k == 0) return;
        switch (b[k - 1])
        {
            case 'a':
                if (Ends("ational")) { R("ate"); break; }
                if (Ends("tional")) { R("tion"); break; }
                break;
            case 'c':
                if (Ends("enci")) { R("ence"); break; }
                if (Ends("anci")) { R("ance"); break; }
                break;
            case 'e':
                if (Ends("izer")) { R("ize"); break; }
                break;
            case 'l':
                if (Ends("bli")) { R("ble"); break; }
                if (Ends("alli")) { R("al"); break; }
                if (Ends("entli")) { R("ent"); break; }
                if (Ends("eli")) { R("e"); break; }
                if (Ends("ousli")) { R("ous"); break; }
                break;
            case 'o':
                if (Ends("ization")) { R("ize"); break; }
                if (Ends("ation")) { R("ate"); break; }
                if (Ends("ator")) { R("ate"); break; }
                break;
            case 's':
                if (Ends("alism")) { R("al"); break; }
                if (Ends("iveness")) { R("ive"); break; }
                if (Ends("fulness")) { R("ful"); break; }
                if (Ends("ousness")) { R("ous"); break; }
                break;
            case 't':
                if (Ends("aliti")) { R("al"); break; }
                if (Ends("iviti")) { R("ive"); break; }
                if (Ends("biliti")) { R("ble"); break; }
                break;
            case 'g':
                if (Ends("logi")) { R("log"); break; }
                break;
        }
    }

    /// <summary>-ic-, -full, -ness etc.</summary>
    private void Step4()
    {
        switch (b[k])
        {
            case 'e':
                if (Ends("icate")) { R("ic"); break; }
                if (Ends("ative")) { R(""); break; }
                if (Ends("alize")) { R("al"); break; }
                break;
            case 'i':
                if (Ends("iciti")) { R("ic"); break; }
                break;
            case 'l':
                if (Ends("ical")) { R("ic"); break; }
                if (Ends("ful")) { R(""); break; }
                break;
            case 's':
                if (Ends("ness")) { R(""); break; }
                break;
        }
    }

    /// <summary>Drops -ant, -ence etc. when m &gt; 1.</summary>
    private void Step5()
    {
        if (k == 0) return;
        bool found = b[k - 1] switch
        {
            'a' => Ends("al"),
            'c' => Ends("ance") || Ends("ence"),
            'e' => Ends("er"),
            'i' => Ends("ic"),
            'l' => Ends("able") || Ends("ible"),
            'n' => Ends("ant") || Ends("ement") || Ends("ment") || Ends("ent"),
            'o' => (Ends("ion") && j >= 0 && (b[j] == 's' || b[j] == 't')) || Ends("ou"),
            's' => Ends("ism"),
            't' => Ends("ate") || Ends("iti"),
            'u' => Ends("ous"),
            'v' => Ends("ive"),
            'z' => Ends("ize"),
            _ => false,
        };
        if (found && M() > 1) k = j;
    }

    /// <summary>Drops a final -e when m &gt; 1 (or m = 1 and not cvc), and -ll to -l when m &gt; 1.</summary>
    private void Step6()
    {
        j = k;
        if (b[k] == 'e')
        {
            int a = M();
            if (a > 1 || (a == 1 && !Cvc(k - 1))) k--;
        }
        if (b[k] == 'l' && DoubleC(k) && M() > 1) k--;
    }
}
