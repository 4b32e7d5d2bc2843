namespace Nn.Simd.Cli.Data;

/// <summary>Small helpers over label arrays.</summary>
public static class LabelStats
{
    /// <summary>How many labels equal each class 0 to <paramref name="classes"/> − 1.</summary>
    /// <param name="labels">The labels.</param>
    /// <param name="classes">The number of classes.</param>
    /// <exception cref="ArgumentException">A label is not below <paramref name="classes"/>.</exception>
    public static int[] Counts(ReadOnlySpan<byte> labels, int classes)
    {
        var counts = new int[classes];
        for (int i = 0; i < labels.Length; i++)
        {
            int label = labels[i];
            if (label >= classes)
                throw new ArgumentException($"labels[{i}] = {label} is not below the class count {classes}.", nameof(labels));
            counts[label]++;
        }
        return counts;
    }
}
