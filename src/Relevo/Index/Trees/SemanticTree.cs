using System.Buffers.Binary;
using System.Text;
using Relevo.Index.Formats;

namespace Relevo.Index.Trees;

/// <summary>How the tree was grown: top-down (divisive: recursive k-means) or bottom-up (agglomerative: documents
/// merged into groups, groups into groups, up to the root).</summary>
internal enum TreeStrategy { TopDown, BottomUp }

/// <summary>A semantic tree over an index's documents (LATTICE): every document is a leaf exactly once, every internal
/// node has at most a branching factor of children (an extended tree may exceed it), a unit centroid of its documents'
/// vectors and a summary an LLM navigator reads. Node 0 is the root; a child reference <c>c ≥ 0</c> is internal node
/// <c>c</c>, <c>c &lt; 0</c> is document <c>~c</c> (an index into <see cref="DocIds"/>). Immutable once built.</summary>
internal sealed class SemanticTree
{
    public const string ComponentName = "tree";
    private const string FileKind = "TREE";
    private const int FormatVersion = 1;

    public required string Model { get; init; }
    public required TreeStrategy Strategy { get; init; }
    public required int Branching { get; init; }
    public required int Seed { get; init; }
    /// <summary>The commit generation whose documents the tree was built from (extensions keep it).</summary>
    public required long Generation { get; init; }
    /// <summary>Whether an LLM wrote the summaries (else they are extractive).</summary>
    public required bool LlmSummaries { get; init; }
    public required string[] DocIds { get; init; }
    public required int Dimension { get; init; }
    /// <summary>Node n's children are <c>Children[ChildStart[n]..ChildStart[n+1]]</c>.</summary>
    public required int[] ChildStart { get; init; }
    public required int[] Children { get; init; }
    /// <summary>Node n's unit centroid: <c>Centroids[n·Dimension..]</c>.</summary>
    public required float[] Centroids { get; init; }
    public required string[] Summaries { get; init; }

    public int NodeCount => Summaries.Length;

    public ReadOnlySpan<int> ChildrenOf(int node) => Children.AsSpan(ChildStart[node], ChildStart[node + 1] - ChildStart[node]);

    public ReadOnlySpan<float> Centroid(int node) => Centroids.AsSpan(node * Dimension, Dimension);

    public static bool IsDocument(int reference) => reference < 0;

    /// <summary>Levels from the root to the deepest document (a root with only documents: 1).</summary>
    public int Height()
    {
        int height = 0;
        var depth = new int[NodeCount];
        for (int n = 0; n < NodeCount; n++) // parents come before their children (breadth-first numbering)
            foreach (int c in ChildrenOf(n))
            {
                if (c >= 0) depth[c] = depth[n] + 1;
                else height = Math.Max(height, depth[n] + 1);
            }
        return height;
    }

    /// <summary>Checks the structure: every document a leaf exactly once, children after their parent, every node
    /// reached; <paramref name="path"/> names the file in the error.</summary>
    public void Validate(string path)
    {
        int n = NodeCount;
        if (ChildStart.Length != n + 1 || Centroids.Length != (long)n * Dimension || n == 0)
            throw new CorruptIndexException(path, "the tree's node tables do not match its node count");
        var seenDoc = new bool[DocIds.Length];
        var seenNode = new bool[n];
        seenNode[0] = true;
        for (int node = 0; node < n; node++)
        {
            if (ChildStart[node + 1] < ChildStart[node]) throw new CorruptIndexException(path, $"tree node {node} has a negative child count");
            foreach (int c in ChildrenOf(node))
            {
                if (c >= 0)
                {
                    if (c <= node || c >= n || seenNode[c]) throw new CorruptIndexException(path, $"tree node {node} names node {c} out of order or twice");
                    seenNode[c] = true;
                }
                else
                {
                    int d = ~c;
                    if (d >= DocIds.Length || seenDoc[d]) throw new CorruptIndexException(path, $"tree node {node} names document {d} out of range or twice");
                    seenDoc[d] = true;
                }
            }
        }
        if (Array.IndexOf(seenNode, false) is var missingNode and >= 0) throw new CorruptIndexException(path, $"tree node {missingNode} has no parent");
        if (Array.IndexOf(seenDoc, false) is var missingDoc and >= 0) throw new CorruptIndexException(path, $"document {DocIds[missingDoc]} is in no tree node");
    }

    // --- The file: header, then the fields below in order, then the checksummed footer (docs/index-format.md) ---

    public void Write(string path)
    {
        using var o = new IndexOutput(path, FileKind, FormatVersion);
        WriteString(o, Model);
        o.WriteInt32((int)Strategy);
        o.WriteInt32(Branching);
        o.WriteInt32(Seed);
        o.WriteInt64(Generation);
        o.WriteByte(LlmSummaries ? (byte)1 : (byte)0);
        o.WriteInt32(Dimension);
        o.WriteInt32(DocIds.Length);
        foreach (var id in DocIds) WriteString(o, id);
        o.WriteInt32(NodeCount);
        o.WriteInt32(Children.Length);
        foreach (int s in ChildStart) o.WriteInt32(s);
        foreach (int c in Children) o.WriteInt32(c);
        o.WriteBytes(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Centroids.AsSpan()));
        foreach (var s in Summaries) WriteString(o, s);
        o.Finish();
    }

    public static SemanticTree Read(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        FileFormat.Verify(path, file, FileKind, FormatVersion);
        var r = new SpanReader(path, file.AsSpan(FileFormat.HeaderLength, file.Length - FileFormat.HeaderLength - FileFormat.FooterLength));
        string model = r.String();
        var strategy = (TreeStrategy)r.Int32();
        int branching = r.Int32(), seed = r.Int32();
        long generation = r.Int64();
        bool llm = r.Byte() != 0;
        int dimension = r.Count(1 << 16);
        var ids = new string[r.Count(int.MaxValue / 2)];
        for (int i = 0; i < ids.Length; i++) ids[i] = r.String();
        int nodes = r.Count(int.MaxValue / 2), edges = r.Count(int.MaxValue / 2);
        var start = new int[nodes + 1];
        for (int i = 0; i < start.Length; i++) start[i] = r.Int32();
        var children = new int[edges];
        for (int i = 0; i < edges; i++) children[i] = r.Int32();
        var centroids = new float[(long)nodes * dimension];
        for (long i = 0; i < centroids.Length; i++) centroids[i] = r.Single();
        var summaries = new string[nodes];
        for (int i = 0; i < nodes; i++) summaries[i] = r.String();
        if (start[nodes] != edges || start[0] != 0) throw new CorruptIndexException(path, "the tree's child table is inconsistent");
        var tree = new SemanticTree
        {
            Model = model, Strategy = strategy, Branching = branching, Seed = seed, Generation = generation, LlmSummaries = llm,
            DocIds = ids, Dimension = dimension, ChildStart = start, Children = children, Centroids = centroids, Summaries = summaries,
        };
        tree.Validate(path);
        return tree;
    }

    private static void WriteString(IndexOutput o, string s)
    {
        var bytes = Encoding.UTF8.GetBytes(s);
        o.WriteVarInt((ulong)bytes.Length);
        o.WriteBytes(bytes);
    }

    private ref struct SpanReader(string path, ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _data = data;

        private ReadOnlySpan<byte> Take(int n)
        {
            if (n < 0 || n > _data.Length) throw new CorruptIndexException(path, "the tree file ends early");
            var s = _data[..n];
            _data = _data[n..];
            return s;
        }

        public byte Byte() => Take(1)[0];
        public int Int32() => BinaryPrimitives.ReadInt32LittleEndian(Take(4));
        public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));
        public float Single() => BinaryPrimitives.ReadSingleLittleEndian(Take(4));

        public int Count(int max)
        {
            int n = Int32();
            if (n < 0 || n > max) throw new CorruptIndexException(path, $"the tree file has an impossible count {n}");
            return n;
        }

        public string String()
        {
            ulong len = 0;
            for (int shift = 0; ; shift += 7)
            {
                if (shift > 28) throw new CorruptIndexException(path, "the tree file has a bad string length");
                byte b = Byte();
                len |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80) break;
            }
            return Encoding.UTF8.GetString(Take(checked((int)len)));
        }
    }
}
