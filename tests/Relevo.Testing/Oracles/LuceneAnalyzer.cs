using Lucene.Net.Analysis.Core;
using Lucene.Net.Analysis.Standard;
using Lucene.Net.Analysis.TokenAttributes;
using Lucene.Net.Util;
using LuceneAnalyzer = Lucene.Net.Analysis.Analyzer;

namespace Relevo.Testing;

/// <summary>Lucene.NET 4.8 as the reference: its EnglishAnalyzer, and StandardTokenizer + LowerCaseFilter.</summary>
internal static class LuceneOracle
{
    public static readonly LuceneAnalyzer English = new Lucene.Net.Analysis.En.EnglishAnalyzer(LuceneVersion.LUCENE_48);

    public static readonly LuceneAnalyzer Lowercase = LuceneAnalyzer.NewAnonymous((_, reader) =>
    {
        var source = new StandardTokenizer(LuceneVersion.LUCENE_48, reader);
        return new Lucene.Net.Analysis.TokenStreamComponents(source, new LowerCaseFilter(LuceneVersion.LUCENE_48, source));
    });

    /// <summary>The Lucene analyzer our analyzer of the same name must agree with.</summary>
    public static LuceneAnalyzer For(string name) => name == "english" ? English : Lowercase;

    public static List<string> Terms(LuceneAnalyzer analyzer, string text)
    {
        var terms = new List<string>();
        using var stream = analyzer.GetTokenStream("f", text);
        var term = stream.AddAttribute<ICharTermAttribute>();
        stream.Reset();
        while (stream.IncrementToken())
            terms.Add(term.ToString());
        stream.End();
        return terms;
    }
}
