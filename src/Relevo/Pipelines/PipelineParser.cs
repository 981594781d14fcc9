namespace Relevo.Pipelines;

/// <summary>A pipeline text that does not parse; <see cref="Column"/> is 1-based.</summary>
public sealed class PipelineSyntaxException : RelevoException
{
    internal PipelineSyntaxException(string text, int column, string problem, string stageList)
        : base($"pipeline syntax error at column {column}: {problem}\n  {text}\n  {new string(' ', Math.Max(0, column - 1))}^\n{stageList}")
    {
        Column = column;
        Problem = problem;
    }

    /// <summary>Where in the pipeline text the problem is (1-based).</summary>
    public int Column { get; }

    /// <summary>The problem, without the text and the list of stages.</summary>
    public string Problem { get; }
}

/// <summary>Parses the pipeline language: stages joined by <c>&gt;&gt;</c>, each a name with optional arguments, e.g.
/// <c>bm25(k1=1.2,b=0.75) &gt;&gt; rm3(terms=10,docs=10,weight=0.5) &gt;&gt; bm25</c> or
/// <c>fuse(rrf, bm25, dense(model=arctic-xs), k=60)</c>. Positional arguments are pipelines (or bare words); named ones
/// are values or lists. Stage names are looked up in an <see cref="ExtensionRegistry"/>, whose factories read their
/// arguments through <see cref="StageSyntax"/>.</summary>
internal static class PipelineParser
{
    /// <summary>Longest pipeline text accepted.</summary>
    public const int MaxLength = 4096;

    public static Stage Parse(string text, ExtensionRegistry registry)
    {
        if (string.IsNullOrWhiteSpace(text)) throw new PipelineSyntaxException(text ?? "", 1, "empty pipeline", registry.StageList);
        if (text.Length > MaxLength) throw new PipelineSyntaxException(text[..80] + "…", 1, $"longer than {MaxLength} characters", registry.StageList);
        var p = new Parser(text, registry);
        var seq = p.ParseSequence(0);
        p.ExpectEnd();
        return Build(text, seq, registry);
    }

    // ---- syntax tree ----
    internal sealed record Node(string Name, int Column, List<Arg> Args);
    internal sealed record Arg(int Column, string? Key, List<Node>? Pipeline, Value? Value);
    internal sealed record Value(int Column, string? Scalar, List<(string Item, int Column)>? List)
    {
        public int KeyColumn { get; init; } = Column;
    }

    private sealed class Parser(string text, ExtensionRegistry registry)
    {
        private const int MaxNesting = 32;
        private int _pos;

        private void SkipSpace() { while (_pos < text.Length && char.IsWhiteSpace(text[_pos])) _pos++; }
        private int Column => _pos + 1;
        private PipelineSyntaxException Error(string problem) => new(text, Column, problem, registry.StageList);

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

        public List<Node> ParseSequence(int depth)
        {
            if (depth > MaxNesting) throw Error($"pipelines nest at most {MaxNesting} deep");
            var nodes = new List<Node> { ParseNode(depth) };
            while (Peek(">>"))
            {
                _pos += 2;
                nodes.Add(ParseNode(depth));
            }
            return nodes;
        }

        private Node ParseNode(int depth)
        {
            var (name, col) = Word();
            var args = new List<Arg>();
            if (Peek("("))
            {
                _pos++;
                if (!Peek(")"))
                {
                    do { args.Add(ParseArg(depth)); } while (TryComma());
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

        private Arg ParseArg(int depth)
        {
            SkipSpace();
            int save = _pos;
            int col = Column;
            if (_pos < text.Length && IsWordChar(text[_pos]))
            {
                var (word, _) = Word();
                if (Peek("="))
                {
                    _pos++;
                    return new Arg(col, word, null, ParseValue());
                }
                _pos = save;
            }
            return new Arg(col, null, ParseSequence(depth + 1), null);
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
    internal static Stage Build(string text, List<Node> seq, ExtensionRegistry registry) =>
        seq.Count == 1 ? BuildNode(text, seq[0], registry) : new SequenceStage(seq.Select(n => BuildNode(text, n, registry)).ToList());

    internal static Stage BuildNode(string text, Node n, ExtensionRegistry registry)
    {
        if (!registry.TryGetStage(n.Name, out var factory))
            throw new PipelineSyntaxException(text, n.Column, $"unknown stage '{n.Name}'{Suggest(n.Name, registry)}", registry.StageList);
        var syntax = new StageSyntax(text, n, registry);
        var stage = factory(syntax);
        syntax.CheckAccepted();
        return stage;
    }

    private static string Suggest(string name, ExtensionRegistry registry)
    {
        foreach (var s in registry.StageNames)
            if (s.StartsWith(name, StringComparison.OrdinalIgnoreCase) || name.StartsWith(s, StringComparison.OrdinalIgnoreCase))
                return $"; did you mean '{s}'?";
        return "";
    }
}
