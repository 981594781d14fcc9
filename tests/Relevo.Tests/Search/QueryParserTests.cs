using System.Globalization;
using System.Text;
using Lucene.Net.Analysis.Core;
using Lucene.Net.Util;
using Relevo.Search.Syntax;
using Xunit.Abstractions;
using LQ = Lucene.Net.Search;
using LuceneQueryParser = Lucene.Net.QueryParsers.Classic.QueryParser;

namespace Relevo.Tests.Search;

/// <summary>The classic query syntax parser: each construct and error by hand, then the structure of hand-picked and
/// random queries against Lucene.NET 4.8's classic QueryParser (default operator OR), and UsesSyntax on natural
/// language and on each operator.</summary>
public class QueryParserTests(ITestOutputHelper output)
{
    // ---- constructs: the parsed tree printed back (ToString is Lucene syntax; the default field prints bare) ----

    [Theory]
    [InlineData("foo", "foo")]
    [InlineData("title:foo", "title:foo")]
    [InlineData("title : foo", "title:foo")]
    [InlineData("COVID-19", "COVID-19")]
    [InlineData("c++ R&D don't e.g. 50%", "c++ R&D don't e.g. 50%")]
    [InlineData("foo^2", "foo^2")]
    [InlineData("foo ^2", "foo^2")]
    [InlineData("foo^1.5", "foo^1.5")]
    [InlineData("\"a b\"", "\"a b\"")]
    [InlineData("title:\"a b\"~2^1.5", "title:\"a b\"~2^1.5")]
    [InlineData("\"a b\" ~3", "\"a b\"~3")]
    [InlineData("\"a b\"~0", "\"a b\"")]
    [InlineData("\"say \\\"hi\\\" (now)\"", "\"say \\\"hi\\\" (now)\"")]
    [InlineData("a b", "a b")]
    [InlineData("+a -b c", "+a -b c")]
    [InlineData("!a", "-a")]
    [InlineData("NOT a b", "-a b")]
    [InlineData("a !b", "a -b")]
    [InlineData("a!b", "a -b")]
    [InlineData("a AND b", "+a +b")]
    [InlineData("a && b", "+a +b")]
    [InlineData("a OR b", "a b")]
    [InlineData("a || b", "a b")]
    [InlineData("a OR b AND c", "a +b +c")]
    [InlineData("a AND b OR c", "+a +b c")]
    [InlineData("a b AND c d", "a +b +c d")]
    [InlineData("a AND NOT b", "+a -b")]
    [InlineData("NOT a AND b", "-a +b")]
    [InlineData("-a AND b", "-a +b")]
    [InlineData("+a OR b", "+a b")]
    [InlineData("a AND -b OR c", "+a -b c")]
    [InlineData("(a b) c", "(a b) c")]
    [InlineData("+title:foo -bar \"a b\"~2 (c d)^2", "+title:foo -bar \"a b\"~2 (c d)^2")]
    [InlineData("(a b)^2", "(a b)^2")]
    [InlineData("title:(a b body:c)", "title:a title:b body:c")]
    [InlineData("title:(a (b body:(c d)))", "title:a (title:b (body:c body:d))")]
    [InlineData("(a)", "a")]
    [InlineData("((a))", "a")]
    [InlineData("(a)^2", "a^2")]
    [InlineData("(a^3)^2", "a^2")]
    [InlineData("(+a)^2", "(+a)^2")]
    [InlineData("((a b)^3)^2", "(a b)^2")]
    [InlineData("+a", "+a")]
    [InlineData("-a", "-a")]
    [InlineData("a(b)c", "a b c")]
    [InlineData("a - b", "a \\- b")]
    [InlineData("a + b ! c", "a \\+ b \\! c")]
    [InlineData("a && b || c", "+a +b c")]
    [InlineData("a&&b a||b", "a&&b a||b")]
    [InlineData("ANDroid ORacle NOTE and or not", "ANDroid ORacle NOTE and or not")]
    [InlineData("\\AND \\&& x", "\\AND \\&& x")]
    [InlineData("a\\:b \\(x\\) \\+1 \\-1 a\\*b q\\? a\\~ a\\^b \\/", "a\\:b \\(x\\) \\+1 \\-1 a\\*b q\\? a\\~ a\\^b \\/")]
    [InlineData("a\\ b", "a\\ b")]
    [InlineData("\\u0041b", "Ab")]
    [InlineData("year:[2015 TO 2020]", "year:[2015 TO 2020]")]
    [InlineData("year:{2015 TO 2020}", "year:{2015 TO 2020}")]
    [InlineData("year:[2015 TO 2020}^2", "year:[2015 TO 2020}^2")]
    [InlineData("year:[* TO 2020]", "year:[* TO 2020]")]
    [InlineData("year:{2015 TO *}", "year:{2015 TO *}")]
    [InlineData("d:[\"2015-01-01\" TO \"2016-01-01\"]", "d:[2015-01-01 TO 2016-01-01]")]
    [InlineData("d:[\"*\" TO \"a b\"]", "d:[\"*\" TO \"a b\"]")]
    [InlineData("d:[ a\\]b   TO  TOP ]", "d:[\"a]b\" TO TOP]")]
    [InlineData("d:([a TO b] c)", "d:[a TO b] d:c")]
    [InlineData("x:(y:(z))", "y:z")]
    public void ParsesConstructs(string query, string expected)
    {
        Assert.Equal(expected, QueryParser.Parse(query).ToString());
    }

    [Fact]
    public void NodesCarryFieldsTextsAndColumns()
    {
        var node = Assert.IsType<BooleanNode>(QueryParser.Parse("+title:foo  -\"a\\\" b\"~2 (c d)^2 y:[* TO 5}"));
        Assert.Equal(1, node.Column);
        Assert.Equal(4, node.Clauses.Count);
        Assert.Equal(new Clause(Occur.Must, new TermNode("title", "foo", 1, 2)), node.Clauses[0]);
        Assert.Equal(new Clause(Occur.MustNot, new PhraseNode(null, "a\" b", 2, 1, 14)), node.Clauses[1]);
        var group = Assert.IsType<BooleanNode>(node.Clauses[2].Node);
        Assert.Equal(new BooleanNode([new(Occur.Should, new TermNode(null, "c", 1, 25)), new(Occur.Should, new TermNode(null, "d", 1, 27))], 2, 24), group);
        Assert.Equal(new Clause(Occur.Should, new RangeNode("y", null, "5", true, false, 1, 32)), node.Clauses[3]);

        Assert.Equal(new TermNode(null, "foo", 1, 3), QueryParser.Parse("  foo"));
        var fieldGroup = Assert.IsType<BooleanNode>(QueryParser.Parse("x title:(a b)"));
        Assert.Equal(3, fieldGroup.Clauses[1].Node.Column);
        Assert.Equal(new TermNode("title", "a", 1, 10), ((BooleanNode)fieldGroup.Clauses[1].Node).Clauses[0].Node);
        Assert.Equal(new PhraseNode("f", "", 0, 1, 1), QueryParser.Parse("f:\"\""));
    }

    [Fact]
    public void LimitsAreInclusive()
    {
        string nested = new string('(', QueryParser.MaxDepth) + "a" + new string(')', QueryParser.MaxDepth);
        Assert.Equal(new TermNode(null, "a", 1, QueryParser.MaxDepth + 1), QueryParser.Parse(nested));
        string longest = new string('a', QueryParser.MaxLength);
        Assert.Equal(longest, Assert.IsType<TermNode>(QueryParser.Parse(longest)).Text);
    }

    // ---- errors: the column and the whole message ----

    [Theory]
    [InlineData("", 1, "the query is empty")]
    [InlineData(" \t ", 1, "the query is empty")]
    [InlineData("(a b", 5, "expected ')' to close the group opened at column 1, found the end of the query")]
    [InlineData("a (b (c d) e", 13, "expected ')' to close the group opened at column 3, found the end of the query")]
    [InlineData("(a:b:c)", 5, "expected ')' to close the group opened at column 1, found ':'")]
    [InlineData("a b)", 4, "found ')' without a '(' before it to close")]
    [InlineData("\"a b", 5, "expected '\"' to close the phrase opened at column 1, found the end of the query")]
    [InlineData("x \"a b\\\"", 9, "expected '\"' to close the phrase opened at column 3, found the end of the query")]
    [InlineData("d:[a TO b", 10, "expected ']' or '}' to close the range opened at column 3, found the end of the query")]
    [InlineData("d:[a TO b c]", 11, "expected ']' or '}' to close the range opened at column 3, found 'c'")]
    [InlineData("d:[a", 5, "expected ']' or '}' to close the range opened at column 3, found the end of the query")]
    [InlineData("d:[\"a TO b]", 12, "expected '\"' to close the quoted range end opened at column 4, found the end of the query")]
    [InlineData("d:[a b]", 6, "expected 'TO' after the range's lower end, found 'b'")]
    [InlineData("d:[a]", 5, "expected 'TO' after the range's lower end, found ']'")]
    [InlineData("d:[a TO]", 8, "expected the range's upper end, found ']'")]
    [InlineData("d:[TO b]", 4, "expected the range's lower end, found 'TO'")]
    [InlineData("x [a TO b]", 3, "a range needs a field, as in year:[2015 TO 2020]")]
    [InlineData("a^0", 3, "the boost '0' is not a positive number")]
    [InlineData("a^0.0", 3, "the boost '0.0' is not a positive number")]
    [InlineData("a^2b", 3, "the boost '2b' is not a positive number")]
    [InlineData("a^1.5.2", 3, "the boost '1.5.2' is not a positive number")]
    [InlineData("a^.5", 3, "the boost '.5' is not a positive number")]
    [InlineData("a^1,5", 3, "the boost '1,5' is not a positive number")]
    [InlineData("(a b)^1e3", 7, "the boost '1e3' is not a positive number")]
    [InlineData("a^-1", 3, "expected a positive number after '^', found '-'")]
    [InlineData("a^ 2", 3, "expected a positive number after '^', found white space")]
    [InlineData("a^", 3, "expected a positive number after '^', found the end of the query")]
    [InlineData("\"a b\"~1.5", 7, "the phrase slop '1.5' is not a whole number")]
    [InlineData("\"a b\"~99999999999", 7, "the phrase slop '99999999999' is not a whole number")]
    [InlineData("\"a b\"~", 7, "expected a whole number (the phrase slop) after '~', found the end of the query")]
    [InlineData("\"a b\"~-1", 7, "expected a whole number (the phrase slop) after '~', found '-'")]
    [InlineData("\"a b\"^2~3", 8, "expected a term, phrase, group or the end of the query, found '~3'")]
    [InlineData("a AND", 6, "expected a term, phrase or group after 'AND' at column 3, found the end of the query")]
    [InlineData("a AND OR b", 7, "expected a term, phrase or group after 'AND' at column 3, found 'OR'")]
    [InlineData("(a AND)", 7, "expected a term, phrase or group after 'AND' at column 4, found ')'")]
    [InlineData("+", 2, "expected a term, phrase or group after '+' at column 1, found the end of the query")]
    [InlineData("a -", 4, "expected a term, phrase or group after '-' at column 3, found the end of the query")]
    [InlineData("hello!", 7, "expected a term, phrase or group after '!' at column 6, found the end of the query")]
    [InlineData("NOT NOT a", 5, "expected a term, phrase or group after 'NOT' at column 1, found 'NOT'")]
    [InlineData("+-a", 2, "expected a term, phrase or group after '+' at column 1, found '-'")]
    [InlineData("title:", 7, "expected a term, phrase or group after 'title:' at column 1, found the end of the query")]
    [InlineData("title:+a", 7, "expected a term, phrase or group after 'title:' at column 1, found '+'")]
    [InlineData("OR a", 1, "expected a term, phrase or group, found 'OR'")]
    [InlineData("()", 2, "expected a term, phrase or group after '(' at column 1, found ')'")]
    [InlineData("^2", 1, "expected a term, phrase or group, found '^2'")]
    [InlineData("a:b:c", 4, "expected a term, phrase, group or the end of the query, found ':'")]
    [InlineData("3d:x", 1, "'3d' is not a field name (a letter or '_', then letters, digits, '_' or '.')")]
    [InlineData("a b-c:x", 3, "'b-c' is not a field name (a letter or '_', then letters, digits, '_' or '.')")]
    [InlineData("foo*", 4, "wildcard queries are not supported (write '\\*' to search for '*')")]
    [InlineData("x te?t", 5, "wildcard queries are not supported (write '\\?' to search for '?')")]
    [InlineData("is it covid?", 12, "wildcard queries are not supported (write '\\?' to search for '?')")]
    [InlineData("a\\*b*", 5, "wildcard queries are not supported (write '\\*' to search for '*')")]
    [InlineData("*", 1, "wildcard queries are not supported (write '\\*' to search for '*')")]
    [InlineData("*:*", 1, "wildcard queries are not supported (write '\\*' to search for '*')")]
    [InlineData("title:*", 7, "wildcard queries are not supported (write '\\*' to search for '*')")]
    [InlineData("foo~", 4, "fuzzy queries are not supported (write '\\~' to search for '~')")]
    [InlineData("foo~0.8", 4, "fuzzy queries are not supported (write '\\~' to search for '~')")]
    [InlineData("foo ~2", 5, "fuzzy queries are not supported (write '\\~' to search for '~')")]
    [InlineData("foo^2~", 6, "fuzzy queries are not supported (write '\\~' to search for '~')")]
    [InlineData("/ab+/", 1, "regular-expression queries are not supported (write '\\/' to search for '/')")]
    [InlineData("HIV/AIDS", 4, "regular-expression queries are not supported (write '\\/' to search for '/')")]
    [InlineData("a \\", 3, "'\\' at the end of the query escapes nothing")]
    [InlineData("a\\", 2, "'\\' at the end of the query escapes nothing")]
    [InlineData("d:[a TO b\\", 10, "'\\' at the end of the query escapes nothing")]
    [InlineData("a ]", 3, "']' closes no range (write '\\]' to search for it)")]
    [InlineData("a }", 3, "'}' closes no range (write '\\}' to search for it)")]
    [InlineData("a \\u00", 3, "expected four hexadecimal digits after '\\u'")]
    [InlineData("\\unicode", 1, "expected four hexadecimal digits after '\\u'")]
    public void Errors(string query, int column, string message)
    {
        var e = Assert.Throws<QuerySyntaxException>(() => QueryParser.Parse(query));
        Assert.Equal(column, e.Column);
        Assert.Equal($"query column {column}: {message}", e.Message);
        Assert.IsAssignableFrom<RelevoException>(e);
    }

    [Fact]
    public void RefusesTooDeepAndTooLong()
    {
        string nested = new string('(', QueryParser.MaxDepth + 1) + "a" + new string(')', QueryParser.MaxDepth + 1);
        var deep = Assert.Throws<QuerySyntaxException>(() => QueryParser.Parse(nested));
        Assert.Equal(QueryParser.MaxDepth + 1, deep.Column);
        Assert.Equal($"query column 65: groups are nested deeper than 64 levels", deep.Message);

        // a client cannot blow the stack: a deeply nested text is refused, whatever its nesting
        var deeper = Assert.Throws<QuerySyntaxException>(() => QueryParser.Parse(new string('(', 9_000) + "a"));
        Assert.Equal(65, deeper.Column);

        var tooLong = Assert.Throws<QuerySyntaxException>(() => QueryParser.Parse(new string('a', QueryParser.MaxLength + 1)));
        Assert.Equal(QueryParser.MaxLength + 1, tooLong.Column);
        Assert.Equal("query column 10001: the query is longer than 10000 characters", tooLong.Message);
    }

    // ---- UsesSyntax ----

    [Theory]
    [InlineData("")]
    [InlineData("what causes cancer")]
    [InlineData("COVID-19 vaccine efficacy")]
    [InlineData("what is the origin of COVID-19?")]
    [InlineData("Is it safe to take ibuprofen, acetaminophen, and aspirin together?")]
    [InlineData("what's the best way to learn C++?")]
    [InlineData("Why does my dog's nose get dry??")]
    [InlineData("is R&D spending tax-deductible ?")]
    [InlineData("HIV/AIDS treatment in sub-Saharan Africa")]
    [InlineData("Objective: to determine whether vitamin D reduces falls in the elderly.")]
    [InlineData("a 3:1 mixture of water and ethanol")]
    [InlineData("Wow! Does it really work?!")]
    [InlineData("0-dimensional biomaterials show inductive properties.")]
    [InlineData("How long does recovery take - 5 or 10 days?")]
    [InlineData("U.S. inflation rate in 2020, by month; 50% of people don't know")]
    [InlineData("and or not to be")]
    public void PlainTextDoesNotUseSyntax(string text) => Assert.False(QueryParser.UsesSyntax(text));

    [Theory]
    [InlineData("title:cancer")]
    [InlineData("smoking title:\"lung cancer\"")]
    [InlineData("\"long covid\" symptoms")]
    [InlineData("5\" screen")]
    [InlineData("+cancer smoking")]
    [InlineData("smoking -cancer")]
    [InlineData("cancer AND smoking")]
    [InlineData("cancer OR smoking")]
    [InlineData("NOT smoking")]
    [InlineData("cancer && smoking")]
    [InlineData("cancer || smoking")]
    [InlineData("cancer !smoking")]
    [InlineData("(cancer smoking) risk")]
    [InlineData("cancer^2 smoking")]
    [InlineData("year:[2015 TO 2020]")]
    [InlineData("{a TO b}")]
    [InlineData("\"lung cancer\"~2")]
    [InlineData("cancer~")]
    [InlineData("c\\+\\+")]
    [InlineData("canc* risk")]
    [InlineData("c?ncer")]
    [InlineData("/canc.r/")]
    public void OperatorsUseSyntax(string text) => Assert.True(QueryParser.UsesSyntax(text));

    // ---- against Lucene.NET's classic QueryParser ----

    /// <summary>Hand-picked strings where the combination rules, groups, fields, boosts, escapes and ranges interact.</summary>
    public static TheoryData<string> Tricky() =>
    [
        "a AND b", "a OR b AND c", "a AND b OR c", "a b AND c d", "a AND b AND c OR d", "a OR -b AND c",
        "-a AND b", "+a OR b", "NOT a AND b OR c", "a AND NOT b AND c", "a && b || c && !d", "a || -b && +c",
        "(a OR b) AND (c OR d)", "(a AND b) OR (c AND d)", "+(a b) -(c d) e", "a AND (b OR (c AND d))^2",
        "title:(a b -c) body:d", "title:(+a body:(b c)^2)^3", "x:(y:(z))", "title:(a)^2", "(a^3)^2", "(+a)^2",
        "((a b)^3)^0.5", "a^2 b^0.5 \"c d\"^1.5", "\"a b c\"~3^2", "title:\"a b\"~1", "\"a\"~3^2", "\"a\" b",
        "a - b + c ! d", "a - ", "+ a", "a!b", "!a b", "a(b)c", "a\"b c\"d", "(a)(b)", "a ^2", "\"a b\" ~2",
        "a\\:b \\(x\\) \\+1 \\-1 a\\*b q\\? a\\~ a\\^b", "\\AND \\&& x AND y", "a\\ b c", "\\u0041b", "a&&b a||b &",
        "year:[2015 TO 2020] year:{a TO b} y:[a TO b}^2 y:{* TO z]", "d:[\"2015-01-01\" TO \"2016-01-01\"]",
        "d:[\"*\" TO *] d:[a\\: TO b]", "d:([a TO b] c) AND e", "title : foo", "author.name:x _f:y",
        "COVID-19 vaccine efficacy", "ANDroid ORacle NOTE to TO and",
    ];

    [Theory]
    [MemberData(nameof(Tricky))]
    public void MatchesLuceneOnTrickyQueries(string query) => AssertSameAsLucene(query);

    /// <summary>Random queries from a small grammar (operators, modifiers, fields, groups, boosts, phrases, ranges,
    /// escapes, odd spacing); each must parse to Lucene's structure.</summary>
    [Fact]
    public void MatchesLuceneOnRandomQueries()
    {
        var random = new Random(20240611);
        for (int i = 0; i < 600; i++)
        {
            string query = RandomQuery(random, 0);
            AssertSameAsLucene(query);
            // printed back, the tree parses to the same structure
            Assert.Equal(Canonical(QueryParser.Parse(query)), Canonical(QueryParser.Parse(QueryParser.Parse(query).ToString())));
            if (i < 5) output.WriteLine(query);
        }
    }

    /// <summary>Random strings of syntax characters: whatever we accept, Lucene accepts with the same structure
    /// (where we are stricter, we refuse), and every refusal is a QuerySyntaxException with a column inside the text
    /// (or one past it). UsesSyntax never throws.</summary>
    [Fact]
    public void AcceptsOnlyWhatLuceneAcceptsOnRandomStrings()
    {
        string[] pieces = ["a", "b", "a ", " b", "a", " b ", "c ", " d", "T", "O", " TO ", " AND ", " OR ", "NOT ", "AND", " ", " ", " ", "(", ")",
            "\"", ":", "+", "-", "!", "^", "2", "~", "[", "]", "{", "}", "*", "?", "/", " && ", "||", "\\", ".", "x:", "\\u0041"];
        var random = new Random(7);
        int accepted = 0;
        for (int i = 0; i < 10_000; i++)
        {
            var sb = new StringBuilder();
            for (int k = random.Next(1, 12); k > 0; k--) sb.Append(pieces[random.Next(pieces.Length)]);
            string query = sb.ToString();
            QueryParser.UsesSyntax(query);
            QueryNode node;
            try { node = QueryParser.Parse(query); }
            catch (QuerySyntaxException e)
            {
                Assert.InRange(e.Column, 1, query.Length + 1);
                continue;
            }
            string? ours = Canonical(node);
            if (ours is null) continue; // text that analyzes to nothing: Lucene drops the clause
            LQ.Query lucene;
            try { lucene = ParseWithLucene(query); }
            catch (Exception e) { throw new Xunit.Sdk.XunitException($"we accept [{query}] as {node}, Lucene refuses: {e.Message}"); }
            Assert.True(ours == Canonical(lucene), $"[{query}]: ours {ours}, Lucene {Canonical(lucene)}");
            accepted++;
        }
        output.WriteLine($"{accepted} of 10000 random strings accepted and equal to Lucene's parse");
        Assert.True(accepted > 1000);
    }

    private static void AssertSameAsLucene(string query)
    {
        string? ours = Canonical(QueryParser.Parse(query));
        Assert.NotNull(ours);
        Assert.Equal(Canonical(ParseWithLucene(query)), ours);
    }

    private static LQ.Query ParseWithLucene(string query) =>
        new LuceneQueryParser(LuceneVersion.LUCENE_48, "contents", new WhitespaceAnalyzer(LuceneVersion.LUCENE_48))
        {
            // the ends of a range are compared as typed (our parser does not analyze)
            LowercaseExpandedTerms = false,
        }.Parse(query);

    /// <summary>Lucene's query as a canonical string: every boolean query parenthesized, each clause with its occur,
    /// boosts other than 1, range ends quoted ('*' unquoted for an open end).</summary>
    private static string Canonical(LQ.Query query) => query switch
    {
        LQ.TermQuery t => $"{t.Term.Field}:{t.Term.Text}{Boost(t.Boost)}",
        LQ.PhraseQuery p => $"{p.GetTerms()[0].Field}:\"{string.Join(' ', p.GetTerms().Select(t => t.Text))}\"~{p.Slop}{Boost(p.Boost)}",
        LQ.TermRangeQuery r => Range(r.Field, r.LowerTerm?.Utf8ToString(), r.UpperTerm?.Utf8ToString(), r.IncludesLower, r.IncludesUpper, r.Boost),
        LQ.BooleanQuery b => "(" + string.Join(' ', b.Clauses.Select(c => c.Occur switch
        {
            LQ.Occur.MUST => "+",
            LQ.Occur.MUST_NOT => "-",
            _ => "",
        } + Canonical(c.Query))) + ")" + Boost(b.Boost),
        _ => throw new Xunit.Sdk.XunitException($"unexpected Lucene query {query.GetType().Name}: {query}"),
    };

    /// <summary>Our tree in the same canonical form, analyzed as Lucene's WhitespaceAnalyzer would: a phrase of one
    /// word is a term; a term with escaped white space is a boolean query of its words. Null when some text analyzes
    /// to nothing (Lucene then drops the clause, which the tree cannot show).</summary>
    private static string? Canonical(QueryNode node)
    {
        switch (node)
        {
            case TermNode t:
            {
                string field = t.Field ?? "contents";
                string[] words = Words(t.Text);
                return words.Length switch
                {
                    0 => null,
                    1 => $"{field}:{words[0]}{Boost(t.Boost)}",
                    _ => "(" + string.Join(' ', words.Select(w => $"{field}:{w}")) + ")" + Boost(t.Boost),
                };
            }
            case PhraseNode p:
            {
                string field = p.Field ?? "contents";
                string[] words = Words(p.Text);
                return words.Length switch
                {
                    0 => null,
                    1 => $"{field}:{words[0]}{Boost(p.Boost)}",
                    _ => $"{field}:\"{string.Join(' ', words)}\"~{p.Slop}{Boost(p.Boost)}",
                };
            }
            case RangeNode r:
                return Range(r.Field, r.Lower, r.Upper, r.IncludeLower, r.IncludeUpper, r.Boost);
            case BooleanNode b:
            {
                var clauses = new List<string>();
                foreach (var c in b.Clauses)
                {
                    string? inner = Canonical(c.Node);
                    if (inner is null) return null;
                    clauses.Add(c.Occur switch { Occur.Must => "+", Occur.MustNot => "-", _ => "" } + inner);
                }
                return "(" + string.Join(' ', clauses) + ")" + Boost(b.Boost);
            }
            default:
                throw new Xunit.Sdk.XunitException($"unexpected node {node.GetType().Name}");
        }
    }

    private static string[] Words(string text) =>
        text.Split([' ', '\t', '\n', '\r', '\u3000'], StringSplitOptions.RemoveEmptyEntries);

    private static string Range(string field, string? lower, string? upper, bool includeLower, bool includeUpper, float boost) =>
        $"{field}:{(includeLower ? '[' : '{')}{(lower is null ? "*" : $"'{lower}'")} TO {(upper is null ? "*" : $"'{upper}'")}{(includeUpper ? ']' : '}')}{Boost(boost)}";

    private static string Boost(float boost) => boost == 1 ? "" : "^" + boost.ToString("R", CultureInfo.InvariantCulture);

    // ---- the random query grammar ----

    private static readonly string[] RandomWords =
    [
        "apple", "b", "x1", "COVID-19", "don't", "e.g.", "R&D", "c++", "50%", "über", "TOP", "ANDroid", "ORacle", "NOTE",
        "to", "TO", "and", "or", "not", "&", "a\\:b", "\\(x\\)", "\\+plus", "q\\?", "st\\*r", "\\AND", "x\\~y", "2015",
    ];

    private static readonly string[] PhraseWords = ["a", "b:c", "(x)", "AND", "hi!", "q?", "star*", "\\\"q\\\"", "x\\\\y", "TO", "-d"];
    private static readonly string[] RangeEnds = ["*", "a", "2015-01-01", "\"2016 01\"", "\"*\"", "10", "Z", "a\\:b", "\"TO\""];
    private static readonly string[] Fields = ["title", "body", "author.name", "_f", "x2"];
    private static readonly string[] Conjunctions = ["", "", "", " AND ", " OR ", " && ", " || "];
    private static readonly string[] Modifiers = ["", "", "", "+", "-", "!", "NOT "];
    private static readonly string[] Boosts = ["2", "0.5", "1.5", "3", "10", "1", "0.25"];

    private static string RandomQuery(Random random, int depth)
    {
        var sb = new StringBuilder();
        int clauses = random.Next(1, depth == 0 ? 6 : 4);
        for (int i = 0; i < clauses; i++)
        {
            if (i > 0)
            {
                string conjunction = Conjunctions[random.Next(Conjunctions.Length)];
                // clauses may touch where Lucene's tokens end unambiguously: after ')', '"' or a range's close
                bool touch = conjunction.Length == 0 && sb.Length > 0 && sb[^1] is ')' or '"' or ']' or '}' && random.Next(3) == 0;
                sb.Append(conjunction.Length > 0 ? conjunction : touch ? "" : random.Next(5) == 0 ? "  " : " ");
            }
            sb.Append(Modifiers[random.Next(Modifiers.Length)]);
            sb.Append(RandomClause(random, depth));
        }
        return sb.ToString();
    }

    private static string RandomClause(Random random, int depth)
    {
        string field = random.Next(3) == 0 ? Fields[random.Next(Fields.Length)] + ":" : "";
        string boost = random.Next(4) == 0 ? "^" + Boosts[random.Next(Boosts.Length)] : "";
        switch (random.Next(depth < 3 ? 10 : 8))
        {
            case < 4:
                return field + RandomWords[random.Next(RandomWords.Length)] + boost;
            case < 6:
            {
                var words = Enumerable.Range(0, random.Next(1, 4)).Select(_ => PhraseWords[random.Next(PhraseWords.Length)]);
                string slop = random.Next(3) == 0 ? "~" + random.Next(0, 5) : "";
                return field + "\"" + string.Join(' ', words) + "\"" + slop + boost;
            }
            case 6:
            {
                string f = field.Length > 0 ? field : Fields[random.Next(Fields.Length)] + ":";
                return f + (random.Next(2) == 0 ? "[" : "{") + RangeEnds[random.Next(RangeEnds.Length)] + " TO "
                    + RangeEnds[random.Next(RangeEnds.Length)] + (random.Next(2) == 0 ? "]" : "}") + boost;
            }
            case 7:
                return field + (random.Next(2) == 0 ? "- " : "+ "); // a bare operator is a term (needs the space)
            default:
                return field + "(" + RandomQuery(random, depth + 1) + ")" + boost;
        }
    }
}
