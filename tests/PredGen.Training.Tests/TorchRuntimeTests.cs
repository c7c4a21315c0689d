using PredGen.Training.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace PredGen.Training.Tests;

public sealed class TorchRuntimeTests
{
    [Fact]
    public void Libtorch_loads_and_a_forward_and_backward_pass_gives_the_analytic_gradient()
    {
        using var scope = NewDisposeScope();
        var w = tensor(new float[] { 1f, -2f, 3f }).requires_grad_(true);
        var x = tensor(new float[] { 0.5f, 4f, -1f });
        var loss = (w * x).sum().pow(2); // d/dw (w.x)^2 = 2 (w.x) x
        loss.backward();
        float dot = 0.5f - 8f - 3f;
        var expected = new[] { 2 * dot * 0.5f, 2 * dot * 4f, 2 * dot * -1f };
        Assert.Equal(expected, w.grad!.data<float>().ToArray());
    }

    [Fact]
    public void A_small_linear_model_fits_a_line_with_adam()
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        var model = nn.Linear(1, 1);
        var optimizer = optim.Adam(model.parameters(), lr: 0.1);
        var x = linspace(-1, 1, 64).unsqueeze(1);
        var y = 3 * x + 0.5;
        double loss = double.MaxValue;
        for (int step = 0; step < 300; step++)
        {
            using var stepScope = NewDisposeScope();
            optimizer.zero_grad();
            var l = nn.functional.mse_loss(model.forward(x), y);
            l.backward();
            optimizer.step();
            loss = l.item<float>();
        }
        Assert.True(loss < 1e-3, $"loss {loss}");
    }

    [Fact]
    public void Device_and_dtype_come_from_configuration_and_cuda_on_a_cpu_build_is_a_clear_error()
    {
        Assert.Equal(DeviceType.CPU, TorchRuntime.ResolveDevice(new TorchOptions { Device = "cpu" }).type);
        Assert.Equal(ScalarType.BFloat16, TorchRuntime.ResolveDType(new TorchOptions { DType = "bf16" }));
        if (!cuda.is_available())
        {
            var e = Assert.Throws<InvalidOperationException>(() => TorchRuntime.ResolveDevice(new TorchOptions { Device = "cuda" }));
            Assert.Contains("TorchBackend=cuda", e.Message, StringComparison.Ordinal);
        }
        Assert.Throws<ArgumentException>(() => TorchRuntime.ResolveDType(new TorchOptions { DType = "int3" }));
    }

    [Fact]
    public void Matmul_throughput_is_measured_and_positive()
    {
        double gflops = TorchRuntime.MeasureMatmulGflops(CPU, size: 256, seconds: 0.1);
        Assert.InRange(gflops, 0.1, 1e6);
    }
}
