using System.Buffers.Binary;
using System.IO.Hashing;
using Relevo.Index;
using Relevo.Index.Formats;
using Relevo.Index.Formats.V1;

namespace Relevo.Tests.Index;

/// <summary>A test that writes files over 2 GiB: skipped, saying why, when the temp folder has less than
/// <c>freeGiB</c> free, or when it is heavy and RELEVO_HEAVY=1 is not set.</summary>
public sealed class LargeFileFactAttribute : FactAttribute
{
    public LargeFileFactAttribute(int freeGiB, bool heavy)
    {
        string temp = Path.GetTempPath();
        long free = FreeBytes(temp);
        if (heavy && !HeavyFactAttribute.Enabled)
            Skip = "heavy: set RELEVO_HEAVY=1 to run (writes and merges an index of 2.3 GiB, about a minute on 2 cores)";
        else if (free < (long)freeGiB << 30)
            Skip = $"needs {freeGiB} GiB free in {temp}, which has {free >> 20} MiB";
    }

    private static long FreeBytes(string path)
    {
        try { return new DriveInfo(path).AvailableFreeSpace; }
        catch (Exception e) when (e is IOException or ArgumentException or UnauthorizedAccessException) { return 0; }
    }
}

/// <summary>Index files past 2 GiB (issue 14): every byte is checksummed, offsets past int.MaxValue are read right.</summary>
public class LargeFileTests
{
    // 2,300 documents of 1 MiB of random letters and digits, which LZ4 barely compresses: the merged segment's .docs
    // file passes 2 GiB at about document 2,048. The random runs are longer than the tokenizer's 255-character limit,
    // so they are stored but not indexed, and analysis stays cheap: each document's terms are "common", "needle<i>"
    // and its title's.
    private const int DocCount = 2_300;
    private const int DocChars = 1 << 20;
    private const int Needle = 2_250;

    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

    internal static Document Doc(int i) => new($"d{i}", $"Document {i}", Text(i));

    private static string Text(int i) => string.Create(DocChars, i, static (text, i) =>
    {
        ulong state = 0x9E3779B97F4A7C15UL * (ulong)(i + 1);
        string head = $"common needle{i} ";
        head.CopyTo(text);
        int at = head.Length;
        int runEnd = at;
        while (at < text.Length)
        {
            if (at == runEnd)
            {
                // a space, then a run of 300 to 1,000 random characters (one token too long to index)
                if (at > head.Length) text[at++] = ' ';
                runEnd = Math.Min(text.Length, at + 300 + (int)(Next(ref state) % 700));
                continue;
            }
            ulong r = Next(ref state);
            for (int k = 0; k < 8 && at < runEnd; k++, r >>= 8) text[at++] = Alphabet[(int)((r & 0xFF) % (ulong)Alphabet.Length)];
        }
    });

    // splitmix64
    private static ulong Next(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static void FlipByte(string path, long offset)
    {
        using var f = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        f.Position = offset;
        int b = f.ReadByte();
        f.Position = offset;
        f.WriteByte((byte)(b ^ 0x10));
    }

    [Trait("Category", "Heavy")]
    [LargeFileFact(freeGiB: 6, heavy: true)]
    public async Task A_document_store_past_2_GiB_is_written_verified_searched_and_deleted()
    {
        var tmp = new TempDir();
        try
        {
            string dir = tmp["idx"];
            using (var w = SearchIndex.OpenWriter(dir, new WriterOptions { Analyzer = "lowercase", MergeSegments = false }))
            {
                for (int i = 0; i < DocCount; i++) w.Add(Doc(i));
                w.CommitMerged(); // the segments flushed at the RAM budget (about 256 MiB each) merge into one, as `relevo index` does
            }

            // Opening verifies every file's header and checksum; the needle's stored block starts past 2 GiB.
            string docsFile;
            using (var reader = IndexReader.Open(dir))
            {
                var segment = Assert.IsType<V1SegmentReader>(Assert.Single(reader.Segments));
                Assert.Equal(DocCount, segment.MaxDoc);
                docsFile = Path.Combine(dir, SegmentFiles.Docs(segment.Name));
                Assert.True(new FileInfo(docsFile).Length > int.MaxValue + (128L << 20), $"{docsFile} is only {new FileInfo(docsFile).Length} bytes");
                Assert.True(segment.StoredBlockOffset(Needle) > int.MaxValue, $"document {Needle} is stored at {segment.StoredBlockOffset(Needle)}");
                Assert.Equal(Doc(DocCount - 1), segment.GetDocument(DocCount - 1));
            }

            using (var index = SearchIndex.Open(dir))
            {
                var result = index.Search($"needle{Needle}", "bm25", 10, new SearchOptions { Documents = true });
                Assert.Equal($"d{Needle}", Assert.Single(result.Hits).Id);
                Assert.Equal(Doc(Needle), result.Documents![0]);
                Assert.Equal(DocCount, index.Search("common", "bm25", DocCount + 10).Hits.Count);
                Assert.Equal(Doc(DocCount - 1), await index.GetDocumentAsync($"d{DocCount - 1}"));
            }

            // The checksum covers the bytes past 2 GiB: one flipped there is found when the file is opened.
            long past = new FileInfo(docsFile).Length - (64 << 20);
            FlipByte(docsFile, past);
            var e = Assert.Throws<CorruptIndexException>(() => IndexReader.Open(dir));
            Assert.Equal(docsFile, e.FilePath);
            Assert.Contains("checksum mismatch", e.Message);
            FlipByte(docsFile, past);

            using (var w = SearchIndex.OpenWriter(dir, new WriterOptions { MergeSegments = false }))
            {
                Assert.True(w.Delete($"d{Needle}"));
                w.Commit();
            }
            using (var index = SearchIndex.Open(dir))
            {
                Assert.Empty(index.Search($"needle{Needle}").Hits);
                Assert.Null(await index.GetDocumentAsync($"d{Needle}"));
                Assert.Equal(Doc(Needle + 1), await index.GetDocumentAsync($"d{Needle + 1}"));
            }

            // Merging it drops the deleted document: every block past 2 GiB is read, recompressed and written again.
            using (var w = SearchIndex.OpenWriter(dir, new WriterOptions { MergeSegments = false }))
                w.ForceMerge();
            using (var index = SearchIndex.Open(dir))
            {
                var result = index.Search($"needle{Needle + 1}", "bm25", 10, new SearchOptions { Documents = true });
                Assert.Equal($"d{Needle + 1}", Assert.Single(result.Hits).Id);
                Assert.Equal(Doc(Needle + 1), result.Documents![0]);
                Assert.Equal(DocCount - 1, index.Search("common", "bm25", DocCount + 10).Hits.Count);
            }
            using (var reader = IndexReader.Open(dir))
            {
                var segment = Assert.IsType<V1SegmentReader>(Assert.Single(reader.Segments));
                Assert.Equal(DocCount - 1, segment.MaxDoc);
                Assert.True(segment.StoredBlockOffset(Needle) > int.MaxValue);
                Assert.Equal(Doc(Needle + 1), segment.GetDocument(Needle));
                Assert.Equal(Doc(DocCount - 1), segment.GetDocument(DocCount - 2));
            }
        }
        finally
        {
            tmp.Dispose();
        }
        Assert.False(Directory.Exists(tmp.Path), $"{tmp.Path} was not removed");
    }

    /// <summary>The checksum of a file hashed in chunks (how files past 2 GiB are verified) is the one-pass hash the
    /// writer stored, wherever the chunk boundaries fall.</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(4096)]
    [InlineData(100_003)]
    [InlineData(FileFormat.ChecksumChunk)]
    public void Checksum_in_chunks_is_the_one_pass_hash(int chunk)
    {
        var data = new byte[100_003];
        new Random(chunk).NextBytes(data);
        foreach (int length in (int[])[0, 1, 31, 32, 64, 1000, 65_537, data.Length])
            Assert.Equal(XxHash64.HashToUInt64(data.AsSpan(0, length)), FileFormat.Checksum(data.AsSpan(0, length), chunk));
    }

    /// <summary>A file written by <see cref="IndexOutput"/> (hashed as its buffer flushes) verifies when it is opened,
    /// also when it is checked in small chunks.</summary>
    [Fact]
    public void A_written_file_verifies_in_chunks()
    {
        using var tmp = new TempDir();
        string path = tmp["_0.docs"];
        var payload = new byte[300_000];
        new Random(3).NextBytes(payload);
        using (var o = new IndexOutput(path, SegmentFiles.DocsKind, SegmentFiles.Version))
        {
            o.WriteBytes(payload);
            o.Finish();
        }
        var file = File.ReadAllBytes(path);
        Assert.Equal(SegmentFiles.Version, FileFormat.Verify(path, file, SegmentFiles.DocsKind, SegmentFiles.Version));
        ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(file.AsSpan(file.Length - 8));
        Assert.Equal(stored, FileFormat.Checksum(file.AsSpan(0, file.Length - FileFormat.FooterLength), chunk: 4096));
        using var m = new MappedFile(path, SegmentFiles.DocsKind, SegmentFiles.Version);
        Assert.True(m.Span(m.PayloadStart, payload.Length).SequenceEqual(payload));
    }

    /// <summary>A sparse file of 2 GiB and a little more, with data past 2 GiB: it opens, its bytes there read
    /// right, and a byte flipped there fails the checksum.</summary>
    [LargeFileFact(freeGiB: 3, heavy: false)]
    public void A_mapped_file_past_2_GiB_is_checksummed_to_its_last_byte()
    {
        using var tmp = new TempDir();
        string path = tmp["big.docs"];
        long payloadAt = (2L << 30) + 4096;
        var payload = new byte[4096];
        new Random(7).NextBytes(payload);
        var header = new byte[FileFormat.HeaderLength];
        FileFormat.WriteHeader(header, SegmentFiles.DocsKind, SegmentFiles.Version);

        // XxHash64 of header, hole (zeros) and payload, appended piece by piece
        var hash = new XxHash64();
        hash.Append(header);
        var zeros = new byte[1 << 20];
        for (long left = payloadAt - header.Length; left > 0; left -= zeros.Length)
            hash.Append(zeros.AsSpan(0, (int)Math.Min(left, zeros.Length)));
        hash.Append(payload);
        var footer = new byte[FileFormat.FooterLength];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, FileFormat.FooterMagic);
        BinaryPrimitives.WriteUInt64LittleEndian(footer.AsSpan(4), hash.GetCurrentHashAsUInt64());
        using (var f = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            f.Write(header);
            f.Position = payloadAt; // the bytes in between are a hole: they read as zeros and take no disk
            f.Write(payload);
            f.Write(footer);
        }

        using (var m = new MappedFile(path, SegmentFiles.DocsKind, SegmentFiles.Version))
        {
            Assert.Equal(payloadAt + payload.Length + footer.Length, m.Length);
            Assert.Equal(SegmentFiles.Version, m.Version);
            Assert.Equal(BinaryPrimitives.ReadInt64LittleEndian(payload.AsSpan(100)), m.ReadInt64(payloadAt + 100));
            Assert.True(m.Span(payloadAt, payload.Length).SequenceEqual(payload));
        }

        FlipByte(path, payloadAt + 1000);
        var e = Assert.Throws<CorruptIndexException>(() => new MappedFile(path, SegmentFiles.DocsKind, SegmentFiles.Version));
        Assert.Equal(path, e.FilePath);
        Assert.Contains("checksum mismatch", e.Message);
    }
}
