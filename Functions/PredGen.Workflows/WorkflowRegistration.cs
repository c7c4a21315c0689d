using PredGen.Workflows.Activities;
using PredGen.Workflows.Retrain;

namespace PredGen.Workflows;

/// <summary>The one registration of every orchestration and activity, shared by the in-process engine (the CLI, tests)
/// and any Durable Task worker host. The Functions app exposes the same classes through trigger methods whose
/// function names are these class names (nameof), so CallActivityAsync/CallSubOrchestratorAsync resolve in both.</summary>
public static class WorkflowRegistration
{
    public static DurableTaskRegistry AddWorkflowTasks(this DurableTaskRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        return registry
            .AddOrchestrator<RetrainOrchestration>()
            .AddOrchestrator<JobOrchestration>()
            .AddActivity<PrepareDatasetActivity>()
            .AddActivity<DispatchJobActivity>()
            .AddActivity<GetJobStatusActivity>()
            .AddActivity<GetJobStartActivity>()
            .AddActivity<ReadChampionActivity>()
            .AddActivity<BuildReportActivity>()
            .AddActivity<PromoteChampionActivity>();
    }
}
