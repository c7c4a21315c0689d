namespace PredGen.Training.Mine;

/// <summary>
/// The ground truth MINE is validated on: Z, Y in R^d standard normal with corr(Z_k, Y_k) = rho per component and no
/// other dependence, so I(Z; Y) = -(d/2) ln(1 - rho^2) nats exactly.
/// </summary>
public static class CorrelatedGaussians
{
    public static double MutualInformation(int dimensions, double rho) => -0.5 * dimensions * Math.Log(1 - rho * rho);

    /// <summary>The rho that gives <paramref name="nats"/> of mutual information in d dimensions.</summary>
    public static double RhoFor(int dimensions, double nats) => Math.Sqrt(1 - Math.Exp(-2 * nats / dimensions));

    /// <summary>n pairs with y_k = rho z_k + sqrt(1 - rho^2) e_k; deterministic for a seed.</summary>
    public static (float[][] Z, float[][] Y) Sample(int n, int dimensions, double rho, int seed)
    {
        if (rho <= -1 || rho >= 1) throw new ArgumentOutOfRangeException(nameof(rho), "|rho| must be below 1");
        var rng = new Random(seed);
        double noise = Math.Sqrt(1 - rho * rho);
        var z = new float[n][];
        var y = new float[n][];
        for (int i = 0; i < n; i++)
        {
            z[i] = new float[dimensions];
            y[i] = new float[dimensions];
            for (int k = 0; k < dimensions; k++)
            {
                double a = Normal(rng), e = Normal(rng);
                z[i][k] = (float)a;
                y[i][k] = (float)(rho * a + noise * e);
            }
        }
        return (z, y);
    }

    private static double Normal(Random rng)
    {
        double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
        return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
    }
}
