using PredGen.TestSupport;

namespace PredGen.Integration.Tests;

[CollectionDefinition(AzuriteTests.Name)]
public sealed class AzuriteDefinition : ICollectionFixture<AzuriteFixture>;
