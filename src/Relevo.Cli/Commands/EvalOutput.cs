using System.Globalization;
using System.Text.Json;
using Relevo.Evaluation;
using Spectre.Console;

namespace Relevo.Cli.Commands;

/// <summary>A table as plain strings, rendered by each output (terminal, plain text, Markdown, HTML).</summary>
internal sealed record Grid(string Title, IReadOnlyList<string> Header, IReadOnlyList<IReadOnlyList<string>> Rows, string? Note = null);

/// <summary>Text outputs of <c>relevo eval</c>.</summary>
internal static class EvalOutput
{
    public const string TTestMark = "†";
    public const string RandomizationMark = "‡";

    /// <summary>Short labels for run paths: file names, or the paths as given when names repeat.</summary>
    public static IReadOnlyList<string> Labels(IReadOnlyList<string> paths)
    {
        var names = paths.Select(p => Path.GetFileName(p)).ToList();
        return names.Distinct(StringComparer.Ordinal).Count() == names.Count ? names : [.. paths];
    }

    public static string Format(Measure m, double v) =>
        m.IsCount ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string Signed(Measure m, double v) =>
        (v >= 0 ? "+" : "") + (m.IsCount ? v.ToString("0", CultureInfo.InvariantCulture) : v.ToString("0.0000", CultureInfo.InvariantCulture));

    private static string P(double p) => p < 0.0001 ? p.ToString("0.0E+0", CultureInfo.InvariantCulture) : p.ToString("0.0000", CultureInfo.InvariantCulture);

    public static string Marks(ComparisonCell c) => (c.SignificantTTest ? TTestMark : "") + (c.SignificantRandomization ? RandomizationMark : "");

    public static string Legend(EvalView v)
    {
        var o = v.Comparison!.Options;
        return $"Δ = run - baseline ({v.Labels[v.Baseline]}) over queries both runs were evaluated on. {TTestMark} paired t-test, " +
               $"{RandomizationMark} paired randomization test ({o.Permutations:N0} permutations, seed {o.Seed}): significant at α = {o.Alpha} " +
               $"after Holm–Bonferroni correction across {v.Comparison.Cells.Count} run×measure comparisons. W/T/L = queries better/equal/worse than the baseline.";
    }

    /// <summary>Run × measure means (the figures trec_eval prints on its "all" lines), with Δ and marks for non-baseline runs.</summary>
    public static Grid Summary(EvalView v)
    {
        var header = new List<string> { "run", "queries" };
        header.AddRange(v.Measures.Select(m => m.Name));
        var rows = new List<IReadOnlyList<string>>();
        for (int r = 0; r < v.Results.Count; r++)
        {
            var res = v.Results[r];
            var row = new List<string> { v.Labels[r] + (v.Comparison is not null && r == v.Baseline ? " (baseline)" : ""), res.QueryIds.Count.ToString(CultureInfo.InvariantCulture) };
            foreach (var m in v.Measures)
            {
                string cell = Format(m, res.Aggregate(m.Name));
                if (v.Comparison?.Cell(r, m.Name) is { } c)
                    cell += " (" + Signed(m, c.Delta) + ")" + (Marks(c) is { Length: > 0 } mk ? " " + mk : "");
                row.Add(cell);
            }
            rows.Add(row);
        }
        string rel = $"qrels {v.QrelsPath}; relevant: grade ≥ {v.Evaluator.Options.RelevanceLevel}; " +
                     (v.Evaluator.Options.AllQueries ? "averaged over all qrels queries (-c)" : "averaged over queries in both run and qrels");
        return new Grid("Evaluation", header, rows, v.Comparison is null ? rel : rel + "\n" + Legend(v));
    }

    /// <summary>Per (run, measure) against the baseline: Δ, raw and Holm-adjusted p-values, win/tie/loss.</summary>
    public static Grid Details(EvalView v)
    {
        var header = new List<string> { "run", "measure", "value", "Δ", "p t-test", "p t (Holm)", "p rand", "p rand (Holm)", "W/T/L", "" };
        var rows = new List<IReadOnlyList<string>>();
        foreach (var c in v.Comparison!.Cells)
        {
            var m = Measure.Parse(c.Measure);
            rows.Add([v.Labels[c.RunIndex], c.Measure, Format(m, c.Value), Signed(m, c.Delta), P(c.TTestP), P(c.TTestPHolm),
                P(c.RandomizationP), P(c.RandomizationPHolm), $"{c.Wins}/{c.Ties}/{c.Losses}", Marks(c)]);
        }
        return new Grid("Significance against the baseline", header, rows);
    }

    /// <summary>One row per query; columns per run and measure.</summary>
    public static Grid PerQuery(EvalView v)
    {
        bool many = v.Results.Count > 1;
        var header = new List<string> { "qid" };
        for (int r = 0; r < v.Results.Count; r++)
            foreach (var m in v.Measures) header.Add(many ? $"{m.Name} [{v.Labels[r]}]" : m.Name);
        var all = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var res in v.Results) all.UnionWith(res.QueryIds);
        var index = v.Results.Select(res =>
        {
            var d = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < res.QueryIds.Count; i++) d[res.QueryIds[i]] = i;
            return d;
        }).ToList();
        var rows = new List<IReadOnlyList<string>>();
        foreach (string q in all)
        {
            var row = new List<string> { q };
            for (int r = 0; r < v.Results.Count; r++)
                foreach (var m in v.Measures)
                    row.Add(index[r].TryGetValue(q, out int i) ? Format(m, v.Results[r].Values(m.Name)[i]) : "");
            rows.Add(row);
        }
        return new Grid("Per query", header, rows);
    }

    public static IEnumerable<Grid> Grids(EvalView v, bool perQuery)
    {
        yield return Summary(v);
        if (v.Comparison is not null) yield return Details(v);
        if (perQuery) yield return PerQuery(v);
    }

    /// <summary>A grid as a Markdown table under a heading; cells with a significance mark are bold.</summary>
    public static void WriteMarkdown(System.Text.StringBuilder sb, Grid g, string heading)
    {
        static string Md(string s) => s.Replace("|", "\\|", StringComparison.Ordinal);
        sb.Append(heading).Append(' ').Append(g.Title).Append("\n\n| ").Append(string.Join(" | ", g.Header.Select(Md))).Append(" |\n|");
        for (int c = 0; c < g.Header.Count; c++) sb.Append(c == 0 ? " --- |" : " ---: |");
        sb.Append('\n');
        foreach (var row in g.Rows)
            sb.Append("| ").Append(string.Join(" | ", row.Select(cell =>
                cell.Contains(TTestMark, StringComparison.Ordinal) || cell.Contains(RandomizationMark, StringComparison.Ordinal)
                    ? "**" + Md(cell) + "**" : Md(cell)))).Append(" |\n");
        if (g.Note is not null) sb.Append('\n').Append(g.Note.Replace("\n", "\n\n", StringComparison.Ordinal)).Append('\n');
        sb.Append('\n');
    }

    public static void WritePlain(TextWriter w, EvalView v, bool perQuery)
    {
        bool first = true;
        foreach (var g in Grids(v, perQuery))
        {
            if (!first) w.WriteLine();
            first = false;
            WritePlain(w, g);
        }
    }

    public static void WritePlain(TextWriter w, Grid g)
    {
        w.WriteLine(g.Title);
        var widths = new int[g.Header.Count];
        for (int c = 0; c < widths.Length; c++)
        {
            widths[c] = g.Header[c].Length;
            foreach (var row in g.Rows) widths[c] = Math.Max(widths[c], row[c].Length);
        }
        WriteRow(w, g.Header, widths);
        WriteRow(w, widths.Select(x => new string('-', x)).ToList(), widths);
        foreach (var row in g.Rows) WriteRow(w, row, widths);
        if (g.Note is not null) w.WriteLine(g.Note);
    }

    private static void WriteRow(TextWriter w, IReadOnlyList<string> cells, int[] widths)
    {
        var parts = new string[cells.Count];
        for (int c = 0; c < cells.Count; c++) parts[c] = c == 0 ? cells[c].PadRight(widths[c]) : cells[c].PadLeft(widths[c]);
        w.WriteLine(string.Join("  ", parts).TrimEnd());
    }

    public static void WriteSpectre(EvalView v, bool perQuery)
    {
        foreach (var g in Grids(v, perQuery)) WriteSpectre(g);
    }

    public static void WriteSpectre(Grid g)
    {
        var table = new Table().Border(TableBorder.Rounded).Title(Markup.Escape(g.Title));
        for (int c = 0; c < g.Header.Count; c++)
        {
            var col = new TableColumn(Markup.Escape(g.Header[c]));
            if (c > 0) col.RightAligned();
            table.AddColumn(col);
        }
        foreach (var row in g.Rows)
            table.AddRow(row.Select(cell => (Spectre.Console.Rendering.IRenderable)new Markup(Highlight(cell))).ToArray());
        AnsiConsole.Write(table);
        if (g.Note is not null) AnsiConsole.MarkupLine("[grey]" + Markup.Escape(g.Note) + "[/]");
    }

    private static string Highlight(string cell) =>
        cell.Contains(TTestMark, StringComparison.Ordinal) || cell.Contains(RandomizationMark, StringComparison.Ordinal)
            ? "[bold green]" + Markup.Escape(cell) + "[/]"
            : Markup.Escape(cell);

    /// <summary>trec_eval -q layout: "measure(padded to 22)\tqid\tvalue" per query, then "\tall\t" lines; one block per run.</summary>
    public static void WriteTrec(TextWriter w, EvalView v)
    {
        for (int r = 0; r < v.Results.Count; r++)
        {
            var res = v.Results[r];
            if (v.Results.Count > 1) w.Write($"{"runid",-22}\tall\t{res.RunTag}\n");
            var measures = v.Measures;
            var columns = measures.Select(m => res.Values(m.Name)).ToArray();
            for (int q = 0; q < res.QueryIds.Count; q++)
                for (int m = 0; m < measures.Count; m++)
                    w.Write($"{measures[m].Name,-22}\t{res.QueryIds[q]}\t{Format(measures[m], columns[m][q])}\n");
            foreach (var m in measures)
                w.Write($"{m.Name,-22}\tall\t{Format(m, res.Aggregate(m.Name))}\n");
        }
        w.Flush();
    }

    public static void WriteJson(Stream stream, EvalView v, bool perQuery)
    {
        using var j = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        j.WriteStartObject();
        j.WriteString("qrels", v.QrelsPath);
        j.WriteNumber("relevanceLevel", v.Evaluator.Options.RelevanceLevel);
        j.WriteBoolean("allQueries", v.Evaluator.Options.AllQueries);
        j.WriteStartArray("measures");
        foreach (var m in v.Measures) j.WriteStringValue(m.Name);
        j.WriteEndArray();
        j.WriteStartArray("runs");
        for (int r = 0; r < v.Results.Count; r++)
        {
            var res = v.Results[r];
            j.WriteStartObject();
            j.WriteString("label", v.Labels[r]);
            j.WriteString("path", v.Paths[r]);
            j.WriteString("tag", res.RunTag);
            j.WriteBoolean("baseline", v.Comparison is not null && r == v.Baseline);
            j.WriteNumber("queries", res.QueryIds.Count);
            j.WriteStartObject("values");
            foreach (var m in v.Measures) j.WriteNumber(m.Name, res.Aggregate(m.Name));
            j.WriteEndObject();
            if (perQuery)
            {
                j.WriteStartObject("perQuery");
                foreach (var m in v.Measures)
                {
                    j.WriteStartObject(m.Name);
                    double[] vals = res.Values(m.Name);
                    for (int q = 0; q < vals.Length; q++) j.WriteNumber(res.QueryIds[q], vals[q]);
                    j.WriteEndObject();
                }
                j.WriteEndObject();
            }
            j.WriteEndObject();
        }
        j.WriteEndArray();
        if (v.Comparison is { } cmp)
        {
            j.WriteStartObject("significance");
            j.WriteNumber("permutations", cmp.Options.Permutations);
            j.WriteNumber("seed", cmp.Options.Seed);
            j.WriteNumber("alpha", cmp.Options.Alpha);
            j.WriteString("correction", "holm-bonferroni");
            j.WriteStartArray("comparisons");
            foreach (var c in cmp.Cells)
            {
                j.WriteStartObject();
                j.WriteString("run", v.Labels[c.RunIndex]);
                j.WriteString("baseline", v.Labels[v.Baseline]);
                j.WriteString("measure", c.Measure);
                j.WriteNumber("value", c.Value);
                j.WriteNumber("baselineValue", c.BaselineValue);
                j.WriteNumber("delta", c.Delta);
                j.WriteNumber("queries", c.Queries);
                j.WriteNumber("tTestP", c.TTestP);
                j.WriteNumber("tTestPHolm", c.TTestPHolm);
                j.WriteNumber("randomizationP", c.RandomizationP);
                j.WriteNumber("randomizationPHolm", c.RandomizationPHolm);
                j.WriteNumber("wins", c.Wins);
                j.WriteNumber("ties", c.Ties);
                j.WriteNumber("losses", c.Losses);
                j.WriteBoolean("significantTTest", c.SignificantTTest);
                j.WriteBoolean("significantRandomization", c.SignificantRandomization);
                j.WriteEndObject();
            }
            j.WriteEndArray();
            j.WriteEndObject();
        }
        j.WriteEndObject();
        j.Flush();
        stream.WriteByte((byte)'\n');
        stream.Flush();
    }
}
