using Relevo.Collections;

namespace Relevo.Index.Impacts;

/// <summary>Indexes a pre-encoded learned sparse corpus (<see cref="JsonVectorReader"/>): the file is read twice, first
/// to check every line and find the largest weight, then to add each document with its terms' quantized weights as
/// their frequencies (no analysis; the contents are stored as the text). Integer weights that fit in the bits are kept
/// as they are (as Anserini indexes them); otherwise every weight w becomes round(w / max × (2^bits − 1)), at least 1.</summary>
internal static class VectorCorpus
{
    /// <summary>What the first pass found: documents, the largest weight, and whether every weight is an integer.</summary>
    public sealed record Scan(long Documents, double Maximum, bool Integers);

    public static Scan Measure(string path, Action<double, long>? progress = null)
    {
        var position = new JsonlReader.Position();
        long docs = 0;
        double max = 0;
        bool integers = true;
        foreach (var r in JsonVectorReader.Read(path, position))
        {
            foreach (var (_, w) in r.Vector)
            {
                if (w > max) max = w;
                if (w != MathF.Floor(w)) integers = false;
            }
            if ((++docs & 1023) == 0) progress?.Invoke(position.TotalBytes == 0 ? 0 : (double)position.BytesRead / position.TotalBytes, docs);
        }
        if (docs == 0) throw new RelevoException($"{path}: holds no documents");
        progress?.Invoke(1, docs);
        return new Scan(docs, max, integers);
    }

    /// <summary>The stored weight (impact) of a corpus weight under <paramref name="scan"/> and <paramref name="bits"/>.</summary>
    public static int Impact(float weight, Scan scan, int bits)
    {
        int levels = (1 << bits) - 1;
        if (scan.Integers && scan.Maximum <= levels) return (int)weight;
        return ImpactSettings.Quantize(weight, scan.Maximum, levels);
    }

    /// <summary>The corpus's documents with their terms' stored weights, in file order; each one's line is queued in
    /// <paramref name="lines"/> as it is read (with how far into the file it was), for error messages and progress.</summary>
    public static IEnumerable<Document> Documents(string path, Scan scan, int bits, Queue<(int Line, double Fraction)> lines)
    {
        var position = new JsonlReader.Position();
        foreach (var r in JsonVectorReader.Read(path, position))
        {
            var terms = new (string, int)[r.Vector.Length];
            for (int i = 0; i < terms.Length; i++) terms[i] = (r.Vector[i].Term, Impact(r.Vector[i].Weight, scan, bits));
            lines.Enqueue((r.Line, position.TotalBytes == 0 ? 0 : (double)position.BytesRead / position.TotalBytes));
            yield return new Document(r.Id, "", r.Contents) { TermWeights = terms };
        }
    }
}
