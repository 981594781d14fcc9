using Relevo.Analysis;
using Relevo.Index;
using Relevo.Index.Fields;
using Relevo.Index.Positions;
using Relevo.Search.Similarities;
using Relevo.Search.Syntax;

namespace Relevo.Search.Structured;

/// <summary>A query in the Lucene classic syntax (<see cref="QueryParser"/>) compiled against one commit for BM25, as
/// Lucene 4.8 (and so Anserini) builds and scores it: every term or phrase is analysed with the index's analyzer (a term
/// that analyses to nothing is dropped, one that analyses to several words becomes their disjunction, as the classic
/// parser does), each field is searched with its own statistics and norms, boosts multiply down the tree, and a boolean
/// query sums the scores of its matching clauses: with required clauses it matches the documents that match them all,
/// without, those that match at least one optional clause; excluded clauses remove documents; a query of excluded
/// clauses only matches nothing. Matching is exhaustive (every posting of every term read), so the result is exact and
/// the reference later pruned scorers are checked against.</summary>
internal sealed class StructuredQuery
{
    /// <summary>The field unfielded terms search when the stage names no fields: the one concatenated field.</summary>
    public const string DefaultField = "contents";

    private readonly IndexReader _reader;
    private readonly Matcher? _root;

    public QueryNode Node { get; }

    /// <param name="fields">The fields unfielded terms search, summed with their boosts (multi-field BM25); null or
    /// empty: the concatenated field.</param>
    /// <param name="statisticsOf">Each field's collection-wide statistics (a shard of a sharded index: every shard's
    /// summed); null: the commit's own.</param>
    public StructuredQuery(IndexReader reader, QueryNode node, Bm25Parameters parameters, IReadOnlyList<FieldBoost>? fields = null,
        Func<string, ICollectionStatistics>? statisticsOf = null)
    {
        _reader = reader;
        _statisticsOf = statisticsOf;
        Node = node;
        _parameters = parameters;
        _defaults = fields is { Count: > 0 } ? fields : [new FieldBoost(DefaultField, 1)];
        _root = Compile(node, 1f);
        _plan = PlanOf(_root);
    }

    /// <summary>Whether a query of term clauses only (<c>+a +b c -d</c>, <c>title:a text:b</c>) is searched by MaxScore
    /// (with required terms, <see cref="Pruning.RequiredMaxScore"/>) instead of matching its tree exhaustively; the
    /// results are the same (tested). Other queries (phrases, nested groups) are matched exhaustively.</summary>
    public bool Pruned { get; set; } = true;

    /// <summary>Whether this query can be searched pruned (<see cref="Pruned"/>).</summary>
    public bool CanPrune => _plan is not null;

    /// <summary>A query whose required and optional clauses are single terms (each in one field), with excluded clauses
    /// of any kind: searched by MaxScore with the excluded clauses' documents skipped.</summary>
    private sealed record Plan(TermMatcher[] Must, TermMatcher[] Should, Matcher[] MustNot);

    private readonly Plan? _plan;

    private static Plan? PlanOf(Matcher? root)
    {
        if (root is TermMatcher t) return new Plan([], [t], []);
        if (root is not BooleanMatcher b) return null;
        var must = new List<TermMatcher>();
        var should = new List<TermMatcher>();
        foreach (var m in b.Must) if (m is TermMatcher tm) must.Add(tm); else return null;
        foreach (var m in b.Should) if (m is TermMatcher tm) should.Add(tm); else return null;
        return new Plan([.. must], [.. should], [.. b.MustNot]);
    }

    private int SearchPruned(Plan plan, int k, Span<int> docs, Span<float> scores, float floor, SharedBound? shared, Filters.DocFilter? filter)
    {
        foreach (var m in plan.Must) if (m.DocFreq == 0) return 0; // a required term no document has
        var w = Weight<Bm25TermScorer>.ForThread();
        w.IntegerWeights = false;
        var fields = new List<IReadOnlyList<SegmentReader>>();
        void Add(TermMatcher m)
        {
            int field = 0;
            if (!ReferenceEquals(m.Segments, _reader.Segments))
            {
                int at = fields.FindIndex(f => ReferenceEquals(f, m.Segments));
                if (at < 0) { fields.Add(m.Segments); at = fields.Count - 1; w.AddField(m.Segments); }
                field = at + 1;
            }
            w.Add(m.Term, m.Scorer, field);
        }
        foreach (var m in plan.Must) Add(m);
        foreach (var m in plan.Should) if (m.DocFreq > 0) Add(m);
        if (w.TermCount == 0) return 0;
        w.RequiredTerms = plan.Must.Length;
        // documents to skip: deleted or filtered out, and those an excluded clause matches
        Filters.DocFilter? skip = filter;
        if (plan.MustNot.Length > 0)
        {
            var excluded = new DeletedDocs[_reader.Segments.Count];
            for (int s = 0; s < excluded.Length; s++)
            {
                var seg = _reader.Segments[s];
                var bits = (filter?.Excluded[s] ?? seg.Deletes).Bits();
                foreach (var m in plan.MustNot)
                {
                    var list = m.Match(s, seg.MaxDoc);
                    for (int i = 0; i < list.Count; i++) bits[list.Docs[i] >> 6] |= 1UL << (list.Docs[i] & 63);
                }
                excluded[s] = DeletedDocs.FromBits(seg.MaxDoc, bits);
            }
            skip = Filters.DocFilter.Of(filter?.Text ?? "", excluded);
        }
        return w.Search(_reader.Segments, _reader.DocBase, k, PruningAlgorithm.MaxScore, docs, scores, floor, shared, skip);
    }

    private readonly Bm25Parameters _parameters;
    private readonly IReadOnlyList<FieldBoost> _defaults;
    private readonly Func<string, ICollectionStatistics>? _statisticsOf;

    /// <summary>Every (text field, analysed term) a query's tree scores or matches, excluded clauses included: the
    /// statistics a sharded search gathers from every shard before the shards compile the tree.</summary>
    /// <param name="schema">The index's schema, to tell text clauses from typed ones; null (a coordinator that does not
    /// read the shards' schemas): every fielded clause is asked for, and a typed field's statistics come back zero.</param>
    public static IEnumerable<(string Field, string Term)> FieldTerms(QueryNode node, Analyzer analyzer, IReadOnlyList<FieldBoost>? defaults,
        Relevo.Index.Values.Schema? schema = null)
    {
        var fields = defaults is { Count: > 0 } ? defaults.Select(f => f.Field).ToArray() : [DefaultField];
        var seen = new HashSet<(string, string)>();
        var result = new List<(string, string)>();
        void Add(string? field, string text)
        {
            if (schema is not null && !IsTextField(field, schema)) return;
            foreach (var f in field is null ? fields : [field])
                foreach (var w in analyzer.Terms(text))
                    if (seen.Add((f, w))) result.Add((f, w));
        }
        void Walk(QueryNode n)
        {
            switch (n)
            {
                case TermNode t: Add(t.Field, t.Text); break;
                case PhraseNode p: Add(p.Field, p.Text); break;
                case BooleanNode b: foreach (var c in b.Clauses) Walk(c.Node); break;
            }
        }
        Walk(node);
        return result;
    }
    private readonly Dictionary<string, (IReadOnlyList<SegmentReader> Segments, Bm25Similarity Similarity)> _fieldCache = new(StringComparer.Ordinal);

    /// <summary>The query's words as a bag: the analysed terms of its terms and phrases outside excluded clauses, each
    /// weighing the product of the boosts above it (what feedback, term features and bag-of-words retrievers read), with
    /// the tree kept in <see cref="Query.Structured"/>.</summary>
    public static Query TermsOf(QueryNode node, Analyzer analyzer, Relevo.Index.Values.Schema? schema = null)
    {
        var terms = new List<(string Term, float Weight)>();
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        void Walk(QueryNode n, float boost, bool excluded)
        {
            switch (n)
            {
                case TermNode t: Add(t.Text, boost * t.Boost, excluded || !IsTextField(t.Field, schema)); break;
                case PhraseNode p: Add(p.Text, boost * p.Boost, excluded || !IsTextField(p.Field, schema)); break;
                case BooleanNode b:
                    foreach (var c in b.Clauses) Walk(c.Node, boost * b.Boost, excluded ^ (c.Occur == Occur.MustNot));
                    break;
            }
        }
        void Add(string text, float weight, bool excluded)
        {
            if (excluded) return;
            foreach (var w in analyzer.Terms(text))
            {
                if (index.TryGetValue(w, out int i)) terms[i] = (w, terms[i].Weight + weight);
                else { index[w] = terms.Count; terms.Add((w, weight)); }
            }
        }
        Walk(node, 1f, false);
        return new Query(node.ToString(), terms) { Structured = node };
    }

    /// <summary>The top k as global document numbers and scores, best first (ties by smaller document number).</summary>
    public int Search(int k, Span<int> docs, Span<float> scores, float floor = float.NegativeInfinity, SharedBound? shared = null,
        Filters.DocFilter? filter = null)
    {
        if (k <= 0) throw new RelevoException("k must be at least 1");
        if (Pruned && _plan is { } plan) return SearchPruned(plan, k, docs, scores, floor, shared, filter);
        var top = new TopKCollector(Math.Min(k, 1024));
        top.Reset(k, floor, shared);
        if (_root is PhraseMatcher phrase)
            for (int s = 0; s < _reader.Segments.Count; s++) phrase.Collect(s, filter?.Excluded[s] ?? _reader.Segments[s].Deletes, _reader.DocBase[s], top); // pruned by the threshold
        else if (_root is not null)
            for (int s = 0; s < _reader.Segments.Count; s++)
            {
                var seg = _reader.Segments[s];
                var skipped = filter?.Excluded[s] ?? seg.Deletes;
                if (skipped.Count == seg.MaxDoc) continue;
                var list = _root.Match(s, seg.MaxDoc);
                for (int i = 0; i < list.Count; i++)
                {
                    int d = list.Docs[i];
                    if (!skipped.IsDeleted(d) && list.Scores[i] >= top.Threshold) top.Collect(_reader.DocBase[s] + d, list.Scores[i]);
                }
            }
        top.DetachShared();
        return top.DrainInto(docs, scores);
    }

    /// <summary>Every document of segment <paramref name="s"/> the tree matches (deleted ones included), ascending:
    /// the tree matched exhaustively, with no top k.</summary>
    public IEnumerable<int> Matching(int s)
    {
        if (_root is null) yield break;
        var list = _root.Match(s, _reader.Segments[s].MaxDoc);
        for (int i = 0; i < list.Count; i++) yield return list.Docs[i];
    }

    /// <summary>The top k documents.</summary>
    public IReadOnlyList<Hit> Search(int k) => _reader.TopHits(k, (docs, scores) => Search(k, docs, scores));

    /// <summary>The score of one document (0 when it does not match or is deleted), matching its segment once into
    /// <paramref name="matched"/> (segment → its matches) for the next documents of the same segment.</summary>
    public float ScoreDoc(int segment, int doc, Dictionary<int, MatchList> matched)
    {
        var seg = _reader.Segments[segment];
        if (_root is null || seg.IsDeleted(doc)) return 0;
        if (!matched.TryGetValue(segment, out var list)) matched[segment] = list = _root.Match(segment, seg.MaxDoc);
        int at = Array.BinarySearch(list.Docs, 0, list.Count, doc);
        return at >= 0 ? list.Scores[at] : 0;
    }

    /// <summary>The scores of given documents (0 for those that do not match or are deleted).</summary>
    public void ScoreDocs(ReadOnlySpan<int> segment, ReadOnlySpan<int> doc, Span<float> scores)
    {
        scores.Clear();
        if (_root is null) return;
        var bySegment = new Dictionary<int, MatchList>();
        for (int i = 0; i < segment.Length; i++)
        {
            var seg = _reader.Segments[segment[i]];
            if (seg.IsDeleted(doc[i])) continue;
            if (!bySegment.TryGetValue(segment[i], out var list)) bySegment[segment[i]] = list = _root.Match(segment[i], seg.MaxDoc);
            int at = Array.BinarySearch(list.Docs, 0, list.Count, doc[i]);
            if (at >= 0) scores[i] = list.Scores[at];
        }
    }

    /// <summary>What a hit's score is made of: the terms and phrases of the clauses that matched it (the tree evaluated
    /// for the one document, so a word of an optional group that did not match, or of an excluded clause, is not among
    /// them), each term named "field:term" (the concatenated field's without a prefix) and each phrase by its words in
    /// quotes; they add up to the score (float rounding aside).</summary>
    public Explanation Explain(Hit hit)
    {
        var parts = new List<TermContribution>();
        _root?.Explain(hit.Segment, hit.Doc, parts);
        return new Explanation(hit.Id, hit.Score, "bm25") { K1 = _parameters.K1, B = _parameters.B, Terms = parts };
    }

    // ------------------------------------------------------------------ compilation

    private Matcher? Compile(QueryNode node, float boost) => node switch
    {
        TermNode t when !IsText(t.Field) => CompileTyped(t with { Boost = 1 }, t.Field!, boost * t.Boost, t.Column),
        PhraseNode p when !IsText(p.Field) => CompileTyped(p with { Boost = 1 }, p.Field!, boost * p.Boost, p.Column),
        TermNode t => CompileText(t.Field, t.Text, boost * t.Boost, t.Column),
        PhraseNode p => CompilePhrase(p, boost * p.Boost),
        BooleanNode b => CompileBoolean(b, boost * b.Boost),
        RangeNode r when !IsText(r.Field) => CompileTyped(r with { Boost = 1 }, r.Field, boost * r.Boost, r.Column),
        RangeNode r => throw new QuerySyntaxException(r.Column,
            $"a range applies to a typed field (keyword, integer, float, date, boolean); '{r.Field}' is text"),
        _ => throw new InvalidOperationException($"unknown query node {node.GetType().Name}"),
    };

    private IEnumerable<string> AllFields() => [DefaultField, .. TextFields.NamesOf(_reader.Schema)];

    /// <summary>Whether a query's tree names a field other than the concatenated one, title and text (a typed field, or
    /// a key that may be declared text).</summary>
    internal static bool NamesOtherFields(QueryNode node) => node switch
    {
        TermNode t => t.Field is not (null or DefaultField or "title" or "text"),
        PhraseNode p => p.Field is not (null or DefaultField or "title" or "text"),
        RangeNode => true,
        BooleanNode b => b.Clauses.Any(c => NamesOtherFields(c.Node)),
        _ => false,
    };

    /// <summary>Whether a clause's field holds analysed text (the default fields, contents, title, text, a key the
    /// schema declares text); any other is a typed field, matched by value.</summary>
    internal static bool IsTextField(string? field, Relevo.Index.Values.Schema? schema = null) =>
        field is null or DefaultField || TextFields.IsField(field, schema);

    private bool IsText(string? field) => IsTextField(field, _reader.Schema);

    /// <summary>A clause on a typed field (keyword, number, date, boolean: a value, a quoted value or a range), matched
    /// by the index's doc values as a filter matches, scoring its boost, as Lucene's range and point queries score a
    /// constant.</summary>
    private Matcher? CompileTyped(QueryNode node, string field, float boost, int column)
    {
        var schema = _reader.Schema;
        if (schema.ValueTypeOf(field) is null)
            throw new QuerySyntaxException(column, !schema.Valued.Any()
                ? $"unknown field '{field}' (the fields are {string.Join(", ", AllFields())})"
                : $"unknown field '{field}' (the text fields are {string.Join(", ", AllFields())}; the typed fields {string.Join(", ", schema.Valued.Select(f => f.Field))})");
        try
        {
            // compiled as a filter of its own text, so the commit's filter cache serves the next query with it
            return new ValueMatcher(node.ToString(), Filters.DocFilter.For(_reader, node.ToString())!, boost);
        }
        catch (RelevoException e) when (e is not QuerySyntaxException && e.Message.StartsWith("filter column ", StringComparison.Ordinal))
        {
            throw new QuerySyntaxException(column, e.Message[(e.Message.IndexOf(": ", StringComparison.Ordinal) + 2)..]);
        }
    }

    /// <summary>The fields a node searches: its own, or the stage's default fields (with their boosts).</summary>
    private IReadOnlyList<FieldBoost> FieldsOf(string? field, int column)
    {
        if (field is null) return _defaults;
        if (field != DefaultField && !TextFields.IsField(field, _reader.Schema))
            throw new QuerySyntaxException(column, $"unknown field '{field}' (the fields are {string.Join(", ", AllFields())})");
        return [new FieldBoost(field, 1)];
    }

    private (IReadOnlyList<SegmentReader> Segments, Bm25Similarity Similarity) Field(string field)
    {
        if (_fieldCache.TryGetValue(field, out var f)) return f;
        if (field == DefaultField)
            f = (_reader.Segments, new Bm25Similarity(_parameters, _statisticsOf?.Invoke(field) ?? _reader.Statistics));
        else
        {
            var view = FieldView.Of(_reader, field);
            f = (view.Segments, new Bm25Similarity(_parameters, _statisticsOf?.Invoke(field) ?? view));
        }
        _fieldCache[field] = f;
        return f;
    }

    /// <summary>A term's text in each of its fields: analysed; no words: dropped (null); one word: that term; several:
    /// their disjunction (Lucene's classic parser with the default OR operator).</summary>
    private Matcher? CompileText(string? field, string text, float boost, int column)
    {
        var perField = new List<Matcher>();
        foreach (var f in FieldsOf(field, column))
        {
            var words = _reader.AnalyzerInstance.Terms(text);
            if (words.Count == 0) continue;
            var (segments, similarity) = Field(f.Field);
            var clauses = new List<Matcher>();
            foreach (var w in words)
                clauses.Add(Leaf(f.Field, segments, similarity, w, boost * f.Boost));
            perField.Add(clauses.Count == 1 ? clauses[0] : new BooleanMatcher([], [.. clauses], []));
        }
        return perField.Count switch { 0 => null, 1 => perField[0], _ => new BooleanMatcher([], [.. perField], []) };
    }

    private static TermMatcher Leaf(string field, IReadOnlyList<SegmentReader> segments, Bm25Similarity similarity, string term, float boost)
    {
        long df = similarity.Statistics.DocFreq(term);
        similarity.TryGetScorer(term, boost, out var scorer); // df 0: the leaf matches nothing
        return new TermMatcher(field, segments, term, scorer, boost, similarity, df, df == 0 ? 0 : Bm25Scorer.Idf(df, similarity.Statistics.DocCount));
    }

    /// <summary>A phrase in each of its fields: its analysed words with their positions (a removed stop word keeps
    /// its place, as in Lucene); no words: dropped; one word: a term query (Lucene's parser does the same).</summary>
    private Matcher? CompilePhrase(PhraseNode p, float boost)
    {
        var words = PositionedTerms(p.Text);
        if (words.Count <= 1) return CompileText(p.Field, p.Text, boost, p.Column);
        if (p.Slop > 0 && words.Select(w => w.Term).Distinct(StringComparer.Ordinal).Count() < words.Count)
            throw new QuerySyntaxException(p.Column, "a phrase with slop that repeats a word is not supported yet");
        var perField = new List<Matcher>();
        foreach (var f in FieldsOf(p.Field, p.Column))
        {
            var (segments, similarity) = Field(f.Field);
            var positions = PositionsView.Of(_reader, f.Field);
            perField.Add(new PhraseMatcher(f.Field, segments, positions, [.. words], p.Slop, boost * f.Boost, similarity));
        }
        return perField.Count == 1 ? perField[0] : new BooleanMatcher([], [.. perField], []);
    }

    /// <summary>The analysed words of a text with their positions, counting removed tokens as Lucene does.</summary>
    private List<(string Term, int Position)> PositionedTerms(string text)
    {
        var sink = new PositionSink();
        _reader.AnalyzerInstance.Analyze(text, sink);
        return sink.Terms;
    }

    private sealed class PositionSink : ITermSink
    {
        private int _position = -1;
        public List<(string Term, int Position)> Terms { get; } = [];
        public void OnGap(int positions) => _position += positions;
        public void OnTerm(ReadOnlySpan<char> term) => Terms.Add((term.ToString(), ++_position));
    }

    private Matcher? CompileBoolean(BooleanNode b, float boost)
    {
        var must = new List<Matcher>();
        var should = new List<Matcher>();
        var mustNot = new List<Matcher>();
        foreach (var clause in b.Clauses)
        {
            var m = Compile(clause.Node, boost);
            if (m is null) continue; // analysed to nothing: dropped, as Lucene's parser drops it
            (clause.Occur switch { Occur.Must => must, Occur.MustNot => mustNot, _ => should }).Add(m);
        }
        if (must.Count == 0 && should.Count == 0 && mustNot.Count == 0) return null;
        return new BooleanMatcher([.. must], [.. should], [.. mustNot]);
    }
}

/// <summary>Matching documents of one segment in increasing order, with their scores.</summary>
internal sealed class MatchList
{
    public int[] Docs = new int[16];
    public float[] Scores = new float[16];
    public int Count;

    public void Add(int doc, float score)
    {
        if (Count == Docs.Length)
        {
            Array.Resize(ref Docs, Count * 2);
            Array.Resize(ref Scores, Count * 2);
        }
        Docs[Count] = doc;
        Scores[Count] = score;
        Count++;
    }
}

/// <summary>A compiled query node: its matching documents in a segment, with scores.</summary>
internal abstract class Matcher
{
    /// <param name="s">The segment's index in the commit.</param>
    /// <param name="maxDoc">The segment's document count.</param>
    public abstract MatchList Match(int s, int maxDoc);

    /// <summary>Whether document <paramref name="doc"/> of segment <paramref name="s"/> matches; if it does, the
    /// contributions of the terms and phrases that scored it are added to <paramref name="parts"/>.</summary>
    public abstract bool Explain(int s, int doc, List<TermContribution> parts);
}

/// <summary>A clause on a typed field: the live documents whose values match it (the clause compiled as a filter,
/// <see cref="Filters.DocFilter"/>), each scoring the clause's boost.</summary>
internal sealed class ValueMatcher(string label, Filters.DocFilter filter, float boost) : Matcher
{
    public override MatchList Match(int s, int maxDoc)
    {
        var list = new MatchList();
        var skipped = filter.Excluded[s];
        for (int d = 0; d < maxDoc; d++)
        {
            if ((d & 0xFFFF) == 0) SearchCancellation.ThrowIfCancelled();
            if (!skipped.IsDeleted(d)) list.Add(d, boost);
        }
        return list;
    }

    public override bool Explain(int s, int doc, List<TermContribution> parts)
    {
        if (filter.Excluded[s].IsDeleted(doc)) return false;
        parts.Add(new TermContribution(label, boost, 0, 0, 1, 0, 0, boost));
        return true;
    }
}

/// <summary>One analysed term in one field, scored by BM25 with that field's statistics and the product of the boosts
/// above it.</summary>
internal sealed class TermMatcher(string fieldName, IReadOnlyList<SegmentReader> segments, string term, Bm25TermScorer scorer, float boost,
    Bm25Similarity similarity, long docFreq, float idf) : Matcher
{
    public string Field => fieldName;
    public IReadOnlyList<SegmentReader> Segments => segments;
    public string Term => term;
    public Bm25TermScorer Scorer => scorer;
    public float Boost => boost;
    public Bm25Similarity Similarity => similarity;
    public long DocFreq => docFreq;
    public float Idf => idf;

    public override bool Explain(int s, int doc, List<TermContribution> parts)
    {
        if (docFreq == 0) return false;
        var seg = segments[s];
        int tf = Bm25Searcher.TermFrequency(seg, term, doc);
        if (tf == 0) return false;
        byte norm = seg.Norms[doc];
        parts.Add(new TermContribution(fieldName == StructuredQuery.DefaultField ? term : fieldName + ":" + term, boost, docFreq, idf, tf,
            SmallFloat.Byte4ToInt(norm), similarity.AverageLength, scorer.Score(tf, norm)) { DocCount = similarity.Statistics.DocCount });
        return true;
    }

    public override MatchList Match(int s, int maxDoc)
    {
        var list = new MatchList();
        if (docFreq == 0) return list;
        var seg = segments[s];
        int ord = seg.FindTerm(term);
        if (ord < 0) return list;
        var norms = seg.Norms;
        var cursor = seg.Postings(ord);
        for (int b = 0; b < cursor.BlockCount; b++)
        {
            if ((b & 31) == 0) SearchCancellation.ThrowIfCancelled();
            cursor.ReadBlock(b);
            for (int i = 0; i < cursor.BlockLength; i++)
            {
                int d = cursor.Docs[i];
                list.Add(d, scorer.Score(cursor.Freqs[i], norms[d]));
            }
        }
        return list;
    }
}

/// <summary>Lucene's BooleanQuery (coord 1, as under BM25): with required clauses, the documents matching all of them;
/// without, those matching at least one optional clause; excluded clauses remove documents; the score is the sum of the
/// matching clauses' scores (in double, then float, as Lucene's boolean scorers sum).</summary>
internal sealed class BooleanMatcher(Matcher[] must, Matcher[] should, Matcher[] mustNot) : Matcher
{
    public IReadOnlyList<Matcher> Must => must;
    public IReadOnlyList<Matcher> Should => should;
    public IReadOnlyList<Matcher> MustNot => mustNot;

    /// <summary>Merges the clauses' sorted lists (time and memory in proportion to their postings, not to the segment):
    /// with required clauses, walks the shortest required list and looks the document up in the others; without,
    /// takes the smallest document at the head of the optional lists each step. Scores add up in clause order.</summary>
    public override MatchList Match(int s, int maxDoc)
    {
        var result = new MatchList();
        if (must.Length == 0 && should.Length == 0) return result; // only exclusions: nothing matches
        var lists = new MatchList[must.Length + should.Length];
        for (int i = 0; i < must.Length; i++) lists[i] = must[i].Match(s, maxDoc);
        for (int i = 0; i < should.Length; i++) lists[must.Length + i] = should[i].Match(s, maxDoc);
        var excluded = new MatchList[mustNot.Length];
        for (int i = 0; i < mustNot.Length; i++) excluded[i] = mustNot[i].Match(s, maxDoc);
        var at = new int[lists.Length];
        var notAt = new int[excluded.Length];
        if (must.Length > 0)
        {
            int lead = 0;
            for (int i = 1; i < must.Length; i++) if (lists[i].Count < lists[lead].Count) lead = i;
            for (int j = 0; j < lists[lead].Count; j++)
            {
                if ((j & 4095) == 0) SearchCancellation.ThrowIfCancelled();
                int d = lists[lead].Docs[j];
                bool all = true;
                for (int i = 0; i < must.Length && all; i++) all = Seek(lists[i], ref at[i], d);
                if (!all || Excluded(excluded, notAt, d)) continue;
                double sum = 0;
                for (int i = 0; i < lists.Length; i++)
                    if (i < must.Length || Seek(lists[i], ref at[i], d)) sum += lists[i].Scores[at[i]];
                result.Add(d, (float)sum);
            }
            return result;
        }
        for (int step = 0; ; step++)
        {
            if ((step & 4095) == 0) SearchCancellation.ThrowIfCancelled();
            int d = int.MaxValue;
            for (int i = 0; i < lists.Length; i++)
                if (at[i] < lists[i].Count && lists[i].Docs[at[i]] < d) d = lists[i].Docs[at[i]];
            if (d == int.MaxValue) return result;
            double sum = 0;
            for (int i = 0; i < lists.Length; i++)
                if (at[i] < lists[i].Count && lists[i].Docs[at[i]] == d) sum += lists[i].Scores[at[i]++];
            if (!Excluded(excluded, notAt, d)) result.Add(d, (float)sum);
        }
    }

    public override bool Explain(int s, int doc, List<TermContribution> parts)
    {
        if (must.Length == 0 && should.Length == 0) return false;
        var scratch = new List<TermContribution>();
        foreach (var m in mustNot)
            if (m.Explain(s, doc, scratch)) return false;
        var matched = new List<TermContribution>();
        foreach (var m in must)
            if (!m.Explain(s, doc, matched)) return false;
        bool any = must.Length > 0;
        foreach (var m in should) any |= m.Explain(s, doc, matched);
        if (!any) return false;
        parts.AddRange(matched);
        return true;
    }

    /// <summary>Moves <paramref name="at"/> to the first entry of <paramref name="list"/> not below <paramref name="doc"/>;
    /// whether it is <paramref name="doc"/>.</summary>
    private static bool Seek(MatchList list, ref int at, int doc)
    {
        while (at < list.Count && list.Docs[at] < doc) at++;
        return at < list.Count && list.Docs[at] == doc;
    }

    private static bool Excluded(MatchList[] excluded, int[] at, int doc)
    {
        for (int i = 0; i < excluded.Length; i++)
            if (Seek(excluded[i], ref at[i], doc)) return true;
        return false;
    }
}

/// <summary>The positions of one field, segment by segment in a commit's order (<c>relevo index --positions</c>),
/// opened once per commit and field and disposed with the reader.</summary>
internal sealed class PositionsView : IDisposable
{
    public IReadOnlyList<PositionsFile> Files { get; }

    private PositionsView(IReadOnlyList<PositionsFile> files) => Files = files;

    public static PositionsView Of(IndexReader reader, string field) => reader.Component("positions." + field, r => Open(r, field));

    private static PositionsView Open(IndexReader reader, string field)
    {
        var postings = field == StructuredQuery.DefaultField ? reader.Segments : FieldView.Of(reader, field).Segments;
        var files = new List<PositionsFile>();
        try
        {
            for (int i = 0; i < reader.Segments.Count; i++)
            {
                var entry = reader.Manifest.Segments[i];
                var data = entry.Component(PositionsFile.Component, field)
                    ?? throw new RelevoException($"{reader.Directory}: segment {entry.Name} keeps no positions of '{field}', which phrase queries need; " +
                                                 "build them with `relevo index --index DIR --positions`");
                files.Add(PositionsFile.Open(Path.Combine(reader.Directory, data.Files[0]), postings[i]));
            }
            return new PositionsView(files);
        }
        catch
        {
            foreach (var f in files) f.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var f in Files) f.Dispose();
    }
}

/// <summary>A phrase in one field, as Lucene's PhraseQuery scores it under BM25: the documents holding every word at
/// the phrase's relative positions (exactly, or within <c>slop</c> moves), the phrase's frequency in the document
/// as its tf (the number of exact matches; for a sloppy phrase the sum of 1 / (1 + match length) over the matches
/// Lucene's SloppyPhraseScorer counts), the words' idfs summed as its idf.</summary>
internal sealed class PhraseMatcher : Matcher
{
    private readonly string[] _terms;
    private readonly int[] _offsets;
    private readonly int _slop;
    private readonly PositionsView _positions;
    private readonly float _weight;

    public PhraseMatcher(string field, IReadOnlyList<SegmentReader> segments, PositionsView positions, (string Term, int Position)[] words,
        int slop, float boost, Bm25Similarity similarity)
    {
        Field = field;
        Segments = segments;
        _positions = positions;
        _terms = words.Select(w => w.Term).ToArray();
        _offsets = words.Select(w => w.Position).ToArray();
        _slop = slop;
        Boost = boost;
        Similarity = similarity;
        Text = "\"" + string.Join(' ', _terms) + "\"" + (slop > 0 ? "~" + slop : "");
        float idf = 0;
        foreach (var t in _terms)
        {
            long df = similarity.Statistics.DocFreq(t);
            if (df == 0) { Matchable = false; continue; }
            idf += Bm25Scorer.Idf(df, similarity.Statistics.DocCount);
        }
        Idf = idf;
        _weight = boost * idf;
    }

    public string Field { get; }
    public IReadOnlyList<SegmentReader> Segments { get; }
    public string Text { get; }
    public float Boost { get; }
    public float Idf { get; }
    public Bm25Similarity Similarity { get; }
    /// <summary>False when a word is in no document: the phrase matches nothing.</summary>
    private bool Matchable { get; } = true;

    public override MatchList Match(int s, int maxDoc)
    {
        var list = new MatchList();
        if (!Matchable) return list;
        Run(s, -1, list, null, null, 0);
        return list;
    }

    /// <summary>The segment's live matches straight into <paramref name="top"/>. An exact phrase occurs in a document
    /// at most as often as its rarest word does, so a block of that word whose (tf, norm) impacts cannot beat the
    /// collector's threshold is passed over without reading positions (rank-safe: ties go to smaller documents, and
    /// every later document is larger).</summary>
    public void Collect(int s, DeletedDocs skipped, int docBase, TopKCollector top)
    {
        if (Matchable) Run(s, -1, null, top, skipped, docBase);
    }

    /// <summary>The phrase's contribution, named by its words in quotes (and slop), with its frequency in the document
    /// as tf (a sloppy phrase's fractional frequency rounded up) and its words' summed idf.</summary>
    public override bool Explain(int s, int doc, List<TermContribution> parts)
    {
        var (score, freq) = ScoreOf(s, doc);
        if (freq == 0) return false;
        parts.Add(new TermContribution((Field == StructuredQuery.DefaultField ? "" : Field + ":") + Text, Boost, 0, Idf, (int)MathF.Ceiling(freq),
            SmallFloat.Byte4ToInt(Segments[s].Norms[doc]), Similarity.AverageLength, score) { DocCount = Similarity.Statistics.DocCount });
        return true;
    }

    /// <summary>The score and phrase frequency of one document (0, 0 when the phrase is not in it).</summary>
    public (float Score, float Freq) ScoreOf(int s, int doc)
    {
        if (!Matchable) return (0, 0);
        var list = new MatchList();
        float freq = Run(s, doc, list, null, null, 0);
        return list.Count == 0 ? (0, 0) : (list.Scores[0], freq);
    }

    /// <summary>Walks the words' postings together (every document holding all of them) and adds the documents whose
    /// positions hold the phrase to <paramref name="list"/>, or the live ones to <paramref name="top"/>; only
    /// <paramref name="only"/> when it is not -1. Returns the last frequency found.</summary>
    private float Run(int s, int only, MatchList? list, TopKCollector? top, DeletedDocs? skipped, int docBase)
    {
        var seg = Segments[s];
        var file = _positions.Files[s];
        int n = _terms.Length;
        var cursors = new TermCursor[n];
        for (int i = 0; i < n; i++)
        {
            int ord = seg.FindTerm(_terms[i]);
            if (ord < 0) return 0;
            cursors[i] = new TermCursor(seg.Postings(ord), ord, file);
        }
        var norms = seg.Norms;
        float last = 0;
        int target = Math.Max(only, 0);
        // the conjunction is led by the rarest word, the others looked up where it stands (as Lucene orders by cost)
        var order = new TermCursor[n];
        Array.Copy(cursors, order, n);
        Array.Sort(order, (a, b) => a.DocFreq.CompareTo(b.DocFreq));
        bool prune = top is not null && _slop == 0;
        for (int step = 0; ; step++)
        {
            if ((step & 4095) == 0) SearchCancellation.ThrowIfCancelled();
            int candidate = order[0].Advance(target);
            if (candidate == int.MaxValue) return last;
            if (prune)
            {
                if (order[0].BlockBound(_weight, Similarity) < top!.Threshold)
                {
                    target = order[0].BlockEnd + 1; // nothing in this block of the rarest word can enter the top k
                    continue;
                }
                // the phrase occurs at most as often as the rarest word does here: a document that cannot beat the
                // threshold even so is passed over before the other words are looked up (their cursors then jump
                // over blocks without decoding them)
                if (Bm25Scorer.Score(_weight, order[0].Freq, Similarity.NormInverse(norms[candidate])) < top.Threshold || skipped!.IsDeleted(candidate))
                {
                    target = candidate + 1;
                    continue;
                }
            }
            bool all = true;
            for (int i = 1; i < n && all; i++)
            {
                int d = order[i].Advance(candidate);
                if (d == int.MaxValue) return last;
                if (d != candidate)
                {
                    target = d;
                    all = false;
                }
            }
            if (!all) continue;
            if (only >= 0 && candidate != only) return last;
            if (prune)
            {
                // the phrase occurs at most as often as its least frequent word here: a document that cannot beat the
                // threshold even so is passed over without reading positions
                int minTf = int.MaxValue;
                foreach (var c in cursors) minTf = Math.Min(minTf, c.Freq);
                if (skipped!.IsDeleted(candidate) || Bm25Scorer.Score(_weight, minTf, Similarity.NormInverse(norms[candidate])) < top!.Threshold)
                {
                    target = candidate + 1;
                    continue;
                }
            }
            float freq = _slop == 0 ? ExactFreq(cursors) : SloppyFreq(cursors);
            if (freq > 0)
            {
                last = freq;
                float score = Bm25Scorer.Score(_weight, freq, Similarity.NormInverse(norms[candidate]));
                if (top is null) list!.Add(candidate, score);
                else if (!skipped!.IsDeleted(candidate) && score >= top.Threshold) top.Collect(docBase + candidate, score);
            }
            if (only >= 0) return last;
            target = candidate + 1;
        }
    }

    /// <summary>Start positions where every word stands at its offset from the first. As Lucene's ExactPhraseScorer,
    /// a start before the document's first position does not count: a phrase whose first words the analyzer removed
    /// ("of perinatal mortality") does not match where its first kept word opens the document.</summary>
    private float ExactFreq(TermCursor[] cursors)
    {
        var first = cursors[0].Positions();
        if (cursors.Length == 2)
        {
            // two words: one merge of the two ascending lists, start = p0 - offset0 = p1 - offset1
            var second = cursors[1].Positions();
            int delta = _offsets[1] - _offsets[0], matches = 0, j = 0;
            foreach (int p in first)
            {
                if (p < _offsets[0]) continue;
                int want = p + delta;
                while (j < second.Length && second[j] < want) j++;
                if (j == second.Length) break;
                if (second[j] == want) matches++;
            }
            return matches;
        }
        int count = 0;
        foreach (int p in first)
        {
            int start = p - _offsets[0];
            if (start < 0) continue;
            bool all = true;
            for (int i = 1; i < cursors.Length && all; i++)
                all = cursors[i].Positions().BinarySearch(start + _offsets[i]) >= 0;
            if (all) count++;
        }
        return count;
    }

    /// <summary>Lucene 4.8's SloppyPhraseScorer.phraseFreq for distinct words: the words' positions (less their
    /// offsets) advanced smallest first; each time the smallest moves past the next smallest, the window it closed
    /// (largest minus smallest, minimized meanwhile) counts 1 / (1 + length) when within the slop.</summary>
    private float SloppyFreq(TermCursor[] cursors)
    {
        int n = cursors.Length;
        var position = new int[n];
        var next = new int[n];
        int end = int.MinValue;
        for (int i = 0; i < n; i++)
        {
            position[i] = cursors[i].Positions()[0] - _offsets[i];
            next[i] = 1;
            end = Math.Max(end, position[i]);
        }
        // the queue's order: position, then offset, then the word's place in the phrase (Lucene's PhraseQueue)
        bool Less(int a, int b) => position[a] != position[b] ? position[a] < position[b]
            : _offsets[a] != _offsets[b] ? _offsets[a] < _offsets[b] : a < b;
        var queue = new List<int>(n);
        for (int i = 0; i < n; i++) queue.Add(i);
        int Pop()
        {
            int best = 0;
            for (int i = 1; i < queue.Count; i++) if (Less(queue[i], queue[best])) best = i;
            int top = queue[best];
            queue.RemoveAt(best);
            return top;
        }
        int Top()
        {
            int best = queue[0];
            foreach (int q in queue) if (Less(q, best)) best = q;
            return best;
        }
        float freq = 0;
        int pp = Pop();
        int matchLength = end - position[pp];
        int nextPosition = position[Top()];
        while (true)
        {
            var ps = cursors[pp].Positions();
            if (next[pp] >= ps.Length) break;
            position[pp] = ps[next[pp]++] - _offsets[pp];
            if (position[pp] > end) end = position[pp];
            if (position[pp] > nextPosition)
            {
                if (matchLength <= _slop) freq += 1.0f / (matchLength + 1);
                queue.Add(pp);
                pp = Pop();
                nextPosition = position[Top()];
                matchLength = end - position[pp];
            }
            else
            {
                int matchLength2 = end - position[pp];
                if (matchLength2 < matchLength) matchLength = matchLength2;
            }
        }
        if (matchLength <= _slop) freq += 1.0f / (matchLength + 1);
        return freq;
    }

    /// <summary>One word's postings in a segment, advanced document by document, with the positions of the current
    /// posting, read from the block's positions only as far as the postings asked for (a block is read forwards once).</summary>
    private sealed unsafe class TermCursor(PostingsCursor cursor, int ord, PositionsFile file)
    {
        private int _block = -1, _index;
        private byte* _read;          // the positions of posting _readPosting start here
        private int _readPosting;
        private int _cachedPosting = -1;
        private int[] _positions = new int[64];

        public int Doc { get; private set; } = -1;
        public int DocFreq => cursor.DocFreq;

        /// <summary>The current posting's term frequency.</summary>
        public int Freq => cursor.Freqs[_index];

        /// <summary>The last document of the current block.</summary>
        public int BlockEnd => cursor.BlockLastDoc(_block);

        private int _boundBlock = -1;
        private float _bound;
        private readonly int[] _impactTfs = new int[PostingsCursor.BlockSize];
        private readonly byte[] _impactNorms = new byte[PostingsCursor.BlockSize];

        /// <summary>The highest BM25 score of <paramref name="weight"/> any (tf, norm) of the current block gives.</summary>
        public float BlockBound(float weight, Bm25Similarity similarity)
        {
            if (_boundBlock == _block) return _bound;
            int n = cursor.BlockImpacts(_block, _impactTfs, _impactNorms);
            float max = 0;
            for (int i = 0; i < n; i++) max = Math.Max(max, Bm25Scorer.Score(weight, _impactTfs[i], similarity.NormInverse(_impactNorms[i])));
            _boundBlock = _block;
            return _bound = max;
        }

        private int _blockLast = -1; // the current block's last document
        private int[] _docs = cursor.Docs;

        /// <summary>Moves to the first posting at or after <paramref name="target"/>; int.MaxValue past the end.</summary>
        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public int Advance(int target)
        {
            if (Doc >= target) return Doc;
            if (target > _blockLast) return AdvanceBlock(target);
            var docs = _docs;
            int i = _index;
            while (docs[i] < target) i++;
            _index = i;
            return Doc = docs[i];
        }

        /// <summary><see cref="Advance"/> past the current block: the block holding <paramref name="target"/>, decoded.</summary>
        private int AdvanceBlock(int target)
        {
            int block = Math.Max(_block, 0);
            while (block < cursor.BlockCount && cursor.BlockLastDoc(block) < target) block++;
            if (block == cursor.BlockCount) return Doc = int.MaxValue;
            cursor.ReadBlock(block);
            _block = block;
            _blockLast = cursor.BlockLastDoc(block);
            _docs = cursor.Docs;
            _index = 0;
            _read = null;
            _cachedPosting = -1;
            var docs = _docs;
            int i = _index;
            while (docs[i] < target) i++;
            _index = i;
            return Doc = docs[i];
        }

        /// <summary>The current posting's positions, ascending.</summary>
        public ReadOnlySpan<int> Positions()
        {
            int tf = cursor.Freqs[_index];
            if (_cachedPosting == _index) return _positions.AsSpan(0, tf);
            if (_read == null)
            {
                _read = file.Block(ord, _block);
                _readPosting = 0;
            }
            while (_readPosting < _index) _read = PositionsFile.Skip(_read, cursor.Freqs[_readPosting++]);
            if (_positions.Length < tf) _positions = new int[Math.Max(tf, _positions.Length * 2)];
            _read = PositionsFile.Read(_read, _positions.AsSpan(0, tf));
            _readPosting++;
            _cachedPosting = _index;
            return _positions.AsSpan(0, tf);
        }
    }
}
