using System.Diagnostics;
using Spectre.Console;

namespace Relevo.Cli;

/// <summary>Long work shows a progress bar (rate, ETA) on a terminal and plain log lines every few seconds when
/// output is redirected.</summary>
internal static class ProgressReporter
{
    /// <summary>Runs <paramref name="work"/>, which reports (done, total, unit) through the callback it is given.</summary>
    public static T Run<T>(string description, string unit, Func<Action<double, double, long>, T> work)
    {
        if (CliHost.Interactive)
        {
            T result = default!;
            AnsiConsole.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(),
                    new RateColumn(unit), new ElapsedTimeColumn(), new RemainingTimeColumn(), new SpinnerColumn())
                .Start(ctx =>
                {
                    var task = ctx.AddTask(description, maxValue: 1);
                    result = work((fraction, _, count) =>
                    {
                        task.Value = Math.Min(1, fraction);
                        task.State.Update<long>("count", _ => count);
                    });
                    task.Value = 1;
                });
            return result;
        }
        var clock = Stopwatch.StartNew();
        long lastLog = 0;
        long lastCount = 0;
        var value = work((fraction, _, count) =>
        {
            lastCount = count;
            if (clock.ElapsedMilliseconds - lastLog < 2000) return;
            lastLog = clock.ElapsedMilliseconds;
            double rate = count / Math.Max(clock.Elapsed.TotalSeconds, 1e-9);
            double eta = fraction > 0 ? clock.Elapsed.TotalSeconds * (1 - fraction) / fraction : double.NaN;
            Console.Error.WriteLine(FormattableString.Invariant(
                $"{description}: {count:N0} {unit} ({fraction:P0}, {rate:N0} {unit}/s, ETA {eta:N0} s)"));
        });
        Console.Error.WriteLine(FormattableString.Invariant(
            $"{description}: done, {lastCount:N0} {unit} in {clock.Elapsed.TotalSeconds:N1} s ({lastCount / Math.Max(clock.Elapsed.TotalSeconds, 1e-9):N0} {unit}/s)"));
        return value;
    }

    private sealed class RateColumn(string unit) : ProgressColumn
    {
        public override Spectre.Console.Rendering.IRenderable Render(Spectre.Console.Rendering.RenderOptions options, ProgressTask task, TimeSpan deltaTime)
        {
            long count = task.State.Get<long>("count");
            double seconds = task.ElapsedTime?.TotalSeconds ?? 0;
            string rate = seconds > 0 ? (count / seconds).ToString("N0", System.Globalization.CultureInfo.InvariantCulture) : "-";
            return new Markup($"[grey]{count:N0} {unit}, {rate} {unit}/s[/]");
        }
    }
}
