namespace PredGen.Shared.Configuration;

/// <summary>The processes that run in Azure and read settings (infra/main.bicep gives each its own environment).</summary>
[Flags]
public enum SettingHosts
{
    /// <summary>Not provided by the infrastructure: the code has a default, or the setting is for local runs only.</summary>
    None = 0,
    /// <summary>The Flex Consumption Function App (Functions/PredGen.Functions).</summary>
    FunctionsApp = 1,
    /// <summary>The event-driven Container Apps job that trains (`predgen` job worker, GPU image).</summary>
    TrainingJob = 2,
    /// <summary>The Container App that answers prediction requests (`predgen serve`).</summary>
    PredictionWorker = 4,
    Workers = TrainingJob | PredictionWorker,
    All = FunctionsApp | TrainingJob | PredictionWorker,
}

/// <summary>
/// Declares which Azure hosts must find a <see cref="SettingNames"/> key in their environment.
/// tests/PredGen.Infra.Tests checks that infra/ sets every such key for those hosts (as `A__B` for `A:B`).
/// </summary>
[AttributeUsage(AttributeTargets.Field, AllowMultiple = false)]
public sealed class SettingAttribute(SettingHosts providedInAzureTo) : Attribute
{
    public SettingHosts ProvidedInAzureTo { get; } = providedInAzureTo;
}
