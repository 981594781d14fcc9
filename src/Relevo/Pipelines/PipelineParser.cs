using System.Globalization;
using Relevo.Feedback;
using Relevo.Fusion;
using Relevo.Search;

namespace Relevo.Pipelines;

/// <summary>A pipeline text that does not parse; <see cref="Column"/> is 1-based.</summary>
public sealed class PipelineSyntaxException(string text, int column, string problem)
    : RelevoException($"pipeline syntax error at column {column}: {problem}\n  {text}\n  {new string(' ', Math.Max(0, column - 1))}^\n{PipelineParser.StageList}")
{
    public int Column { get; } = column;
    public string Problem { get; } = problem;
}

/// <summary>Parses the pipeline language: stages joined by <c>&gt;&gt;</c>, each a name with optional arguments, e.g.
/// <c>bm25(k1=1.2,b=0.75) &gt;&gt; rm3(terms=10,docs=10,weight=0.5) &gt;&gt; bm25</c> or
/// <c>fuse(rrf, bm25, dense(model=arctic-xs), k=60)</c>. Positional arguments of fuse are pipelines.</summary>
public static partial class PipelineParser
{
    public const string StageList =
        "stages: bm25(k1,b) | ql(mu) | dense(model,int8,oversample) | fuse(rrf|borda|combsum|combmnz|minmax|zscore, pipeline, pipeline..., k, alpha, weights, norm, depth) | " +
        "rm3(terms,docs,weight) | rocchio(terms,docs,alpha,beta) | vprf(docs,alpha,beta,model) | " + LlmStageList;

    private static readonly string[] StageNames = ["bm25", "ql", "dense", "fuse", "rm3", "rocchio", "vprf", .. LlmStageNames];

    public static Stage Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new PipelineSyntaxException(text ?? "", 1, "empty pipeline");
        var p = new Parser(text);
        var seq = p.ParseSequence();
        p.ExpectEnd();
        return Build(text, seq);
    }

    // ---- syntax tree ----
    private sealed record Node(string Name, int Column, List<Arg> Args);
    private sealed record Arg(int Column, string? Key, List<Node>? Pipeline, Value? Value);
    private sealed record Value(int Column, string? Scalar, List<(string Item, int Column)>? List)
    {
        public int KeyColumn { get; init; } = Column;
    }

    private sealed class Parser(string text)
    {
        private int _pos;

        private void SkipSpace() { while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++; }
        private int Column => _pos + 1;
        private PipelineSyntaxException Error(string problem) => new(text, Column, problem);

        private static bool IsWordChar(char c) => !char.IsWhiteSpace(c) && c is not (',' or '(' or ')' or '[' or ']' or '=' or '>' or '"');

        private bool Peek(string s) { SkipSpace(); return string.CompareOrdinal(text, _pos, s, 0, s.Length) == 0; }

        private void Expect(string s)
        {
            if (!Peek(s)) throw Error(_pos >= text.Length ? $"expected '{s}' but the text ended" : $"expected '{s}' but found '{text[_pos]}'");
            _pos += s.Length;
        }

        public void ExpectEnd()
        {
            SkipSpace();
            if (_pos < text.Length) throw Error($"unexpected '{text[_pos]}' (stages are joined with '>>')");
        }

        private (string Word, int Column) Word()
        {
            SkipSpace();
            int start = _pos;
            if (_pos < text.Length && text[_pos] == '"')
            {
                int end = text.IndexOf('"', _pos + 1);
                if (end < 0) throw Error("unterminated string");
                _pos = end + 1;
                return (text[(start + 1)..end], start + 1);
            }
            while (_pos < text.Length && IsWordChar(text[_pos])) _pos++;
            if (_pos == start)
                throw Error(_pos >= text.Length ? "expected a stage name or value but the text ended" : $"expected a stage name or value but found '{text[_pos]}'");
            return (text[start.._pos], start + 1);
        }

        public List<Node> ParseSequence()
        {
            var nodes = new List<Node> { ParseNode() };
            while (Peek(">>"))
            {
                _pos += 2;
                nodes.Add(ParseNode());
            }
            return nodes;
        }

        private Node ParseNode()
        {
            var (name, col) = Word();
            var args = new List<Arg>();
            if (Peek("("))
            {
                _pos++;
                if (!Peek(")"))
                {
                    do { args.Add(ParseArg()); } while (TryComma());
                }
                Expect(")");
            }
            return new Node(name, col, args);
        }

        private bool TryComma()
        {
            if (!Peek(",")) return false;
            _pos++;
            return true;
        }

        private Arg ParseArg()
        {
            SkipSpace();
            int save = _pos;
            int col = Column;
            if (_pos < text.Length && IsWordChar(text[_pos]))
            {
                var (word, _) = Word();
                if (Peek("=") )
                {
                    _pos++;
                    return new Arg(col, word, null, ParseValue());
                }
                _pos = save;
            }
            return new Arg(col, null, ParseSequence(), null);
        }

        private Value ParseValue()
        {
            SkipSpace();
            int col = Column;
            if (Peek("["))
            {
                _pos++;
                var items = new List<(string, int)>();
                if (!Peek("]"))
                {
                    do { items.Add(Word()); } while (TryComma());
                }
                Expect("]");
                return new Value(col, null, items);
            }
            var (w, c) = Word();
            return new Value(c, w, null);
        }
    }

    // ---- building stages ----
    private static Stage Build(string text, List<Node> seq) =>
        seq.Count == 1 ? BuildNode(text, seq[0]) : new SequenceStage(seq.Select(n => BuildNode(text, n)).ToList());

    private static Stage BuildNode(string text, Node n)
    {
        var named = new Dictionary<string, Value>(StringComparer.Ordinal);
        var positional = new List<Arg>();
        foreach (var a in n.Args)
        {
            if (a.Key is null) { positional.Add(a); continue; }
            if (!named.TryAdd(a.Key, a.Value! with { KeyColumn = a.Column })) throw new PipelineSyntaxException(text, a.Column, $"'{a.Key}' is given twice");
        }
        switch (n.Name)
        {
            case "bm25":
            {
                var args = new Args(text, n, named, ["k1", "b"]);
                NoPositional(text, n, positional);
                float k1 = args.Float("k1", Bm25Scorer.DefaultK1, 0, 100), b = args.Float("b", Bm25Scorer.DefaultB, 0, 1);
                return new Bm25Stage(new Bm25Parameters(k1, b));
            }
            case "ql":
            {
                var args = new Args(text, n, named, ["mu"]);
                NoPositional(text, n, positional);
                return new QueryLikelihoodStage(args.Float("mu", 1000f, 1e-6, 1e9));
            }
            case "dense":
            {
                var args = new Args(text, n, named, ["model", "int8", "oversample"]);
                string? model = args.String("model");
                if (positional.Count == 1 && model is null && positional[0].Pipeline is [{ Args.Count: 0 } only])
                    model = only.Name; // dense(arctic-xs)
                else NoPositional(text, n, positional);
                return new DenseStage(new DenseSpec(model ?? "arctic-xs", args.Bool("int8", false), args.Int("oversample", 4, 1)));
            }
            case "rm3":
            {
                var args = new Args(text, n, named, ["terms", "docs", "weight"]);
                NoPositional(text, n, positional);
                return new Rm3Stage(new Rm3Expander(args.Int("terms", 10, 1), args.Int("docs", 10, 1), args.Float("weight", 0.5f, 0, 1)));
            }
            case "rocchio":
            {
                var args = new Args(text, n, named, ["terms", "docs", "alpha", "beta"]);
                NoPositional(text, n, positional);
                return new RocchioStage(new RocchioExpander(args.Int("terms", 10, 1), args.Int("docs", 10, 1),
                    args.Float("alpha", 1f, 0, 1e6), args.Float("beta", 0.5f, 0, 1e6)));
            }
            case "vprf":
            {
                var args = new Args(text, n, named, ["docs", "alpha", "beta", "model"]);
                NoPositional(text, n, positional);
                return new VectorPrfStage(new VectorPrf(args.Int("docs", 3, 1), args.Float("alpha", 1f, 0, 1e6), args.Float("beta", 1f, 0, 1e6)),
                    args.String("model") ?? VectorPrfStage.DefaultModel);
            }
            case "fuse":
                return BuildFuse(text, n, named, positional);
            case "llm.pointwise" or "llm.listwise" or "llm.setwise" or "llm.groupwise" or "llm.expand" or "cascade" or "rerank":
                return BuildRerank(text, n, named, positional);
            default:
                throw new PipelineSyntaxException(text, n.Column, $"unknown stage '{n.Name}'{Suggest(n.Name)}");
        }
    }

    private static Stage BuildFuse(string text, Node n, Dictionary<string, Value> named, List<Arg> positional)
    {
        if (positional.Count == 0 || positional[0].Pipeline is not [{ Args.Count: 0 } m])
            throw new PipelineSyntaxException(text, n.Column, "fuse needs a method first: fuse(rrf|borda|combsum|combmnz|minmax|zscore, pipeline, pipeline...)");
        FusionMethod method = m.Name switch
        {
            "rrf" => FusionMethod.Rrf,
            "borda" => FusionMethod.Borda,
            "combsum" => FusionMethod.CombSum,
            "combmnz" => FusionMethod.CombMnz,
            "minmax" => FusionMethod.MinMax,
            "zscore" => FusionMethod.ZScore,
            _ => throw new PipelineSyntaxException(text, m.Column, $"unknown fusion method '{m.Name}' (rrf, borda, combsum, combmnz, minmax, zscore)"),
        };
        var inputs = positional.Skip(1).Select(a => Build(text, a.Pipeline!)).ToList();
        if (inputs.Count < 2) throw new PipelineSyntaxException(text, n.Column, "fuse needs at least two pipelines to fuse");
        if (method is FusionMethod.MinMax or FusionMethod.ZScore && inputs.Count != 2)
            throw new PipelineSyntaxException(text, n.Column, $"fuse({m.Name}, ...) interpolates exactly two pipelines; use combsum with norm={m.Name} for more");
        var allowed = method switch
        {
            FusionMethod.Rrf => new[] { "k", "weights", "depth" },
            FusionMethod.Borda => ["weights", "depth"],
            FusionMethod.CombSum or FusionMethod.CombMnz => ["norm", "weights", "depth"],
            _ => ["alpha", "depth"],
        };
        var args = new Args(text, n, named, allowed);
        var weights = args.List("weights");
        if (weights is not null && weights.Count != inputs.Count)
            throw new PipelineSyntaxException(text, named["weights"].Column, $"{weights.Count} weights for {inputs.Count} pipelines");
        var norm = args.String("norm") switch
        {
            null or "minmax" => Normalization.MinMax,
            "zscore" => Normalization.ZScore,
            "none" => Normalization.None,
            var other => throw new PipelineSyntaxException(text, named["norm"].Column, $"unknown norm '{other}' (minmax, zscore, none)"),
        };
        return new FuseStage(method, inputs, args.Float("k", 60f, 0, 1e9), args.Float("alpha", 0.5f, 0, 1), weights,
            args.Int("depth", 1000, 1), norm);
    }

    private static void NoPositional(string text, Node n, List<Arg> positional)
    {
        if (positional.Count > 0)
            throw new PipelineSyntaxException(text, positional[0].Column, $"{n.Name} takes only named arguments (name=value)");
    }

    private static string Suggest(string name)
    {
        foreach (var s in StageNames)
            if (s.StartsWith(name, StringComparison.OrdinalIgnoreCase) || name.StartsWith(s, StringComparison.OrdinalIgnoreCase))
                return $"; did you mean '{s}'?";
        return "";
    }

    /// <summary>Named arguments of one stage, checked against the names it accepts.</summary>
    private sealed class Args
    {
        private readonly string _text;
        private readonly Node _node;
        private readonly Dictionary<string, Value> _named;

        public Args(string text, Node node, Dictionary<string, Value> named, string[] allowed)
        {
            _text = text;
            _node = node;
            _named = named;
            foreach (var (key, v) in named)
                if (Array.IndexOf(allowed, key) < 0)
                    throw new PipelineSyntaxException(text, v.KeyColumn, $"{node.Name} has no argument '{key}' ({string.Join(", ", allowed)})");
        }

        public string? String(string key) =>
            _named.TryGetValue(key, out var v) ? v.Scalar ?? throw new PipelineSyntaxException(_text, v.Column, $"{key} takes one value, not a list") : null;

        public float Float(string key, float dflt, double min, double max)
        {
            if (!_named.TryGetValue(key, out var v)) return dflt;
            if (v.Scalar is null || !double.TryParse(v.Scalar, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                throw new PipelineSyntaxException(_text, v.Column, $"{_node.Name}: {key} must be a number");
            if (d < min || d > max)
                throw new PipelineSyntaxException(_text, v.Column, $"{_node.Name}: {key} must be within [{min}, {max}]");
            return (float)d;
        }

        public bool Bool(string key, bool dflt)
        {
            if (!_named.TryGetValue(key, out var v)) return dflt;
            return v.Scalar switch
            {
                "true" => true,
                "false" => false,
                _ => throw new PipelineSyntaxException(_text, v.Column, $"{_node.Name}: {key} must be true or false"),
            };
        }

        public int Int(string key, int dflt, int min)
        {
            if (!_named.TryGetValue(key, out var v)) return dflt;
            if (v.Scalar is null || !int.TryParse(v.Scalar, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i))
                throw new PipelineSyntaxException(_text, v.Column, $"{_node.Name}: {key} must be a whole number");
            if (i < min) throw new PipelineSyntaxException(_text, v.Column, $"{_node.Name}: {key} must be at least {min}");
            return i;
        }

        public List<double>? List(string key)
        {
            if (!_named.TryGetValue(key, out var v)) return null;
            var items = v.List ?? (v.Scalar is { } s ? [(s, v.Column)] : []);
            var list = new List<double>();
            foreach (var (item, col) in items)
            {
                if (!double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
                    throw new PipelineSyntaxException(_text, col, $"{_node.Name}: {key} must be numbers, found '{item}'");
                list.Add(d);
            }
            return list;
        }
    }
}
