using Spectre.Console.Cli;

namespace Relevo.Cli;

/// <summary>Every `relevo` sub-command, one line each.</summary>
internal static class CommandRegistry
{
    public static void Register(IConfigurator config)
    {
        config.AddCommand<Relevo.Cli.Commands.QuickstartCommand>("quickstart").WithDescription("Index SciFact, run BM25 and print the evaluation table.");
        config.AddCommand<Relevo.Cli.Commands.IndexCommand>("index").WithDescription("Index a collection (BEIR layout or a corpus file) into an index folder.");
        config.AddCommand<Relevo.Cli.Commands.SearchCommand>("search").WithDescription("Search an index for one query.");
        config.AddCommand<Relevo.Cli.Commands.RunCommand>("run").WithDescription("Run every query of a dataset and write a TREC run.");
        config.AddCommand<Relevo.Cli.Commands.ExperimentCommand>("experiment").WithDescription("Run datasets × pipelines from a YAML file and write the result tables to docs/results/.");
        config.AddCommand<Relevo.Cli.Commands.DeleteCommand>("delete").WithDescription("Delete documents by id.");
        config.AddCommand<Relevo.Cli.Commands.EvalCommand>("eval").WithDescription("Evaluate runs against qrels with trec_eval-exact measures, significance tests and reports.");
        config.AddCommand<Relevo.Cli.Commands.DenseCommand>("dense").WithDescription("Add a sentence-embedding model's vectors to an index.");
        config.AddCommand<Relevo.Cli.Commands.ExplainEvalCommand>("explain-eval").WithDescription("Measure how faithful explanations of dense scores are (LRP, gradient × input, occlusion, random) by deletion, and write the table.");
        config.AddCommand<Relevo.Cli.Commands.QuantizeCommand>("quantize").WithDescription("Write an embedding model whose least relevant matrix products run in int8 (relevance-guided mixed precision).");
        config.AddCommand<Relevo.Cli.Commands.TrainCommand>("train").WithDescription("Learn a ranker (LambdaMART or linear) over a pipeline's features, cross-validated by query folds.");
        config.AddBranch("tree", tree =>
        {
            tree.SetDescription("Organise an index into a semantic tree for lattice(...) (LLM-guided hierarchical retrieval).");
            tree.AddCommand<Relevo.Cli.Commands.TreeBuildCommand>("build").WithDescription("Build (or --extend) the index's semantic tree.");
            tree.AddCommand<Relevo.Cli.Commands.TreeStatusCommand>("status").WithDescription("Show the index's tree and whether writes since made it stale.");
        });
        config.AddCommand<Relevo.Cli.Commands.SiloCommand>("silo").WithDescription("Run one Orleans silo of a Relevo cluster: over a shared sharded folder, or with its own folder holding copies of shards (docs/cluster.md).");
        config.AddBranch("cluster", cluster =>
        {
            cluster.SetDescription("Create and inspect a cluster of silos that keep their own copies of the shards.");
            cluster.AddCommand<Relevo.Cli.Commands.ClusterCreateCommand>("create").WithDescription("Copy a sharded index onto the live silos, --replicas copies of each shard.");
            cluster.AddCommand<Relevo.Cli.Commands.ClusterStatusCommand>("status").WithDescription("Show the cluster's version and where each shard's copies are.");
        });
        config.AddCommand<Relevo.Cli.Commands.OptimizeCommand>("optimize").WithDescription("Merge an index's segments into one.");
        config.AddCommand<Relevo.Cli.Commands.AskCommand>("ask").WithDescription("Answer a question from an index with an LLM, citing the passages used.");
        config.AddCommand<Relevo.Cli.Commands.JudgeCommand>("judge").WithDescription("Judge the top documents of runs with an LLM (graded 0-3) and write qrels.");
        config.AddCommand<Relevo.Cli.Commands.McpCommand>("mcp").WithDescription("Serve an index's tools to LLM agents over the Model Context Protocol (stdio).");
        config.AddCommand<Relevo.Cli.Commands.ServeCommand>("serve").WithDescription("Serve an index: JSON API, OpenAPI document and a search page.");
    }
}
