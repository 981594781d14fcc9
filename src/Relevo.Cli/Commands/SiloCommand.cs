using System.ComponentModel;
using System.Net;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Relevo.Cluster;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Relevo.Cli.Commands;

/// <summary>`relevo silo`: one Orleans silo of a Relevo cluster; it hosts whichever shards Orleans places on it
/// (docs/cluster.md).</summary>
internal sealed class SiloCommand : Command<SiloCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--cluster <MEMBERSHIP>")][Description("Cluster membership, e.g. redis://localhost:6379 (Orleans' Redis clustering).")]
        public string Cluster { get; init; } = "";
        [CommandOption("--data <DIR>")][Description("This silo's own folder (empty at first: the silo keeps copies of shards there, see `relevo cluster create`), or a sharded index (made by `relevo index --shards N`) on storage every silo reads.")]
        public string Data { get; init; } = "";
        [CommandOption("--port <PORT>")][DefaultValue(0)][Description("Silo-to-silo port (0: a free one).")]
        public int Port { get; init; }
        [CommandOption("--gateway-port <PORT>")][DefaultValue(0)][Description("Port clients (relevo serve --cluster) connect to (0: a free one).")]
        public int GatewayPort { get; init; }
        [CommandOption("--cluster-id <ID>")][DefaultValue(ClusterHosting.DefaultClusterId)][Description("Orleans cluster and service id; silos and gateways of one cluster share it.")]
        public string ClusterId { get; init; } = ClusterHosting.DefaultClusterId;
        [CommandOption("--advertise <IP>")][Description("Address other silos and clients reach this one at (default: loopback, for one machine).")]
        public string? Advertise { get; init; }

        public override ValidationResult Validate()
        {
            if (Cluster.Length == 0) return ValidationResult.Error("--cluster is required (e.g. redis://localhost:6379)");
            if (Data.Length == 0) return ValidationResult.Error("--data is required (the silo's own folder, or a sharded index folder every silo reads)");
            if (Port is < 0 or > 65535 || GatewayPort is < 0 or > 65535) return ValidationResult.Error("ports must be between 0 and 65535");
            if (Advertise is not null && !IPAddress.TryParse(Advertise, out _)) return ValidationResult.Error($"--advertise: '{Advertise}' is not an IP address");
            return ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellation)
    {
        var membership = Membership.Parse(settings.Cluster);
        int port = settings.Port == 0 ? ClusterHosting.FreePort() : settings.Port;
        int gateway = settings.GatewayPort == 0 ? ClusterHosting.FreePort() : settings.GatewayPort;
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => { o.SingleLine = true; o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fff "; });
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Logging.AddFilter("Relevo", LogLevel.Information);
        builder.UseOrleans(silo => ClusterHosting.ConfigureSilo(silo, membership, settings.Data, ExtensionRegistry.Create(CliIndex.Extensions()), port, gateway, settings.ClusterId,
            settings.Advertise is { } a ? IPAddress.Parse(a) : null));
        using var host = builder.Build();
        host.Start();
        // One line for scripts and tests to wait on.
        string node = ClusterHosting.NodeOf(settings.Data) is { } id ? $", node {id}" : "";
        Console.WriteLine($"silo ready: cluster '{settings.ClusterId}', silo port {port}, gateway port {gateway}, data {Path.GetFullPath(settings.Data)}{node}, pid {Environment.ProcessId}");
        host.WaitForShutdown();
        return 0;
    }
}
