using Relevo.Cli;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("relevo");
    config.PropagateExceptions();
    CommandRegistry.Register(config);
});
// Spectre.Console.Cli rejects one-letter long options; `--k 10` is what IR users type (Pyserini's --hits aside), so accept it as -k.
return CliHost.Run(() => app.Run(CliHost.NormalizeArguments(args)));
