using System.CommandLine;
using System.Reflection;

namespace PredGen.Cli;

/// <summary>
/// A piece of the `predgen` command tree. Each command is one class in Commands/ that implements this; the tree is
/// assembled by reflection, so adding a command never touches a central list.
/// </summary>
public interface ICliCommand
{
    /// <summary>Space-separated path of the parent command: "" for top-level commands, "bench" for `predgen bench X`.</summary>
    string Parent { get; }

    Command Create();
}

public static class PredGenCommand
{
    public static RootCommand Build()
    {
        var root = new RootCommand(
            "predgen: fine-tune a causal language model to predict by generating (PredGen, arXiv 2502.17817), " +
            "compare it with Predictor and Generator, estimate mutual information, and serve predictions.");
        var factories = typeof(PredGenCommand).Assembly.GetTypes()
            .Where(t => typeof(ICliCommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
            .Select(t => (ICliCommand)Activator.CreateInstance(t)!)
            .OrderBy(f => f.Parent.Count(c => c == ' ') + (f.Parent.Length == 0 ? 0 : 1))
            .ThenBy(f => f.GetType().Name, StringComparer.Ordinal)
            .ToList();
        var byPath = new Dictionary<string, Command>(StringComparer.Ordinal) { [""] = root };
        var pending = new List<(ICliCommand Factory, Command Command)>();
        foreach (var f in factories)
        {
            var command = f.Create();
            pending.Add((f, command));
            string path = f.Parent.Length == 0 ? command.Name : f.Parent + " " + command.Name;
            byPath[path] = command;
        }
        foreach (var (factory, command) in pending)
        {
            if (!byPath.TryGetValue(factory.Parent, out var parent))
            {
                // A group such as `bench` exists as soon as one of its subcommands does.
                parent = new Command(factory.Parent.Split(' ')[^1], GroupDescription(factory.Parent));
                byPath[factory.Parent] = parent;
                root.Subcommands.Add(parent);
            }
            parent.Subcommands.Add(command);
        }
        return root;
    }

    private static string GroupDescription(string name) => name switch
    {
        "bench" => "Benchmarks that print JSON figures (speed, memory, accuracy); never timed unit tests.",
        "datasets" => "Fetch and convert the real data sets the demo and the benchmarks use.",
        "pipeline" => "Run the retraining pipeline on this machine (in-process Durable Task engine).",
        _ => name,
    };
}
