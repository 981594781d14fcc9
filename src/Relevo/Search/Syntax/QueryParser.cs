using System.Globalization;
using System.Text;

namespace Relevo.Search.Syntax;

/// <summary>A query that the classic syntax does not allow. The message reads "query column N: ..." and says what
/// was expected and what was found there, so a user can fix the query without a stack trace.</summary>
internal sealed class QuerySyntaxException : RelevoException
{
    /// <summary>The 1-based column (UTF-16 code unit) where the problem was found: the offending token, or one past
    /// the last character when the query ended too early. An earlier column involved (an unclosed '(', '"' or '[',
    /// a dangling operator) is named in the message.</summary>
    public int Column { get; }

    /// <summary>An error at <paramref name="column"/>; the message gets the "query column N: " prefix.</summary>
    public QuerySyntaxException(int column, string message) : base($"query column {column}: {message}") => Column = column;
}

/// <summary>Reads the Lucene classic query syntax into a <see cref="QueryNode"/> tree, with the semantics of Lucene
/// 4.8's classic QueryParser and default operator OR (tests check it against Lucene.NET's parser). Supported: terms,
/// <c>field:term</c>, <c>"phrases"~slop</c>, <c>field:(groups)</c>, <c>field:[a TO b}</c> ranges, <c>^boost</c>,
/// <c>+</c>/<c>-</c>/<c>!</c>/<c>NOT</c>, <c>AND</c>/<c>&amp;&amp;</c>/<c>OR</c>/<c>||</c>, backslash escapes.
/// <para>AND and OR are not precedence operators: as Lucene's <c>QueryParserBase.AddClause</c>, each clause is added
/// left to right; AND makes the previous clause required (unless it is prohibited) and the new one required (unless
/// prohibited), OR changes nothing. So <c>a AND b OR c</c> is <c>+a +b c</c> and <c>a OR b AND c</c> is
/// <c>a +b +c</c>.</para>
/// <para>A query (or group) of one clause without a modifier is that clause's node; a group's boost replaces the boost
/// of the node it yields, as Lucene's <c>setBoost</c> does (<c>(a^3)^2</c> is <c>a^2</c>). A '+', '-' or '!'
/// followed by white space is a term of its own (Lucene's BAREOPER), so <c>a - b</c> has the three terms a, -, b.</para>
/// <para>Stricter than Lucene, each with a column-precise <see cref="QuerySyntaxException"/>: wildcard, fuzzy and
/// regular-expression queries are refused (a '?' at the end of a word included; escape it); a range needs a field and
/// 'TO'; a boost must be a positive number (digits, optional fraction) and a phrase slop a whole number, each written
/// right after its '^' or '~' and not run into following letters or digits; field names are
/// <c>[A-Za-z_][A-Za-z0-9_.]*</c>. A range end may escape ']', '}' and white space, where Lucene cannot. Queries over
/// <see cref="MaxLength"/> characters or nested deeper than <see cref="MaxDepth"/> groups are refused, which bounds
/// the recursion.</para></summary>
internal static class QueryParser
{
    /// <summary>The longest query text accepted, in characters.</summary>
    public const int MaxLength = 10_000;

    /// <summary>The deepest nesting of parenthesized groups accepted.</summary>
    public const int MaxDepth = 64;

    /// <summary>The query tree of <paramref name="text"/>; a <see cref="QuerySyntaxException"/> when the text is not a
    /// valid query (empty text included).</summary>
    /// <param name="analyzesToNothing">Whether a term or phrase text (in a field, null for the default) analyses to no
    /// words. Lucene's parser analyses each clause as it reads it and leaves out one that yields nothing (a stop word),
    /// so an AND after it makes the clause before it required, and a group of such clauses disappears. Given, the tree
    /// is built the same way: such clauses are left out (a query of nothing else is an empty boolean node, which
    /// matches nothing). Null: every clause is kept.</param>
    public static QueryNode Parse(string text, Func<string?, string, bool>? analyzesToNothing = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (text.Length > MaxLength)
            throw new QuerySyntaxException(MaxLength + 1, $"the query is longer than {MaxLength} characters");
        if (string.IsNullOrWhiteSpace(text))
            throw new QuerySyntaxException(1, "the query is empty");
        return new Parser(text, Tokenize(text), analyzesToNothing).ParseTopLevel();
    }

    /// <summary>Whether <paramref name="text"/> uses the syntax: holds an operator where Lucene's parser reads one
    /// (quotes, parentheses, '[' or '{', '^', '~', '\', AND/OR/NOT/&amp;&amp;/||, '+' or '-' starting a clause, '!'
    /// starting a clause, '/' starting a clause, '*', '?' inside a word, and a field prefix). Callers keep other text
    /// as a plain bag of words. Natural-language punctuation is not syntax, although Lucene would read some of it:
    /// a '-' or '+' inside a word (COVID-19) or standing alone (5 - 10), a '?' ending a word or standing alone (a
    /// question), a '!' attached to the end of a word, a '/' inside a word (HIV/AIDS), and a colon that is followed
    /// by white space (Objective: ...), that is not directly after a word, or whose word is not a field name (3:1).
    /// Apostrophes, commas, periods and other characters are word characters for Lucene as well.</summary>
    public static bool UsesSyntax(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var tokens = Tokenize(text);
        for (int k = 0; k < tokens.Count; k++)
        {
            var t = tokens[k];
            bool syntax = t.Kind switch
            {
                Kind.And or Kind.Or or Kind.Plus or Kind.Minus or Kind.LeftParen or Kind.RightParen or Kind.Caret
                    or Kind.Tilde or Kind.Quoted or Kind.RangeStart or Kind.UnclosedQuote or Kind.DanglingEscape => true,
                Kind.Not => text[t.Start] != '!' || StartsClause(text, t.Start),
                Kind.Slash => StartsClause(text, t.Start),
                Kind.Colon => k > 0 && tokens[k - 1].Kind == Kind.Term && tokens[k - 1].End == t.Start
                    && IsFieldName(text[tokens[k - 1].Start..tokens[k - 1].End])
                    && t.End < text.Length && !IsSpace(text[t.End]),
                Kind.Term => text.AsSpan(t.Start, t.End - t.Start).Contains('\\'),
                Kind.Wildcard => IsWildcard(text[t.Start..t.End]),
                _ => false,
            };
            if (syntax) return true;
        }
        return false;

        // a word with '*', or with '?' before its end (a '?' or '?'s ending a word are a question's punctuation)
        static bool IsWildcard(string word) =>
            word.Contains('\\') || word.TrimEnd('?').AsSpan().IndexOfAny('*', '?') >= 0;
    }

    // ---- tokens: Lucene's token kinds (QueryParser.jj), each with its span in the text ----

    /// <summary>Token kinds, after Lucene's classic grammar; the last three are lexical errors, reported when the
    /// parser reaches them (as Lucene's token manager does).</summary>
    private enum Kind
    {
        End, Term, Wildcard, Quoted, And, Or, Not, Plus, Minus, BareOperator, LeftParen, RightParen, Colon,
        Caret, Tilde, Slash, RangeStart, RangeTo, RangeWord, RangeQuoted, RangeEnd,
        UnclosedQuote, StrayBracket, DanglingEscape,
    }

    /// <summary>A token: its kind and span [Start, End) in the text; for a lexical error, the message and its column.
    /// A '^' or '~' token spans the characters after it that make its number.</summary>
    private readonly record struct Token(Kind Kind, int Start, int End, string? Error = null, int ErrorColumn = 0)
    {
        public int Column => Start + 1;
    }

    /// <summary>Lucene's white space: the parser skips it between tokens; other Unicode spaces are word characters.</summary>
    private static bool IsSpace(char c) => c is ' ' or '\t' or '\n' or '\r' or '\u3000';

    /// <summary>A character that can start a word (Lucene's _TERM_START_CHAR, escapes aside).</summary>
    private static bool IsWordStart(char c) => !IsSpace(c) && c is not ('+' or '-' or '!' or '(' or ')' or ':' or '^'
        or '[' or ']' or '"' or '{' or '}' or '~' or '*' or '?' or '\\' or '/');

    /// <summary>A character that can continue a word (Lucene's _TERM_CHAR): also '+' and '-', so COVID-19 is one word.</summary>
    private static bool IsWordChar(char c) => IsWordStart(c) || c is '+' or '-';

    /// <summary>A character of the number after '^' or '~'; letters and ',' are taken too, so that "^2b" or "~1,5" is
    /// reported as a bad number rather than read as a number and another word.</summary>
    private static bool IsNumberChar(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or ',' or '_';

    /// <summary>Whether position <paramref name="i"/> starts a clause in the text's look: at the start, after white
    /// space or after '('.</summary>
    private static bool StartsClause(string text, int i) => i == 0 || IsSpace(text[i - 1]) || text[i - 1] == '(';

    /// <summary>A field name: a letter or '_', then letters, digits, '_' or '.'.</summary>
    private static bool IsFieldName(string name) =>
        name.Length > 0 && (char.IsAsciiLetter(name[0]) || name[0] == '_')
        && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.');

    /// <summary>The tokens of the whole text, ending with <see cref="Kind.End"/>. As Lucene's token manager: after '['
    /// or '{' the range state (ends, 'TO', quoted ends) until ']' or '}'; longest match, keywords only as whole
    /// words. Lexical errors become error tokens and the scan goes on (<see cref="UsesSyntax"/> reads past them).</summary>
    private static List<Token> Tokenize(string text)
    {
        var tokens = new List<Token>();
        int n = text.Length, i = 0;
        bool inRange = false;
        while (true)
        {
            while (i < n && IsSpace(text[i])) i++;
            if (i == n) break;
            int start = i;
            char c = text[i];
            if (inRange)
            {
                if (c is ']' or '}') { tokens.Add(new(Kind.RangeEnd, i, ++i)); inRange = false; }
                else if (c == '"') i = Quoted(Kind.RangeQuoted, "quoted range end");
                else
                {
                    while (i < n && !IsSpace(text[i]) && text[i] is not (']' or '}') && !(text[i] == '\\' && i + 1 == n))
                        i += text[i] == '\\' ? 2 : 1;
                    if (i < n && text[i] == '\\')
                        i = DanglingEscape(i);
                    else
                        tokens.Add(new(text.AsSpan(start, i - start) is "TO" ? Kind.RangeTo : Kind.RangeWord, start, i));
                }
                continue;
            }
            switch (c)
            {
                case '"': i = Quoted(Kind.Quoted, "phrase"); break;
                case '(': tokens.Add(new(Kind.LeftParen, i, ++i)); break;
                case ')': tokens.Add(new(Kind.RightParen, i, ++i)); break;
                case ':': tokens.Add(new(Kind.Colon, i, ++i)); break;
                case '/': tokens.Add(new(Kind.Slash, i, ++i)); break;
                case '^' or '~':
                    for (i++; i < n && IsNumberChar(text[i]); i++) { }
                    tokens.Add(new(c == '^' ? Kind.Caret : Kind.Tilde, start, i));
                    break;
                case '[' or '{': tokens.Add(new(Kind.RangeStart, i, ++i)); inRange = true; break;
                case ']' or '}':
                    i++;
                    tokens.Add(new(Kind.StrayBracket, start, i, $"'{c}' closes no range (write '\\{c}' to search for it)", start + 1));
                    break;
                case '+' or '-' or '!':
                    if (i + 1 < n && IsSpace(text[i + 1])) tokens.Add(new(Kind.BareOperator, i, i += 2));
                    else tokens.Add(new(c switch { '+' => Kind.Plus, '-' => Kind.Minus, _ => Kind.Not }, i, ++i));
                    break;
                default: i = Word(); break;
            }
        }
        tokens.Add(new(Kind.End, n, n));
        return tokens;

        // a word from start: word characters, escapes, '*' and '?' (then a wildcard); AND/OR/NOT/&&/|| when whole
        int Word()
        {
            int wordStart = i, j = i;
            bool wildcard = false;
            while (j < n)
            {
                char ch = text[j];
                if (ch == '\\')
                {
                    if (j + 1 == n) break;
                    j += 2;
                }
                else if (ch is '*' or '?') { wildcard = true; j++; }
                else if (IsWordChar(ch)) j++;
                else break;
            }
            if (j > wordStart)
            {
                var word = text.AsSpan(wordStart, j - wordStart);
                var kind = wildcard ? Kind.Wildcard
                    : word is "AND" or "&&" ? Kind.And
                    : word is "OR" or "||" ? Kind.Or
                    : word is "NOT" ? Kind.Not
                    : Kind.Term;
                tokens.Add(new(kind, wordStart, j));
            }
            return j < n && text[j] == '\\' ? DanglingEscape(j) : j;
        }

        // a '\' as the last character: an error token, and the scan ends
        int DanglingEscape(int at)
        {
            tokens.Add(new(Kind.DanglingEscape, at, n, "'\\' at the end of the query escapes nothing", at + 1));
            return n;
        }

        // a quoted text from '"' at i, escapes inside; unclosed, an error token reported at the end
        int Quoted(Kind kind, string what)
        {
            int j = i + 1;
            while (j < n && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
            if (j >= n)
            {
                tokens.Add(new(Kind.UnclosedQuote, i, n,
                    $"expected '\"' to close the {what} opened at column {i + 1}, found the end of the query", n + 1));
                return n;
            }
            tokens.Add(new(kind, i, j + 1));
            return j + 1;
        }
    }

    /// <summary>A recursive-descent parser over the tokens, rule for rule Lucene's Query, Clause and Term
    /// productions.</summary>
    private sealed class Parser(string text, List<Token> tokens, Func<string?, string, bool>? analyzesToNothing)
    {
        private int _pos;

        /// <summary>Query := Modifiers Clause (Conjunction Modifiers Clause)* EOF.</summary>
        public QueryNode ParseTopLevel()
        {
            int start = Peek().Column;
            var query = ParseQuery(null, 0, start);
            var t = Peek();
            if (t.Kind == Kind.RightParen)
                throw new QuerySyntaxException(t.Column, "found ')' without a '(' before it to close");
            if (t.Kind != Kind.End)
                throw new QuerySyntaxException(t.Column, $"expected a term, phrase, group or the end of the query, found {Describe(t)}");
            return query ?? new BooleanNode([], 1, start);
        }

        /// <summary>The token <paramref name="ahead"/> places on (End past the end); a lexical error throws here,
        /// when the parser reaches it.</summary>
        private Token Peek(int ahead = 0)
        {
            var t = tokens[Math.Min(_pos + ahead, tokens.Count - 1)];
            if (t.Error is not null) throw new QuerySyntaxException(t.ErrorColumn, t.Error);
            return t;
        }

        /// <summary>Clauses until a token that cannot continue them (')' or the end), combined as Lucene's
        /// <c>AddClause</c> with default operator OR. One clause without a modifier is returned as it is.</summary>
        /// <param name="field">The field of a <c>field:(...)</c> group, for the clauses that name none.</param>
        /// <param name="column">The column of a boolean node made here: the group's start.</param>
        private QueryNode? ParseQuery(string? field, int depth, int column)
        {
            var clauses = new List<Clause>();
            Occur? modifier = Modifier();
            var node = ParseClause(field, depth);
            if (node is not null) clauses.Add(new Clause(modifier ?? Occur.Should, node));
            var first = modifier is null ? node : null; // Lucene's firstQuery
            while (Peek().Kind is Kind.And or Kind.Or or Kind.Not or Kind.Plus or Kind.Minus or Kind.BareOperator
                   or Kind.LeftParen or Kind.Term or Kind.Wildcard or Kind.Quoted or Kind.Slash or Kind.RangeStart)
            {
                var conjunction = Peek().Kind;
                if (conjunction is Kind.And or Kind.Or) _pos++;
                modifier = Modifier();
                node = ParseClause(field, depth);
                // as Lucene's AddClause: AND requires the last clause kept, even when the new one is left out
                if (conjunction == Kind.And && clauses.Count > 0 && clauses[^1].Occur != Occur.MustNot)
                    clauses[^1] = clauses[^1] with { Occur = Occur.Must };
                if (node is not null) clauses.Add(new Clause(modifier ?? (conjunction == Kind.And ? Occur.Must : Occur.Should), node));
            }
            if (clauses.Count == 1 && first is not null) return first;
            return clauses.Count == 0 ? null : new BooleanNode(clauses, 1, column);
        }

        /// <summary>Modifiers := ['+' | '-' | '!' | 'NOT'], at most one.</summary>
        private Occur? Modifier()
        {
            Occur? occur = Peek().Kind switch { Kind.Plus => Occur.Must, Kind.Minus or Kind.Not => Occur.MustNot, _ => null };
            if (occur is not null) _pos++;
            return occur;
        }

        /// <summary>Clause := [field ':'] (Term | '(' Query ')' ['^' boost]).</summary>
        private QueryNode? ParseClause(string? field, int depth)
        {
            var first = Peek();
            int column = first.Column;
            if (first.Kind == Kind.Term && Peek(1).Kind == Kind.Colon)
            {
                field = Unescape(first.Start, first.End);
                if (!IsFieldName(field))
                    throw new QuerySyntaxException(column,
                        $"'{field}' is not a field name (a letter or '_', then letters, digits, '_' or '.')");
                _pos += 2;
            }
            var t = Peek();
            switch (t.Kind)
            {
                case Kind.Term or Kind.BareOperator:
                {
                    _pos++;
                    string term = t.Kind == Kind.BareOperator ? text[t.Start].ToString() : Unescape(t.Start, t.End);
                    RefuseFuzzy();
                    float boost = Boost();
                    RefuseFuzzy(); // Lucene takes "term^2~" as fuzzy too
                    return analyzesToNothing?.Invoke(field, term) == true ? null : new TermNode(field, term, boost, column);
                }
                case Kind.Quoted:
                {
                    _pos++;
                    string phrase = Unescape(t.Start + 1, t.End - 1);
                    int slop = Slop();
                    float boost = Boost();
                    return analyzesToNothing?.Invoke(field, phrase) == true ? null : new PhraseNode(field, phrase, slop, boost, column);
                }
                case Kind.RangeStart:
                    return ParseRange(field, column);
                case Kind.LeftParen:
                {
                    if (depth >= MaxDepth)
                        throw new QuerySyntaxException(t.Column, $"groups are nested deeper than {MaxDepth} levels");
                    _pos++;
                    var inner = ParseQuery(field, depth + 1, column);
                    var close = Peek();
                    if (close.Kind != Kind.RightParen)
                        throw new QuerySyntaxException(close.Column,
                            $"expected ')' to close the group opened at column {t.Column}, found {Describe(close)}");
                    _pos++;
                    if (Peek().Kind != Kind.Caret) return inner;
                    float boost = Boost();
                    return inner is null ? null : WithBoost(inner, boost);
                }
                case Kind.Wildcard:
                {
                    int at = t.Start;
                    while (text[at] is not ('*' or '?')) at += text[at] == '\\' ? 2 : 1;
                    throw new QuerySyntaxException(at + 1,
                        $"wildcard queries are not supported (write '\\{text[at]}' to search for '{text[at]}')");
                }
                case Kind.Slash:
                    throw new QuerySyntaxException(t.Column, "regular-expression queries are not supported (write '\\/' to search for '/')");
                default:
                {
                    if (_pos == 0 && t.Kind == Kind.End)
                        throw new QuerySyntaxException(1, "the query is empty");
                    string after = _pos == 0 ? "" : $" after {DescribePrevious()}";
                    throw new QuerySyntaxException(t.Column, $"expected a term, phrase or group{after}, found {Describe(t)}");
                }
            }
        }

        /// <summary>Range := ('[' | '{') end 'TO' end (']' | '}') ['^' boost], an end being a word, a quoted text or '*'
        /// (open).</summary>
        private RangeNode ParseRange(string? field, int column)
        {
            var open = Peek();
            _pos++;
            if (field is null)
                throw new QuerySyntaxException(column, "a range needs a field, as in year:[2015 TO 2020]");
            string? lower = RangeEnd(open, "lower");
            var to = Peek();
            if (to.Kind != Kind.RangeTo)
                throw to.Kind == Kind.End ? Unclosed(open, to)
                    : new QuerySyntaxException(to.Column, $"expected 'TO' after the range's lower end, found {Describe(to)}");
            _pos++;
            string? upper = RangeEnd(open, "upper");
            var close = Peek();
            if (close.Kind != Kind.RangeEnd) throw Unclosed(open, close);
            _pos++;
            return new RangeNode(field, lower, upper, text[open.Start] == '[', text[close.Start] == ']', Boost(), column);
        }

        /// <summary>One end of a range: null for '*', else the text (escapes resolved; a quoted "*" is the text *).</summary>
        private string? RangeEnd(Token open, string which)
        {
            var t = Peek();
            switch (t.Kind)
            {
                case Kind.RangeWord:
                    _pos++;
                    return text.AsSpan(t.Start, t.End - t.Start) is "*" ? null : Unescape(t.Start, t.End);
                case Kind.RangeQuoted:
                    _pos++;
                    return Unescape(t.Start + 1, t.End - 1);
                case Kind.End:
                    throw Unclosed(open, t);
                default:
                    throw new QuerySyntaxException(t.Column, $"expected the range's {which} end, found {Describe(t)}");
            }
        }

        /// <summary>The error for a range not closed where <paramref name="found"/> stands.</summary>
        private QuerySyntaxException Unclosed(Token open, Token found) =>
            new(found.Column, $"expected ']' or '}}' to close the range opened at column {open.Column}, found {Describe(found)}");

        /// <summary>An optional '^' boost: a positive number, digits with an optional fraction; 1 when none.</summary>
        private float Boost()
        {
            var t = Peek();
            if (t.Kind != Kind.Caret) return 1;
            _pos++;
            string number = text[(t.Start + 1)..t.End];
            if (number.Length == 0)
                throw new QuerySyntaxException(t.Column + 1, $"expected a positive number after '^', found {DescribeAt(t.End)}");
            if (!IsDecimal(number) || !float.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out float boost)
                || !(boost > 0) || float.IsInfinity(boost))
                throw new QuerySyntaxException(t.Column + 1, $"the boost '{number}' is not a positive number");
            return boost;
        }

        /// <summary>An optional '~' phrase slop: a whole number; 0 when none.</summary>
        private int Slop()
        {
            var t = Peek();
            if (t.Kind != Kind.Tilde) return 0;
            _pos++;
            string number = text[(t.Start + 1)..t.End];
            if (number.Length == 0)
                throw new QuerySyntaxException(t.Column + 1, $"expected a whole number (the phrase slop) after '~', found {DescribeAt(t.End)}");
            if (!number.All(char.IsAsciiDigit) || !int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out int slop))
                throw new QuerySyntaxException(t.Column + 1, $"the phrase slop '{number}' is not a whole number");
            return slop;
        }

        /// <summary>A '~' after a term asks for a fuzzy query, which is not supported.</summary>
        private void RefuseFuzzy()
        {
            var t = Peek();
            if (t.Kind == Kind.Tilde)
                throw new QuerySyntaxException(t.Column, "fuzzy queries are not supported (write '\\~' to search for '~')");
        }

        /// <summary>Digits, optionally '.' and digits (Lucene's boost NUMBER).</summary>
        private static bool IsDecimal(string s)
        {
            int dot = s.IndexOf('.');
            return dot < 0 ? s.All(char.IsAsciiDigit)
                : dot > 0 && dot < s.Length - 1 && s[..dot].All(char.IsAsciiDigit) && s[(dot + 1)..].All(char.IsAsciiDigit);
        }

        /// <summary>The node with its boost replaced (a group's boost, as Lucene's <c>setBoost</c>).</summary>
        private static QueryNode WithBoost(QueryNode node, float boost) => node switch
        {
            TermNode t => t with { Boost = boost },
            PhraseNode p => p with { Boost = boost },
            RangeNode r => r with { Boost = boost },
            BooleanNode b => b with { Boost = boost },
            _ => throw new InvalidOperationException(node.GetType().Name),
        };

        /// <summary>The text of [start, end) with escapes resolved: '\' and any character is that character, and
        /// '\uXXXX' is the UTF-16 code unit XXXX (as Lucene's <c>discardEscapeChar</c>).</summary>
        private string Unescape(int start, int end)
        {
            var sb = new StringBuilder(end - start);
            for (int i = start; i < end; i++)
            {
                if (text[i] != '\\') { sb.Append(text[i]); continue; }
                int backslash = i++;
                if (text[i] != 'u') { sb.Append(text[i]); continue; }
                if (i + 4 >= end || !ushort.TryParse(text.AsSpan(i + 1, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ushort unit))
                    throw new QuerySyntaxException(backslash + 1, "expected four hexadecimal digits after '\\u'");
                sb.Append((char)unit);
                i += 4;
            }
            return sb.ToString();
        }

        /// <summary>The token before the current one, for "after ..." in messages: "'AND' at column 3", or for a
        /// field prefix "'title:' at column 1".</summary>
        private string DescribePrevious()
        {
            var previous = tokens[_pos - 1];
            if (previous.Kind == Kind.Colon && _pos >= 2)
            {
                var name = tokens[_pos - 2];
                return $"'{text[name.Start..previous.End]}' at column {name.Column}";
            }
            return $"'{text[previous.Start..previous.End].TrimEnd()}' at column {previous.Column}";
        }

        /// <summary>A token for "found ...": its text in quotes (shortened), or "the end of the query".</summary>
        private string Describe(Token t) => t.Kind == Kind.End ? "the end of the query" : Shorten(text[t.Start..t.End]);

        /// <summary>The character at <paramref name="i"/> for "found ...".</summary>
        private string DescribeAt(int i) =>
            i >= text.Length ? "the end of the query" : IsSpace(text[i]) ? "white space" : Shorten(text[i].ToString());

        private static string Shorten(string s) => "'" + (s.Length > 30 ? s[..30] + "..." : s) + "'";
    }
}
