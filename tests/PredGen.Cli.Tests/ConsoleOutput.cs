namespace PredGen.Cli.Tests;

/// <summary>Tests that redirect Console.Out (process-wide) join this collection so they never run at the same time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ConsoleOutput
{
    public const string Name = "Console output";
}
