using System.Numerics;

namespace Nn.Simd.Layers;

/// <summary>
/// The inverse-mapping resampler of Keras' <c>ops.image.affine_transform</c>, shared by <see cref="RandomTranslation{T}"/>,
/// <see cref="RandomRotation{T}"/> and <see cref="RandomZoom{T}"/>, for one channels-last image <c>[H, W, C]</c>: output
/// pixel (row i, column j) reads the input at x = a0·j + a1·i + a2, y = b0·j + b1·i + b2 (Keras' transform vector
/// [a0, a1, a2, b0, b1, b2, 0, 0]). Bilinear: y[i, j, c] = Σ over the four neighbours (⌊y⌋ + dy, ⌊x⌋ + dx), dy, dx ∈ {0, 1},
/// of (1 − |y − row|)(1 − |x − col|)·x[fix(row), fix(col), c]; nearest: the neighbour at (round(y), round(x)), halves
/// away from zero. The fill mode fixes each neighbour's integer index: <c>reflect</c> (d c b a | a b c d | d c b a, the
/// edge pixel repeated), <c>wrap</c> (a b c d | a b c d), <c>nearest</c> (a a | a b c d | d d), and <c>constant</c>, where
/// a neighbour outside the image reads <c>fillValue</c>.
/// </summary>
/// <remarks>
/// This is the index-fixing scheme of Keras' JAX, NumPy and torch backends (<c>map_coordinates</c>); the TensorFlow
/// backend (<c>ImageProjectiveTransformV3</c>) instead reflects or wraps the continuous coordinate and clamps it, which
/// differs from this only for the neighbours within one pixel of the border. The adjoint
/// (<see cref="Backward{T}"/>) scatters dy with the same weights to the same fixed indices; a neighbour that read the
/// fill value passes no gradient on.
/// </remarks>
internal static class AffineResampler
{
    /// <summary>Keras' fill-mode names, in the order of <see cref="FillMode"/>.</summary>
    public static readonly string[] FillModes = ["reflect", "wrap", "constant", "nearest"];

    /// <summary>Keras' interpolation names for the affine layers.</summary>
    public static readonly string[] Interpolations = ["bilinear", "nearest"];

    public enum FillMode { Reflect, Wrap, Constant, Nearest }

    /// <summary>Parses a Keras fill-mode name.</summary>
    /// <exception cref="ArgumentException">The name is none of <see cref="FillModes"/>.</exception>
    public static FillMode ParseFillMode(string fillMode, string paramName)
    {
        ArgumentNullException.ThrowIfNull(fillMode, paramName);
        int i = Array.IndexOf(FillModes, fillMode);
        return i >= 0 ? (FillMode)i
            : throw new ArgumentException($"fill_mode must be one of {string.Join(", ", FillModes.Select(m => $"'{m}'"))}; got '{fillMode}'.", paramName);
    }

    /// <summary>Parses a Keras interpolation name; true for bilinear.</summary>
    /// <exception cref="ArgumentException">The name is neither <c>bilinear</c> nor <c>nearest</c>.</exception>
    public static bool ParseBilinear(string interpolation, string paramName)
    {
        ArgumentNullException.ThrowIfNull(interpolation, paramName);
        return interpolation switch
        {
            "bilinear" => true,
            "nearest" => false,
            _ => throw new ArgumentException($"interpolation must be 'bilinear' or 'nearest'; got '{interpolation}'.", paramName),
        };
    }

    /// <summary>The index of <paramref name="index"/> in an axis of <paramref name="size"/> under the fill mode; for
    /// <c>constant</c>, −1 when it lies outside.</summary>
    public static int Fix(int index, int size, FillMode mode)
    {
        if ((uint)index < (uint)size) return index;
        switch (mode)
        {
            case FillMode.Nearest:
                return index < 0 ? 0 : size - 1;
            case FillMode.Wrap:
                return (index % size + size) % size;
            case FillMode.Reflect:
                int period = 2 * size, k = (index % period + period) % period;
                return k < size ? k : period - 1 - k;
            default:
                return -1;
        }
    }

    /// <summary>The up to four (flat pixel index, weight) taps of output pixel (i, j); an index of −1 reads the fill value.</summary>
    private static int Taps(int i, int j, int h, int w, ReadOnlySpan<double> m, bool bilinear, FillMode mode,
        Span<int> index, Span<double> weight)
    {
        double x = m[0] * j + m[1] * i + m[2], y = m[3] * j + m[4] * i + m[5];
        if (!bilinear)
        {
            int r = Fix((int)Math.Round(y, MidpointRounding.AwayFromZero), h, mode);
            int c = Fix((int)Math.Round(x, MidpointRounding.AwayFromZero), w, mode);
            index[0] = r < 0 || c < 0 ? -1 : r * w + c;
            weight[0] = 1;
            return 1;
        }
        double y0 = Math.Floor(y), x0 = Math.Floor(x), fy = y - y0, fx = x - x0;
        int n = 0;
        for (int dy = 0; dy < 2; dy++)
        {
            double wy = dy == 0 ? 1 - fy : fy;
            int r = Fix((int)y0 + dy, h, mode);
            for (int dx = 0; dx < 2; dx++)
            {
                double wx = dx == 0 ? 1 - fx : fx;
                int c = Fix((int)x0 + dx, w, mode);
                index[n] = r < 0 || c < 0 ? -1 : r * w + c;
                weight[n++] = wy * wx;
            }
        }
        return n;
    }

    /// <summary>y = the image <paramref name="x"/> <c>[h, w, c]</c> resampled at the transform <paramref name="m"/> (6 values).</summary>
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int h, int w, int c, ReadOnlySpan<double> m, bool bilinear,
        FillMode mode, T fillValue) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<int> index = stackalloc int[4];
        Span<double> weight = stackalloc double[4];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
            {
                int n = Taps(i, j, h, w, m, bilinear, mode, index, weight);
                var dst = y.Slice((i * w + j) * c, c);
                dst.Clear();
                for (int t = 0; t < n; t++)
                {
                    T wt = T.CreateChecked(weight[t]);
                    if (index[t] < 0)
                    {
                        T v = wt * fillValue;
                        for (int k = 0; k < c; k++) dst[k] += v;
                    }
                    else
                    {
                        var src = x.Slice(index[t] * c, c);
                        for (int k = 0; k < c; k++) dst[k] += wt * src[k];
                    }
                }
            }
    }

    /// <summary>The adjoint of <see cref="Forward{T}"/>: dx[tap] += weight·dy[i, j] for every tap that read the image;
    /// <paramref name="dx"/> accumulates (clear it first).</summary>
    public static void Backward<T>(ReadOnlySpan<T> dy, Span<T> dx, int h, int w, int c, ReadOnlySpan<double> m, bool bilinear,
        FillMode mode) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Span<int> index = stackalloc int[4];
        Span<double> weight = stackalloc double[4];
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++)
            {
                int n = Taps(i, j, h, w, m, bilinear, mode, index, weight);
                var src = dy.Slice((i * w + j) * c, c);
                for (int t = 0; t < n; t++)
                {
                    if (index[t] < 0) continue;
                    T wt = T.CreateChecked(weight[t]);
                    var dst = dx.Slice(index[t] * c, c);
                    for (int k = 0; k < c; k++) dst[k] += wt * src[k];
                }
            }
    }
}
