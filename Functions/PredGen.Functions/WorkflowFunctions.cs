using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using PredGen.Shared.Data;
using PredGen.Shared.Jobs;
using PredGen.Shared.Models;
using PredGen.Workflows.Activities;
using PredGen.Workflows.Reporting;
using PredGen.Workflows.Retrain;

namespace PredGen.Functions;

/// <summary>
/// The workflow classes as Functions: one [OrchestrationTrigger] / [ActivityTrigger] method each, named after its class
/// (nameof), so the orchestrations' CallActivityAsync / CallSubOrchestratorAsync resolve here as on the in-process
/// engine. The methods only delegate; the logic (and its tests) lives in PredGen.Workflows.
/// </summary>
public sealed class WorkflowFunctions(
    PrepareDatasetActivity prepare,
    DispatchJobActivity dispatch,
    GetJobStatusActivity status,
    GetJobStartActivity start,
    ReadChampionActivity readChampion,
    BuildReportActivity report,
    PromoteChampionActivity promote)
{
    [Function(nameof(RetrainOrchestration))]
    public static Task<RetrainResult> Retrain([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new RetrainOrchestration().RunAsync(context, context.GetInput<RetrainRequest>()!);
    }

    [Function(nameof(JobOrchestration))]
    public static Task<JobCompletion> Job([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new JobOrchestration().RunAsync(context, context.GetInput<JobOrchestrationInput>()!);
    }

    [Function(nameof(PrepareDatasetActivity))]
    public Task<PreparedDataset> PrepareDataset([ActivityTrigger] PrepareDatasetInput input, FunctionContext context) =>
        prepare.ExecuteAsync(input, context?.CancellationToken ?? default);

    [Function(nameof(DispatchJobActivity))]
    public Task<JobCompletion?> DispatchJob([ActivityTrigger] JobMessage input, FunctionContext context) =>
        dispatch.ExecuteAsync(input, context?.CancellationToken ?? default);

    [Function(nameof(GetJobStatusActivity))]
    public Task<JobCompletion?> GetJobStatus([ActivityTrigger] JobReference input, FunctionContext context) =>
        status.ExecuteAsync(input, context?.CancellationToken ?? default);

    [Function(nameof(GetJobStartActivity))]
    public Task<DateTimeOffset?> GetJobStart([ActivityTrigger] JobReference input, FunctionContext context) =>
        start.ExecuteAsync(input, context?.CancellationToken ?? default);

    [Function(nameof(ReadChampionActivity))]
    public Task<ChampionPointer?> ReadChampion([ActivityTrigger] string task, FunctionContext context) =>
        readChampion.ExecuteAsync(task, context?.CancellationToken ?? default);

    [Function(nameof(BuildReportActivity))]
    public Task<ReportLinks> BuildReport([ActivityTrigger] RunSummary input, FunctionContext context) =>
        report.ExecuteAsync(input, context?.CancellationToken ?? default);

    [Function(nameof(PromoteChampionActivity))]
    public Task<ChampionDecision> PromoteChampion([ActivityTrigger] PromoteChampionInput input, FunctionContext context) =>
        promote.ExecuteAsync(input, context?.CancellationToken ?? default);
}
