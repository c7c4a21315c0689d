using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.TestSupport;
using PredGen.Training.Checkpoints;
using PredGen.Training.Methods;
using PredGen.Training.Model;
using PredGen.Training.Pretraining;
using PredGen.Training.Runtime;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Pretraining;

/// <summary>The committed base (models/base) against a randomly initialised model of the same config, on text held
/// out of pretraining (models/base/heldout.txt: the start of each corpus file's held-out 1%), in bits per byte so the
/// figure does not depend on the tokenizer.</summary>
public sealed class PretrainedBaseTests
{
    private static string BaseDirectory => Path.Combine(TestPaths.RepositoryRoot(), "models", "base");

    [Fact]
    public void Committed_base_predicts_held_out_text_far_better_than_a_random_initialisation()
    {
        var options = new TorchOptions { Device = "cpu" };
        string heldOut = Path.Combine(BaseDirectory, Pretrainer.HeldOutFile);
        var (pretrained, tokenizer) = ModelDirectory.Load(BaseDirectory, options);
        double pretrainedBits, randomBits;
        using (pretrained)
        {
            pretrainedBits = Pretrainer.HeldOut(pretrained, heldOut, tokenizer).BitsPerByte;
            manual_seed(7);
            using var random = new LlamaForCausalLM(pretrained.Config);
            randomBits = Pretrainer.HeldOut(random, heldOut, tokenizer).BitsPerByte;
        }

        // A random model spreads its probability over the vocabulary: log2(4096) = 12 bits per ~3 bytes of English.
        Assert.InRange(randomBits, 3.0, 9.0);
        Assert.True(pretrainedBits < 0.6 * randomBits, $"pretrained {pretrainedBits:F3} vs random {randomBits:F3} bits per byte");
        Assert.True(pretrainedBits < 1.9, $"pretrained {pretrainedBits:F3} bits per byte on held-out text (issue 19: at most 1.9)");
    }

    [Fact]
    public void Committed_base_records_how_it_was_made()
    {
        using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(BaseDirectory, Pretrainer.SummaryFile)));
        var root = summary.RootElement;

        Assert.True(root.GetProperty("finished").GetBoolean());
        Assert.StartsWith("predgen pretrain", root.GetProperty("command").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain(root.GetProperty("corpus").EnumerateArray(), c => c.GetProperty("file").GetString()!.Contains("sotu", StringComparison.OrdinalIgnoreCase));
        Assert.True(root.GetProperty("validation_bits_per_byte").GetDouble() < root.GetProperty("random_init_validation_bits_per_byte").GetDouble() - 1.0);
        Assert.True(root.GetProperty("tokens_seen").GetInt64() >= 30_000_000, "the base saw fewer than 30 M tokens (issue 19)");
        Assert.True(new FileInfo(Path.Combine(BaseDirectory, ModelDirectory.WeightsFile)).Length < 50L * 1024 * 1024);
        Assert.True(File.Exists(Path.Combine(BaseDirectory, Pretrainer.LossCurveFile)));
    }

    [Fact]
    public void Committed_base_tokenizer_writes_every_character_of_a_number_as_one_token_and_round_trips_text()
    {
        var tokenizer = TokenizerLoader.Load(BaseDirectory);

        // PredGen generates numbers character by character; the grammar refuses a tokenizer that cannot.
        var grammar = new NumberGrammar(NumberFormat.Infer([-12.5, 3.25, 1999], maxDecimals: 2), tokenizer);
        Assert.Equal(grammar.Format.Length, grammar.Encode(1999).Length);
        Assert.Equal(1999.0, grammar.Parse(grammar.Encode(1999)), 6);

        const string text = "Subject: Re: 50% off?\nDear Sir, the State's 2nd reply — naïve café.\n";
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
        // Digits, punctuation and accented letters cost a token each (split digits, byte fallback); plain prose merges.
        const string prose = "The committee will meet on Monday to discuss the new budget for the public library.";
        int proseTokens = tokenizer.Encode(prose).Count;
        Assert.True(proseTokens * 3 < prose.Length, $"{proseTokens} tokens for {prose.Length} characters of prose: the vocabulary should merge common words");
        Assert.Equal(tokenizer.PadId, LlamaConfig.Load(Path.Combine(BaseDirectory, ModelDirectory.ConfigFile)).PadTokenId);
    }
}
