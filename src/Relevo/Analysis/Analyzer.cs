namespace Relevo.Analysis;

/// <summary>Turns text into a sequence of index terms. Instances are stateless and shared across threads.</summary>
internal abstract class Analyzer
{
    /// <summary>The names <see cref="Create"/> accepts, in the order they are listed to users.</summary>
    public static IReadOnlyList<string> KnownNames { get; } = ["english", "lowercase", "whitespace"];

    /// <summary>The name this analyzer is created and stored under ("english", "lowercase", "whitespace").</summary>
    public abstract string Name { get; }

    /// <summary>Emits the terms of <paramref name="text"/> to <paramref name="sink"/>; allocates nothing per token.</summary>
    public abstract void Analyze(ReadOnlySpan<char> text, ITermSink sink);

    /// <summary>Convenience for tests and tools: the terms of <paramref name="text"/> as strings.</summary>
    public List<string> Terms(string text)
    {
        var sink = new ListSink();
        Analyze(text, sink);
        return sink.Terms;
    }

    /// <summary>The analyzer called <paramref name="name"/> (case-insensitive), or a RelevoException naming the known ones.</summary>
    public static Analyzer Create(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Trim().ToLowerInvariant() switch
        {
            "english" => EnglishAnalyzer.Instance,
            "lowercase" => LowercaseAnalyzer.Instance,
            "whitespace" => WhitespaceAnalyzer.Instance,
            _ => throw new RelevoException($"unknown analyzer '{name}'; known analyzers: {string.Join(", ", KnownNames)}"),
        };
    }

    public override string ToString() => Name;

    private sealed class ListSink : ITermSink
    {
        public List<string> Terms { get; } = [];
        public void OnTerm(ReadOnlySpan<char> term) => Terms.Add(term.ToString());
    }
}
