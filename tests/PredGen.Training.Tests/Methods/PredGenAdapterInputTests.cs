using System.Text.Json;
using PredGen.Shared.Data;
using PredGen.Training.Lora;
using PredGen.Training.Methods;
using PredGen.Training.Model;
using PredGen.Training.Optimization;
using PredGen.Training.Tokenization;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Methods;

/// <summary>
/// PredGen trains the way it predicts (issue 12): the task adapter's input in training is the hidden states at the
/// model's own grammar-constrained greedy answer, exactly the input inference builds, and scheduled sampling feeds those
/// same own tokens.
/// </summary>
public sealed class PredGenAdapterInputTests(ITestOutputHelper output)
{
    private static readonly ByteTokenizer Bytes = new();
    private static readonly double[] Values = [12.5, 3.0, 99.9, 45.6, 7.7, 60.1];
    private static readonly double[] SignedValues = [12.5, -3.0, 99.99, 45.61, -7.7, 60.1];

    /// <summary>An untrained tiny network in train mode (as the trainer leaves it), optionally with LoRA whose B is
    /// non-zero and whose dropout is high, so a pass that ran with dropout would not match inference.</summary>
    private static MethodNetwork Untrained(TaskKind kind, IReadOnlyList<string>? labels = null, NumberFormat? format = null,
        FineTuning fineTuning = FineTuning.Full, int seed = 13, bool readsPromptState = true)
    {
        manual_seed(seed);
        var backbone = new LlamaForCausalLM(LlamaConfig.Tiny(ByteTokenizer.Size));
        if (fineTuning == FineTuning.Lora)
        {
            LoraAdapters.Apply(backbone, new LoraOptions(Rank: 4, Alpha: 8, Dropout: 0.3));
            using var _ = no_grad();
            foreach (var (name, parameter) in backbone.named_parameters())
                if (name.Contains(".lora_B.", StringComparison.Ordinal)) nn.init.normal_(parameter, 0, 0.2);
        }
        var card = new ModelCard
        {
            Method = MethodKind.PredGen,
            TaskKind = kind,
            Labels = labels,
            NumberFormat = format,
            AnswerPositions = MethodNetwork.AnswerPositions(kind, labels, format, Bytes),
            AdapterReadsPromptState = readsPromptState,
            AdapterHidden = 16,
            HiddenSize = backbone.Config.HiddenSize,
            MaxPromptTokens = 64,
            FineTuning = fineTuning,
        };
        var network = new MethodNetwork(backbone, Bytes, card);
        backbone.train();
        network.Head!.train();
        return network;
    }

    private static List<int[]> Prompts(MethodNetwork network, int count) =>
        [.. Enumerable.Range(0, count).Select(i => network.Prompt(new TextInput(new string((char)('a' + i % 26), 1 + i % 5) + " text " + i)))];

    private static bool[,] Checkerboard(int rows, int width)
    {
        var mask = new bool[rows, width];
        for (int b = 0; b < rows; b++) for (int t = 0; t < width; t++) mask[b, t] = (b + t) % 2 == 0;
        return mask;
    }

    private static float MaxAbsDiff(Tensor a, Tensor b) => (a.to(ScalarType.Float32) - b.to(ScalarType.Float32)).abs().max().item<float>();

    /// <summary>Brute force: one unpadded, uncached forward over prompt + own answer; the states at the answer's tokens.</summary>
    /// <summary>L_W by brute force, one unpadded uncached forward per row in eval mode: the mean over rows of the
    /// negative log-probabilities of the first <paramref name="targetsOf"/>(fed, gold) targets of gold + EOS, each read
    /// after the prompt and the fed tokens before it.</summary>
    private static double BruteForceWriterLoss(MethodNetwork network, List<int[]> prompts, int[][] fedTokens, List<int[]> gold,
        Func<int[], int[], int> targetsOf)
    {
        double sum = 0;
        int count = 0;
        using var _ = no_grad();
        network.Backbone.eval();
        for (int b = 0; b < prompts.Count; b++)
        {
            var ids = prompts[b].Concat(fedTokens[b]).Select(i => (long)i).ToArray();
            var logProbs = nn.functional.log_softmax(network.Backbone.forward(new CausalLMInput(tensor(ids).view(1, -1))).Logits![0], -1);
            var targets = gold[b].Append(Bytes.EosId).ToArray();
            int n = targetsOf(fedTokens[b], gold[b]);
            for (int j = 0; j < n; j++, count++) sum -= logProbs[prompts[b].Length - 1 + j, targets[j]].item<float>();
        }
        return sum / count;
    }

    private static void AssertStatesAtOwnTokens(MethodNetwork network, List<int[]> prompts, int[][] own, Tensor adapterInput)
    {
        using var noGrad = no_grad();
        for (int b = 0; b < prompts.Count; b++)
        {
            var ids = prompts[b].Concat(own[b]).Select(i => (long)i).ToArray();
            var hidden = network.Backbone.forward(new CausalLMInput(tensor(ids).view(1, -1), ComputeLogits: false)).HiddenStates[0];
            int first = network.Card.AdapterReadsPromptState ? 1 : 0;
            Assert.Equal(network.Card.AnswerPositions + first, adapterInput.shape[1]);
            if (first == 1)
            {
                // The state that wrote the first answer token: the prompt's last position.
                float promptDiff = MaxAbsDiff(hidden.narrow(0, prompts[b].Length - 1, 1), adapterInput[b].narrow(0, 0, 1));
                Assert.True(promptDiff < 1e-4f, $"row {b}: the adapter's first input is not the prompt's last state (max diff {promptDiff})");
            }
            var atTokens = hidden.narrow(0, prompts[b].Length, own[b].Length);
            float diff = MaxAbsDiff(atTokens, adapterInput[b].narrow(0, first, own[b].Length));
            Assert.True(diff < 1e-4f, $"row {b}: the adapter input is not the states at the own tokens (max diff {diff})");
            if (first + own[b].Length < adapterInput.shape[1])
                Assert.Equal(0f, adapterInput[b].narrow(0, first + own[b].Length, adapterInput.shape[1] - first - own[b].Length).abs().max().item<float>());
        }
    }

    [Theory]
    [InlineData("ham,spam", FineTuning.Full)]
    [InlineData("no,not,yes", FineTuning.Lora)]
    [InlineData("0,1", FineTuning.Full)]     // one-token labels: the adapter must see the state at the label's token
    public void For_a_class_label_the_adapter_input_built_in_training_equals_the_one_built_at_inference(string labelList, FineTuning fineTuning)
    {
        string[] labels = labelList.Split(',');
        using var network = Untrained(TaskKind.Classification, labels: labels, fineTuning: fineTuning);
        var prompts = Prompts(network, 7);
        var gold = Enumerable.Range(0, prompts.Count).Select(i => Bytes.Encode(labels[i % labels.Length]).ToArray()).ToList();
        using var scope = NewDisposeScope();

        var pass = network.PredGenForward(prompts, gold, Checkerboard(prompts.Count, gold.Max(g => g.Length)), trainOnPrompt: false, digitWeights: true);
        Assert.True(network.Backbone.training, "the trainer's train mode is restored after the pass");
        Assert.True(pass.AdapterInput.requires_grad, "L_D's gradient reaches the backbone through the adapter input");
        // Rows whose scheduled-sampling mix is not their own answer get a continuation of their own; the rest share.
        Assert.Equal(Enumerable.Range(0, prompts.Count).Count(b => !pass.FedTokens[b].SequenceEqual(pass.OwnTokens[b])), pass.ExtraRows);
        var training = pass.AdapterInput.detach();

        network.Backbone.eval();
        network.Head!.eval();
        using var noGrad = no_grad();
        var (decodedTokens, decodedStates) = network.Decode(prompts);
        var (_, scoredStates, greedy) = network.ScoreLabels(prompts);
        var trie = (LabelTrie)network.Grammar!;
        for (int b = 0; b < prompts.Count; b++)
        {
            Assert.Equal(decodedTokens[b], pass.OwnTokens[b]);
            Assert.Equal(trie.LabelOf(pass.OwnTokens[b]), greedy[b]);
        }
        var scored = scoredStates.index_select(0, tensor(greedy.Select((label, b) => (long)(b * labels.Length + label)).ToArray()));

        float vsDecode = MaxAbsDiff(training, decodedStates), vsScoring = MaxAbsDiff(training, scored);
        output.WriteLine($"{labelList} ({fineTuning}): own answers [{string.Join(", ", pass.OwnTokens.Select(t => Bytes.Decode(t)))}], " +
            $"max |Z_train − Z_decode| {vsDecode:E2}, |Z_train − Z_scoring| {vsScoring:E2}");
        Assert.True(vsDecode < 1e-5f, $"training vs greedy decoding: {vsDecode}");
        Assert.True(vsScoring < 1e-5f, $"training vs exact label scoring: {vsScoring}");
        AssertStatesAtOwnTokens(network, prompts, pass.OwnTokens, training);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]   // a card written before the adapter read the prompt's last state
    public void For_a_multi_digit_number_the_adapter_input_built_in_training_equals_the_one_built_at_inference(bool readsPromptState)
    {
        var format = new NumberFormat(HasSign: true, IntegerDigits: 2, Decimals: 2);
        using var network = Untrained(TaskKind.Regression, format: format, fineTuning: FineTuning.Lora, readsPromptState: readsPromptState);
        var grammar = (NumberGrammar)network.Grammar!;
        var prompts = Prompts(network, 6);
        var gold = SignedValues.Select(grammar.Encode).ToList();
        using var scope = NewDisposeScope();

        var pass = network.PredGenForward(prompts, gold, Checkerboard(prompts.Count, format.Length), trainOnPrompt: false, digitWeights: true);
        var training = pass.AdapterInput.detach();
        // every digit, the last one included, after the prompt's last state when the card reads it
        Assert.Equal([prompts.Count, format.Length + (readsPromptState ? 1 : 0), 32L], training.shape);

        network.Backbone.eval();
        using var noGrad = no_grad();
        var (decodedTokens, decodedStates) = network.Decode(prompts);
        for (int b = 0; b < prompts.Count; b++) Assert.Equal(decodedTokens[b], pass.OwnTokens[b]);
        float diff = MaxAbsDiff(training, decodedStates);
        output.WriteLine($"own answers [{string.Join(", ", pass.OwnTokens.Select(grammar.Text))}], max |Z_train − Z_decode| {diff:E2}");
        Assert.True(diff < 1e-5f, $"training vs greedy decoding: {diff}");
        AssertStatesAtOwnTokens(network, prompts, pass.OwnTokens, training);
    }

    [Fact]
    public void For_labels_fed_own_tokens_keep_the_gold_target_where_they_leave_the_gold_label_and_drop_the_targets_after()
    {
        // Multi-byte labels that share no first byte: an own label differs from the gold one at its first token.
        string[] labels = ["yes", "no", "maybe"];
        using var network = Untrained(TaskKind.Classification, labels, seed: 7);
        var prompts = Prompts(network, 8);
        var gold = Enumerable.Range(0, prompts.Count).Select(b => Bytes.Encode(labels[b % labels.Length]).ToArray()).ToList();
        var all = new bool[prompts.Count, gold.Max(g => g.Length)];
        for (int b = 0; b < prompts.Count; b++) for (int t = 0; t < all.GetLength(1); t++) all[b, t] = true;   // p = 1
        using var scope = NewDisposeScope();

        var pass = network.PredGenForward(prompts, gold, all, trainOnPrompt: false, digitWeights: false);
        int diverged = Enumerable.Range(0, prompts.Count).Count(b => !pass.FedTokens[b].AsSpan(0, gold[b].Length).SequenceEqual(gold[b]));
        Assert.True(diverged > 0, "the untrained model writes a wrong label for some row, so the rule is exercised");

        // Per row, the gold targets up to and including the first fed token that differs from gold (EOS only when the
        // whole gold label was fed), nothing after it.
        double expected = BruteForceWriterLoss(network, prompts, pass.FedTokens, gold, (fed, g) =>
        {
            int last = 0;
            while (last < g.Length && last < fed.Length && fed[last] == g[last]) last++;
            return last + 1;
        });
        Assert.Equal(expected, pass.WriterLoss.item<float>(), 4);
    }

    [Fact]
    public void A_mixed_mask_feeds_the_own_tokens_exactly_at_masked_positions_and_gold_elsewhere_with_gold_targets()
    {
        var format = new NumberFormat(HasSign: false, IntegerDigits: 2, Decimals: 1);
        using var network = Untrained(TaskKind.Regression, format: format, seed: 5);
        var grammar = (NumberGrammar)network.Grammar!;
        var prompts = Prompts(network, 6);
        var gold = Values.Select(grammar.Encode).ToList();
        var mask = Checkerboard(prompts.Count, format.Length);   // 0 < p < 1
        using var scope = NewDisposeScope();

        var pass = network.PredGenForward(prompts, gold, mask, trainOnPrompt: false, digitWeights: false);
        (int[][] own, _) = Decode(network, prompts);
        int ownPositions = 0;
        for (int b = 0; b < prompts.Count; b++)
        {
            Assert.Equal(own[b], pass.OwnTokens[b]);
            for (int t = 0; t < format.Length; t++)
            {
                Assert.Equal(mask[b, t] ? own[b][t] : gold[b][t], pass.FedTokens[b][t]);
                if (mask[b, t] && own[b][t] != gold[b][t]) ownPositions++;
            }
        }
        Assert.True(ownPositions > 0, "the untrained model's own tokens differ from gold somewhere, so the mix is visible");

        // L_W: inputs are the mix, targets are gold + EOS, all of them.
        double expected = BruteForceWriterLoss(network, prompts, pass.FedTokens, gold, (_, g) => g.Length + 1);
        Assert.Equal(expected, pass.WriterLoss.item<float>(), 4);
    }

    [Theory]
    [InlineData(FineTuning.Lora)]
    [InlineData(FineTuning.Full)]
    public void After_a_few_PredGen_steps_every_trainable_tensor_has_a_gradient_and_has_changed(FineTuning fineTuning)
    {
        string[] labels = ["ham", "spam"];
        using var network = Untrained(TaskKind.Classification, labels: labels, fineTuning: fineTuning, seed: 21);
        if (fineTuning == FineTuning.Lora)
        {
            // LoRA starts with B = 0 (so A gets no gradient on the first step), as the trainer's adapters do.
            using var _ = no_grad();
            foreach (var (name, parameter) in network.Backbone.named_parameters())
                if (name.Contains(".lora_B.", StringComparison.Ordinal)) parameter.zero_();
        }
        var trainable = network.Backbone.named_parameters().Where(p => p.parameter.requires_grad).Select(p => ("backbone." + p.name, p.parameter))
            .Concat(network.Head!.named_parameters().Select(p => ("head." + p.name, p.parameter))).ToList();
        if (fineTuning == FineTuning.Lora) Assert.All(trainable.Where(p => p.Item1.StartsWith("backbone.", StringComparison.Ordinal)), p => Assert.True(LoraAdapters.IsAdapterParameter(p.Item1)));
        else Assert.Equal(network.Backbone.parameters().Count(), trainable.Count(p => p.Item1.StartsWith("backbone.", StringComparison.Ordinal)));
        var before = trainable.ToDictionary(p => p.Item1, p => p.parameter.detach().clone());
        using var optimizer = new AdamW(trainable.Select(p => (p.Item1, p.parameter, 1.0)), 0.9, 0.999, 1e-8, 0);
        var prompts = Prompts(network, 8);
        var gold = Enumerable.Range(0, 8).Select(i => Bytes.Encode(labels[i % 2]).ToArray()).ToList();
        var targets = tensor(Enumerable.Range(0, 8).Select(i => (long)(i % 2)).ToArray());
        var random = new Random(4);
        var sampling = new ScheduledSampling(SamplingSchedule.Linear, 0.5, 0.5, 1, SamplingMixing.PerToken);

        const int steps = 3;
        var withoutGradient = new List<string>();
        for (int step = 0; step < steps; step++)
        {
            using var scope = NewDisposeScope();
            var pass = network.PredGenForward(prompts, gold, sampling.DrawMask(8, 4, 0.5, random), trainOnPrompt: false, digitWeights: true);
            var director = network.DirectorLoss(network.Head.forward(pass.AdapterInput).to(ScalarType.Float32), targets);
            WriterDirectorLoss.Combine(pass.WriterLoss, director, LossVariant.WdalStabilized).backward();
            if (step == steps - 1)
                withoutGradient.AddRange(trainable.Where(p => p.parameter.grad is null || p.parameter.grad.abs().max().item<float>() == 0).Select(p => p.Item1));
            optimizer.Step(1e-2);
            optimizer.ZeroGrad();
        }
        Assert.Empty(withoutGradient);
        var unchanged = trainable.Where(p => MaxAbsDiff(p.parameter, before[p.Item1]) == 0).Select(p => p.Item1).ToList();
        Assert.Empty(unchanged);

        // L_D alone reaches the backbone through the forward over the own tokens: every trainable backbone tensor on
        // that path (all but lm_head, which only L_W uses) gets a gradient from it.
        using (NewDisposeScope())
        {
            var pass = network.PredGenForward(prompts, gold, null, trainOnPrompt: false, digitWeights: true);
            network.DirectorLoss(network.Head.forward(pass.AdapterInput).to(ScalarType.Float32), targets).backward();
            var missing = trainable.Where(p => p.Item1 != "backbone.lm_head.weight")
                .Where(p => p.parameter.grad is null || p.parameter.grad.abs().max().item<float>() == 0).Select(p => p.Item1).ToList();
            Assert.Empty(missing);
            optimizer.ZeroGrad();
        }
    }

    [Fact]
    public void On_a_task_whose_prompt_carries_no_signal_PredGen_stays_at_chance_and_its_L_D_stays_near_ln_K()
    {
        // Four texts, each with "ham" and "spam" equally often: no prompt tells the label, so the best an adapter that
        // reads the model's own answer can do is ln 2 per row. An adapter shown the gold answer reads it back (L_D → 0).
        string data = MethodFixtures.NewOutput("shortcut-data");
        string[] texts = ["it was so", "really the day", "quite honestly", "the report said"];
        List<PreparedRow> Rows(string split, int perLabel) =>
            [.. texts.SelectMany((text, i) => Enumerable.Range(0, 2 * perLabel)
                .Select(j => PreparedRow.Classification($"{split}-{i}-{j}", text, j % 2 == 0 ? "ham" : "spam")))];
        PreparedRow.WriteJsonl(Path.Combine(data, "train.jsonl"), Rows("train", 6));
        PreparedRow.WriteJsonl(Path.Combine(data, "validation.jsonl"), Rows("validation", 1));
        PreparedRow.WriteJsonl(Path.Combine(data, "test.jsonl"), Rows("test", 1));
        // p ends at 0.5, the old default: half the tokens fed for L_W stay gold, which must not reach the adapter.
        var options = MethodFixtures.Fast(MethodKind.PredGen, TaskKind.Classification, steps: 40) with { SamplingMax = 0.5 };
        string outDir = MethodFixtures.NewOutput("shortcut");
        var result = Trainer.Train(options, data, MethodFixtures.BaseModel, outDir);

        var directorLosses = File.ReadAllLines(Path.Combine(outDir, Trainer.StepMetricsFileName))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(e => e.TryGetProperty("l_d", out _))
            .Select(e => e.GetProperty("l_d").GetDouble()).ToList();
        double lastTen = directorLosses.TakeLast(10).Average();
        output.WriteLine($"L_D first {directorLosses[0]:F3}, mean of the last 10 steps {lastTen:F3} (ln 2 = {Math.Log(2):F3}); test accuracy {result.Test.Accuracy:F3}");
        Assert.True(lastTen >= 0.8 * Math.Log(2), $"training L_D {lastTen:F3} fell far below the prompt-only optimum ln 2: the adapter sees the answer");
        // Each text's prediction is one label and the test has each text once with each label: exactly chance.
        Assert.Equal(0.5, result.Test.Accuracy!.Value, 9);
    }

    private static (int[][] Tokens, Tensor States) Decode(MethodNetwork network, List<int[]> prompts)
    {
        bool training = network.Backbone.training;
        network.Backbone.eval();
        using var noGrad = no_grad();
        var decoded = network.Decode(prompts);
        if (training) network.Backbone.train();
        return decoded;
    }
}
