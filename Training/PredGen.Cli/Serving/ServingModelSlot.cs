using PredGen.Shared.Models;
using PredGen.Shared.Predictions;

namespace PredGen.Cli.Serving;

/// <summary>A loaded champion: the engine and the pointer it came from.</summary>
public sealed record LoadedModel(IPredictionEngine Engine, ChampionPointer Champion)
{
    public ServedModel Identity { get; } = new(Champion.RunId, Champion.JobId, Champion.Method);
}

/// <summary>
/// The model the worker serves right now. A reload publishes a new model while the old one keeps answering; the
/// inference thread switches at its next batch and disposes the old one there, so no batch ever sees a disposed model
/// and no request waits for a load (reload without downtime).
/// </summary>
public sealed class ServingModelSlot : IDisposable
{
    private readonly TaskCompletionSource _firstModel = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private LoadedModel? _published;
    private LoadedModel? _inUse;
    private readonly List<LoadedModel> _retired = [];
    private readonly Lock _gate = new();
    private bool _batchRunning;
    private bool _disposed;

    /// <summary>The pointer of the most recently published model (what the watcher compares against).</summary>
    public ChampionPointer? PublishedPointer => Volatile.Read(ref _published)?.Champion;

    public Task WaitForModelAsync(CancellationToken cancellationToken) => _firstModel.Task.WaitAsync(cancellationToken);

    public bool HasModel => _firstModel.Task.IsCompleted;

    public void Publish(LoadedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        lock (_gate)
        {
            if (_published != null && !ReferenceEquals(_published, _inUse)) _retired.Add(_published); // never used: retire too
            _published = model;
        }
        _firstModel.TrySetResult();
    }

    /// <summary>Called by the inference thread before each batch: switches to the newest model, disposing replaced ones.
    /// Pair with <see cref="ReleaseBatch"/> when the batch is done.</summary>
    public LoadedModel AcquireForBatch()
    {
        List<LoadedModel> dispose;
        LoadedModel current;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            current = _published ?? throw new InvalidOperationException("no model has been published yet: no champion is loaded");
            if (_inUse != null && !ReferenceEquals(_inUse, current)) _retired.Add(_inUse);
            _inUse = current;
            _batchRunning = true;
            dispose = [.. _retired];
            _retired.Clear();
        }
        foreach (var old in dispose) old.Engine.Dispose();
        return current;
    }

    /// <summary>Called by the inference thread after each batch; disposes the model now if the slot was disposed while the
    /// batch ran (shutdown gave up waiting for it).</summary>
    public void ReleaseBatch()
    {
        LoadedModel? dispose = null;
        lock (_gate)
        {
            _batchRunning = false;
            if (_disposed && _inUse != null)
            {
                dispose = _inUse;
                _inUse = null;
            }
        }
        dispose?.Engine.Dispose();
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            var all = new HashSet<LoadedModel>(_retired, ReferenceEqualityComparer.Instance);
            if (_published != null) all.Add(_published);
            if (_inUse != null) all.Add(_inUse);
            // A batch still running keeps its model: ReleaseBatch disposes it when the batch ends.
            if (_batchRunning && _inUse != null) all.Remove(_inUse);
            else _inUse = null;
            foreach (var m in all) m.Engine.Dispose();
            _retired.Clear();
            _published = null;
        }
    }
}
