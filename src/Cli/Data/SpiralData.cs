using Nn.Simd.Tensors;

namespace Nn.Simd.Cli.Data;

/// <summary>
/// A spiral data set: <see cref="Features"/> is <c>[Count, 2]</c> row-major, <see cref="Labels"/> is
/// <c>[Count]</c> with rows grouped by class (class c fills rows <c>c·Samples</c> to <c>c·Samples + Samples − 1</c>).
/// </summary>
/// <param name="Features">The points, <c>[Count, 2]</c> row-major (x, y).</param>
/// <param name="Labels">The class of each point, 0 to <c>Classes − 1</c>.</param>
/// <param name="Samples">Points per class.</param>
/// <param name="Classes">Number of classes (spiral arms).</param>
public sealed record SpiralDataset(float[] Features, byte[] Labels, int Samples, int Classes)
{
    /// <summary>The number of points, <c>Samples·Classes</c>.</summary>
    public int Count => Labels.Length;

    /// <summary>The points as a <c>[Count, 2]</c> tensor (a copy).</summary>
    public Tensor<float> FeaturesTensor() => Tensor<float>.FromArray(Features, Count, 2);

    /// <summary>How many points each class has.</summary>
    public int[] ClassCounts() => LabelStats.Counts(Labels, Classes);
}

/// <summary>
/// The <c>nnfs</c> spiral generator (<c>nnfs.datasets.spiral_data</c>, from the CS231n case study) reproduced
/// exactly as it runs after <c>nnfs.init()</c>.
/// </summary>
/// <remarks>
/// For point i of class c: <c>r = i/(N−1)</c> (no noise), <c>t = 4c + 4i/(N−1) + 0.2·z</c> with z a standard
/// normal, and the point is <c>(r·sin(2.5t), r·cos(2.5t))</c>. Following NumPy with <c>nnfs.init()</c>: the N
/// normals of a class are drawn as one vector, each rounded to float32 and multiplied by 0.2 in float32; the
/// linspace part of t, the sum and the trigonometry are float64; the stored point is rounded to float32.
/// With <c>new NumPyRandomState(0)</c> and (100, 3) the output is bit-identical to
/// <c>nnfs.init(); spiral_data(samples=100, classes=3)</c>. The generator's stream continues across calls,
/// so a second call gives new points (use it for a test set).
/// </remarks>
public static class SpiralData
{
    /// <summary>Generates <paramref name="samples"/> points for each of <paramref name="classes"/> classes.</summary>
    /// <param name="samples">Points per class, at least 2 (the radius is a linspace from 0 to 1).</param>
    /// <param name="classes">Number of classes, 1 to 256 (labels are bytes).</param>
    /// <param name="rng">The generator; it advances by <c>samples·classes</c> normal draws.</param>
    /// <exception cref="ArgumentOutOfRangeException">A count is out of range.</exception>
    public static SpiralDataset Generate(int samples, int classes, NumPyRandomState rng)
    {
        ArgumentNullException.ThrowIfNull(rng);
        if (samples < 2)
            throw new ArgumentOutOfRangeException(nameof(samples), $"samples must be at least 2; got {samples}.");
        if (classes < 1 || classes > 256)
            throw new ArgumentOutOfRangeException(nameof(classes), $"classes must be 1 to 256; got {classes}.");
        long total = (long)samples * classes;
        if (total * 2 > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(samples), $"samples·classes = {total} is too large.");

        var features = new float[total * 2];
        var labels = new byte[total];
        var noise = new double[samples];
        double div = samples - 1;
        double rStep = 1.0 / div;      // np.linspace(0, 1, N): i·step + 0, last element exactly 1
        double tStep = 4.0 / div;      // np.linspace(4c, 4c + 4, N): i·step + 4c, last element exactly 4c + 4

        for (int c = 0; c < classes; c++)
        {
            rng.StandardNormal(noise);
            double tStart = 4.0 * c;
            double tStop = 4.0 * (c + 1);
            for (int i = 0; i < samples; i++)
            {
                double r = i == samples - 1 ? 1.0 : i * rStep;
                double lin = i == samples - 1 ? tStop : i * tStep + tStart;
                float z = (float)noise[i];
                float scaled = z * 0.2f;                 // float32 array times a Python float stays float32
                double t = lin + scaled;                 // float64 + float32 → float64
                double angle = t * 2.5;
                int row = c * samples + i;
                features[2 * row] = (float)(r * Math.Sin(angle));
                features[2 * row + 1] = (float)(r * Math.Cos(angle));
                labels[row] = (byte)c;
            }
        }
        return new SpiralDataset(features, labels, samples, classes);
    }
}
