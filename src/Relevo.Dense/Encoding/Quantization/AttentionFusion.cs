using Onnx;

namespace Relevo.Dense;

/// <summary>Rewrites each self-attention of a BERT export (Reshape and Transpose of the query, key and value, the
/// score MatMul, its scaling, the mask Add, Softmax, the MatMul with the values and the Transpose and Reshape back) into
/// one ONNX Runtime <c>com.microsoft:MultiHeadAttention</c> node without a mask, which ONNX Runtime runs on the CPU by
/// its fused (flash) kernel: no score matrix in memory, no separate softmax and no transposes. Without the mask every
/// position attends to every other, so the rewritten graph is exact only for sequences that are not padded: a model
/// folder holding it says so (<see cref="ModelConfig.Unpadded"/>) and <see cref="EmbeddingModel"/> runs it one sequence
/// per call. Nodes left without readers (the mask's arithmetic) are removed.</summary>
internal static class AttentionFusion
{
    private const string MicrosoftDomain = "com.microsoft";

    /// <summary>The graph's metadata entry ("true") that says it must be run one sequence at a time, read by
    /// <see cref="EmbeddingModel"/> as <see cref="ModelConfig.Unpadded"/> is.</summary>
    public const string UnpaddedKey = "relevo.unpadded";

    /// <summary>Fuses every attention block found; returns how many. A block is left as it is unless the softmax is
    /// over the last axis and what is added to the scores derives from the <c>attention_mask</c> input alone
    /// (constants and shapes aside): a causal mask or a position bias folded into that sum would be lost.</summary>
    public static int Fuse(ModelProto model)
    {
        var graph = model.Graph;
        var tensors = BertWeights.Initializers(graph);
        var constants = BertWeights.Constants(graph);
        foreach (var (name, tensor) in tensors) constants.TryAdd(name, tensor); // exports keep small constants either way
        var consumers = BertWeights.Consumers(graph);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var n in graph.Node)
            foreach (var output in n.Output) producers[output] = n;
        NodeProto? From(string value, string op) => producers.TryGetValue(value, out var n) && n.OpType == op && n.Domain.Length == 0 ? n : null;
        NodeProto? OnlyReader(string value, string op) =>
            consumers.GetValueOrDefault(value) is [var n] && n.OpType == op && n.Domain.Length == 0 ? n : null;

        var graphInputs = graph.Input.Select(i => i.Name).ToHashSet(StringComparer.Ordinal);
        long opset = model.OpsetImport.Where(o => o.Domain.Length == 0).Select(o => o.Version).DefaultIfEmpty(0).Max();
        // the graph inputs a value is computed from, through anything but a Shape (which reads no values)
        HashSet<string> Sources(string value)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var pending = new Stack<string>([value]);
            while (pending.TryPop(out var v))
            {
                if (!seen.Add(v)) continue;
                if (graphInputs.Contains(v) && !tensors.ContainsKey(v)) found.Add(v);
                if (producers.TryGetValue(v, out var n) && n.OpType != "Shape")
                    foreach (var input in n.Input) pending.Push(input);
            }
            return found;
        }

        var replaced = new Dictionary<NodeProto, NodeProto>(ReferenceEqualityComparer.Instance);
        foreach (var softmax in graph.Node)
        {
            if (softmax.OpType != "Softmax" || softmax.Domain.Length > 0) continue;
            // over the last axis (before opset 13 the default axis, 1, flattens the rest: not attention's softmax)
            var axis = softmax.Attribute.FirstOrDefault(a => a.Name == "axis");
            if (axis is null ? opset < 13 : axis.I is not (-1 or 3)) continue;
            // scores = (Q·Kᵀ) / √d + mask
            if (From(softmax.Input[0], "Add") is not { } maskAdd) continue;
            // the scaled scores are whichever input of the Add is a Div or Mul by a positive scalar of a MatMul (the
            // other is the mask, itself often a Mul)
            NodeProto? scores = null;
            float scale = 0;
            string? mask = null;
            for (int i = 0; i < maskAdd.Input.Count; i++)
                if ((From(maskAdd.Input[i], "Div") ?? From(maskAdd.Input[i], "Mul")) is { } scaling
                    && BertWeights.Scalar(scaling.Input[1], tensors, constants) is float factor && factor > 0
                    && From(scaling.Input[0], "MatMul") is { } product)
                {
                    scores = product;
                    scale = scaling.OpType == "Div" ? 1f / factor : factor;
                    mask = maskAdd.Input.Count == 2 ? maskAdd.Input[1 - i] : null;
                }
            if (scores is null || mask is null) continue;
            // the other addend is the padding mask and nothing else: dropping it is exact for unpadded sequences
            if (Sources(mask) is not { Count: 1 } sources || !sources.Contains("attention_mask")) continue;
            if (Heads(From(scores.Input[0], "Transpose"), [0, 2, 1, 3], From, constants) is not var (query, heads)) continue;
            if (Heads(From(scores.Input[1], "Transpose"), [0, 2, 3, 1], From, constants) is not var (key, keyHeads) || keyHeads != heads) continue;
            // context = softmax · V, back to [batch, tokens, hidden]
            if (OnlyReader(softmax.Output[0], "MatMul") is not { } context || context.Input[0] != softmax.Output[0]) continue;
            if (Heads(From(context.Input[1], "Transpose"), [0, 2, 1, 3], From, constants) is not var (value, valueHeads) || valueHeads != heads) continue;
            if (OnlyReader(context.Output[0], "Transpose") is not { } back || !Perm(back, [0, 2, 1, 3])) continue;
            if (ReshapeOf(back.Output[0], consumers) is not { } merged) continue;

            var fused = new NodeProto { OpType = "MultiHeadAttention", Domain = MicrosoftDomain, Name = merged.Output[0] + "_mha" };
            fused.Input.AddRange([query, key, value]);
            fused.Output.Add(merged.Output[0]);
            fused.Attribute.Add(new AttributeProto { Name = "num_heads", Type = AttributeProto.Types.AttributeType.Int, I = heads });
            fused.Attribute.Add(new AttributeProto { Name = "scale", Type = AttributeProto.Types.AttributeType.Float, F = scale });
            replaced[merged] = fused;
        }
        if (replaced.Count == 0) return 0;
        var nodes = new List<NodeProto>(graph.Node.Count);
        foreach (var n in graph.Node) nodes.Add(replaced.GetValueOrDefault(n) ?? n);
        graph.Node.Clear();
        graph.Node.AddRange(RemoveUnread(nodes, graph));
        RemoveUnreadInitializers(graph);
        // the graph says it may not be padded itself too, so that the flag cannot be parted from it (a relevo-model.json
        // rewritten by hand, or left by an earlier quantization when this one stopped between its writes)
        if (!model.MetadataProps.Any(p => p.Key == UnpaddedKey))
            model.MetadataProps.Add(new StringStringEntryProto { Key = UnpaddedKey, Value = "true" });
        if (!model.OpsetImport.Any(o => o.Domain == MicrosoftDomain))
            model.OpsetImport.Add(new OperatorSetIdProto { Domain = MicrosoftDomain, Version = 1 });
        return replaced.Count;
    }

    /// <summary>The [batch, tokens, hidden] tensor a head split starts from and the number of heads, when
    /// <paramref name="transpose"/> (with permutation <paramref name="perm"/>) reads a Reshape to
    /// [batch, tokens, heads, width] whose shape is a Concat with the heads as a constant third part (a Constant node or
    /// an initializer).</summary>
    private static (string Input, long Heads)? Heads(NodeProto? transpose, long[] perm, Func<string, string, NodeProto?> from,
        Dictionary<string, TensorProto> constants)
    {
        if (transpose is null || !Perm(transpose, perm) || from(transpose.Input[0], "Reshape") is not { } reshape) return null;
        if (from(reshape.Input[1], "Concat") is not { Input.Count: 4 } shape) return null;
        if (!constants.TryGetValue(shape.Input[2], out var heads) || heads.DataType != (int)TensorProto.Types.DataType.Int64) return null;
        long count = heads.Int64Data.Count > 0 ? heads.Int64Data[0] : heads.RawData.Length == 8 ? BitConverter.ToInt64(heads.RawData.Span) : 0;
        return count > 0 ? (reshape.Input[0], count) : null;
    }

    /// <summary>The one Reshape reading <paramref name="value"/> when nothing else does but Shape nodes (which compute
    /// that Reshape's target shape in exports with dynamic axes).</summary>
    private static NodeProto? ReshapeOf(string value, Dictionary<string, List<NodeProto>> consumers)
    {
        NodeProto? reshape = null;
        foreach (var n in consumers.GetValueOrDefault(value) ?? [])
        {
            if (n.Domain.Length > 0) return null;
            if (n.OpType == "Reshape" && reshape is null && n.Input[0] == value) reshape = n;
            else if (n.OpType != "Shape") return null;
        }
        return reshape;
    }

    private static bool Perm(NodeProto transpose, long[] perm)
    {
        foreach (var a in transpose.Attribute)
            if (a.Name == "perm") return a.Ints.SequenceEqual(perm);
        return false;
    }

    /// <summary>Drops the initializers no node reads any more (the mask arithmetic's constants, the head split's shapes),
    /// which ONNX Runtime would otherwise drop with a warning each time a session opens; one also listed as a graph input
    /// (older exports list them) goes from the inputs too, so that it does not become an input to feed.</summary>
    private static void RemoveUnreadInitializers(GraphProto graph)
    {
        var read = new HashSet<string>(graph.Output.Select(o => o.Name), StringComparer.Ordinal);
        foreach (var n in graph.Node)
            foreach (var input in n.Input) read.Add(input);
        var unread = graph.Initializer.Where(t => !read.Contains(t.Name)).ToList();
        var names = unread.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in unread) graph.Initializer.Remove(t);
        foreach (var input in graph.Input.Where(i => names.Contains(i.Name)).ToList()) graph.Input.Remove(input);
    }

    /// <summary><paramref name="nodes"/> without those whose outputs nothing reads (repeatedly, so whole chains go).</summary>
    private static List<NodeProto> RemoveUnread(List<NodeProto> nodes, GraphProto graph)
    {
        var outputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        while (true)
        {
            var read = new HashSet<string>(outputs, StringComparer.Ordinal);
            foreach (var n in nodes)
                foreach (var input in n.Input) read.Add(input);
            int before = nodes.Count;
            nodes.RemoveAll(n => !n.Output.Any(read.Contains));
            if (nodes.Count == before) return nodes;
        }
    }
}
