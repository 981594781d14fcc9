using System.Net;
using System.Text;
using Relevo.Evaluation;
using ScottPlot;

namespace Relevo.Cli.Commands;

/// <summary>The <c>relevo eval --report</c> file: the tables plus charts (per-query differences against the baseline,
/// a recall–precision curve per run). HTML embeds the PNGs as data URIs; Markdown writes them beside the file.</summary>
internal static class EvalReport
{
    private sealed record Chart(string Name, string Caption, byte[] Png);

    public static void Write(string path, EvalView v)
    {
        string? dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir is not null) Directory.CreateDirectory(dir);
        var charts = Charts(v);
        bool html = !path.EndsWith(".md", StringComparison.OrdinalIgnoreCase);
        var grids = EvalOutput.Grids(v, perQuery: false).ToList();
        string text;
        if (html)
        {
            text = Html(v, grids, charts);
        }
        else
        {
            string stem = Path.GetFileNameWithoutExtension(path);
            var files = new List<(Chart, string)>();
            foreach (var c in charts)
            {
                string file = $"{stem}-{c.Name}.png";
                File.WriteAllBytes(Path.Combine(dir ?? ".", file), c.Png);
                files.Add((c, file));
            }
            text = Markdown(v, grids, files);
        }
        File.WriteAllText(path, text, new UTF8Encoding(false));
    }

    private static List<Chart> Charts(EvalView v)
    {
        var charts = new List<Chart>();
        if (v.Comparison is not null)
        {
            var baseline = v.Results[v.Baseline];
            for (int r = 0; r < v.Results.Count; r++)
            {
                if (r == v.Baseline) continue;
                foreach (var m in v.Measures)
                {
                    var (queries, a, b) = RunComparison.Paired(v.Results[r], baseline, m.Name);
                    charts.Add(new Chart($"diff-{r}-{Slug(m.Name)}",
                        $"Per-query {m.Name} of {v.Labels[r]} minus {v.Labels[v.Baseline]}, sorted ({queries.Length} queries)",
                        DiffBars(v.Labels[r], v.Labels[v.Baseline], m.Name, a, b)));
                }
            }
        }
        charts.Add(new Chart("recall-precision", "Interpolated precision at recall 0.0–1.0 (trec_eval iprec_at_recall), mean over queries",
            RecallPrecision(v)));
        return charts;
    }

    private static byte[] DiffBars(string run, string baseline, string measure, double[] a, double[] b)
    {
        var diffs = new double[a.Length];
        for (int i = 0; i < a.Length; i++) diffs[i] = a[i] - b[i];
        Array.Sort(diffs);
        Array.Reverse(diffs);
        var plot = new Plot();
        var bars = plot.Add.Bars(diffs);
        foreach (var bar in bars.Bars)
        {
            bar.FillColor = bar.Value >= 0 ? Colors.SeaGreen : Colors.IndianRed;
            bar.LineWidth = 0;
            bar.Size = 1.0;
        }
        plot.Add.HorizontalLine(0, 1, Colors.Black);
        plot.Title($"{measure}: {run} − {baseline}");
        plot.XLabel("queries, sorted by difference");
        plot.YLabel($"Δ {measure}");
        plot.Axes.Bottom.TickLabelStyle.IsVisible = false;
        return plot.GetImageBytes(900, 380, ImageFormat.Png);
    }

    private static byte[] RecallPrecision(EvalView v)
    {
        var plot = new Plot();
        double[] recall = new double[11];
        for (int i = 0; i < 11; i++) recall[i] = i / 10.0;
        for (int r = 0; r < v.Runs.Count; r++)
        {
            double[] precision = v.Evaluator.InterpolatedPrecision(v.Runs[r]);
            var line = plot.Add.Scatter(recall, precision);
            line.LegendText = v.Labels[r];
            line.LineWidth = 2;
            line.MarkerSize = 6;
        }
        plot.Axes.SetLimits(0, 1, 0, 1.05);
        plot.Title("Recall–precision");
        plot.XLabel("recall");
        plot.YLabel("interpolated precision");
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(700, 480, ImageFormat.Png);
    }

    private static string Slug(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s) sb.Append(char.IsAsciiLetterOrDigit(c) ? c : '-');
        return sb.ToString();
    }

    private static string Html(EvalView v, List<Grid> grids, List<Chart> charts)
    {
        var sb = new StringBuilder();
        sb.Append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Relevo evaluation</title>\n<style>")
          .Append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px}table{border-collapse:collapse;margin:1em 0}")
          .Append("th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}")
          .Append("td.sig{font-weight:bold;color:#11683a}p.note{color:#555;white-space:pre-line}figure{margin:1.5em 0}img{max-width:100%}")
          .Append("</style></head><body>\n<h1>Relevo evaluation</h1>\n");
        sb.Append("<p>Runs: ").Append(string.Join(", ", v.Paths.Select(WebUtility.HtmlEncode))).Append("</p>\n");
        foreach (var g in grids)
        {
            sb.Append("<h2>").Append(WebUtility.HtmlEncode(g.Title)).Append("</h2>\n<table><thead><tr>");
            foreach (string h in g.Header) sb.Append("<th>").Append(WebUtility.HtmlEncode(h)).Append("</th>");
            sb.Append("</tr></thead><tbody>\n");
            foreach (var row in g.Rows)
            {
                sb.Append("<tr>");
                foreach (string cell in row)
                {
                    bool sig = cell.Contains(EvalOutput.TTestMark, StringComparison.Ordinal) || cell.Contains(EvalOutput.RandomizationMark, StringComparison.Ordinal);
                    sb.Append(sig ? "<td class=\"sig\">" : "<td>").Append(WebUtility.HtmlEncode(cell)).Append("</td>");
                }
                sb.Append("</tr>\n");
            }
            sb.Append("</tbody></table>\n");
            if (g.Note is not null) sb.Append("<p class=\"note\">").Append(WebUtility.HtmlEncode(g.Note)).Append("</p>\n");
        }
        sb.Append("<h2>Charts</h2>\n");
        foreach (var c in charts)
            sb.Append("<figure><img alt=\"").Append(WebUtility.HtmlEncode(c.Caption)).Append("\" src=\"data:image/png;base64,")
              .Append(Convert.ToBase64String(c.Png)).Append("\"><figcaption>").Append(WebUtility.HtmlEncode(c.Caption)).Append("</figcaption></figure>\n");
        sb.Append("</body></html>\n");
        return sb.ToString();
    }

    private static string Markdown(EvalView v, List<Grid> grids, List<(Chart Chart, string File)> charts)
    {
        var sb = new StringBuilder();
        sb.Append("# Relevo evaluation\n\nRuns: ").Append(string.Join(", ", v.Paths.Select(p => "`" + p + "`"))).Append("\n\n");
        foreach (var g in grids) EvalOutput.WriteMarkdown(sb, g, "##");
        sb.Append("## Charts\n\n");
        foreach (var (c, file) in charts)
            sb.Append("![").Append(c.Caption).Append("](").Append(file).Append(")\n\n*").Append(c.Caption).Append("*\n\n");
        return sb.ToString();
    }
}
