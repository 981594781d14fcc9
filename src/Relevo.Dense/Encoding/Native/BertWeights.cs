using System.Runtime.InteropServices;
using Onnx;

namespace Relevo.Dense;

/// <summary>One transformer layer's parameters. Matrices are stored output-major (<c>[out][in]</c>), so each output
/// is one dot product of the input row with a contiguous weight row.</summary>
internal sealed record BertLayer(
    float[] Query, float[] QueryBias, float[] Key, float[] KeyBias, float[] Value, float[] ValueBias,
    float[] AttentionOut, float[] AttentionOutBias, float[] AttentionNormWeight, float[] AttentionNormBias,
    float[] Intermediate, float[] IntermediateBias, float[] Output, float[] OutputBias, float[] OutputNormWeight, float[] OutputNormBias);

/// <summary>A BERT encoder's weights and shape, read from its ONNX file (the graph's initializers): what a forward pass
/// in C# needs, and what relevance propagation reads layer by layer.</summary>
/// <remarks>Exports of Hugging Face models name the biases and LayerNorm parameters but not the matrices of MatMul
/// nodes ("onnx::MatMul_927"); a matrix is named here by the bias its MatMul's output is added to. The attention
/// head width comes from the constant the scores are divided by (√d), the LayerNorm epsilon from the constant added to
/// the variance.</remarks>
internal sealed class BertWeights
{
    public required int Hidden { get; init; }
    public required int Heads { get; init; }
    public required int IntermediateSize { get; init; }
    public required float Epsilon { get; init; }
    public required float[] Word { get; init; }
    public required float[] Position { get; init; }
    public required float[] TokenType { get; init; }
    public required float[] EmbeddingNormWeight { get; init; }
    public required float[] EmbeddingNormBias { get; init; }
    public required BertLayer[] Layers { get; init; }
    public int MaxPositions => Position.Length / Hidden;
    public int Vocabulary => Word.Length / Hidden;

    /// <summary>An ONNX file's model (a refusal naming the file when it is not one).</summary>
    internal static ModelProto Parse(string onnxPath)
    {
        try
        {
            using var file = File.OpenRead(onnxPath);
            return ModelProto.Parser.ParseFrom(file);
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new RelevoException($"{onnxPath}: not an ONNX model ({e.Message})");
        }
    }

    public static BertWeights Read(string onnxPath)
    {
        var graph = Parse(onnxPath).Graph;
        var tensors = Initializers(graph);
        var constants = Constants(graph);
        var consumers = Consumers(graph);

        var named = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var (module, matrix) in MatrixNames(graph, tensors, consumers)) named[module + ".weight"] = tensors[matrix];
        float? scale = AttentionScale(graph, tensors, constants, consumers);
        foreach (var (name, t) in named) tensors.TryAdd(name, t);

        float[] Vector(string name) => tensors.TryGetValue(name, out var t) ? Floats(t, onnxPath)
            : throw new RelevoException($"{onnxPath}: no '{name}' (not a BERT encoder exported from Hugging Face?)");
        // [in][out] as exported → [out][in]
        float[] Matrix(string name, int rows, int columns)
        {
            var m = Vector(name);
            if (m.Length != rows * columns) throw new RelevoException($"{onnxPath}: '{name}' has {m.Length} values, not {rows}×{columns}");
            var t = new float[m.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++) t[c * rows + r] = m[r * columns + c];
            return t;
        }

        var word = Vector("embeddings.word_embeddings.weight");
        int hidden = Vector("embeddings.LayerNorm.weight").Length;
        int intermediate = Vector("encoder.layer.0.intermediate.dense.bias").Length;
        if (scale is not { } sqrtHead || sqrtHead <= 0)
            throw new RelevoException($"{onnxPath}: found no attention scaling (a Div after the score MatMul)");
        int headWidth = (int)MathF.Round(sqrtHead * sqrtHead);
        if (headWidth <= 0 || hidden % headWidth != 0) throw new RelevoException($"{onnxPath}: attention head width {headWidth} does not divide {hidden}");
        var layers = new List<BertLayer>();
        for (int l = 0; tensors.ContainsKey($"encoder.layer.{l}.attention.self.query.bias"); l++)
        {
            string p = $"encoder.layer.{l}.";
            layers.Add(new BertLayer(
                Matrix(p + "attention.self.query.weight", hidden, hidden), Vector(p + "attention.self.query.bias"),
                Matrix(p + "attention.self.key.weight", hidden, hidden), Vector(p + "attention.self.key.bias"),
                Matrix(p + "attention.self.value.weight", hidden, hidden), Vector(p + "attention.self.value.bias"),
                Matrix(p + "attention.output.dense.weight", hidden, hidden), Vector(p + "attention.output.dense.bias"),
                Vector(p + "attention.output.LayerNorm.weight"), Vector(p + "attention.output.LayerNorm.bias"),
                Matrix(p + "intermediate.dense.weight", hidden, intermediate), Vector(p + "intermediate.dense.bias"),
                Matrix(p + "output.dense.weight", intermediate, hidden), Vector(p + "output.dense.bias"),
                Vector(p + "output.LayerNorm.weight"), Vector(p + "output.LayerNorm.bias")));
        }
        if (layers.Count == 0) throw new RelevoException($"{onnxPath}: no encoder layers");
        return new BertWeights
        {
            Hidden = hidden, Heads = hidden / headWidth, IntermediateSize = intermediate, Epsilon = FindEpsilon(graph, tensors, constants, consumers) ?? 1e-12f,
            Word = word, Position = Vector("embeddings.position_embeddings.weight"),
            TokenType = tensors.ContainsKey("embeddings.token_type_embeddings.weight") ? Vector("embeddings.token_type_embeddings.weight") : new float[hidden],
            EmbeddingNormWeight = Vector("embeddings.LayerNorm.weight"), EmbeddingNormBias = Vector("embeddings.LayerNorm.bias"),
            Layers = [.. layers],
        };
    }

    /// <summary>The initializer each weight matrix of a MatMul is stored under, by module ("encoder.layer.0.attention.self.query"):
    /// a matrix is named by the bias added to its MatMul's output (exports leave matrices unnamed).</summary>
    internal static Dictionary<string, string> MatrixNames(GraphProto graph, Dictionary<string, TensorProto> tensors,
        Dictionary<string, List<NodeProto>> consumers)
    {
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
        {
            if (n.OpType != "MatMul") continue;
            string? matrix = null;
            foreach (var input in n.Input) if (tensors.ContainsKey(input)) matrix = input;
            if (matrix is null || consumers.GetValueOrDefault(n.Output[0]) is not [{ OpType: "Add" } add]) continue;
            foreach (var input in add.Input)
                if (input.EndsWith(".bias", StringComparison.Ordinal) && tensors.ContainsKey(input)) names[input[..^".bias".Length]] = matrix;
        }
        return names;
    }

    /// <summary>A graph's initializers (its stored tensors), by name.</summary>
    internal static Dictionary<string, TensorProto> Initializers(GraphProto graph)
    {
        var tensors = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var t in graph.Initializer) tensors[t.Name] = t;
        return tensors;
    }

    /// <summary>The tensors of a graph's Constant nodes, by output name.</summary>
    internal static Dictionary<string, TensorProto> Constants(GraphProto graph)
    {
        var constants = new Dictionary<string, TensorProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            if (n.OpType == "Constant" && n.Attribute.Count > 0 && n.Attribute[0].T is { } value) constants[n.Output[0]] = value;
        return constants;
    }

    /// <summary>Consumers of each value of a graph, by name.</summary>
    internal static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            foreach (var input in n.Input)
            {
                if (!consumers.TryGetValue(input, out var list)) consumers[input] = list = [];
                list.Add(n);
            }
        return consumers;
    }

    /// <summary>The attention scaling √d: what the Div after a score MatMul (both inputs computed) divides by.</summary>
    private static float? AttentionScale(GraphProto graph, Dictionary<string, TensorProto> tensors, Dictionary<string, TensorProto> constants,
        Dictionary<string, List<NodeProto>> consumers)
    {
        foreach (var n in graph.Node)
        {
            if (n.OpType != "MatMul" || n.Input.Any(tensors.ContainsKey)) continue;
            if (consumers.GetValueOrDefault(n.Output[0]) is [{ OpType: "Div" } div] && Scalar(div.Input[1], tensors, constants) is float s) return s;
        }
        return null;
    }

    /// <summary>LayerNorm's epsilon: the constant added to the mean of squares (ReduceMean(Pow(x − mean, 2)) + ε).</summary>
    private static float? FindEpsilon(GraphProto graph, Dictionary<string, TensorProto> tensors, Dictionary<string, TensorProto> constants,
        Dictionary<string, List<NodeProto>> consumers)
    {
        foreach (var n in graph.Node)
        {
            if (n.OpType != "Pow" || consumers.GetValueOrDefault(n.Output[0]) is not [{ OpType: "ReduceMean" } mean]) continue;
            if (consumers.GetValueOrDefault(mean.Output[0]) is not [{ OpType: "Add" } add]) continue;
            foreach (var input in add.Input)
                if (Scalar(input, tensors, constants) is float eps) return eps;
        }
        return null;
    }

    /// <summary>A float scalar held by an initializer or a Constant node, if <paramref name="name"/> is one.</summary>
    internal static float? Scalar(string name, Dictionary<string, TensorProto> tensors, Dictionary<string, TensorProto> constants)
    {
        var t = constants.GetValueOrDefault(name) ?? tensors.GetValueOrDefault(name);
        if (t is null || t.DataType != (int)TensorProto.Types.DataType.Float) return null;
        var values = Floats(t, name);
        return values.Length == 1 ? values[0] : null;
    }

    /// <summary>A float32 initializer's values (inline or raw data).</summary>
    internal static float[] Floats(TensorProto t, string source)
    {
        if (t.DataType != (int)TensorProto.Types.DataType.Float)
            throw new RelevoException($"{source}: '{t.Name}' is not float32 (data type {t.DataType})");
        if (t.FloatData.Count > 0) return [.. t.FloatData];
        if (t.DataLocation == TensorProto.Types.DataLocation.External)
            throw new RelevoException($"{source}: '{t.Name}' is stored in an external file, which is not read");
        return MemoryMarshal.Cast<byte, float>(t.RawData.Span).ToArray();
    }
}
