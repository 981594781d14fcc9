using System.ComponentModel;
using Relevo.Cluster;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>Options shared by the `relevo cluster` commands: which cluster.</summary>
internal class ClusterSettings : CommandSettings
{
    [CommandOption("--cluster <MEMBERSHIP>")][Description("Cluster membership, e.g. redis://localhost:6379 (Orleans' Redis clustering).")]
    public string Cluster { get; init; } = "";
    [CommandOption("--cluster-id <ID>")][DefaultValue(ClusterHosting.DefaultClusterId)][Description("Orleans cluster id the silos were started with.")]
    public string ClusterId { get; init; } = ClusterHosting.DefaultClusterId;
    [CommandOption("--timeout <SECONDS>")][DefaultValue(60)][Description("How long to wait for the cluster to answer.")]
    public int Timeout { get; init; } = 60;

    public override ValidationResult Validate() =>
        Cluster.Length == 0 ? ValidationResult.Error("--cluster is required (e.g. redis://localhost:6379)")
        : Timeout < 1 ? ValidationResult.Error("--timeout must be at least 1 second")
        : ValidationResult.Success();
}

/// <summary>`relevo cluster create`: copies a sharded index onto silos that keep their own copies (docs/cluster.md).</summary>
internal sealed class ClusterCreateCommand : AsyncCommand<ClusterCreateCommand.Settings>
{
    public sealed class Settings : ClusterSettings
    {
        [CommandOption("--from <DIR>")][Description("The sharded index to copy onto the silos (made by `relevo index --shards N`).")]
        public string From { get; init; } = "";
        [CommandOption("--replicas <R>")][DefaultValue(2)][Description("Copies of each shard, primary included, each on a different silo.")]
        public int Replicas { get; init; } = 2;
        [CommandOption("--acks <N>")][DefaultValue(0)][Description("Copies of every changed shard that must hold a commit before a write is acknowledged (0: every in-sync copy, at least min(2, replicas)).")]
        public int Acks { get; init; }

        public override ValidationResult Validate()
        {
            var baseResult = base.Validate();
            if (!baseResult.Successful) return baseResult;
            if (From.Length == 0) return ValidationResult.Error("--from is required (a sharded index folder)");
            if (Replicas is < 1 or > 16) return ValidationResult.Error("--replicas must be between 1 and 16");
            if (Acks < 0 || Acks > Replicas) return ValidationResult.Error("--acks must be between 0 and --replicas");
            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        long version = await ClusterAdmin.WithClusterAsync(settings.Cluster, settings.ClusterId, TimeSpan.FromSeconds(settings.Timeout),
            grains => ClusterAdmin.CreateAsync(grains, settings.From, settings.Replicas, settings.Acks, line => AnsiConsole.MarkupLineInterpolated($"[grey]{line}[/]")));
        AnsiConsole.MarkupLineInterpolated($"created: cluster version {version}, {settings.Replicas} copies of every shard");
        return 0;
    }
}

/// <summary>`relevo cluster status`: the version and where each shard's copies are.</summary>
internal sealed class ClusterStatusCommand : AsyncCommand<ClusterSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ClusterSettings settings, CancellationToken cancellation)
    {
        string status = await ClusterAdmin.WithClusterAsync(settings.Cluster, settings.ClusterId, TimeSpan.FromSeconds(settings.Timeout),
            grains => grains.GetGrain<IClusterWriterGrain>(0).Status());
        Console.WriteLine(status);
        return 0;
    }
}
