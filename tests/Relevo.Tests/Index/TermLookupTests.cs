using Relevo.Tests.Search;

namespace Relevo.Tests.Index;

/// <summary>The dictionary's hash lookup answers exactly what a binary search of the sorted terms answers.</summary>
public class TermLookupTests
{
    [Fact]
    public void HashLookupEqualsBinarySearch()
    {
        var ds = TestData.Dataset("scifact");
        using var tmp = new TempDir();
        using var reader = TestIndexes.Build(ds.CorpusPath, tmp.Path);
        foreach (var seg in reader.Segments)
        {
            Assert.True(seg.TermCount > 1000);
            for (int ord = 0; ord < seg.TermCount; ord++)
            {
                string term = seg.Term(ord);
                Assert.Equal(ord, seg.FindTerm(term));
                Assert.Equal(ord, ((Relevo.Index.Formats.V1.V1SegmentReader)seg).FindTermSorted(term));
                // neighbours that are not terms (or are other terms): both ways agree
                foreach (string probe in (string[])[term + "\u0001", term[..^1], term + "zz", "\u0000" + term])
                    Assert.Equal(((Relevo.Index.Formats.V1.V1SegmentReader)seg).FindTermSorted(probe), seg.FindTerm(probe));
            }
            Assert.Equal(-1, seg.FindTerm(""));
            Assert.Equal(-1, seg.FindTerm("no-such-term-anywhere"));
        }
    }
}
