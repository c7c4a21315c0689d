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

    /// <summary>
    /// A cache that starts from this one's positions, detached from autograd; appending to it leaves this cache
    /// untouched. Scheduled sampling decodes its own tokens on a fork of the training forward's prompt cache, so the
    /// prompt is computed once, with gradients, and not again for sampling.
    /// </summary>
    public KVCache Fork()
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        var fork = new KVCache(Layers);
        for (int i = 0; i < Layers; i++)
        {
            fork.keys[i] = keys[i] is { } k ? Own(k.detach()) : null;
            fork.values[i] = values[i] is { } v ? Own(v.detach()) : null;
        }
        fork.mask = mask is { } m ? Own(m.alias()) : null;
        fork.Length = Length;
        return fork;
    }

    /// <summary>A cache holding the rows <paramref name="rowIndex"/> (int64, dim 0) of this one, in that order and with
    /// repeats: exact label scoring computes B prompts once and continues them as B·K rows.</summary>
    public KVCache Select(Tensor rowIndex)
    {
        ObjectDisposedException.ThrowIf(disposed, this);
        ArgumentNullException.ThrowIfNull(rowIndex);
        var selected = new KVCache(Layers);
        for (int i = 0; i < Layers; i++)
        {
            selected.keys[i] = keys[i] is { } k ? Own(k.index_select(0, rowIndex.to(k.device))) : null;
            selected.values[i] = values[i] is { } v ? Own(v.index_select(0, rowIndex.to(v.device))) : null;
        }
        selected.mask = mask is { } m ? Own(m.index_select(0, rowIndex.to(m.device))) : null;
        selected.Length = Length;
        return selected;
    }

    private static Tensor Own(Tensor t)
    {
        t.DetachFromDisposeScope();
        return t;
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
