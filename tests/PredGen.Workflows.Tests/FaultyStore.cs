using PredGen.Shared.Storage;

namespace PredGen.Workflows.Tests;

/// <summary>A store that fails chosen calls: <see cref="Fault"/> sees (operation, path) and returns the exception to
/// throw, or null to let the call through to the real store. <see cref="BeforeRead"/>, <see cref="BeforeWrite"/> and
/// <see cref="AfterWrite"/> order concurrent callers (a race made deterministic).</summary>
public sealed class FaultyStore(IArtifactStore inner) : IArtifactStore
{
    public Func<string, string, Exception?> Fault { get; set; } = (_, _) => null;

    public Func<string, Task> BeforeRead { get; set; } = _ => Task.CompletedTask;

    /// <summary>Runs once the real read has returned, before its result goes back to the caller: a barrier here holds
    /// callers that have all read the same state.</summary>
    public Func<string, Task> AfterRead { get; set; } = _ => Task.CompletedTask;
    public Func<string, string, Task> BeforeWrite { get; set; } = (_, _) => Task.CompletedTask;
    public Action<string, string> AfterWrite { get; set; } = (_, _) => { };

    public string Location => inner.Location;

    private void Check(string operation, string path)
    {
        if (Fault(operation, path) is { } error) throw error;
    }

    public async Task WriteAsync(string path, BinaryData content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        Check(nameof(WriteAsync), path);
        await BeforeWrite(path, content.ToString());
        try { await inner.WriteAsync(path, content, cancellationToken); }
        finally { AfterWrite(path, content.ToString()); }
    }

    public async Task<string> WriteIfMatchAsync(string path, BinaryData content, string? expectedETag, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        Check(nameof(WriteIfMatchAsync), path);
        await BeforeWrite(path, content.ToString());
        try { return await inner.WriteIfMatchAsync(path, content, expectedETag, cancellationToken); }
        finally { AfterWrite(path, content.ToString()); }
    }

    public async Task<StoredArtifact?> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        Check(nameof(ReadAsync), path);
        await BeforeRead(path);
        var result = await inner.ReadAsync(path, cancellationToken);
        await AfterRead(path);
        return result;
    }

    public Task<bool> ExistsAsync(string path, CancellationToken cancellationToken = default)
    {
        Check(nameof(ExistsAsync), path);
        return inner.ExistsAsync(path, cancellationToken);
    }

    public Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken = default)
    {
        Check(nameof(ListAsync), prefix);
        return inner.ListAsync(prefix, cancellationToken);
    }

    public Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        Check(nameof(DeleteAsync), path);
        return inner.DeleteAsync(path, cancellationToken);
    }
}
