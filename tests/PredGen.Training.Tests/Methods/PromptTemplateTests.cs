using PredGen.Training.Methods;

namespace PredGen.Training.Tests.Methods;

public sealed class PromptTemplateTests
{
    [Fact]
    public void The_default_template_renders_single_texts_and_pairs()
    {
        Assert.Equal("Input: free money\nAnswer: ", PromptTemplate.Default.Render(new TextInput("free money")));
        Assert.Equal("Input: a\nSecond: b\nAnswer: ", PromptTemplate.Default.Render(new TextInput("a", "b")));
    }
}
