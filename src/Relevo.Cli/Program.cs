using Relevo.Cli;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("relevo");
    config.PropagateExceptions();
    Commands.Register(config);
});
return CliHost.Run(() => app.Run(args));
