using System.Globalization;
using Relevo.Rerank;
using Relevo.Search;

namespace Relevo.Pipelines;

// The LLM and reranking stages of the pipeline language (kept apart from the core parser).
public static partial class PipelineParser
{
    private const string LlmStageList =
        "llm.pointwise(top,logprobs,criteria) | llm.listwise(window,step,first,top,criteria) | llm.setwise(k,m,reasoning,top,criteria) | " +
        "llm.groupwise(group,top,criteria) | llm.expand(repeat) | cascade(reranker, reranker, top) | rerank(dense(model)|cross(model), depth)";

    private static string[] LlmStageNames => ["llm.pointwise", "llm.listwise", "llm.setwise", "llm.groupwise", "llm.expand", "cascade", "rerank"];

    private static Stage BuildRerank(string text, Node n, Dictionary<string, Value> named, List<Arg> positional)
    {
        switch (n.Name)
        {
            case "llm.pointwise":
            {
                var args = new Args(text, n, named, ["top", "logprobs", "criteria"]);
                return new PointwiseStage(args.Int("top", 100, 1), ParseCriteria(text, n, named, positional), args.Bool("logprobs", true));
            }
            case "llm.listwise":
            {
                var args = new Args(text, n, named, ["window", "step", "first", "top", "criteria"]);
                int window = args.Int("window", 20, 2), step = args.Int("step", 10, 1);
                if (step >= window) throw new PipelineSyntaxException(text, named["step"].Column, "llm.listwise: step must be smaller than window");
                bool first = args.Bool("first", false);
                if (first && window > 20) throw new PipelineSyntaxException(text, named["window"].Column, "llm.listwise: first=true ranks from the top 20 log-probabilities, so window must be at most 20");
                return new ListwiseStage(args.Int("top", 100, 1), ParseCriteria(text, n, named, positional), window, step, first);
            }
            case "llm.setwise":
            {
                var args = new Args(text, n, named, ["k", "m", "reasoning", "top", "criteria"]);
                return new SetwiseStage(args.Int("top", 100, 1), ParseCriteria(text, n, named, positional), args.Int("k", 4, 2), args.Int("m", 10, 1), args.Bool("reasoning", false));
            }
            case "llm.groupwise":
            {
                var args = new Args(text, n, named, ["group", "top", "criteria"]);
                return new GroupwiseStage(args.Int("top", 100, 1), ParseCriteria(text, n, named, positional), args.Int("group", 10, 1));
            }
            case "llm.expand":
            {
                var args = new Args(text, n, named, ["repeat"]);
                NoPositional(text, n, positional);
                return new ExpandStage(args.Int("repeat", 5, 0));
            }
            case "cascade":
            {
                var args = new Args(text, n, named, ["top"]);
                if (positional.Count != 2 || positional.Any(p => p.Pipeline is not [_]))
                    throw new PipelineSyntaxException(text, n.Column, "cascade needs two rerankers: cascade(llm.pointwise, llm.listwise, top=20)");
                var stages = positional.Select(p =>
                {
                    var node = p.Pipeline![0];
                    if (node.Name is "pointwise" or "listwise" or "setwise" or "groupwise") node = node with { Name = "llm." + node.Name };
                    var s = BuildNode(text, node);
                    if (s is not (RerankStage or CascadeStage))
                        throw new PipelineSyntaxException(text, node.Column, $"cascade takes rerankers (llm.pointwise, llm.listwise, llm.setwise, llm.groupwise, rerank), not '{node.Name}'");
                    return s;
                }).ToList();
                return new CascadeStage(stages[0], stages[1], args.Int("top", 20, 1));
            }
            default: // rerank
            {
                var args = new Args(text, n, named, ["depth"]);
                if (positional is [{ Pipeline: [{ Name: "cross" } cross] }])
                {
                    var crossNamed = cross.Args.Where(a => a.Key is not null).ToDictionary(a => a.Key!, a => a.Value! with { KeyColumn = a.Column }, StringComparer.Ordinal);
                    var crossArgs = new Args(text, cross, crossNamed, ["model"]);
                    NoPositional(text, cross, cross.Args.Where(a => a.Key is null).ToList());
                    string folder = crossArgs.String("model") ?? throw new PipelineSyntaxException(text, cross.Column, "cross needs model=FOLDER (a folder with model.onnx and vocab.txt)");
                    return new CrossEncoderStage(folder, args.Int("depth", 100, 1));
                }
                if (positional.Count != 1 || positional[0].Pipeline is not [var inner] || BuildNode(text, inner) is not DenseStage dense)
                    throw new PipelineSyntaxException(text, n.Column, "rerank needs a dense model or a cross-encoder: rerank(dense(model=arctic-xs), depth=100) or rerank(cross(model=FOLDER), depth=100)");
                return new DenseRerankStage(dense.Spec, args.Int("depth", 100, 1));
            }
        }
    }

    /// <summary>criteria=[relevance:1,recency:0.3] or, as the issue writes it, criteria=relevance:1,recency:0.3 (the
    /// items after the first arrive as positional arguments).</summary>
    private static List<Criterion> ParseCriteria(string text, Node n, Dictionary<string, Value> named, List<Arg> positional)
    {
        var items = new List<(string Item, int Column)>();
        if (named.TryGetValue("criteria", out var v)) items.AddRange(v.List ?? [(v.Scalar!, v.Column)]);
        foreach (var p in positional)
        {
            if (items.Count == 0 || p.Pipeline is not [{ Args.Count: 0 } c] || !c.Name.Contains(':'))
                throw new PipelineSyntaxException(text, p.Column, $"{n.Name} takes only named arguments (name=value)");
            items.Add((c.Name, c.Column));
        }
        if (items.Count == 0) return [.. LlmStage.DefaultCriteria];
        var list = new List<Criterion>();
        foreach (var (item, col) in items)
        {
            int colon = item.IndexOf(':');
            string name = colon < 0 ? item : item[..colon];
            double w = 1;
            if (name.Length == 0 || (colon >= 0 && (!double.TryParse(item[(colon + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out w) || w < 0)))
                throw new PipelineSyntaxException(text, col, $"{n.Name}: criteria are name:weight with a weight ≥ 0, e.g. criteria=relevance:1,recency:0.3");
            if (list.Exists(c => c.Name == name)) throw new PipelineSyntaxException(text, col, $"{n.Name}: criterion '{name}' is given twice");
            list.Add(new Criterion(name, w));
        }
        return list;
    }
}
