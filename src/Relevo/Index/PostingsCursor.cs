namespace Relevo.Index;

/// <summary>Reads one term's postings a block at a time: up to <see cref="BlockSize"/> document numbers (ascending)
/// and term frequencies are decoded into <see cref="Docs"/> and <see cref="Freqs"/>. Per block, the last document
/// (without decoding, for skipping) and the (tf, norm) impacts that bound every score in it (for block-max pruning).
/// A cursor can be re-pointed at another term of its segment, so a query reuses its cursors.</summary>
internal abstract class PostingsCursor
{
    /// <summary>The most postings one block holds.</summary>
    public const int BlockSize = 128;

    /// <summary>Decoded doc ids and term frequencies of the current block.</summary>
    public readonly int[] Docs = new int[BlockSize];
    public readonly int[] Freqs = new int[BlockSize];

    public int DocFreq { get; protected set; }
    public int BlockCount { get; protected set; }
    /// <summary>Postings in the decoded block.</summary>
    public int BlockLength { get; protected set; }

    /// <summary>Last doc id of a block (no decoding).</summary>
    public abstract int BlockLastDoc(int block);

    /// <summary>Decodes only the doc ids of a block; <see cref="ReadFreqs"/> decodes its frequencies when needed.</summary>
    public abstract void ReadDocs(int block);

    /// <summary>Decodes the term frequencies of the block whose doc ids were decoded last (once).</summary>
    public abstract void ReadFreqs();

    /// <summary>Decodes block <paramref name="block"/> into <see cref="Docs"/> and <see cref="Freqs"/>.</summary>
    public void ReadBlock(int block)
    {
        ReadDocs(block);
        ReadFreqs();
    }

    /// <summary>The frequency (an impact, on an impact view) of <paramref name="doc"/> in this list, or 0: for
    /// explanations, not for search (it decodes the block that would hold the document).</summary>
    public int FrequencyOf(int doc)
    {
        for (int b = 0; b < BlockCount; b++)
        {
            if (BlockLastDoc(b) < doc) continue;
            ReadBlock(b);
            for (int i = 0; i < BlockLength; i++)
                if (Docs[i] == doc) return Freqs[i];
            return 0;
        }
        return 0;
    }

    /// <summary>Where a quantized impact index keeps this term's impacts, one byte per posting in posting order (so
    /// one posting's impact is read without decoding its block), or null when the cursor serves frequencies.</summary>
    public virtual unsafe byte* ImpactBytes => null;

    /// <summary>With <see cref="ImpactBytes"/>: each block's largest impact, one byte per block.</summary>
    public virtual unsafe byte* BlockMaxImpactBytes => null;

    /// <summary>The (tf, norm) pairs that bound every score in a block, into the arrays (each at least
    /// <see cref="BlockSize"/> long); returns how many.</summary>
    public abstract int BlockImpacts(int block, int[] tfs, byte[] norms);
}
