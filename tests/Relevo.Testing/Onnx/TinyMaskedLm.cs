using System.Buffers.Binary;
using System.Text;

namespace Relevo.Testing;

/// <summary>A tiny masked language model written as an ONNX file, for the sparse encoder's tests: <c>input_ids</c>
/// [batch, seq] → Gather(embedding [V×H]) → MatMul(W1 [H×H]) → Add(b1) → Relu → MatMul(W2 [H×V]) → Add(b2) →
/// <c>logits</c> [batch, seq, V]. <c>attention_mask</c> and <c>token_type_ids</c> are declared as int64 inputs but
/// unused. The weights are public (row-major) so that a test can compute the same logits itself. The ModelProto is
/// serialized by hand (field numbers from onnx.proto).</summary>
internal sealed class TinyMaskedLm
{
    /// <summary>The BERT specials, then whole words, then <c>##</c> continuation pieces; "running" is run ##n ##ing,
    /// "engines" engine ##s, "quickly" quick ##ly, "jumped" jump ##ed.</summary>
    public static readonly string[] DefaultVocabulary =
    [
        "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]",
        "the", "a", "of", "and", "in", "to", "is", "for", "on", "with",
        "search", "engine", "query", "sparse", "dense", "model", "run", "jump", "walk", "play",
        "read", "index", "term", "weight", "fast", "slow", "cat", "dog", "fox", "brown",
        "quick", "lazy", "over", "text", "token", "word", "vector", "score", "rank",
        ",", ".", "!", "?", "-",
        "##s", "##es", "##ed", "##er", "##ing", "##ly", "##n",
    ];

    /// <summary>Vocabulary entries in id order (the lines of vocab.txt).</summary>
    public string[] Vocabulary;
    public int Hidden;
    /// <summary>[V×H]: row <c>id</c> is the embedding of token <c>id</c>.</summary>
    public float[] Embedding;
    /// <summary>[H×H], applied as <c>x · W1</c>.</summary>
    public float[] W1;
    /// <summary>[H].</summary>
    public float[] B1;
    /// <summary>[H×V], applied as <c>h · W2</c>.</summary>
    public float[] W2;
    /// <summary>[V].</summary>
    public float[] B2;

    public int VocabularySize => B2.Length;

    private TinyMaskedLm(string[] vocabulary, int hidden, Random random)
    {
        Vocabulary = vocabulary;
        Hidden = hidden;
        int v = vocabulary.Length;
        Embedding = Uniform(random, v * hidden);
        W1 = Uniform(random, hidden * hidden);
        B1 = Uniform(random, hidden);
        W2 = Uniform(random, hidden * v);
        B2 = Uniform(random, v);
    }

    private static float[] Uniform(Random random, int n)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++) a[i] = (float)(random.NextDouble() * 2 - 1);
        return a;
    }

    /// <summary>Draws the weights from <c>new Random(seed)</c> (uniform in [-1, 1]) and writes vocab.txt and
    /// model.onnx into <paramref name="folder"/> (created if needed).</summary>
    public static TinyMaskedLm Write(string folder, int seed = 7, int hidden = 8)
    {
        var model = new TinyMaskedLm(DefaultVocabulary, hidden, new Random(seed));
        model.Save(folder);
        return model;
    }

    /// <summary>Writes vocab.txt (from <see cref="Vocabulary"/>) and model.onnx (from the weights as they are now).</summary>
    public void Save(string folder)
    {
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "vocab.txt"), string.Join('\n', Vocabulary) + "\n");
        File.WriteAllBytes(Path.Combine(folder, "model.onnx"), ToOnnx());
    }

    /// <summary>The serialized ONNX ModelProto.</summary>
    public byte[] ToOnnx()
    {
        int v = VocabularySize, h = Hidden;
        if (Embedding.Length != v * h || W1.Length != h * h || B1.Length != h || W2.Length != h * v)
            throw new InvalidOperationException("weight shapes do not agree with Hidden and B2's length");
        const int ElementFloat = 1, ElementInt64 = 7; // TensorProto.DataType

        var graph = new Proto()
            .Message(1, Node("gather", "Gather", ["E", "input_ids"], "embedded"))
            .Message(1, Node("matmul1", "MatMul", ["embedded", "W1"], "projected"))
            .Message(1, Node("add1", "Add", ["projected", "b1"], "biased"))
            .Message(1, Node("relu", "Relu", ["biased"], "hidden"))
            .Message(1, Node("matmul2", "MatMul", ["hidden", "W2"], "scores"))
            .Message(1, Node("add2", "Add", ["scores", "b2"], "logits"))
            .String(2, "tiny-masked-lm")
            .Message(5, Tensor("E", Embedding, v, h))
            .Message(5, Tensor("W1", W1, h, h))
            .Message(5, Tensor("b1", B1, h))
            .Message(5, Tensor("W2", W2, h, v))
            .Message(5, Tensor("b2", B2, v))
            .Message(11, ValueInfo("input_ids", ElementInt64, "batch", "sequence"))
            .Message(11, ValueInfo("attention_mask", ElementInt64, "batch", "sequence"))
            .Message(11, ValueInfo("token_type_ids", ElementInt64, "batch", "sequence"))
            .Message(12, ValueInfo("logits", ElementFloat, "batch", "sequence", v));

        return new Proto()
            .Int(1, 8) // ir_version
            .String(2, "relevo-tests") // producer_name
            .Message(7, graph)
            .Message(8, new Proto().String(1, "").Int(2, 13)) // opset_import: the default domain, opset 13
            .ToArray();
    }

    // NodeProto: input=1, output=2, name=3, op_type=4.
    private static Proto Node(string name, string op, string[] inputs, string output)
    {
        var node = new Proto();
        foreach (string input in inputs) node.String(1, input);
        return node.String(2, output).String(3, name).String(4, op);
    }

    // TensorProto: dims=1, data_type=2, name=8, raw_data=9 (little-endian).
    private static Proto Tensor(string name, float[] data, params int[] dims)
    {
        var tensor = new Proto();
        foreach (int d in dims) tensor.Int(1, d);
        var raw = new byte[data.Length * 4];
        for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(raw.AsSpan(i * 4), data[i]);
        return tensor.Int(2, 1).String(8, name).Bytes(9, raw);
    }

    // ValueInfoProto: name=1, type=2; TypeProto: tensor_type=1; TypeProto.Tensor: elem_type=1, shape=2;
    // TensorShapeProto: dim=1; Dimension: dim_value=1, dim_param=2.
    private static Proto ValueInfo(string name, int elementType, params object[] dims)
    {
        var shape = new Proto();
        foreach (object d in dims)
            shape.Message(1, d is int value ? new Proto().Int(1, value) : new Proto().String(2, (string)d));
        var tensorType = new Proto().Int(1, elementType).Message(2, shape);
        return new Proto().String(1, name).Message(2, new Proto().Message(1, tensorType));
    }

    /// <summary>A minimal protobuf writer: varint and length-delimited fields.</summary>
    private sealed class Proto
    {
        private readonly MemoryStream _bytes = new();

        public byte[] ToArray() => _bytes.ToArray();

        private void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                _bytes.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _bytes.WriteByte((byte)value);
        }

        public Proto Int(int field, long value)
        {
            Varint((ulong)field << 3);
            Varint((ulong)value);
            return this;
        }

        public Proto Bytes(int field, ReadOnlySpan<byte> data)
        {
            Varint((ulong)field << 3 | 2);
            Varint((ulong)data.Length);
            _bytes.Write(data);
            return this;
        }

        public Proto String(int field, string text) => Bytes(field, Encoding.UTF8.GetBytes(text));

        public Proto Message(int field, Proto message) => Bytes(field, message.ToArray());
    }
}
