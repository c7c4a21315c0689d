using PredGen.TestSupport;

namespace PredGen.Cli.Tests;

[CollectionDefinition(AzuriteTests.Name)]
public sealed class AzuriteDefinition : ICollectionFixture<AzuriteFixture>;
