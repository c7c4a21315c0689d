using PredGen.TestSupport;

namespace PredGen.Shared.Tests;

[CollectionDefinition(AzuriteTests.Name)]
public sealed class AzuriteDefinition : ICollectionFixture<AzuriteFixture>;
