using Relevo.Dense;
using Relevo.Dense.Tokenization;

namespace Relevo.Tests.Dense;

/// <summary>Ids checked by hand against the bert-base-uncased vocabulary both packaged models use (vocab.txt line
/// numbers), following Hugging Face's BertTokenizerFast rules (BertNormalizer, BertPreTokenizer, WordPiece).</summary>
public sealed class WordPieceTokenizerTests
{
    private static readonly Lazy<WordPieceTokenizer> Shared = new(() =>
        WordPieceTokenizer.FromVocabFile(Path.Combine(EmbeddingModel.BuiltInFolder("minilm"), "vocab.txt")));

    private static WordPieceTokenizer Tok => Shared.Value;

    private static int[] Ids(params int[] inner) => [101, .. inner, 102];

    [Theory]
    [InlineData("", new int[0])]
    [InlineData("   \t\n ", new int[0])]
    [InlineData("\u0000\u200b\ufffd", new int[0])] // NUL, zero-width space (Cf) and U+FFFD are dropped
    [InlineData("Hello, World!", new[] { 7592, 1010, 2088, 999 })]
    [InlineData("Café naïve", new[] { 7668, 15743 })] // accents stripped (NFD, drop Mn), not [UNK]
    [InlineData("RÉSUMÉ", new[] { 13746 })]
    [InlineData("c++ a<b `x`", new[] { 1039, 1009, 1009, 1037, 1026, 1038, 1036, 1060, 1036 })] // + < ` kept as tokens
    [InlineData("東京tokyo", new[] { 1879, 1755, 5522 })] // CJK ideographs spaced out
    [InlineData("한국", new[] { 1469, 30006, 30021, 29991, 30014, 30020 })] // Hangul decomposes into jamo (NFD)
    [InlineData("I love 😀", new[] { 1045, 2293, 100 })] // emoji not in the vocabulary: [UNK]
    [InlineData("wait...?!", new[] { 3524, 1012, 1012, 1012, 1029, 999 })] // each punctuation character a token
    [InlineData("Straße", new[] { 2358, 27807 })] // ß is not decomposed: st ##raße
    [InlineData("İstanbul", new[] { 9960 })]
    [InlineData("ΣΑΣ", new[] { 1173, 14608, 29733 })] // σ ##α ##σ (no final-sigma rule)
    [InlineData("hypothyroidism", new[] { 1044, 22571, 14573, 12541, 9314, 2964 })]
    [InlineData("IL-6 μm", new[] { 6335, 1011, 1020, 1166, 2213 })]
    [InlineData("don't", new[] { 2123, 1005, 1056 })]
    public void Hand_checked_ids(string text, int[] expected)
    {
        Assert.Equal(Ids(expected), Tok.Encode(text, 512));
    }

    [Theory]
    [InlineData("Hello, World! hypothyroidism IL-6 don't")]
    [InlineData("Café naïve RÉSUMÉ Straße 東京tokyo ΣΑΣ")]
    [InlineData("  spaced\t\nout\u200b text  ")]
    public void Spans_point_at_the_characters_each_piece_came_from(string text)
    {
        var (ids, spans) = Tok.EncodeWithSpans(text);
        Assert.Equal(Tok.Encode(text), ids);
        Assert.Equal((-1, -1), spans[0]);
        Assert.Equal((-1, -1), spans[^1]);
        int previousEnd = 0;
        var buffer = new char[64];
        for (int i = 1; i < ids.Length - 1; i++)
        {
            var (start, end) = spans[i];
            Assert.True(start >= previousEnd && end > start && end <= text.Length, $"{Tok.IdToToken(ids[i])}: [{start}, {end})");
            // the characters a piece spans normalize to the piece
            int n = Tok.Normalize(text.AsSpan(start, end - start), buffer);
            Assert.Equal(Tok.IdToToken(ids[i]).Replace("##", ""), new string(buffer, 0, n).Trim());
            previousEnd = end;
        }
        var (cut, cutSpans) = Tok.EncodeWithSpans(text, 4);
        Assert.Equal(Tok.Encode(text, 4), cut);
        Assert.Equal(cut.Length, cutSpans.Length);
    }

    [Fact]
    public void Words_over_100_characters_are_unk_and_100_are_not()
    {
        Assert.Equal(Ids(100), Tok.Encode(new string('x', 101), 512));
        int[] hundred = Tok.Encode(new string('x', 100), 512);
        Assert.Equal(22038, hundred[1]); // xx ##xx ...
        Assert.DoesNotContain(100, hundred);
    }

    [Fact]
    public void Truncates_to_max_tokens_with_sep_last()
    {
        int[] ids = Tok.Encode("one two three four five six seven eight nine ten", 6);
        Assert.Equal(6, ids.Length);
        Assert.Equal(101, ids[0]);
        Assert.Equal(102, ids[^1]);
        Assert.Equal(Tok.Encode("one two three four", 512), ids);
    }

    [Fact]
    public void Unknown_piece_makes_the_whole_word_unk()
    {
        // "x" + a character the vocabulary lacks inside one word: the word is [UNK], not "x [UNK]"
        Assert.Equal(Ids(100), Tok.Encode("x\u2603y", 512));
    }

    [Fact]
    public void Tokens_are_readable()
    {
        Assert.Equal(["h", "##yp", "##oth", "##yr", "##oid", "##ism"], Tok.Tokenize("Hypothyroidism"));
    }
}
