using System.Globalization;

namespace Relevo.Pipelines;

/// <summary>One stage as written in a pipeline, for its factory: the name, named arguments (read with checks that
/// name the argument and point at its column) and positional arguments (nested pipelines or bare words). A factory
/// first declares the named arguments it takes with <see cref="Accept"/>; any other is an error.</summary>
public sealed class StageSyntax
{
    private readonly string _text;
    private readonly PipelineParser.Node _node;
    private readonly ExtensionRegistry _registry;
    private readonly Dictionary<string, PipelineParser.Value> _named = new(StringComparer.Ordinal);
    private readonly List<PipelineParser.Arg> _positional = [];
    private bool _accepted;

    internal StageSyntax(string text, PipelineParser.Node node, ExtensionRegistry registry)
    {
        _text = text;
        _node = node;
        _registry = registry;
        foreach (var a in node.Args)
        {
            if (a.Key is null) { _positional.Add(a); continue; }
            if (!_named.TryAdd(a.Key, a.Value! with { KeyColumn = a.Column })) throw Error(a.Column, $"'{a.Key}' is given twice");
        }
    }

    /// <summary>The stage name as written.</summary>
    public string Name => _node.Name;

    /// <summary>The 1-based column where the stage starts.</summary>
    public int Column => _node.Column;

    /// <summary>The registry the pipeline is parsed with (what the host allows, e.g. model paths).</summary>
    internal ExtensionRegistry Registry => _registry;

    /// <summary>An error at <paramref name="column"/> of the pipeline text, to throw.</summary>
    public PipelineSyntaxException Error(int column, string problem) => new(_text, column, problem, _registry.StageList);

    /// <summary>Declares the named arguments this stage takes; any other given is an error listing these.</summary>
    public void Accept(params string[] names)
    {
        _accepted = true;
        foreach (var (key, v) in _named)
            if (Array.IndexOf(names, key) < 0)
                throw Error(v.KeyColumn, names.Length == 0
                    ? $"{Name} takes no named arguments"
                    : $"{Name} has no argument '{key}' ({string.Join(", ", names)})");
    }

    internal void CheckAccepted()
    {
        if (!_accepted) Accept();
    }

    /// <summary>Whether a named argument is given.</summary>
    public bool Has(string key) => _named.ContainsKey(key);

    /// <summary>The column of a given named argument's value (for errors about it).</summary>
    public int ColumnOf(string key) => _named.TryGetValue(key, out var v) ? v.Column : Column;

    /// <summary>A text argument (one value), or null when not given.</summary>
    public string? String(string key) =>
        _named.TryGetValue(key, out var v) ? v.Scalar ?? throw Error(v.Column, $"{key} takes one value, not a list") : null;

    /// <summary>A finite number within [min, max].</summary>
    public float Float(string key, float defaultValue, double min, double max)
    {
        if (!_named.TryGetValue(key, out var v)) return defaultValue;
        if (v.Scalar is null || !double.TryParse(v.Scalar, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
            throw Error(v.Column, $"{Name}: {key} must be a number");
        if (d < min || d > max)
            throw Error(v.Column, $"{Name}: {key} must be within [{Num(min)}, {Num(max)}]");
        return (float)d;
    }

    /// <summary>A true/false argument.</summary>
    public bool Bool(string key, bool defaultValue)
    {
        if (!_named.TryGetValue(key, out var v)) return defaultValue;
        return v.Scalar switch
        {
            "true" => true,
            "false" => false,
            _ => throw Error(v.Column, $"{Name}: {key} must be true or false"),
        };
    }

    /// <summary>A whole number within [min, max].</summary>
    public int Int(string key, int defaultValue, int min, int max = int.MaxValue)
    {
        if (!_named.TryGetValue(key, out var v)) return defaultValue;
        if (v.Scalar is null || !int.TryParse(v.Scalar, NumberStyles.Integer, CultureInfo.InvariantCulture, out int i))
            throw Error(v.Column, $"{Name}: {key} must be a whole number");
        if (i < min) throw Error(v.Column, $"{Name}: {key} must be at least {min}");
        if (i > max) throw Error(v.Column, $"{Name}: {key} must be at most {max}");
        return i;
    }

    /// <summary>A list of finite numbers within [min, max] (a single value counts as a list of one).</summary>
    public IReadOnlyList<double>? Numbers(string key, double min, double max)
    {
        if (!_named.TryGetValue(key, out var v)) return null;
        var list = new List<double>();
        foreach (var (item, col) in Items(key)!)
        {
            if (!double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) || !double.IsFinite(d))
                throw Error(col, $"{Name}: {key} must be numbers, found '{item}'");
            if (d < min || d > max) throw Error(col, $"{Name}: {key} must be within [{Num(min)}, {Num(max)}], found '{item}'");
            list.Add(d);
        }
        return list;
    }

    /// <summary>The items of a list argument with their columns (a single value counts as a list of one).</summary>
    public IReadOnlyList<(string Item, int Column)>? Items(string key)
    {
        if (!_named.TryGetValue(key, out var v)) return null;
        return v.List ?? (v.Scalar is { } s ? [(s, v.Column)] : []);
    }

    /// <summary>How many positional arguments are given.</summary>
    public int PositionalCount => _positional.Count;

    /// <summary>The column where positional argument <paramref name="i"/> starts.</summary>
    public int PositionalColumn(int i) => _positional[i].Column;

    /// <summary>An error unless no positional argument is given.</summary>
    public void NoPositional()
    {
        if (_positional.Count > 0) throw Error(_positional[0].Column, $"{Name} takes only named arguments (name=value)");
    }

    /// <summary>Positional argument <paramref name="i"/> built as a pipeline.</summary>
    public Stage Pipeline(int i) => PipelineParser.Build(_text, _positional[i].Pipeline!, _registry);

    /// <summary>Positional argument <paramref name="i"/> if it is a single stage (no <c>&gt;&gt;</c>), as syntax; else null.</summary>
    public StageSyntax? Single(int i) =>
        _positional[i].Pipeline is [var node] ? new StageSyntax(_text, node, _registry) : null;

    /// <summary>Positional argument <paramref name="i"/> if it is a bare word (a name without arguments), with its column.</summary>
    public (string Word, int Column)? Word(int i) =>
        _positional[i].Pipeline is [{ Args.Count: 0 } node] ? (node.Name, node.Column) : null;

    /// <summary>Builds this syntax's node as a stage through the registry (under another name when given).</summary>
    public Stage Build(string? asName = null) =>
        PipelineParser.BuildNode(_text, asName is null ? _node : _node with { Name = asName }, _registry);

    private static string Num(double v) => v.ToString(CultureInfo.InvariantCulture);
}
