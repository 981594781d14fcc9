using System.Globalization;
using Relevo.Analysis;
using Xunit.Abstractions;

namespace Relevo.Tests.Analysis;

/// <summary>Every BMP code point, alone and between letters, digits, Hebrew, Katakana and Thai, tokenized and
/// lower-cased by us and by Lucene.NET 4.8 (StandardTokenizer + LowerCaseFilter). The only differences allowed are
/// the code points below, all assigned or re-categorized after Unicode 6.3 (Lucene 4.8's tables); .NET knows them
/// by their current properties.</summary>
public class CodePointTests(ITestOutputHelper output)
{
    private const string NewerThanUnicode63 =
        "037F 0528-052F 0560 0588 05EF 0605 07FD 0860-086A 0870-0887 0889-088E 0890-0891 0897-089F 08A1 08AD-08E3 08FF 0978 0980 09FC 09FE 0AF9-0AFF 0B55 0C00 0C04 0C34 0C3C 0C5A 0C5D 0C80-0C81 0CDD 0CF3 0D00-0D01 0D04 0D3B-0D3C 0D54-0D56 0D5F 0D81 0DE6-0DEF 0E86 0E89 0E8C 0E8E-0E93 0E98 0EA0 0EA8-0EA9 0EAC 0EBA 0ECE 13F5 13F8-13FD 16F1-16F8 170D 1715 171F 180F 1878 191D-191E 1A7F 1AB0-1ACE 1B4C 1C80-1C8A 1C90-1CBA 1CBD-1CBF 1CF2-1CF3 1CF7-1CFA 1DE7-1DFB 2C2F 2C5F 312E-312F 31BB-31BF 4DB6-4DBF 9FCD-9FFF A698-A69E A78F A794-A79F A7AB-A7CD A7D0-A7D1 A7D3 A7D5-A7DC A7F2-A7F7 A82C A8C5 A8FD-A8FF A9E0-A9FE AA7C-AA7F AB30-AB5A AB5C-AB69 AB70-ABBF FE27-FE2F";

    private static readonly string[] Contexts = ["{0}", "a{0}b", "1{0}2", "{0}{0}", "\u05E9{0}\u05E9", "\u30A2{0}\u30A2", "\u0E01{0}\u0E01"];

    [Fact]
    public void BmpAgreesWithLuceneExceptNewerCodePoints()
    {
        HashSet<int> allowed = ParseRanges(NewerThanUnicode63);
        var ours = Relevo.Analysis.Analyzer.Create("lowercase");
        var unexpected = new List<string>();
        int allowedSeen = 0;
        for (int cp = 0; cp < 0x10000; cp++)
        {
            if (cp is >= 0xD800 and <= 0xDFFF) continue;
            string ch = ((char)cp).ToString();
            foreach (string context in Contexts)
            {
                string text = string.Format(CultureInfo.InvariantCulture, context, ch);
                List<string> expected = LuceneOracle.Terms(LuceneOracle.Lowercase, text);
                List<string> actual = ours.Terms(text);
                if (expected.SequenceEqual(actual)) continue;
                if (allowed.Contains(cp)) { allowedSeen++; break; }
                unexpected.Add($"U+{cp:X4} in '{context}': Lucene [{string.Join("|", expected)}], ours [{string.Join("|", actual)}]");
                break;
            }
        }
        output.WriteLine($"{allowedSeen} code points differ as expected (newer than Unicode 6.3); {unexpected.Count} unexpected");
        foreach (string u in unexpected) output.WriteLine(u);
        Assert.Empty(unexpected);
    }

    private static HashSet<int> ParseRanges(string ranges)
    {
        var set = new HashSet<int>();
        foreach (string part in ranges.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            string[] ends = part.Split('-');
            int lo = int.Parse(ends[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            int hi = ends.Length > 1 ? int.Parse(ends[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture) : lo;
            for (int cp = lo; cp <= hi; cp++) set.Add(cp);
        }
        return set;
    }
}
