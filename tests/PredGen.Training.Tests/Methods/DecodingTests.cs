using PredGen.Shared.Data;
using PredGen.Training.Generation;
using PredGen.Training.Methods;
using PredGen.Training.Model;
using PredGen.Training.Tokenization;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Methods;

public sealed class DecodingTests
{
    private static readonly ByteTokenizer Bytes = new();
    private static readonly double[] Targets = [12.5, 3.0, 99.9, 45.6, 7.7, 60.1];

    private static MethodNetwork Untrained(MethodKind method, TaskKind kind, IReadOnlyList<string>? labels = null, NumberFormat? format = null, int seed = 11)
    {
        manual_seed(seed);
        var backbone = new LlamaForCausalLM(LlamaConfig.Tiny(ByteTokenizer.Size));
        backbone.eval();
        var card = new ModelCard
        {
            Method = method,
            TaskKind = kind,
            Labels = labels,
            NumberFormat = format,
            AnswerPositions = MethodNetwork.AnswerPositions(kind, labels, format, Bytes),
            AdapterHidden = 16,
            HiddenSize = backbone.Config.HiddenSize,
            MaxPromptTokens = 64,
        };
        var network = new MethodNetwork(backbone, Bytes, card);
        network.Head?.eval();
        return network;
    }

    private static List<TextInput> Inputs(int count) =>
        [.. Enumerable.Range(0, count).Select(i => new TextInput(new string((char)('a' + i % 26), 1 + i % 7) + " text " + i))];

    [Theory]
    [InlineData(MethodKind.Generator, 1)]
    [InlineData(MethodKind.PredGen, 2)]
    [InlineData(MethodKind.Generator, 3)]
    public void An_untrained_model_always_writes_a_number_that_parses(MethodKind method, int seed)
    {
        var format = new NumberFormat(HasSign: true, IntegerDigits: 2, Decimals: 2);
        using var network = Untrained(method, TaskKind.Regression, format: format, seed: seed);
        var predictions = Inference.Predict(network, Inputs(24), withProbabilities: false, withText: true);
        Assert.All(predictions, p =>
        {
            Assert.True(format.TryParse(p.GeneratedText!, out double written), $"'{p.GeneratedText}' does not parse as {format}");
            Assert.Equal(format.Length, p.GeneratedText!.Length);
            Assert.True(double.IsFinite(p.Value!.Value));
            if (method == MethodKind.Generator) Assert.Equal(written, p.Value.Value);
        });
    }

    [Theory]
    [InlineData(MethodKind.Generator)]
    [InlineData(MethodKind.PredGen)]
    public void An_untrained_model_only_writes_known_labels_even_when_one_label_prefixes_another(MethodKind method)
    {
        string[] labels = ["no", "not", "yes"];
        using var network = Untrained(method, TaskKind.Classification, labels: labels);
        foreach (bool withProbabilities in new[] { false, true })
        {
            var predictions = Inference.Predict(network, Inputs(24), withProbabilities, withText: true);
            Assert.All(predictions, p =>
            {
                Assert.Contains(p.Label, labels);
                Assert.Contains(p.GeneratedText, labels);
            });
        }
    }

    [Fact]
    public void Exact_label_scoring_equals_each_label_sequence_log_probability_and_sums_to_one()
    {
        string[] labels = ["no", "not", "yes"];
        using var network = Untrained(MethodKind.Generator, TaskKind.Classification, labels: labels);
        var inputs = Inputs(5);
        var prompts = inputs.Select(network.Prompt).ToList();
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var (scored, _, _) = network.ScoreLabels(prompts);
        for (int b = 0; b < prompts.Count; b++)
        {
            for (int k = 0; k < labels.Length; k++)
            {
                // Brute force: one unpadded, uncached forward over prompt + label + EOS.
                var answer = Bytes.Encode(labels[k]).Append(Bytes.EosId).ToArray();
                var ids = prompts[b].Concat(answer).Select(i => (long)i).ToArray();
                var logits = network.Backbone.forward(new CausalLMInput(tensor(ids).view(1, -1))).Logits!;
                var logProbs = nn.functional.log_softmax(logits[0], -1);
                double expected = 0;
                for (int t = 0; t < answer.Length; t++) expected += logProbs[prompts[b].Length - 1 + t, answer[t]].item<float>();
                Assert.Equal(expected, scored[b, k].item<float>(), 3);
            }
        }
        var predictions = Inference.Predict(network, inputs, withProbabilities: true, withText: true);
        Assert.All(predictions, p => Assert.Equal(1.0, p.Probabilities!.Values.Sum(), 5));
    }

    [Fact]
    public void With_p_equal_1_the_fed_tokens_are_exactly_the_models_own_grammar_constrained_greedy_tokens_and_with_p_0_the_ground_truth()
    {
        var format = new NumberFormat(HasSign: false, IntegerDigits: 2, Decimals: 1);
        using var network = Untrained(MethodKind.PredGen, TaskKind.Regression, format: format, seed: 5);
        var grammar = (NumberGrammar)network.Grammar!;
        var prompts = Inputs(6).Select(network.Prompt).ToList();   // different lengths: left padding is exercised
        var answers = Targets.Select(grammar.Encode).ToList();
        int width = format.Length;

        using var scope = NewDisposeScope();
        var all = new bool[prompts.Count, width];
        for (int b = 0; b < prompts.Count; b++) for (int t = 0; t < width; t++) all[b, t] = true;
        var sampled = network.PredGenForward(prompts, answers, all, trainOnPrompt: false, digitWeights: true);
        (int[][] decoded, _) = Decoded(network, prompts);
        for (int b = 0; b < prompts.Count; b++)
        {
            Assert.Equal(decoded[b], sampled.FedTokens[b]);
            Assert.Equal(decoded[b], sampled.OwnTokens[b]);
            Assert.True(format.TryParse(grammar.Text(sampled.FedTokens[b]), out _), "own tokens follow the number grammar");
        }
        Assert.Equal(0, sampled.ExtraRows);   // the mix is the own answer: one forward serves L_W and L_D
        Assert.NotEqual(answers.Select(a => string.Join(',', a)), sampled.FedTokens.Select(a => string.Join(',', a))); // the untrained model's tokens differ

        var teacherForced = network.PredGenForward(prompts, answers, new bool[prompts.Count, width], trainOnPrompt: false, digitWeights: true);
        for (int b = 0; b < prompts.Count; b++) Assert.Equal(answers[b], teacherForced.FedTokens[b]);
    }

    private static (int[][] Tokens, Tensor States) Decoded(MethodNetwork network, List<int[]> prompts)
    {
        using var noGrad = no_grad();
        return network.Decode(prompts);
    }

    [Fact]
    public void The_label_trie_allows_eos_where_a_label_ends_and_its_continuations()
    {
        int eos = Bytes.EosId;
        var trie = new LabelTrie([[1, 2], [1, 2, 3], [4]], eos);
        Assert.Equal([1, 4], trie.AllowedNext([]));
        Assert.Equal([3, eos], trie.AllowedNext([1, 2]));
        Assert.Equal([eos], trie.AllowedNext([1, 2, 3]));
        Assert.Equal(1, trie.LabelOf([1, 2, 3]));
        Assert.Equal(-1, trie.LabelOf([1]));
        Assert.Throws<ArgumentException>(() => new LabelTrie([[1], [1]], eos));
    }

    [Fact]
    public void The_number_grammar_spells_sign_digits_point_and_then_eos()
    {
        var grammar = new NumberGrammar(new NumberFormat(HasSign: true, IntegerDigits: 1, Decimals: 1), Bytes);
        int Id(char c) => Bytes.Encode(c.ToString())[0];
        Assert.Equal([Id('+'), Id('-')], grammar.AllowedNext([]));
        Assert.Equal(10, grammar.AllowedNext([Id('-')]).Count);
        Assert.Equal([Id('.')], grammar.AllowedNext([Id('-'), Id('3')]));
        Assert.Equal([Bytes.EosId], grammar.AllowedNext(grammar.Encode(-3.5)));
        Assert.Equal(-3.5, grammar.Parse(grammar.Encode(-3.5)));
        Assert.Equal("+9.9", grammar.Text(grammar.Encode(42)));   // clamped to the format, never a wrong length
    }
}
