using Relevo.Search.Similarities;
using Relevo.Index;
using Relevo.Index.Formats.V1;
using Relevo.Search;

namespace Relevo.Tests.Index;

public class PostingsTests
{
    /// <summary>Synthetic segment: one term per posting-list shape (lengths around the block size, huge gaps, huge tf).</summary>
    private sealed class SyntheticSource(int docCount, byte[] norms, List<(string Term, int[] Docs, int[] Freqs)> terms) : ISegmentSource
    {
        public int DocCount => docCount;
        public byte[] Norms => norms;
        public IEnumerable<TermPostings> Terms()
        {
            foreach (var (t, d, f) in terms.OrderBy(x => x.Term, StringComparer.Ordinal))
                yield return new TermPostings(t, d, f, d.Length);
        }
        public Document GetDocument(int doc) => new("d" + doc, "", "");
    }

    [Fact]
    public void PostingsRoundTripAndBlockImpactsBoundEveryScore()
    {
        var random = new Random(7);
        const int docCount = 200_000;
        var norms = new byte[docCount];
        for (int i = 0; i < docCount; i++) norms[i] = SmallFloat.IntToByte4(random.Next(1, 3000));
        var terms = new List<(string, int[], int[])>();
        foreach (int df in new[] { 1, 2, 127, 128, 129, 255, 256, 257, 1000, 40_000, docCount })
        {
            var docs = Enumerable.Range(0, docCount).OrderBy(_ => random.Next()).Take(df).Order().ToArray();
            var freqs = docs.Select(_ => random.Next(20) == 0 ? random.Next(1, 100_000) : random.Next(1, 5)).ToArray();
            terms.Add(($"t{df}", docs, freqs));
        }
        using var tmp = new TempDir();
        SegmentWriter.Write(tmp.Path, "_0", new SyntheticSource(docCount, norms, terms));
        using var seg = new V1SegmentReader(tmp.Path, "_0", new DeletedDocs(docCount));

        var tfs = new int[PostingsCursor.BlockSize];
        var impactNorms = new byte[PostingsCursor.BlockSize];
        foreach (var (term, docs, freqs) in terms)
        {
            int ord = seg.FindTerm(term);
            Assert.True(ord >= 0);
            Assert.Equal(docs.Length, seg.DocFreq(ord));
            var cursor = seg.Postings(ord);
            int at = 0;
            for (int b = 0; b < cursor.BlockCount; b++)
            {
                cursor.ReadBlock(b);
                int n = cursor.BlockImpacts(b, tfs, impactNorms);
                var impacts = Enumerable.Range(0, n).Select(i => (tfs[i], impactNorms[i])).ToList();
                Assert.Equal(cursor.Docs[cursor.BlockLength - 1], cursor.BlockLastDoc(b));
                foreach (var (k1, bb) in new[] { (0.9f, 0.4f), (1.2f, 0.75f), (2.0f, 1.0f), (0.5f, 0f) })
                {
                    var normInverse = Bm25Scorer.NormInverseTable(k1, bb, 900f);
                    float max = 0;
                    foreach (var (tf, nb) in impacts) max = Math.Max(max, Bm25Scorer.Score(1f, tf, normInverse[nb]));
                    for (int i = 0; i < cursor.BlockLength; i++)
                        Assert.True(Bm25Scorer.Score(1f, cursor.Freqs[i], normInverse[norms[cursor.Docs[i]]]) <= max,
                            $"{term} block {b}: a score exceeds the stored block maximum");
                }
                for (int i = 0; i < cursor.BlockLength; i++, at++)
                {
                    Assert.Equal(docs[at], cursor.Docs[i]);
                    Assert.Equal(freqs[at], cursor.Freqs[i]);
                }
            }
            Assert.Equal(docs.Length, at);
        }
        Assert.Equal(-1, seg.FindTerm("absent"));
    }

    /// <summary>The AVX2 gather decoder equals the scalar one for every width and count (the writer's packer is the reference).</summary>
    [Fact]
    public void SimdUnpackEqualsScalar()
    {
        var random = new Random(3);
        var values = new uint[128];
        var simd = new uint[128];
        var scalar = new uint[128];
        bool saved = Relevo.Index.Formats.BitPacking.UseSimd;
        try
        {
            for (int bits = 0; bits <= 32; bits++)
            {
                foreach (int count in new[] { 1, 7, 8, 9, 64, 127, 128 })
                {
                    for (int i = 0; i < count; i++)
                        values[i] = bits == 0 ? 0 : (uint)(random.NextInt64() & (long)((1UL << bits) - 1));
                    var buf = new Relevo.Index.Formats.ByteBuffer();
                    buf.WritePacked(values.AsSpan(0, count), bits);
                    var bytes = new byte[buf.Length + 16];
                    buf.Span.CopyTo(bytes);
                    Relevo.Index.Formats.BitPacking.UseSimd = true;
                    Relevo.Index.Formats.BitPacking.Unpack(bytes, count, bits, simd);
                    Relevo.Index.Formats.BitPacking.UseSimd = false;
                    Relevo.Index.Formats.BitPacking.Unpack(bytes, count, bits, scalar);
                    Assert.True(values.AsSpan(0, count).SequenceEqual(scalar.AsSpan(0, count)), $"scalar, {bits} bits × {count}");
                    Assert.True(values.AsSpan(0, count).SequenceEqual(simd.AsSpan(0, count)), $"simd, {bits} bits × {count}");
                }
            }
        }
        finally
        {
            Relevo.Index.Formats.BitPacking.UseSimd = saved;
        }
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(23, 23)]
    [InlineData(24, 24)]
    [InlineData(25, 25)]
    [InlineData(31, 31)]   // 24 + 7: still exact (three low bits)
    [InlineData(39, 39)]   // 24 + 15: four significant bits hold 15 exactly
    [InlineData(41, 40)]   // 24 + 17: 17 = 0b10001 -> top 4 bits 1000 << 1 = 16 -> 40
    [InlineData(100, 96)]  // 24 + 76: 76 = 0b1001100 -> top 4 bits 1001 << 3 = 72 -> 96
    [InlineData(1000, 984)] // 24 + 976: 976 = 0b1111010000 -> 1111 << 6 = 960 -> 984
    public void LengthNormsFollowLucene8(int length, int decoded)
    {
        Assert.Equal(decoded, SmallFloat.Byte4ToInt(SmallFloat.IntToByte4(length)));
    }

    [Fact]
    public void LengthNormsAreMonotonic()
    {
        for (int i = 1; i < 1_000_000; i++)
            Assert.True(SmallFloat.IntToByte4(i) >= SmallFloat.IntToByte4(i - 1));
        for (int b = 1; b < 256; b++)
            Assert.True(SmallFloat.Byte4ToInt((byte)b) > SmallFloat.Byte4ToInt((byte)(b - 1)));
    }
}
