using static TorchSharp.torch;

namespace PredGen.Training.Model;

/// <summary>
/// Rotary position embedding (RoFormer; Hugging Face's rotate_half layout). The cos/sin tables are computed once per
/// forward from per-row position ids (so left-padded rows start at position 0 like unpadded ones) and shared by all
/// layers. The inverse frequencies are plain numbers, not a buffer: Hugging Face does not store them in checkpoints.
/// </summary>
public sealed class RotaryEmbedding
{
    private readonly float[] inverseFrequencies;

    public RotaryEmbedding(LlamaConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        int half = config.HeadDim / 2;
        inverseFrequencies = new float[half];
        for (int i = 0; i < half; i++)
        {
            double frequency = 1.0 / Math.Pow(config.RopeTheta, 2.0 * i / config.HeadDim);
            inverseFrequencies[i] = (float)Scale(frequency, config.RopeScaling);
        }
    }

    public IReadOnlyList<float> InverseFrequencies => inverseFrequencies;

    private static double Scale(double frequency, RopeScaling? scaling)
    {
        if (scaling is null) return frequency;
        switch (scaling.Kind)
        {
            case "linear":
                return frequency / scaling.Factor;
            case "llama3":
                // Llama 3.1: long wavelengths are interpolated by `factor`, short ones kept, a smooth ramp in between.
                double lowWavelength = scaling.OriginalMaxPositionEmbeddings / scaling.LowFreqFactor;
                double highWavelength = scaling.OriginalMaxPositionEmbeddings / scaling.HighFreqFactor;
                double wavelength = 2 * Math.PI / frequency;
                if (wavelength < highWavelength) return frequency;
                if (wavelength > lowWavelength) return frequency / scaling.Factor;
                double smooth = (scaling.OriginalMaxPositionEmbeddings / wavelength - scaling.LowFreqFactor)
                    / (scaling.HighFreqFactor - scaling.LowFreqFactor);
                return (1 - smooth) * frequency / scaling.Factor + smooth * frequency;
            default:
                return frequency;
        }
    }

    /// <summary>cos and sin of shape [B, 1, T, headDim] for int64 positions [B, T], in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) Tables(Tensor positions, ScalarType dtype)
    {
        ArgumentNullException.ThrowIfNull(positions);
        using var scope = NewDisposeScope();
        var inv = tensor(inverseFrequencies, device: positions.device);
        var angles = positions.to(ScalarType.Float32).unsqueeze(-1) * inv; // [B, T, D/2], fp32 for long positions
        var table = cat([angles, angles], -1).unsqueeze(1);                   // [B, 1, T, D]
        var cos = table.cos().to(dtype);
        var sin = table.sin().to(dtype);
        return (cos.MoveToOuterDisposeScope(), sin.MoveToOuterDisposeScope());
    }

    /// <summary>x * cos + rotate_half(x) * sin for x of shape [B, heads, T, headDim].</summary>
    public static Tensor Apply(Tensor x, Tensor cos, Tensor sin)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var scope = NewDisposeScope();
        long half = x.shape[^1] / 2;
        var rotated = cat([x.narrow(-1, half, half).neg(), x.narrow(-1, 0, half)], -1);
        return (x * cos).add(rotated * sin, Scalars.One).MoveToOuterDisposeScope(); // rooted alpha (Scalars.cs)
    }
}
