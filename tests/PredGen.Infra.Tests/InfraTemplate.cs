using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using PredGen.Shared.Configuration;

namespace PredGen.Infra.Tests;

/// <summary>What the compiled infra/main.bicep gives each Azure host: the settings objects passed to the host modules.</summary>
internal static class InfraTemplate
{
    /// <summary>Host -> (module deployment name in main.bicep, the module parameter holding its settings).</summary>
    public static IReadOnlyDictionary<SettingHosts, (string Module, string Parameter)> SettingsModules { get; } =
        new Dictionary<SettingHosts, (string, string)>
        {
            [SettingHosts.FunctionsApp] = ("function-app", "appSettings"),
            [SettingHosts.TrainingJob] = ("trainer-job", "settings"),
            [SettingHosts.PredictionWorker] = ("prediction-worker", "settings"),
        };

    public static IEnumerable<JsonObject> Resources(JsonObject template) =>
        template["resources"] switch
        {
            JsonArray array => array.OfType<JsonObject>(),
            JsonObject symbolic => symbolic.Select(p => p.Value).OfType<JsonObject>(),
            _ => [],
        };

    private static readonly JsonSerializerOptions s_plain = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>JSON text without escaping (ARM expressions keep their quotes: parameters('x'), not parameters(\u0027x\u0027)).</summary>
    public static string Text(JsonNode? node) => node is null ? "null" : node.ToJsonString(s_plain);

    /// <summary>Resources this template and every nested module template declare (not the `existing` references).</summary>
    public static IEnumerable<JsonObject> AllResources(JsonObject template)
    {
        foreach (var resource in Resources(template))
        {
            if (resource["existing"] is null) yield return resource;
            if (resource["properties"] is JsonObject properties && properties["template"] is JsonObject nested)
                foreach (var inner in AllResources(nested))
                    yield return inner;
        }
    }

    public static JsonObject Module(JsonObject template, string name) =>
        Resources(template).SingleOrDefault(r => (string?)r["type"] == "Microsoft.Resources/deployments" && (string?)r["name"] == name)
        ?? throw new InvalidOperationException($"main.bicep has no module deployment named '{name}'.");

    /// <summary>A module parameter's value, with a plain `[variables('x')]` reference resolved to the variable's value.</summary>
    public static string? LiteralParameter(JsonObject template, string module, string parameter)
    {
        string? value = (string?)Module(template, module)["properties"]?["parameters"]?[parameter]?["value"];
        var variable = System.Text.RegularExpressions.Regex.Match(value ?? "", @"^\[variables\('(\w+)'\)\]$");
        return variable.Success ? (string?)template["variables"]?[variable.Groups[1].Value] : value;
    }

    /// <summary>Setting name -> value (an ARM expression or a literal, as JSON text) that main.bicep passes to a host.</summary>
    public static IReadOnlyDictionary<string, string> Settings(JsonObject template, SettingHosts host)
    {
        var (module, parameter) = SettingsModules[host];
        var value = Module(template, module)["properties"]?["parameters"]?[parameter]?["value"] as JsonObject
            ?? throw new InvalidOperationException($"Module '{module}' gets no literal object for parameter '{parameter}'.");
        return value.ToDictionary(p => p.Key, p => Text(p.Value), StringComparer.Ordinal);
    }

    /// <summary>A value with a plain `[variables('x')]` or `[variables('x').y]` reference resolved against the template's variables.</summary>
    public static JsonNode? ResolveVariable(JsonObject template, JsonNode? value)
    {
        var reference = System.Text.RegularExpressions.Regex.Match(value is JsonValue v && v.TryGetValue<string>(out var s) ? s : "",
            @"^\[variables\('(\w+)'\)(?:\.(\w+))?\]$");
        if (!reference.Success) return value;
        var variable = template["variables"]?[reference.Groups[1].Value];
        return reference.Groups[2].Success ? variable?[reference.Groups[2].Value] : variable;
    }

    /// <summary>The value main.bicep passes to a module parameter, variables resolved (null when absent).</summary>
    public static JsonNode? ModuleParameter(JsonObject template, string module, string parameter) =>
        ResolveVariable(template, Module(template, module)["properties"]?["parameters"]?[parameter]?["value"]);

    /// <summary>The compiled template of a module.</summary>
    public static JsonObject ModuleTemplate(JsonObject template, string module) =>
        (JsonObject)Module(template, module)["properties"]!["template"]!;

    /// <summary>True when an expression is the named output of the named module deployment: reference(...'module'...).outputs.output.value.</summary>
    public static bool IsModuleOutput(JsonNode? value, string module, string output) =>
        value is JsonValue v && v.TryGetValue<string>(out var s)
        && s.Contains($"'Microsoft.Resources/deployments', '{module}')", StringComparison.Ordinal)
        && s.EndsWith($".outputs.{output}.value]", StringComparison.Ordinal);
}
