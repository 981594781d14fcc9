using System.Buffers;
using System.Globalization;
using System.Text;

namespace Relevo.Dense.Tokenization;

/// <summary>BERT's WordPiece tokenizer with the ids of Hugging Face's <c>BertTokenizerFast</c>: the BertNormalizer
/// (drop NUL, U+FFFD and control characters, whitespace to spaces, spaces around CJK ideographs, and for uncased
/// vocabularies NFD + drop non-spacing marks + lower-case), the BertPreTokenizer (split on whitespace, each
/// punctuation character a token of its own, where punctuation is ASCII punctuation or Unicode category P*), then
/// greedy longest-match-first WordPiece with the <c>##</c> continuation prefix; a word longer than 100 characters
/// (or the given maximum) or with any piece missing from the vocabulary becomes <c>[UNK]</c> (or the given unknown
/// token). Thread-safe.</summary>
internal sealed class WordPieceTokenizer
{
    /// <summary>BERT's longest word (in characters) that is split into pieces rather than made one unknown token.</summary>
    public const int DefaultMaxInputCharsPerWord = 100;

    private readonly Dictionary<string, int> _words;
    private readonly Dictionary<string, int> _continuations;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _wordLookup;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _continuationLookup;
    private readonly string[] _tokens;

    public bool Lowercase { get; }
    public int ClsId { get; }
    public int SepId { get; }
    public int PadId { get; }
    public int UnkId { get; }
    /// <summary>A word of more characters than this is one unknown token.</summary>
    public int MaxInputCharsPerWord { get; }
    public int VocabularySize => _tokens.Length;

    /// <param name="vocabulary">Tokens in id order (the lines of vocab.txt).</param>
    /// <param name="lowercase">True for uncased vocabularies: strip accents and lower-case (as HF's default for them).</param>
    /// <param name="source">The file the vocabulary came from, for error messages.</param>
    /// <param name="unknownToken">The token a word that cannot be split becomes (HF's <c>unk_token</c>).</param>
    /// <param name="maxInputCharsPerWord">HF's <c>max_input_chars_per_word</c>.</param>
    public WordPieceTokenizer(IReadOnlyList<string> vocabulary, bool lowercase = true, string source = "vocabulary",
        string unknownToken = "[UNK]", int maxInputCharsPerWord = DefaultMaxInputCharsPerWord)
    {
        if (maxInputCharsPerWord < 1) throw new RelevoException($"{source}: max_input_chars_per_word {maxInputCharsPerWord} must be at least 1");
        Lowercase = lowercase;
        MaxInputCharsPerWord = maxInputCharsPerWord;
        _tokens = new string[vocabulary.Count];
        _words = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
        _continuations = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocabulary.Count; i++)
        {
            string t = vocabulary[i];
            _tokens[i] = t;
            if (t.StartsWith("##", StringComparison.Ordinal)) _continuations.TryAdd(t[2..], i);
            else _words.TryAdd(t, i);
        }
        _wordLookup = _words.GetAlternateLookup<ReadOnlySpan<char>>();
        _continuationLookup = _continuations.GetAlternateLookup<ReadOnlySpan<char>>();
        ClsId = Special("[CLS]", source);
        SepId = Special("[SEP]", source);
        PadId = Special("[PAD]", source);
        UnkId = Special(unknownToken, source);
    }

    private int Special(string token, string source) =>
        _words.TryGetValue(token, out int id) ? id : throw new RelevoException($"{source}: the vocabulary has no {token} token");

    /// <summary>Reads vocab.txt: one token per line, the line number (from 0) is the id.</summary>
    public static WordPieceTokenizer FromVocabFile(string path, bool lowercase = true)
    {
        if (!File.Exists(path)) throw new RelevoException($"{path}: vocabulary file is missing");
        return new WordPieceTokenizer(ReadVocabulary(path), lowercase, path);
    }

    /// <summary>The tokens of a vocab.txt in id order (trailing empty lines dropped).</summary>
    internal static List<string> ReadVocabulary(string path)
    {
        var lines = new List<string>(32000);
        using (var r = new StreamReader(path, Encoding.UTF8))
        {
            while (r.ReadLine() is { } line) lines.Add(line.TrimEnd('\r'));
        }
        while (lines.Count > 0 && lines[^1].Length == 0) lines.RemoveAt(lines.Count - 1);
        return lines;
    }

    public string IdToToken(int id) => _tokens[id];

    /// <summary>The ids of <c>[CLS] tokens [SEP]</c>, the tokens truncated so that at most
    /// <paramref name="maxTokens"/> ids come out (HF's <c>truncation=True, max_length=maxTokens</c>).</summary>
    public int[] Encode(string text, int maxTokens = 512)
    {
        var ids = new List<int>(Math.Min(maxTokens, 64));
        Encode(text, ids, maxTokens);
        return [.. ids];
    }

    /// <summary>Appends <c>[CLS] tokens [SEP]</c> to <paramref name="ids"/>; returns how many ids were appended.</summary>
    public int Encode(ReadOnlySpan<char> text, List<int> ids, int maxTokens)
    {
        if (maxTokens < 2) throw new ArgumentOutOfRangeException(nameof(maxTokens), "room for [CLS] and [SEP] is needed");
        int start = ids.Count;
        ids.Add(ClsId);
        Tokenize(text, ids, maxTokens - 2);
        ids.Add(SepId);
        return ids.Count - start;
    }

    /// <summary><see cref="Encode(string, int)"/>, with the characters of <paramref name="text"/> each id came from
    /// ([CLS] and [SEP]: -1, -1). A word piece spans the source characters of its normalized characters; a word the
    /// vocabulary cannot spell ([UNK]) spans the whole word.</summary>
    public (int[] Ids, (int Start, int End)[] Spans) EncodeWithSpans(string text, int maxTokens = 512)
    {
        if (maxTokens < 2) throw new ArgumentOutOfRangeException(nameof(maxTokens), "room for [CLS] and [SEP] is needed");
        var ids = new List<int> { ClsId };
        var spans = new List<(int, int)> { (-1, -1) };
        Tokenize(text, ids, maxTokens - 2, spans);
        ids.Add(SepId);
        spans.Add((-1, -1));
        return ([.. ids], [.. spans]);
    }

    /// <summary>The WordPiece tokens (strings) of a text, without special tokens or truncation; for inspection and tests.</summary>
    public IReadOnlyList<string> Tokenize(string text)
    {
        var ids = new List<int>();
        Tokenize(text, ids, int.MaxValue);
        var tokens = new string[ids.Count];
        for (int i = 0; i < tokens.Length; i++) tokens[i] = _tokens[ids[i]];
        return tokens;
    }

    /// <summary>Appends at most <paramref name="limit"/> token ids; stops early once the limit is reached. Given
    /// <paramref name="spans"/>, appends each id's source characters there too.</summary>
    public void Tokenize(ReadOnlySpan<char> text, List<int> ids, int limit, List<(int Start, int End)>? spans = null)
    {
        int target = ids.Count + limit;
        if (limit <= 0) return;
        // CJK spacing can triple the length; folding expands a few characters to three or four.
        int capacity = Math.Max(16, text.Length * 4 + 8);
        char[] buffer = ArrayPool<char>.Shared.Rent(capacity);
        int[]? origin = spans is null ? null : ArrayPool<int>.Shared.Rent(2 * capacity);
        try
        {
            int n = origin is null ? Normalize(text, buffer) : Normalize(text, buffer, origin.AsSpan(0, capacity), origin.AsSpan(capacity, capacity));
            ReadOnlySpan<char> norm = buffer.AsSpan(0, n);
            int i = 0;
            while (i < norm.Length && ids.Count < target)
            {
                var status = Rune.DecodeFromUtf16(norm[i..], out Rune r, out int len);
                if (status != OperationStatus.Done) { i++; continue; }
                if (Rune.IsWhiteSpace(r)) { i += len; continue; }
                if (IsPunctuation(r))
                {
                    int mark = ids.Count;
                    AddWord(norm.Slice(i, len), ids, target);
                    if (origin is not null) AddSpans(ids, mark, norm.Slice(i, len), i, origin, capacity, spans!);
                    i += len;
                    continue;
                }
                int wordStart = i;
                while (i < norm.Length)
                {
                    if (Rune.DecodeFromUtf16(norm[i..], out r, out len) != OperationStatus.Done) break;
                    if (Rune.IsWhiteSpace(r) || IsPunctuation(r)) break;
                    i += len;
                }
                if (i == wordStart) { i++; continue; }
                int before = ids.Count;
                AddWord(norm[wordStart..i], ids, target);
                if (origin is not null) AddSpans(ids, before, norm[wordStart..i], wordStart, origin, capacity, spans!);
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
            if (origin is not null) ArrayPool<int>.Shared.Return(origin);
        }
    }

    /// <summary>The source spans of the ids one word added (from <paramref name="mark"/>): each piece's normalized
    /// characters mapped back through <paramref name="origin"/> (starts, then ends at <paramref name="capacity"/>).</summary>
    private void AddSpans(List<int> ids, int mark, ReadOnlySpan<char> word, int offset, int[] origin, int capacity, List<(int, int)> spans)
    {
        int wordEnd = offset + word.Length - 1;
        if (ids.Count - mark == 1 && ids[mark] == UnkId)
        {
            spans.Add((origin[offset], origin[capacity + wordEnd]));
            return;
        }
        int at = offset;
        for (int t = mark; t < ids.Count; t++)
        {
            var token = _tokens[ids[t]].AsSpan();
            int length = t == mark || !token.StartsWith("##") ? token.Length : token.Length - 2;
            int last = Math.Min(at + length, wordEnd + 1) - 1;
            spans.Add((origin[at], origin[capacity + Math.Max(last, at)]));
            at += length;
        }
    }

    /// <summary>Greedy longest-match-first WordPiece for one word.</summary>
    private void AddWord(ReadOnlySpan<char> word, List<int> ids, int target)
    {
        int runes = 0;
        foreach (var _ in word.EnumerateRunes()) runes++;
        if (runes > MaxInputCharsPerWord)
        {
            ids.Add(UnkId);
            return;
        }
        int mark = ids.Count;
        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length;
            int found = -1;
            while (end > start)
            {
                var piece = word[start..end];
                if (start == 0 ? _wordLookup.TryGetValue(piece, out found) : _continuationLookup.TryGetValue(piece, out found))
                    break;
                found = -1;
                end--;
                // pieces end on character boundaries, never between the halves of a surrogate pair
                if (end > start && char.IsLowSurrogate(word[end]) && char.IsHighSurrogate(word[end - 1])) end--;
            }
            if (found < 0)
            {
                ids.RemoveRange(mark, ids.Count - mark);
                ids.Add(UnkId);
                return;
            }
            ids.Add(found);
            start = end;
        }
        if (ids.Count > target) ids.RemoveRange(target, ids.Count - target);
    }

    /// <summary>BertNormalizer: clean text, space out CJK ideographs, and (uncased) fold. Returns the length written.
    /// Given <paramref name="starts"/> and <paramref name="ends"/>, each written character's source characters are
    /// [starts[k], ends[k]).</summary>
    internal int Normalize(ReadOnlySpan<char> text, Span<char> dest, Span<int> starts = default, Span<int> ends = default)
    {
        bool track = !starts.IsEmpty;
        int n = 0;
        int i = 0;
        while (i < text.Length)
        {
            if (Rune.DecodeFromUtf16(text[i..], out Rune r, out int len) != OperationStatus.Done)
            {
                i += Math.Max(len, 1); // a lone surrogate decodes to U+FFFD, which BERT drops
                continue;
            }
            int from = i, written = n;
            i += len;
            int cp = r.Value;
            if (cp == 0 || cp == 0xFFFD || IsControl(r)) continue;
            if (Rune.IsWhiteSpace(r)) dest[n++] = ' ';
            else
            {
                bool cjk = IsCjk(cp);
                if (cjk) dest[n++] = ' ';
                n += Lowercase ? Fold(r, dest[n..]) : r.EncodeToUtf16(dest[n..]);
                if (cjk) dest[n++] = ' ';
            }
            if (track)
                for (int k = written; k < n; k++) { starts[k] = from; ends[k] = i; }
        }
        return n;
    }

    /// <summary>NFD, drop non-spacing marks, full lower-casing (HF's strip_accents + lowercase), for one code point.</summary>
    private static int Fold(Rune r, Span<char> dest)
    {
        int cp = r.Value;
        if (Rune.GetUnicodeCategory(r) == UnicodeCategory.NonSpacingMark) return 0;
        if (cp >= 0xAC00 && cp <= 0xD7A3)
        {
            // Hangul syllables decompose algorithmically into two or three conjoining jamo (Unicode 3.12).
            int s = cp - 0xAC00;
            dest[0] = (char)(0x1100 + s / (21 * 28));
            dest[1] = (char)(0x1161 + s % (21 * 28) / 28);
            int t = s % 28;
            if (t == 0) return 2;
            dest[2] = (char)(0x11A7 + t);
            return 3;
        }
        if (cp < 128)
        {
            dest[0] = cp is >= 'A' and <= 'Z' ? (char)(cp + 32) : (char)cp;
            return 1;
        }
        int k = BertFoldTable.Keys.BinarySearch(cp);
        if (k < 0) return r.EncodeToUtf16(dest);
        var folded = BertFoldTable.Chars[BertFoldTable.Offsets[k]..BertFoldTable.Offsets[k + 1]];
        folded.CopyTo(dest);
        return folded.Length;
    }

    private static bool IsControl(Rune r)
    {
        if (r.Value is '\t' or '\n' or '\r') return false;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned;
    }

    internal static bool IsPunctuation(Rune r)
    {
        int cp = r.Value;
        if (cp is >= 33 and <= 47 or >= 58 and <= 64 or >= 91 and <= 96 or >= 123 and <= 126) return true;
        return Rune.GetUnicodeCategory(r) is UnicodeCategory.ConnectorPunctuation or UnicodeCategory.DashPunctuation
            or UnicodeCategory.OpenPunctuation or UnicodeCategory.ClosePunctuation or UnicodeCategory.InitialQuotePunctuation
            or UnicodeCategory.FinalQuotePunctuation or UnicodeCategory.OtherPunctuation;
    }

    /// <summary>The CJK Unified Ideographs blocks BERT spaces out (not Hangul, Hiragana or Katakana).</summary>
    private static bool IsCjk(int cp) =>
        cp is >= 0x4E00 and <= 0x9FFF or >= 0x3400 and <= 0x4DBF or >= 0x20000 and <= 0x2A6DF or >= 0x2A700 and <= 0x2B73F
            or >= 0x2B740 and <= 0x2B81F or >= 0x2B820 and <= 0x2CEAF or >= 0xF900 and <= 0xFAFF or >= 0x2F800 and <= 0x2FA1F;
}
