using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>
/// Past keys and values per layer ([B, kvHeads, S, headDim], after rotary) and the past attention mask ([B, S]) for
/// incremental decoding. The cache owns its tensors: they are detached from dispose scopes when stored and disposed
/// when replaced or when the cache is disposed, so decoding steps can run in their own short scopes.
/// </summary>
public sealed class KVCache : IDisposable
{
    private readonly Tensor?[] keys;
    private readonly Tensor?[] values;
    private Tensor? mask;
    private bool disposed;

    public KVCache(int layers)
    {
        keys = new Tensor?[layers];
        values = new Tensor?[layers];
    }

    /// <summary>Number of cached positions (padding included).</summary>
    public int Length { get; private set; }

    public int Layers => keys.Length;

    /// <summary>[B, Length] int64 mask of the cached positions, or null when empty.</summary>
    public Tensor? Mask => mask;

    public Tensor? Keys(int layer) => keys[layer];

    public Tensor? Values(int layer) => values[layer];

    /// <summary>Appends one layer's new keys/values and returns the full ones (owned by the cache: do not dispose).</summary>
    internal (Tensor Keys, Tensor Values) Append(int layer, Tensor newKeys, Tensor newValues)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var k = keys[layer] is { } pastK ? cat([pastK, newKeys], 2) : newKeys.alias();
        var v = values[layer] is { } pastV ? cat([pastV, newValues], 2) : newValues.alias();
        k.DetachFromDisposeScope();
        v.DetachFromDisposeScope();
        keys[layer]?.Dispose();
        values[layer]?.Dispose();
        keys[layer] = k;
        values[layer] = v;
        return (k, v);
    }

    /// <summary>Records the full mask after all layers appended (called once per forward by the model).</summary>
    internal void Commit(Tensor fullMask)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var m = fullMask.alias();
        m.DetachFromDisposeScope();
        mask?.Dispose();
        mask = m;
        Length = (int)m.shape[1];
    }

    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        foreach (var t in keys) t?.Dispose();
        foreach (var t in values) t?.Dispose();
        mask?.Dispose();
    }
}
