using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using Relevo.Collections;

namespace Relevo.Tests.Collections;

/// <summary>The gzip reader gives back exactly what was compressed, member after member, and refuses a file that
/// ends early or whose trailer does not match, where <see cref="GZipStream"/> would end quietly.</summary>
public class CheckedGZipStreamTests
{
    /// <summary>JSON lines that compress well (many members of the deflate data in one chunk).</summary>
    private static byte[] Lines(int count, int seed = 0)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < count; i++) sb.Append($"{{\"_id\":\"{seed}-{i}\",\"text\":\"word {i * 7919 % 1000} other {i % 13}\"}}\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>Bytes that do not compress (so members span many of the reader's chunks and buffer refills).</summary>
    private static byte[] Noise(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private static byte[] Gzip(byte[] data)
    {
        var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal)) gz.Write(data);
        return ms.ToArray();
    }

    /// <summary>A member written by hand, with the optional header fields that GZipStream never writes.</summary>
    private static byte[] GzipWithHeaderFields(byte[] data)
    {
        var deflated = new MemoryStream();
        using (var d = new DeflateStream(deflated, CompressionLevel.Optimal)) d.Write(data);
        var ms = new MemoryStream();
        ms.Write([0x1F, 0x8B, 8, 4 | 8 | 16 | 2, 0, 0, 0, 0, 0, 3]); // FEXTRA, FNAME, FCOMMENT, FHCRC
        ms.Write([5, 0, (byte)'a', (byte)'b', 3, 0, (byte)'x']);     // 5 bytes of extra field
        ms.Write("corpus.jsonl\0"u8);
        ms.Write("a comment\0"u8);
        ms.Write([0x12, 0x34]);                                        // header CRC (not checked)
        ms.Write(deflated.ToArray());
        Span<byte> trailer = stackalloc byte[8];
        BitConverter.TryWriteBytes(trailer, Crc32.HashToUInt32(data));
        BitConverter.TryWriteBytes(trailer[4..], (uint)data.Length);
        ms.Write(trailer);
        return ms.ToArray();
    }

    private static byte[] ReadAll(byte[] file, int readSize = 1 << 16)
    {
        using var gz = new CheckedGZipStream(new MemoryStream(file));
        var output = new MemoryStream();
        var buffer = new byte[readSize];
        int n;
        while ((n = gz.Read(buffer, 0, buffer.Length)) > 0) output.Write(buffer, 0, n);
        return output.ToArray();
    }

    private static string Error(byte[] file) => Assert.Throws<InvalidDataException>(() => ReadAll(file)).Message;

    [Fact]
    public void One_member_reads_back_exactly()
    {
        var data = Lines(20_000);
        Assert.Equal(data, ReadAll(Gzip(data)));
        Assert.Equal(data, ReadAll(Gzip(data), readSize: 7));
    }

    [Fact]
    public void Concatenated_members_read_back_as_one_stream()
    {
        byte[] a = Lines(5_000, 1), b = Noise(300_000, 2), c = Lines(10, 3), empty = [];
        byte[] file = [.. Gzip(a), .. Gzip(empty), .. Gzip(b), .. GzipWithHeaderFields(c), .. Gzip(a)];
        Assert.Equal([.. a, .. b, .. c, .. a], ReadAll(file));
    }

    [Fact]
    public void A_member_larger_than_the_buffer_reads_back()
    {
        var data = Noise(1_000_000, 4);
        Assert.Equal(data, ReadAll(Gzip(data)));
        Assert.Equal(data, ReadAll([.. Gzip(data), .. Gzip(data)])[..data.Length]);
    }

    [Fact]
    public void GZipStream_alone_does_not_notice_a_cut_file()
    {
        // Why the checked reader exists: the whole member but its trailer reads as if nothing were wrong.
        var data = Lines(2_000);
        var cut = Gzip(data)[..^8];
        using var gz = new GZipStream(new MemoryStream(cut), CompressionMode.Decompress);
        var output = new MemoryStream();
        gz.CopyTo(output);
        Assert.Equal(data.Length, output.Length);
        Assert.Contains("truncated", Error(cut));
    }

    [Fact]
    public void Every_cut_is_truncated()
    {
        byte[] first = Gzip(Lines(3_000, 1)), second = Gzip(Noise(40_000, 5));
        byte[] file = [.. first, .. second];
        var cuts = new SortedSet<int>();
        for (int i = 1; i <= 40; i++) cuts.Add(file.Length - i);              // inside the trailer and just before it
        for (int i = 1; i <= 12; i++) cuts.Add(first.Length + i);             // inside the second member's header
        for (int i = 0; i < 40; i++) cuts.Add(1 + (int)((long)i * (file.Length - 2) / 40)); // anywhere
        for (int i = 1; i <= 12; i++) cuts.Add(i);                            // inside the first header
        foreach (int length in cuts)
        {
            if (length == first.Length) continue; // a whole first member is a valid gzip file
            string message = Error(file[..length]);
            Assert.True(message.Contains("truncated", StringComparison.Ordinal), $"cut at {length} of {file.Length}: {message}");
        }
    }

    [Fact]
    public void A_wrong_crc_or_length_in_the_trailer_is_refused()
    {
        var file = Gzip(Lines(1_000));
        var crc = (byte[])file.Clone();
        crc[^7] ^= 0x40;
        Assert.Contains("does not match the CRC-32", Error(crc));
        var length = (byte[])file.Clone();
        length[^2] ^= 0x01;
        Assert.Contains("gives a length other than", Error(length));
        // damage in the first of two members is found there, not at the end of the file
        byte[] two = [.. crc, .. Gzip(Lines(10))];
        Assert.Contains("the gzip member at byte 0", Error(two));
    }

    [Fact]
    public void Data_that_is_not_gzip_is_refused()
    {
        Assert.Contains("empty", Error([]));
        Assert.Contains("not a gzip stream", Error(Lines(3)));
        var gz = Gzip(Lines(3));
        Assert.Contains("unexpected data at byte " + gz.Length, Error([.. gz, 0, 0, 0, 0]));
        var method = (byte[])gz.Clone();
        method[2] = 9;
        Assert.Contains("compression method 9", Error(method));
    }

    [Fact]
    public void Damaged_deflate_data_is_refused()
    {
        var file = Gzip(Noise(50_000, 6));
        for (int i = 20; i < 40; i++) file[i] = 0xFF;
        Assert.Contains("damaged", Error(file));
    }
}
