using System.CommandLine;
using PredGen.Cli.Commands;

namespace PredGen.Cli;

/// <summary>The `predgen` command tree. Each subcommand lives in Commands/ and registers itself here.</summary>
public static class PredGenCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "predgen: fine-tune a causal language model to predict by generating (PredGen, arXiv 2502.17817), " +
            "compare it with Predictor and Generator, estimate mutual information, and serve predictions.");
        root.Subcommands.Add(InfoCommand.Create());
        return root;
    }
}
