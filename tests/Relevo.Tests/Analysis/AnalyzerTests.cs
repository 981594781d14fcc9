using Relevo.Analysis;
using RelevoAnalyzer = Relevo.Analysis.Analyzer;

namespace Relevo.Tests.Analysis;

/// <summary>Hand-worked expectations for tricky strings; each is also checked against Lucene.NET 4.8 as an oracle,
/// so a wrong hand-worked value and a wrong implementation both show up.</summary>
public class AnalyzerTests
{
    private static void AssertTerms(string analyzer, string text, params string[] expected)
    {
        List<string> lucene = LuceneOracle.Terms(LuceneOracle.For(analyzer), text);
        Assert.Equal(expected, lucene);                               // the hand-worked value is what Lucene does
        Assert.Equal(expected, RelevoAnalyzer.Create(analyzer).Terms(text)); // and what we do
    }

    [Fact]
    public void CreateKnowsTheNames()
    {
        Assert.IsType<EnglishAnalyzer>(RelevoAnalyzer.Create("english"));
        Assert.IsType<LowercaseAnalyzer>(RelevoAnalyzer.Create("lowercase"));
        Assert.Equal("english", RelevoAnalyzer.Create("english").Name);
        Assert.Equal("lowercase", RelevoAnalyzer.Create("lowercase").Name);
        var e = Assert.Throws<RelevoException>(() => RelevoAnalyzer.Create("klingon"));
        Assert.Contains("klingon", e.Message);
        Assert.Contains("english", e.Message);
        Assert.Contains("lowercase", e.Message);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   \t\r\n ")]
    [InlineData("... -- !? ()[]{}")]
    [InlineData("the and of To BE THIS")]
    public void NothingToIndex(string text) => AssertTerms("english", text);

    [Fact]
    public void Possessives()
    {
        AssertTerms("english", "John's JOHN'S john’s john＇s", "john", "john", "john", "john");
        AssertTerms("lowercase", "John's JOHN'S john’s", "john's", "john's", "john’s");
        AssertTerms("english", "the boys' toys", "boi", "toi"); // a trailing apostrophe is not part of the token
    }

    [Fact]
    public void ApostrophesInsideWords()
    {
        AssertTerms("lowercase", "O'Neil don't 'quoted' rock'n'roll", "o'neil", "don't", "quoted", "rock'n'roll");
        AssertTerms("english", "O'Neil don't", "o'neil", "don't");
    }

    [Fact]
    public void Numbers()
    {
        AssertTerms("lowercase", "3.14 1,000 1.2.3 3.14. 10,5,", "3.14", "1,000", "1.2.3", "3.14", "10,5");
        AssertTerms("lowercase", "a1.2 1.2a ab.cd ab.1 12:30", "a1.2", "1.2a", "ab.cd", "ab", "1", "12", "30");
        AssertTerms("lowercase", "x² ½ ３４", "x", "３４"); // superscripts and fractions are not digits; full-width ones are
    }

    [Fact]
    public void HyphensUrlsEmailsUnderscores()
    {
        AssertTerms("lowercase", "wi-fi e-mail state-of-the-art", "wi", "fi", "e", "mail", "state", "of", "the", "art");
        AssertTerms("lowercase", "http://www.Example.com/path?q=1", "http", "www.example.com", "path", "q", "1");
        AssertTerms("lowercase", "john.doe@example.com", "john.doe", "example.com");
        AssertTerms("lowercase", "foo_bar _x y_ __", "foo_bar", "_x", "y_");
    }

    [Fact]
    public void AccentsAndScripts()
    {
        AssertTerms("lowercase", "Café ÜBER naïve Ελληνικά ПРИВЕТ", "café", "über", "naïve", "ελληνικά", "привет");
        AssertTerms("lowercase", "cafe\u0301", "cafe\u0301"); // a combining accent stays with its letter (WB4)
        AssertTerms("lowercase", "中文字", "中", "文", "字");       // each Han ideograph alone
        AssertTerms("lowercase", "ひらがな", "ひ", "ら", "が", "な"); // each Hiragana alone
        AssertTerms("lowercase", "カタカナ ｶﾀｶﾅ", "カタカナ", "ｶﾀｶﾅ");   // Katakana runs stay together
        AssertTerms("lowercase", "한국어 ภาษาไทย", "한국어", "ภาษาไทย"); // Hangul and Thai runs stay together
        AssertTerms("lowercase", "I ❤️ 🍕 pizza 👍🏽 🇫🇷", "i", "pizza"); // emoji and flags are skipped
        AssertTerms("lowercase", "𠀀𠀁 𝐀𝐁", "𠀀", "𠀁", "𝐀𝐁"); // supplementary Han and letters (surrogate pairs)
    }

    [Fact]
    public void LongTokensAreSkipped()
    {
        string a255 = new('a', 255), a256 = new('a', 256);
        AssertTerms("lowercase", $"x {a255} y", "x", a255, "y");
        AssertTerms("lowercase", $"x {a256} y {new string('b', 5000)}", "x", "y");
    }

    [Theory]
    [InlineData("caresses", "caress")]
    [InlineData("ponies", "poni")]
    [InlineData("ties", "ti")]
    [InlineData("cats", "cat")]
    [InlineData("feed", "feed")]
    [InlineData("agreed", "agre")]
    [InlineData("plastered", "plaster")]
    [InlineData("motoring", "motor")]
    [InlineData("sing", "sing")]
    [InlineData("hopping", "hop")]
    [InlineData("falling", "fall")]
    [InlineData("filing", "file")]
    [InlineData("happy", "happi")]
    [InlineData("sky", "sky")]
    [InlineData("relational", "relat")]
    [InlineData("generalizations", "gener")]
    [InlineData("electricity", "electr")]
    [InlineData("adjustment", "adjust")]
    [InlineData("controlling", "control")]
    [InlineData("archaeology", "archaeolog")] // Lucene's extra -logi step
    [InlineData("ran", "ran")]
    [InlineData("is", "is")] // two letters: never stemmed (and "is" is a stop word only in the analyzer)
    public void PorterStemmerAsLucene(string word, string stem)
    {
        char[] buffer = word.ToCharArray();
        int n = PorterStemmer.Stem(buffer);
        Assert.Equal(stem, new string(buffer, 0, n));
        if (!EnglishStopWords.Contains(word))
            AssertTerms("english", word, stem);
    }

    [Fact]
    public void StopWordsAreLucenes33()
    {
        Assert.Equal(33, EnglishStopWords.Words.Count);
        AssertTerms("english", string.Join(' ', EnglishStopWords.Words));
        AssertTerms("english", "THE Quick brown foxes jumped over the lazy dogs", "quick", "brown", "fox", "jump", "over", "lazi", "dog");
    }

    [Fact]
    public void SinkGetsSpansInOrder()
    {
        var sink = new CountingSink();
        RelevoAnalyzer.Create("english").Analyze("Running runners run", sink);
        Assert.Equal(["run", "runner", "run"], sink.Terms);
    }

    [Fact]
    public void HotPathDoesNotAllocatePerToken()
    {
        string text = string.Concat(Enumerable.Repeat("The runners' O'Neil ran 3.14 km, naïvely ÜBER fast-running 中文 ภาษาไทย! ", 2000));
        var sink = new NullSink();
        foreach (string name in new[] { "english", "lowercase" })
        {
            var analyzer = RelevoAnalyzer.Create(name);
            analyzer.Analyze(text, sink); // warm up: static tables, JIT
            long before = GC.GetAllocatedBytesForCurrentThread();
            analyzer.Analyze(text, sink);
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 1024, $"{name}: {allocated} bytes allocated for ~30,000 tokens");
        }
    }

    private sealed class NullSink : ITermSink
    {
        public void OnTerm(ReadOnlySpan<char> term) { }
    }

    private sealed class CountingSink : ITermSink
    {
        public List<string> Terms { get; } = [];
        public void OnTerm(ReadOnlySpan<char> term) => Terms.Add(term.ToString());
    }
}
