using System.Globalization;
using System.Text;

namespace Relevo.Search.Syntax;

/// <summary>How a clause takes part in a <see cref="BooleanNode"/>, as Lucene's <c>BooleanClause.Occur</c>:
/// optional (scores when it matches), required, or excluded.</summary>
internal enum Occur { Should, Must, MustNot }

/// <summary>One clause of a <see cref="BooleanNode"/>: a sub-query and how it takes part.</summary>
internal sealed record Clause(Occur Occur, QueryNode Node);

/// <summary>A query in the Lucene classic syntax, as <see cref="QueryParser"/> reads it: terms and phrases are kept as
/// typed (escapes resolved, not analyzed), so the caller analyzes them with the field's analyzer. Boosts are 1 unless
/// the query says otherwise. <see cref="ToString"/> prints the node back in the syntax (for display, run names and
/// tests); parsing that text gives the same tree, columns aside.</summary>
/// <param name="Column">The 1-based column (UTF-16 code unit) in the query text where the node starts: its field
/// prefix if it has one, else its first character (a group's '(').</param>
internal abstract record QueryNode(int Column)
{
    /// <summary>The node in the Lucene classic syntax.</summary>
    public abstract override string ToString();

    /// <summary>"field:" (nothing for the default field).</summary>
    protected static string FieldPrefix(string? field) => field is null ? "" : field + ":";

    /// <summary>"^boost" (nothing for 1), the number written so that the parser reads it back.</summary>
    protected static string BoostSuffix(float boost) => boost == 1 ? "" : "^" + FormatNumber(boost);

    /// <summary>A boost as digits and an optional fraction (the only form the syntax has, so no exponent).</summary>
    internal static string FormatNumber(float value)
    {
        string s = value.ToString(CultureInfo.InvariantCulture);
        return s.Contains('E') ? value.ToString("0.####################", CultureInfo.InvariantCulture) : s;
    }

    /// <summary>A term's text with a backslash before every character that the parser would otherwise read as
    /// syntax: white space, the special characters, '+'/'-' at the start, and a text that is an operator word.</summary>
    protected static string EscapeTerm(string text)
    {
        if (text is "AND" or "OR" or "NOT" or "&&" or "||")
            return "\\" + text;
        var sb = new StringBuilder(text.Length + 4);
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            bool special = c is '\\' or '!' or '(' or ')' or ':' or '^' or '[' or ']' or '"' or '{' or '}' or '~' or '*' or '?' or '/'
                || char.IsWhiteSpace(c) || (i == 0 && c is '+' or '-');
            if (special) sb.Append('\\');
            sb.Append(c);
        }
        return sb.ToString();
    }

    /// <summary>Text between double quotes, with '"' and '\' escaped.</summary>
    protected static string Quote(string text) =>
        "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}

/// <summary>A single term, as typed (escapes resolved, not analyzed): <c>word</c>, <c>title:word</c>, <c>word^2</c>.</summary>
/// <param name="Field">The field; null for the default field(s).</param>
internal sealed record TermNode(string? Field, string Text, float Boost, int Column) : QueryNode(Column)
{
    /// <inheritdoc/>
    public override string ToString() => FieldPrefix(Field) + EscapeTerm(Text) + BoostSuffix(Boost);
}

/// <summary>A quoted phrase: <c>"a b"</c>, <c>title:"a b"~2^1.5</c>. <see cref="Text"/> is what stood between the quotes
/// (escapes resolved); the caller analyzes it into the phrase's terms.</summary>
/// <param name="Slop">How many positions the terms may move (Lucene's phrase slop); 0 for an exact phrase.</param>
internal sealed record PhraseNode(string? Field, string Text, int Slop, float Boost, int Column) : QueryNode(Column)
{
    /// <inheritdoc/>
    public override string ToString() =>
        FieldPrefix(Field) + Quote(Text) + (Slop > 0 ? "~" + Slop.ToString(CultureInfo.InvariantCulture) : "") + BoostSuffix(Boost);
}

/// <summary>A term range on a field: <c>year:[2015 TO 2020]</c> (inclusive), <c>{a TO b}</c> (exclusive), or mixed
/// <c>[a TO b}</c>. The ends are compared as terms (not analyzed).</summary>
/// <param name="Lower">The lower end; null when open ('*').</param>
/// <param name="Upper">The upper end; null when open ('*').</param>
internal sealed record RangeNode(string Field, string? Lower, string? Upper, bool IncludeLower, bool IncludeUpper, float Boost, int Column)
    : QueryNode(Column)
{
    /// <inheritdoc/>
    public override string ToString() =>
        Field + ":" + (IncludeLower ? "[" : "{") + End(Lower) + " TO " + End(Upper) + (IncludeUpper ? "]" : "}") + BoostSuffix(Boost);

    /// <summary>An end as the parser reads it back: '*' when open, quoted when it would otherwise be read as something
    /// else (empty, '*', 'TO', white space, quotes, brackets, backslashes).</summary>
    private static string End(string? end)
    {
        if (end is null) return "*";
        bool plain = end.Length > 0 && end is not ("*" or "TO")
            && !end.Any(c => char.IsWhiteSpace(c) || c is '"' or '\\' or '[' or ']' or '{' or '}');
        return plain ? end : Quote(end);
    }
}

/// <summary>Clauses combined as Lucene's BooleanQuery: <c>+a -b c</c>, a group <c>(a b)^2</c>. Equality compares the
/// clauses in order (not the list's identity).</summary>
internal sealed record BooleanNode(IReadOnlyList<Clause> Clauses, float Boost, int Column) : QueryNode(Column)
{
    /// <inheritdoc/>
    public override string ToString()
    {
        string body = Body();
        return Boost == 1 ? body : "(" + body + ")" + BoostSuffix(Boost);
    }

    /// <summary>The clauses, space separated, each with its '+'/'-' and nested boolean nodes in parentheses.</summary>
    private string Body()
    {
        var sb = new StringBuilder();
        foreach (var clause in Clauses)
        {
            if (sb.Length > 0) sb.Append(' ');
            sb.Append(clause.Occur switch { Occur.Must => "+", Occur.MustNot => "-", _ => "" });
            if (clause.Node is BooleanNode inner)
                sb.Append('(').Append(inner.Body()).Append(')').Append(BoostSuffix(inner.Boost));
            else
                sb.Append(clause.Node);
        }
        return sb.ToString();
    }

    /// <summary>Same boost, column and clauses (in order).</summary>
    public bool Equals(BooleanNode? other) =>
        other is not null && Boost == other.Boost && Column == other.Column && Clauses.SequenceEqual(other.Clauses);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add(Boost);
        hash.Add(Column);
        foreach (var clause in Clauses) hash.Add(clause);
        return hash.ToHashCode();
    }
}
