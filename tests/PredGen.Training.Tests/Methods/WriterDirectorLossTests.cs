using PredGen.Training.Methods;
using static TorchSharp.torch;

namespace PredGen.Training.Tests.Methods;

public sealed class WriterDirectorLossTests
{
    // Hand-computed: WDAL = max(a²,b²)·exp(−|ln a − ln b|);  stabilised = ln(1+a) + ln(1+b) + (max+1)²·exp(−|ln(1+a) − ln(1+b)|)
    [Theory]
    [InlineData(2.0, 2.0, 4.0, 11.197224577336220)]            // balanced: 4·e⁰ = 4;  2·ln3 + 9·1
    [InlineData(2.0, 0.5, 1.0, 6.0040773967762740)]            // 4·e^(−ln 4) = 1;      ln3 + ln1.5 + 9·(1.5/3)
    [InlineData(0.5, 2.0, 1.0, 6.0040773967762740)]            // symmetric in L_W and L_D
    [InlineData(1000.0, 0.001, 1.0, 1008.9107542796483)]      // extreme ratio 10⁶: 10⁶·10⁻⁶ = 1;  ln1001 + ln1.001 + 1001²·(1.001/1001)
    [InlineData(1e-6, 1e-6, 1e-12, 1.000004)]                 // both near 0: 2·ln(1+10⁻⁶) + (1+10⁻⁶)² = 1 + 4·10⁻⁶ (to 10⁻¹²)
    public void Both_forms_equal_hand_computed_values(double lw, double ld, double wdal, double stabilised)
    {
        Assert.Equal(wdal, WriterDirectorLoss.Combine(lw, ld, LossVariant.Wdal), wdal * 1e-9);
        Assert.Equal(stabilised, WriterDirectorLoss.Combine(lw, ld, LossVariant.WdalStabilized), 1e-9);
        Assert.Equal(lw + ld, WriterDirectorLoss.Combine(lw, ld, LossVariant.Sum), 1e-12);

        using var scope = NewDisposeScope();
        var w = tensor(lw, ScalarType.Float64);
        var d = tensor(ld, ScalarType.Float64);
        Assert.Equal(wdal, WriterDirectorLoss.Combine(w, d, LossVariant.Wdal).item<double>(), wdal * 1e-9);
        Assert.Equal(stabilised, WriterDirectorLoss.Combine(w, d, LossVariant.WdalStabilized).item<double>(), 1e-9);
        Assert.Equal(lw + ld, WriterDirectorLoss.Combine(w, d, LossVariant.Sum).item<double>(), 1e-12);
    }

    [Fact]
    public void The_paper_form_is_the_product_of_the_two_losses()
    {
        // max(a²,b²)·min/max = a·b: 3·0.2 = 0.6
        Assert.Equal(0.6, WriterDirectorLoss.Combine(3.0, 0.2, LossVariant.Wdal), 1e-12);
    }

    [Theory]
    [InlineData(LossVariant.Wdal)]
    [InlineData(LossVariant.WdalStabilized)]
    [InlineData(LossVariant.Sum)]
    public void Gradients_are_finite_at_and_near_zero_losses(LossVariant variant)
    {
        foreach (var (lw, ld) in new[] { (0.0, 0.0), (0.0, 1.5), (1e-30, 2.0), (1e-8, 1e-8), (3.0, 3.0) })
        {
            using var scope = NewDisposeScope();
            var w = tensor((float)lw, requires_grad: true);
            var d = tensor((float)ld, requires_grad: true);
            var loss = WriterDirectorLoss.Combine(w, d, variant);
            loss.backward();
            float gw = w.grad!.item<float>(), gd = d.grad!.item<float>();
            Assert.True(float.IsFinite(loss.item<float>()) && float.IsFinite(gw) && float.IsFinite(gd),
                $"{variant} at ({lw}, {ld}): loss {loss.item<float>()}, grads ({gw}, {gd})");
        }
    }

    [Fact]
    public void The_stabilised_gradient_matches_its_closed_form()
    {
        // d/da [ln(1+a) + ln(1+b) + (1+a)(1+b)] = 1/(1+a) + (1+b): at (2, 0.5) = 1/3 + 1.5
        using var scope = NewDisposeScope();
        var w = tensor(2.0, ScalarType.Float64, requires_grad: true);
        var d = tensor(0.5, ScalarType.Float64, requires_grad: true);
        WriterDirectorLoss.Combine(w, d, LossVariant.WdalStabilized).backward();
        Assert.Equal(1.0 / 3 + 1.5, w.grad!.item<double>(), 1e-12);
        Assert.Equal(1.0 / 1.5 + 3.0, d.grad!.item<double>(), 1e-12);
    }
}
