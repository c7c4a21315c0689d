using PredGen.Training.Mine;

namespace PredGen.Training.Tests.Mine;

public sealed class TokenLabelAssociationTests
{
    [Fact]
    public void The_word_that_decides_the_predicted_label_tops_that_label_and_filler_words_score_near_zero()
    {
        var texts = new List<string>();
        var labels = new List<string>();
        var rng = new Random(4);
        string[] fillers = ["the movie was", "honestly it is", "a film that is"];
        for (int i = 0; i < 200; i++)
        {
            bool positive = i % 2 == 0;
            string cue = positive ? (i % 4 == 0 ? "funny" : "pretty") : (i % 4 == 1 ? "dull" : "boring");
            texts.Add($"{fillers[rng.Next(fillers.Length)]} {cue}");
            labels.Add(positive ? "positive" : "negative");
        }

        var report = TokenLabelAssociation.Analyze(texts, labels, top: 3);

        var positiveTop = report.Labels.Single(l => l.Label == "positive").TopTokens;
        Assert.Contains(positiveTop.Take(2), t => t.Token == "funny");
        Assert.Contains(positiveTop.Take(2), t => t.Token == "pretty");
        Assert.DoesNotContain(positiveTop, t => t.Token is "dull" or "boring");
        // "funny" occurs in a quarter of the inputs, always with "positive": NPMI = log 2 / -log(1/4) = 0.5 before smoothing.
        Assert.InRange(positiveTop[0].Npmi, 0.45, 0.5);
        Assert.Equal("negative", report.Labels[0].Label);
        Assert.True(report.MostInformative[0].MiNats > 0.1);
        Assert.Equal(TokenLabelAssociation.MethodName, report.Method);
        Assert.Equal(["isn't", "it", "5", "stars"], TokenLabelAssociation.Words("Isn't it... 5 STARS!"));
    }
}
