using Microsoft.Extensions.Logging.Abstractions;
using PredGen.Cli.Serving;
using PredGen.Shared.Data;
using PredGen.Shared.Models;
using PredGen.Shared.Storage;
using PredGen.Training.Methods;
using PredGen.Training.Model;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using TorchSharp;
using PredGen.Tooling.Benchmarks;

namespace PredGen.Cli.Tests.Serving;

/// <summary>A champion folder that cannot be loaded (tokenizer or head missing): a real tiny PredGen model, trained for
/// two steps, copied without one file, loaded by the worker's own TrainedModel loader.</summary>
public sealed class ChampionLoadFailureTests : IDisposable
{
    private static readonly string[] TokenizerFiles = [ByteTokenizer.FileName, HuggingFaceTokenizer.TokenizerJson, HuggingFaceTokenizer.SentencePieceModel];
    private readonly string _root = Path.Combine(Path.GetTempPath(), "predgen-champion-load-" + Guid.NewGuid().ToString("N")[..8]);
    private readonly TorchOptions _torch = new() { Device = "cpu", Threads = 1 };

    private string TrainTinyModel()
    {
        string baseDir = SyntheticTasks.WriteRandomBase(Path.Combine(_root, "base"));
        string data = Path.Combine(_root, "data");
        SyntheticTasks.WriteClassification(data);
        var options = new TrainOptions
        {
            Method = MethodKind.PredGen, TaskKind = TaskKind.Classification, Seed = 3, MaxSteps = 2, BatchSize = 4, LearningRate = 3e-3,
            WarmupRatio = 0, WeightDecay = 0, FineTuning = FineTuning.Full, EvalEvery = 2, EarlyStoppingPatience = 0, CheckpointEvery = 0,
            SamplingMin = 0, SamplingMax = 0.5, MaxPromptTokens = 64, Torch = _torch,
        };
        return Trainer.Train(options, data, baseDir, Path.Combine(_root, "run")).ModelDirectory;
    }

    private string CopyWithout(string source, string name, params string[] missing)
    {
        string target = Path.Combine(_root, name);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.GetFiles(source))
            if (!missing.Contains(Path.GetFileName(file))) File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        return target;
    }

    private static ChampionPointer Pointer(string jobId, string modelPath) =>
        new("spam", "run-1", jobId, "PredGen", modelPath, "accuracy", 0.9, DateTimeOffset.UnixEpoch);

    [Fact]
    public void A_model_folder_missing_its_tokenizer_or_head_fails_naming_the_file_and_leaves_no_tensor_alive()
    {
        string model = TrainTinyModel();
        var loader = new TrainedModelEngineLoader(_torch);
        string noTokenizer = CopyWithout(model, "no-tokenizer", TokenizerFiles);
        string noHead = CopyWithout(model, "no-head", ModelCard.HeadFileName);
        Assert.True(File.Exists(Path.Combine(model, ModelCard.HeadFileName)), "a PredGen classifier saves a head");

        DisposeScopeManager.Statistics.Reset();
        var tokenizerError = Assert.Throws<FileNotFoundException>(() => loader.Load(noTokenizer, Pointer("job-t", "x")));
        long liveAfterTokenizer = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        DisposeScopeManager.Statistics.Reset();
        var headError = Assert.Throws<FileNotFoundException>(() => loader.Load(noHead, Pointer("job-h", "x")));
        long liveAfterHead = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        // Reading a backbone's Device and DType (as MethodNetwork does to place its head) makes TorchSharp hand out a
        // fresh wrapper of the embedding weight each time, which only the GC releases: that, and nothing of the
        // model's weights, is what a failed load may leave. Measured on a model built and disposed the same way.
        DisposeScopeManager.Statistics.Reset();
        using (var probe = new LlamaForCausalLM(LlamaConfig.Load(Path.Combine(model, "config.json")))) { _ = probe.DType; _ = probe.Device; }
        long wrapperResidue = DisposeScopeManager.Statistics.ThreadTotalLiveCount;

        Assert.Contains("No tokenizer in " + noTokenizer, tokenizerError.Message, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(noHead, ModelCard.HeadFileName), headError.FileName);
        Assert.Equal((0L, wrapperResidue), (liveAfterTokenizer, liveAfterHead)); // the backbone (and head) loaded first were disposed
        using var good = loader.Load(model, Pointer("job-ok", "x")); // and the complete folder still loads
    }

    [Fact]
    public async Task A_champion_that_fails_to_load_is_tried_once_per_ETag_and_reported_once_while_the_current_model_keeps_serving()
    {
        string model = TrainTinyModel();
        var store = new FileSystemArtifactStore(Path.Combine(_root, "store"));
        async Task PointAsync(string jobId, string directory)
        {
            string modelPath = BlobLayout.JobModel("spam", "run-1", jobId);
            await store.UploadDirectoryAsync(directory, modelPath);
            await store.WriteTextAsync(BlobLayout.Champion("spam"), Pointer(jobId, modelPath).ToJson());
        }
        using var slot = new ServingModelSlot();
        using var metrics = new ServingMetrics();
        var options = new ServingOptions { Task = "spam", ModelCacheDirectory = Path.Combine(_root, "cache") };
        using var watcher = new ChampionWatcher(store, new TrainedModelEngineLoader(_torch), slot, options, metrics, NullLogger<ChampionWatcher>.Instance);

        await PointAsync("job-a", model);
        Assert.True(await watcher.CheckOnceAsync(CancellationToken.None));
        await PointAsync("job-b", CopyWithout(model, "no-head", ModelCard.HeadFileName));
        var error = await Assert.ThrowsAsync<FileNotFoundException>(() => watcher.CheckOnceAsync(CancellationToken.None));
        bool second = await watcher.CheckOnceAsync(CancellationToken.None); // the same ETag: not loaded (nor leaked) again
        bool third = await watcher.CheckOnceAsync(CancellationToken.None);
        long failuresForOneETag = metrics.ModelLoadFailures;
        await PointAsync("job-c", CopyWithout(model, "no-head-2", ModelCard.HeadFileName)); // rewritten: a new ETag is tried again
        await Assert.ThrowsAsync<FileNotFoundException>(() => watcher.CheckOnceAsync(CancellationToken.None));

        Assert.EndsWith(ModelCard.HeadFileName, error.FileName, StringComparison.Ordinal);
        Assert.Equal((false, false, 1L), (second, third, failuresForOneETag));
        Assert.Equal(2, metrics.ModelLoadFailures);
        Assert.Equal(1, metrics.Reloads);
        Assert.Equal("job-a", slot.AcquireForBatch().Champion.JobId);
    }

    public void Dispose()
    {
        try { Directory.Delete(_root, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
