using PredGen.Shared.Jobs;

namespace PredGen.Shared.Tests;

/// <summary>A trainer execution takes no job it could not finish before its replicaTimeout (issue 13, item 5).</summary>
public sealed class ExecutionBudgetTests
{
    [Fact]
    public void An_execution_takes_another_job_only_while_a_whole_job_budget_fits_before_its_timeout()
    {
        var budget = ExecutionBudget.From("28800", "21600"); // 8 h execution, 6 h per job

        Assert.True(budget.CanTakeAnother(TimeSpan.Zero));
        Assert.True(budget.CanTakeAnother(TimeSpan.FromHours(2)));
        Assert.False(budget.CanTakeAnother(TimeSpan.FromHours(2) + TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public void Without_an_execution_timeout_there_is_no_limit_and_the_job_budget_defaults_to_the_orchestrations_job_timeout()
    {
        var budget = ExecutionBudget.From(null, "");

        Assert.True(budget.CanTakeAnother(TimeSpan.FromDays(30)));
        Assert.Equal(TimeSpan.FromHours(6), budget.JobBudget);
        Assert.Equal(ExecutionBudget.Unlimited, budget);
    }
}
