using System.Text.RegularExpressions;
using PredGen.Shared.Storage;
using PredGen.TestSupport;

namespace PredGen.Infra.Tests;

/// <summary>The Event Grid subscription in infra/ targets the blob trigger the Functions app really has.</summary>
public sealed partial class FunctionsAppTests
{
    [GeneratedRegex(@"\[Function\(\s*(?:""(?<name>[^""]+)""|nameof\((?:\w+\.)*(?<name>\w+)\))\s*\)\]")]
    private static partial Regex FunctionAttribute();

    [GeneratedRegex(@"\[BlobTrigger\((?<args>[^\]]*)\)\]")]
    private static partial Regex BlobTriggerAttribute();

    /// <summary>(function name, BlobTrigger arguments) of every blob-triggered function in Functions/PredGen.Functions.</summary>
    private static List<(string Function, string Arguments)> BlobTriggeredFunctions()
    {
        string dir = Path.Combine(TestPaths.RepositoryRoot(), "Functions", "PredGen.Functions");
        var found = new List<(string, string)>();
        foreach (string file in Directory.EnumerateFiles(dir, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                              && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            string source = File.ReadAllText(file);
            foreach (Match trigger in BlobTriggerAttribute().Matches(source))
            {
                // The [Function] attribute that precedes the trigger parameter names the function.
                var function = FunctionAttribute().Matches(source[..trigger.Index]).LastOrDefault();
                Assert.True(function is not null, $"{file}: [BlobTrigger] without a preceding [Function]");
                found.Add((function.Groups["name"].Value, trigger.Groups["args"].Value));
            }
        }
        return found;
    }

    [Fact]
    public async Task Event_Grid_subscription_targets_the_Functions_apps_Event_Grid_blob_trigger_on_datasets()
    {
        var triggers = BlobTriggeredFunctions();
        var template = await BicepCli.MainTemplateAsync();
        // The postdeploy hook passes these main.bicep outputs to infra/hooks/blob-events-subscription.bicep.
        string? target = (string?)InfraTemplate.ResolveVariable(template, template["outputs"]!["PREDGEN_BLOB_TRIGGER_FUNCTION"]!["value"]);
        string? container = (string?)template["outputs"]!["PREDGEN_DATASETS_CONTAINER"]!["value"];

        Assert.Equal(BlobLayout.DatasetsContainer, container);
        var trigger = Assert.Single(triggers); // DatasetTrigger: none would leave the subscription feeding nothing
        Assert.Equal(trigger.Function, target);
        Assert.Contains("BlobTriggerSource.EventGrid", trigger.Arguments, StringComparison.Ordinal);
        Assert.Matches(@"^\s*(BlobLayout\.DatasetsContainer\s*\+\s*""/|""datasets/)", trigger.Arguments);
    }
}
