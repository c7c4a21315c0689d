using System.Text.Json.Nodes;
using PredGen.Shared.Storage;

namespace PredGen.Infra.Tests;

/// <summary>Result blobs (one per answered request) are not kept forever: a lifecycle rule deletes them (issue 14).</summary>
public sealed class PredictionResultLifecycleTests
{
    [Fact]
    public async Task The_storage_account_deletes_prediction_result_blobs_a_fixed_number_of_days_after_they_were_written()
    {
        var template = await BicepCli.MainTemplateAsync();

        var policies = InfraTemplate.AllResources(template)
            .Where(r => (string?)r["type"] == "Microsoft.Storage/storageAccounts/managementPolicies").ToList();
        var policy = Assert.Single(policies); // an account has one management policy: every rule lives in it
        var rules = policy["properties"]!["policy"]!["rules"]!.AsArray().OfType<JsonObject>().ToList();
        var rule = Assert.Single(rules, r => (string?)r["name"] == "delete-prediction-results");
        Assert.True((bool?)rule["enabled"]);
        var definition = rule["definition"]!;
        Assert.Equal([BlobLayout.PredictionsContainer + "/"], definition["filters"]!["prefixMatch"]!.AsArray().Select(p => (string?)p));
        Assert.Equal(["blockBlob"], definition["filters"]!["blobTypes"]!.AsArray().Select(p => (string?)p));
        string days = InfraTemplate.Text(definition["actions"]!["baseBlob"]!["delete"]!["daysAfterModificationGreaterThan"]);
        Assert.Contains("predictionResultRetentionDays", days, StringComparison.Ordinal);
        var declared = ((JsonObject)policies[0].Parent!.Parent!)["parameters"]!["predictionResultRetentionDays"]!;
        Assert.Equal(7, (int?)declared["defaultValue"]);
    }
}
