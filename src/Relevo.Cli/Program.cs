using Relevo.Cli.Commands;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("relevo");
    config.PropagateExceptions();
    config.AddCommand<IndexCommand>("index").WithDescription("Index a collection (BEIR layout or explicit files) into an index folder.");
    config.AddCommand<SearchCommand>("search").WithDescription("Search an index for one query.");
    config.AddCommand<RunCommand>("run").WithDescription("Run every query of a dataset and write a TREC run.");
    config.AddCommand<OptimizeCommand>("optimize").WithDescription("Merge an index's segments into one.");
    config.AddCommand<DeleteCommand>("delete").WithDescription("Delete documents by id.");
    config.AddCommand<QuickstartCommand>("quickstart").WithDescription("Index SciFact, run BM25 and print the evaluation table.");
});
return CliHost.Run(() => app.Run(args));
