using PredGen.Shared.Storage;

namespace PredGen.Workflows.Tests;

/// <summary>A store that fails chosen calls: <see cref="Fault"/> sees (operation, path) and returns the exception to
/// throw, or null to let the call through to the real store.</summary>
public sealed class FaultyStore(IArtifactStore inner) : IArtifactStore
{
    public Func<string, string, Exception?> Fault { get; set; } = (_, _) => null;

    public string Location => inner.Location;

    private void Check(string operation, string path)
    {
        if (Fault(operation, path) is { } error) throw error;
    }

    public Task WriteAsync(string path, BinaryData content, CancellationToken cancellationToken = default)
    {
        Check(nameof(WriteAsync), path);
        return inner.WriteAsync(path, content, cancellationToken);
    }

    public Task<string> WriteIfMatchAsync(string path, BinaryData content, string? expectedETag, CancellationToken cancellationToken = default)
    {
        Check(nameof(WriteIfMatchAsync), path);
        return inner.WriteIfMatchAsync(path, content, expectedETag, cancellationToken);
    }

    public Task<StoredArtifact?> ReadAsync(string path, CancellationToken cancellationToken = default)
    {
        Check(nameof(ReadAsync), path);
        return inner.ReadAsync(path, cancellationToken);
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
