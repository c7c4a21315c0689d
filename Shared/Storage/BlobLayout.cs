namespace PredGen.Shared.Storage;

/// <summary>
/// The one place that knows where artifacts live (shared/ARCHITECTURE.md, "Blob layout"):
/// <code>
/// datasets/{task}/{file}                         what users upload (never modified)
/// runs/{task}/{runId}/prepared/{split}.jsonl     prepared data + stats.json + rejected.jsonl
/// runs/{task}/{runId}/jobs/{jobId}/...           job spec, checkpoints, metrics.jsonl, model
/// runs/{task}/{runId}/mine/{jobId}.json          MI estimates
/// reports/{task}/{runId}/index.html|report.md    the report and its images
/// models/{task}/champion.json                    pointer to the serving model
/// </code>
/// </summary>
public static class BlobLayout
{
    public const string DatasetsContainer = "datasets";
    public const string RunsContainer = "runs";
    public const string ReportsContainer = "reports";
    public const string ModelsContainer = "models";
    public const string PredictionsContainer = "predictions";

    public static IReadOnlyList<string> Containers { get; } = [DatasetsContainer, RunsContainer, ReportsContainer, ModelsContainer, PredictionsContainer];

    public static string Dataset(string task, string file) => Combine(DatasetsContainer, Segment(task, nameof(task)), file);
    public static string Run(string task, string runId) => Combine(RunsContainer, Segment(task, nameof(task)), Segment(runId, nameof(runId)));
    public static string Prepared(string task, string runId, string split) => Combine(Run(task, runId), "prepared", Data.DatasetSplit.FileName(split));
    public static string PreparedStats(string task, string runId) => Combine(Run(task, runId), "prepared", "stats.json");
    public static string Rejected(string task, string runId) => Combine(Run(task, runId), "prepared", "rejected.jsonl");
    public static string Job(string task, string runId, string jobId) => Combine(Run(task, runId), "jobs", Segment(jobId, nameof(jobId)));
    public static string JobSpec(string task, string runId, string jobId) => Combine(Job(task, runId, jobId), "job.json");
    public static string JobCheckpoints(string task, string runId, string jobId) => Combine(Job(task, runId, jobId), "checkpoints");
    public static string JobMetrics(string task, string runId, string jobId) => Combine(Job(task, runId, jobId), "metrics.jsonl");
    public static string JobModel(string task, string runId, string jobId) => Combine(Job(task, runId, jobId), "model");
    public static string JobResult(string task, string runId, string jobId) => Combine(Job(task, runId, jobId), "result.json");

    /// <summary>Written by the worker when it starts the job (JobStartedMarker): job timeouts count from here, not from dispatch.</summary>
    public static string JobStarted(string task, string runId, string jobId) => Combine(Job(task, runId, jobId), "started.json");
    /// <summary>The job's test-split predictions next to its truth (report: confusion matrix / predicted-vs-true scatter).</summary>
    public static string JobTestPredictions(string task, string runId, string jobId) => Combine(Job(task, runId, jobId), "test_predictions.jsonl");
    /// <summary>What the Retrain orchestration learned about a run (jobs, metrics, MI, champion decision): the report's input.</summary>
    public static string RunSummary(string task, string runId) => Combine(Run(task, runId), "summary.json");
    public static string Mine(string task, string runId, string jobId) => Combine(Run(task, runId), "mine", Segment(jobId, nameof(jobId)) + ".json");
    public static string Report(string task, string runId) => Combine(ReportsContainer, Segment(task, nameof(task)), Segment(runId, nameof(runId)));
    public static string ReportHtml(string task, string runId) => Combine(Report(task, runId), "index.html");
    public static string ReportMarkdown(string task, string runId) => Combine(Report(task, runId), "report.md");
    /// <summary>An image or other file of the report, beside index.html (the Markdown report links them relatively).</summary>
    public static string ReportAsset(string task, string runId, string fileName) => Combine(Report(task, runId), "images", Segment(fileName, nameof(fileName)));
    public static string Champion(string task) => Combine(ModelsContainer, Segment(task, nameof(task)), "champion.json");
    /// <summary>The whole body of a poisoned request too large to travel inside its poison message (the message names this path).</summary>
    public static string PoisonedBody(string task, string messageId) => Combine(PredictionsContainer, Segment(task, nameof(task)), "poison", Segment(messageId, nameof(messageId)) + ".txt");
    public static string PredictionResult(string task, string requestId) => Combine(PredictionsContainer, Segment(task, nameof(task)), Segment(requestId, nameof(requestId)) + ".json");

    public static string Combine(params string[] parts) =>
        string.Join('/', parts.Where(p => !string.IsNullOrEmpty(p)).Select(p => p.Trim('/')));

    /// <summary>Splits "container/rest/of/path".</summary>
    public static (string Container, string Name) Split(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string trimmed = path.TrimStart('/');
        int slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || slash == trimmed.Length - 1)
            throw new ArgumentException($"Artifact path '{path}' must be 'container/name'.", nameof(path));
        return (trimmed[..slash], trimmed[(slash + 1)..]);
    }

    /// <summary>Task names, run ids and job ids become path segments: lower-case letters, digits, '-', '_' and '.'.</summary>
    public static string Segment(string value, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(value, what);
        foreach (char c in value)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.';
            if (!ok || value is "." or "..")
                throw new ArgumentException($"{what} '{value}' may contain only lower-case letters, digits, '-', '_' and '.'.", what);
        }
        return value;
    }
}
