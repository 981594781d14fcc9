using System.Runtime.InteropServices;
using Google.Protobuf;
using Onnx;

namespace Relevo.Dense;

/// <summary>Rewrites chosen MatMuls of an ONNX graph to int8: each chosen weight matrix is quantized once, per output
/// column and symmetrically (scale = max |w| / 127 over the column, no zero point), and its product becomes ONNX
/// Runtime's dynamic-quantization pattern: <c>DynamicQuantizeLinear</c> of the activations (uint8, one scale and zero
/// point per tensor, computed per call; shared by the products that read the same tensor), <c>MatMulInteger</c>
/// (uint8 × int8 → int32, the VNNI / AVX2 kernels), <c>Cast</c> to float, and two <c>Mul</c>s by the activation's and
/// the column's scales. Everything else is left as it was.</summary>
internal static class Int8Rewriter
{
    /// <summary>Rewrites the MatMuls whose weight initializer is in <paramref name="matrices"/>; returns how many.</summary>
    public static int Rewrite(ModelProto model, IReadOnlySet<string> matrices)
    {
        var graph = model.Graph;
        var tensors = BertWeights.Initializers(graph);
        var nodes = new List<NodeProto>(graph.Node.Count + 4 * matrices.Count);
        var quantizedInputs = new Dictionary<string, (string Value, string Scale, string ZeroPoint)>(StringComparer.Ordinal);
        int rewritten = 0;
        foreach (var n in graph.Node)
        {
            if (n.OpType != "MatMul" || n.Input.Count != 2 || !matrices.Contains(n.Input[1]) || !tensors.TryGetValue(n.Input[1], out var weight))
            {
                nodes.Add(n);
                continue;
            }
            string a = n.Input[0], output = n.Output[0], prefix = output + "_int8";
            if (!quantizedInputs.TryGetValue(a, out var q))
            {
                q = (a + "_quantized", a + "_scale", a + "_zero_point");
                quantizedInputs[a] = q;
                nodes.Add(Node("DynamicQuantizeLinear", [a], [q.Value, q.Scale, q.ZeroPoint], a + "_DynamicQuantizeLinear"));
            }
            var (codes, scales) = QuantizeColumns(weight);
            graph.Initializer.Remove(weight);
            graph.Initializer.Add(codes);
            graph.Initializer.Add(scales);
            nodes.Add(Node("MatMulInteger", [q.Value, codes.Name, q.ZeroPoint], [prefix + "_int32"], prefix + "_MatMulInteger"));
            var cast = Node("Cast", [prefix + "_int32"], [prefix + "_float"], prefix + "_Cast");
            cast.Attribute.Add(new AttributeProto { Name = "to", Type = AttributeProto.Types.AttributeType.Int, I = (long)TensorProto.Types.DataType.Float });
            nodes.Add(cast);
            nodes.Add(Node("Mul", [prefix + "_float", q.Scale], [prefix + "_scaled"], prefix + "_MulInput"));
            nodes.Add(Node("Mul", [prefix + "_scaled", scales.Name], [output], prefix + "_MulWeight"));
            rewritten++;
        }
        graph.Node.Clear();
        graph.Node.AddRange(nodes);
        return rewritten;
    }

    private static NodeProto Node(string op, string[] inputs, string[] outputs, string name)
    {
        var node = new NodeProto { OpType = op, Name = name };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    /// <summary>A <c>[in, out]</c> float matrix as int8 codes and one float scale per output column.</summary>
    internal static (TensorProto Codes, TensorProto Scales) QuantizeColumns(TensorProto weight)
    {
        if (weight.Dims.Count != 2 || weight.DataType != (int)TensorProto.Types.DataType.Float)
            throw new RelevoException($"'{weight.Name}' is not a float matrix");
        int rows = (int)weight.Dims[0], columns = (int)weight.Dims[1];
        float[] w = weight.FloatData.Count > 0 ? [.. weight.FloatData] : MemoryMarshal.Cast<byte, float>(weight.RawData.Span).ToArray();
        var scale = new float[columns];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++) scale[c] = Math.Max(scale[c], Math.Abs(w[r * columns + c]));
        for (int c = 0; c < columns; c++) scale[c] = scale[c] > 0 ? scale[c] / 127f : 1f;
        var codes = new sbyte[w.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < columns; c++)
                codes[r * columns + c] = (sbyte)Math.Clamp(MathF.Round(w[r * columns + c] / scale[c]), -127, 127);
        var codeTensor = new TensorProto { Name = weight.Name + "_int8", DataType = (int)TensorProto.Types.DataType.Int8, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(codes.AsSpan())) };
        codeTensor.Dims.AddRange([rows, columns]);
        var scaleTensor = new TensorProto { Name = weight.Name + "_scale", DataType = (int)TensorProto.Types.DataType.Float, RawData = ByteString.CopyFrom(MemoryMarshal.AsBytes(scale.AsSpan())) };
        scaleTensor.Dims.Add(columns);
        return (codeTensor, scaleTensor);
    }
}
