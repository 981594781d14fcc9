using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Relevo.Dense;

/// <summary>Rewrites chosen MatMuls of an ONNX graph to int8: each chosen weight matrix is quantized once, per output
/// column and symmetrically (scale = max |w| / 127 over the column, no zero point), and its product becomes ONNX
/// Runtime's fused dynamic-quantization operator <c>com.microsoft:DynamicQuantizeMatMul</c>: the activations are
/// quantized to uint8 per call (one scale and zero point per tensor), multiplied with the int8 codes by MLAS's u8×s8
/// kernels (VNNI where the CPU has it, AVX2 otherwise) and scaled back to float per column, in one node, which also
/// adds the product's bias when an <c>Add</c> of a bias vector is all that reads it. (The
/// standard-ONNX spelling of the same, DynamicQuantizeLinear + MatMulInteger + Cast + two Muls, was measured slower:
/// ONNX Runtime did not fuse it, and every product paid three extra passes over its output.) Everything else is left
/// as it was.</summary>
internal static class Int8Rewriter
{
    /// <summary>ONNX Runtime's contrib-operator domain.</summary>
    private const string MicrosoftDomain = "com.microsoft";

    /// <summary>Rewrites the MatMuls whose weight initializer is in <paramref name="matrices"/>; returns how many. A
    /// product with factors in <paramref name="smoothing"/> (per input channel, <see cref="MixedPrecision.SmoothingFactors"/>)
    /// reads its activation divided by them (one <c>Mul</c> per activation tensor and factor set, shared by the products
    /// that read both) and has its weight rows multiplied by them before they are quantized.</summary>
    /// <param name="fourBit">Products (among <paramref name="matrices"/>) whose weights go to 4 bits instead:
    /// <c>com.microsoft:MatMulNBits</c>, blocks of 32 along the input dimension, one scale per block, symmetric, with
    /// accuracy level 4 (activations quantized to int8 per block, so the outliers smoothing deals with stay within
    /// their block; these products are not smoothed).</param>
    public static int Rewrite(ModelProto model, IReadOnlySet<string> matrices, IReadOnlyDictionary<string, float[]>? smoothing = null,
        IReadOnlySet<string>? fourBit = null)
    {
        var graph = model.Graph;
        var tensors = BertWeights.Initializers(graph);
        var readers = BertWeights.Consumers(graph);
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var absorbed = new HashSet<NodeProto>(ReferenceEqualityComparer.Instance);
        var nodes = new List<NodeProto>(graph.Node.Count);
        var smoothed = new Dictionary<(string Input, float[] Factors), string>();
        int rewritten = 0;
        foreach (var n in graph.Node)
        {
            if (absorbed.Contains(n)) continue;
            if (n.OpType != "MatMul" || n.Input.Count != 2 || !matrices.Contains(n.Input[1]) || !tensors.TryGetValue(n.Input[1], out var weight))
            {
                nodes.Add(n);
                continue;
            }
            if (fourBit is not null && fourBit.Contains(n.Input[1]))
            {
                nodes.Add(FourBit(graph, n, weight));
                rewritten++;
                continue;
            }
            string activation = n.Input[0];
            float[]? factors = null;
            if (smoothing is not null && smoothing.TryGetValue(n.Input[1], out factors))
            {
                if (factors.Length != weight.Dims[0]) throw new RelevoException($"{factors.Length} smoothing factors for the {weight.Dims[0]} rows of '{weight.Name}'");
                if (!smoothed.TryGetValue((activation, factors), out string? divided))
                {
                    divided = $"{activation}_smoothed{smoothed.Count}";
                    var inverse = new float[factors.Length];
                    for (int j = 0; j < inverse.Length; j++) inverse[j] = 1f / factors[j];
                    var tensor = Tensor(divided + "_inverse", TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(inverse.AsSpan()), inverse.Length);
                    graph.Initializer.Add(tensor);
                    nodes.Add(Node("Mul", [activation, tensor.Name], [divided], divided + "_Mul"));
                    smoothed[(activation, factors)] = divided;
                }
                activation = divided;
            }
            var (codes, scales) = QuantizeColumns(weight, factors);
            graph.Initializer.Remove(weight);
            graph.Initializer.Add(codes);
            graph.Initializer.Add(scales);
            string product = n.Output[0];
            var inputs = new List<string> { activation, codes.Name, scales.Name };
            string output = product;
            if (BiasAdd(product, readers, outputs, tensors, weight.Dims[1]) is var (add, bias))
            {
                inputs.AddRange(["", bias]); // no zero point (symmetric codes), then the bias
                output = add.Output[0];
                absorbed.Add(add);
            }
            var fused = Node("DynamicQuantizeMatMul", [.. inputs], [output], product + "_int8");
            fused.Domain = MicrosoftDomain;
            nodes.Add(fused);
            rewritten++;
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        if (rewritten > 0 && !model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return rewritten;
    }

    /// <summary>The 4-bit block size along the input dimension.</summary>
    internal const int FourBitBlock = 32;

    /// <summary><paramref name="n"/> as a <c>MatMulNBits</c> over <paramref name="weight"/> quantized to 4 bits.</summary>
    private static NodeProto FourBit(GraphProto graph, NodeProto n, TensorProto weight)
    {
        var (packed, scales) = QuantizeBlocks(weight);
        graph.Initializer.Remove(weight);
        graph.Initializer.Add(packed);
        graph.Initializer.Add(scales);
        var node = Node("MatMulNBits", [n.Input[0], packed.Name, scales.Name], [n.Output[0]], n.Output[0] + "_int4");
        node.Domain = MicrosoftDomain;
        foreach (var (name, value) in new (string, long)[] { ("K", weight.Dims[0]), ("N", weight.Dims[1]), ("bits", 4), ("block_size", FourBitBlock), ("accuracy_level", 4) })
            node.Attribute.Add(new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value });
        return node;
    }

    /// <summary>A <c>[K, N]</c> float matrix as MatMulNBits' 4-bit layout: per output column, blocks of 32 inputs, each
    /// with scale max |w| / 7 and codes round(w / scale) + 8 (the default zero point) packed two to a byte, the
    /// even element in the low nibble; the <c>[N, blocks, 16]</c> bytes and the <c>[N × blocks]</c> scales.</summary>
    internal static (TensorProto Packed, TensorProto Scales) QuantizeBlocks(TensorProto weight)
    {
        if (weight.Dims.Count != 2) throw new RelevoException($"'{weight.Name}' is not a matrix");
        int k = (int)weight.Dims[0], columns = (int)weight.Dims[1];
        float[] w = BertWeights.Floats(weight, "the model");
        int blocks = (k + FourBitBlock - 1) / FourBitBlock, blob = FourBitBlock / 2;
        var packed = new byte[columns * blocks * blob];
        var scales = new float[columns * blocks];
        Span<int> codes = stackalloc int[FourBitBlock];
        for (int c = 0; c < columns; c++)
            for (int b = 0; b < blocks; b++)
            {
                float max = 0;
                for (int i = 0; i < FourBitBlock && b * FourBitBlock + i < k; i++) max = Math.Max(max, Math.Abs(w[(b * FourBitBlock + i) * columns + c]));
                float scale = max > 0 ? max / 7f : 1f;
                scales[c * blocks + b] = scale;
                for (int i = 0; i < FourBitBlock; i++)
                {
                    int row = b * FourBitBlock + i;
                    codes[i] = row < k ? Math.Clamp((int)MathF.Round(w[row * columns + c] / scale) + 8, 0, 15) : 8;
                }
                int at = (c * blocks + b) * blob;
                for (int i = 0; i < blob; i++) packed[at + i] = (byte)(codes[2 * i] | (codes[2 * i + 1] << 4));
            }
        return (Tensor(weight.Name + "_int4", TensorProto.Types.DataType.Uint8, packed, columns, blocks, blob),
                Tensor(weight.Name + "_int4_scale", TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(scales.AsSpan()), scales.Length));
    }

    /// <summary>The <c>Add</c> that alone reads <paramref name="product"/> and adds a float vector initializer of the
    /// product's width (its bias), if there is one.</summary>
    private static (NodeProto Add, string Bias)? BiasAdd(string product, Dictionary<string, List<NodeProto>> readers, HashSet<string> graphOutputs,
        Dictionary<string, TensorProto> tensors, long columns)
    {
        if (graphOutputs.Contains(product) || !readers.TryGetValue(product, out var list) || list.Count != 1) return null;
        var add = list[0];
        if (add.OpType != "Add" || add.Input.Count != 2 || add.Domain.Length > 0) return null;
        string other = add.Input[0] == product ? add.Input[1] : add.Input[0];
        if (other == product || !tensors.TryGetValue(other, out var bias)) return null;
        bool vector = bias.DataType == (int)TensorProto.Types.DataType.Float && bias.Dims.Count == 1 && bias.Dims[0] == columns;
        return vector ? (add, other) : null;
    }

    /// <summary>An initializer holding <paramref name="bytes"/> as raw data of the given type and shape.</summary>
    private static TensorProto Tensor(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs, string name)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    /// <summary>A <c>[in, out]</c> float matrix (its rows first multiplied by <paramref name="rowFactors"/> when given)
    /// as int8 codes and one float scale per output column.</summary>
    internal static (TensorProto Codes, TensorProto Scales) QuantizeColumns(TensorProto weight, float[]? rowFactors = null)
    {
        if (weight.Dims.Count != 2 || weight.DataType != (int)TensorProto.Types.DataType.Float)
            throw new RelevoException($"'{weight.Name}' is not a float matrix");
        int rows = (int)weight.Dims[0], columns = (int)weight.Dims[1];
        float[] w = BertWeights.Floats(weight, "the model");
        if (rowFactors is not null)
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++) w[r * columns + c] *= rowFactors[r];
        var scale = new float[columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) scale[c] = Math.Max(scale[c], Math.Abs(w[r * columns + c]));
        for (int c = 0; c < columns; c++) scale[c] = scale[c] > 0 ? scale[c] / 127f : 1f;
        var codes = new sbyte[w.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                codes[r * columns + c] = (sbyte)Math.Clamp(MathF.Round(w[r * columns + c] / scale[c]), -127, 127);
        var codeTensor = Tensor(weight.Name + "_int8", TensorProto.Types.DataType.Int8, MemoryMarshal.AsBytes(codes.AsSpan()), rows, columns);
        var scaleTensor = Tensor(weight.Name + "_scale", TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(scale.AsSpan()), columns);
        return (codeTensor, scaleTensor);
    }
}
