using System.Globalization;
using System.Numerics;
using Nn.Simd.Tensors;

namespace Nn.Simd.Layers;

// Shapes: B = batch. Each input is [B, N] or [B, d1, d2]; its dot axis has N entries (k), and its other non-batch axis,
// if any, is the free index (p for x, q for y; size P or Q, 1 for a rank-2 input). The output is [B, P, Q] with the
// axes of size 1 that a rank-2 input contributes left out: [B, 1] for two rank-2 inputs (Keras' batch_dot shapes).

/// <summary>
/// The batch-wise dot product of two inputs along one axis of each (Keras' <c>Dot</c>):
/// <c>y[b, p, q] = Σₖ x[b, p, k] · z[b, q, k]</c>, where k runs along <see cref="AxisX"/> of the first input and
/// <see cref="AxisZ"/> of the second. With <see cref="Normalize"/>, each input is first L2-normalised along its dot
/// axis, <c>x̂ = x · min(1/√Σₖ x², 1e7)</c> (Keras 3's <c>ops.normalize</c>, i.e. <c>x / max(‖x‖, 1e-7)</c>), so the output is
/// the cosine similarity.
/// </summary>
/// <remarks>
/// <para>Output shapes follow Keras 3: the first input's shape without its dot axis, then the second's without its
/// batch and dot axes, and <c>[B, 1]</c> when that leaves only the batch: <c>[B, n]·[B, n] → [B, 1]</c>,
/// <c>[B, m, n]·[B, k, n]</c> with axes (2, 2) → <c>[B, m, k]</c>, <c>[B, n, m]·[B, n, k]</c> with axes 1 →
/// <c>[B, m, k]</c>, <c>[B, n]·[B, n, k]</c> with axes 1 → <c>[B, k]</c>. Inputs of rank 2 and 3 are supported.</para>
/// <para>The normalisation follows Keras 3 (<c>epsilon = backend.epsilon() = 1e-7</c> on the norm). tf.keras 2 used
/// <c>l2_normalize</c>, <c>x / √max(Σ x², 1e-12)</c>: the two differ only for vectors with a norm under 1e-6. Where the
/// floor applies (<c>1/√Σx² &gt; 1e7</c>), <c>x̂ = 1e7 · x</c> and its gradient is <c>1e7 · dx̂</c>. The backward pass
/// includes the normalisation: <c>dx = r · (dx̂ − x̂ (x̂ · dx̂))</c> with <c>r = 1/‖x‖</c>.</para>
/// </remarks>
public sealed class Dot<T> : MergeLayer<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Keras 3's cap on 1/‖x‖: 1 / backend.epsilon().</summary>
    private const double InverseNormCap = 1e7;

    private readonly bool _pair;
    private readonly Workspace<T> _wXn = new(), _wZn = new(), _wSqX = new(), _wSqZ = new(), _wInvX = new(), _wInvZ = new();
    private Tensor<T>? _xn, _zn, _sqX, _sqZ, _invX, _invZ;

    /// <summary>The dot product along axis <paramref name="axes"/> of both inputs (Keras' <c>Dot(axes=n)</c>).</summary>
    /// <param name="axes">The axis of both inputs: 1, 2, -1 or -2 (negative counts from each input's end); not the batch axis.</param>
    /// <param name="normalize">Whether to L2-normalise each input along its dot axis first.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="axes"/> is 0 (the batch axis) or outside rank 3.</exception>
    public Dot(int axes, bool normalize = false) : this(axes, axes, normalize, pair: false) { }

    /// <summary>The dot product along axis <c>axes.Item1</c> of the first input and <c>axes.Item2</c> of the second
    /// (Keras' <c>Dot(axes=(a, b))</c>).</summary>
    /// <param name="axes">One axis per input: 1, 2, -1 or -2; not the batch axis.</param>
    /// <param name="normalize">Whether to L2-normalise each input along its dot axis first.</param>
    /// <exception cref="ArgumentOutOfRangeException">An axis is 0 (the batch axis) or outside rank 3.</exception>
    public Dot((int, int) axes, bool normalize = false) : this(axes.Item1, axes.Item2, normalize, pair: true) { }

    private Dot(int axisX, int axisZ, bool normalize, bool pair) : base(2, 2)
    {
        CheckAxis(axisX, "axes");
        CheckAxis(axisZ, "axes");
        AxisX = axisX;
        AxisZ = axisZ;
        Normalize = normalize;
        _pair = pair;
    }

    private static void CheckAxis(int axis, string paramName)
    {
        if (axis is not (1 or 2 or -1 or -2))
            throw new ArgumentOutOfRangeException(paramName, $"Dot takes inputs of rank 2 or 3 and an axis of 1, 2, -1 or -2 (0 is the batch axis); got {axis}.");
    }

    /// <summary>The dot axis of the first input (negative counts from its end).</summary>
    public int AxisX { get; }

    /// <summary>The dot axis of the second input (negative counts from its end).</summary>
    public int AxisZ { get; }

    /// <summary>Whether each input is L2-normalised along its dot axis first (Keras' <c>normalize</c>).</summary>
    public bool Normalize { get; }

    /// <inheritdoc/>
    public override string TypeName => "dot";

    /// <summary>Keras' options: <c>axes</c> (<c>"1"</c>, or <c>"1,2"</c> for a pair) and <c>normalize</c>.</summary>
    public override IReadOnlyDictionary<string, string> GetConfig() => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["axes"] = _pair ? string.Create(CultureInfo.InvariantCulture, $"{AxisX},{AxisZ}") : AxisX.ToString(CultureInfo.InvariantCulture),
        ["normalize"] = Str(Normalize),
    };

    /// <summary>An input's layout: P free rows (stride Fs) of N dot entries (stride Cs), L elements per sample.</summary>
    private readonly record struct Geometry(int P, int N, int Fs, int Cs, int L);

    private static Geometry Layout(TensorShape s, int axis)
    {
        int a = axis < 0 ? axis + s.Rank : axis;
        if (s.Rank == 2) return new Geometry(1, s[1], 0, 1, s[1]);
        return a == 1 ? new Geometry(s[2], s[1], 1, s[2], s[1] * s[2]) : new Geometry(s[1], s[2], s[2], 1, s[1] * s[2]);
    }

    /// <inheritdoc/>
    protected override TensorShape OutputShape(IReadOnlyList<TensorShape> shapes, string paramName)
    {
        TensorShape x = shapes[0], z = shapes[1];
        if (x.Rank is not (2 or 3) || z.Rank is not (2 or 3))
            throw new ArgumentException($"{Describe(shapes)}; dot takes inputs of rank 2 or 3.", paramName);
        int ax = AxisX < 0 ? AxisX + x.Rank : AxisX, az = AxisZ < 0 ? AxisZ + z.Rank : AxisZ;
        if (ax <= 0 || ax >= x.Rank || az <= 0 || az >= z.Rank)
            throw new ArgumentException($"{Describe(shapes)}; dot axes ({AxisX}, {AxisZ}) resolve to ({ax}, {az}), and a dot axis must be a non-batch axis.", paramName);
        if (x[0] != z[0])
            throw new ArgumentException($"{Describe(shapes)}; dot needs the same batch size in both inputs.", paramName);
        if (x[ax] != z[az])
            throw new ArgumentException($"{Describe(shapes)}; dot needs equal sizes along the dot axes, but axis {ax} has {x[ax]} and axis {az} has {z[az]}.", paramName);
        Span<int> dims = stackalloc int[3];
        int r = 0;
        dims[r++] = x[0];
        for (int d = 1; d < x.Rank; d++) if (d != ax) dims[r++] = x[d];
        for (int d = 1; d < z.Rank; d++) if (d != az) dims[r++] = z[d];
        if (r == 1) dims[r++] = 1;
        return new TensorShape(dims[..r]);
    }

    /// <inheritdoc/>
    protected override void ForwardCore(ReadOnlySpan<Tensor<T>> inputs, Tensor<T> output)
    {
        Tensor<T> x = inputs[0], z = inputs[1];
        var gx = Layout(x.Shape, AxisX);
        var gz = Layout(z.Shape, AxisZ);
        int batch = x.Shape[0];
        if (Normalize)
        {
            _xn = _wXn.Get(x.Shape); _sqX = _wSqX.Get(new TensorShape(batch * gx.P)); _invX = _wInvX.Get(_sqX.Shape);
            _zn = _wZn.Get(z.Shape); _sqZ = _wSqZ.Get(new TensorShape(batch * gz.P)); _invZ = _wInvZ.Get(_sqZ.Shape);
            NormalizeRows(x.ReadOnlySpan, gx, batch, _xn.Span, _sqX.Span, _invX.Span);
            NormalizeRows(z.ReadOnlySpan, gz, batch, _zn.Span, _sqZ.Span, _invZ.Span);
            x = _xn;
            z = _zn;
        }
        var xs = x.ReadOnlySpan;
        var zs = z.ReadOnlySpan;
        var y = output.Span;
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < gx.P; p++)
                for (int q = 0; q < gz.P; q++)
                {
                    int xo = b * gx.L + p * gx.Fs, zo = b * gz.L + q * gz.Fs;
                    T s = T.Zero;
                    for (int k = 0; k < gx.N; k++) s += xs[xo + k * gx.Cs] * zs[zo + k * gz.Cs];
                    y[(b * gx.P + p) * gz.P + q] = s;
                }
    }

    /// <inheritdoc/>
    protected override void BackwardCore(Tensor<T> dOutput, ReadOnlySpan<Tensor<T>> inputs, ReadOnlySpan<Tensor<T>> dInputs)
    {
        Tensor<T> x = Normalize ? _xn! : inputs[0], z = Normalize ? _zn! : inputs[1];
        var gx = Layout(x.Shape, AxisX);
        var gz = Layout(z.Shape, AxisZ);
        int batch = x.Shape[0];
        var xs = x.ReadOnlySpan;
        var zs = z.ReadOnlySpan;
        var dy = dOutput.ReadOnlySpan;
        var dx = dInputs[0].Span;
        var dz = dInputs[1].Span;
        dx.Clear();
        dz.Clear();
        // dx̂[b, p, k] = Σ_q dy[b, p, q] ẑ[b, q, k]; dẑ[b, q, k] = Σ_p dy[b, p, q] x̂[b, p, k].
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < gx.P; p++)
                for (int q = 0; q < gz.P; q++)
                {
                    T g = dy[(b * gx.P + p) * gz.P + q];
                    int xo = b * gx.L + p * gx.Fs, zo = b * gz.L + q * gz.Fs;
                    for (int k = 0; k < gx.N; k++)
                    {
                        dx[xo + k * gx.Cs] += g * zs[zo + k * gz.Cs];
                        dz[zo + k * gz.Cs] += g * xs[xo + k * gx.Cs];
                    }
                }
        if (Normalize)
        {
            NormalizeBackward(xs, gx, batch, _sqX!.ReadOnlySpan, _invX!.ReadOnlySpan, dx);
            NormalizeBackward(zs, gz, batch, _sqZ!.ReadOnlySpan, _invZ!.ReadOnlySpan, dz);
        }
    }

    /// <summary>x̂ = x · r with r = min(1/√s, 1e7), s = Σₖ x², per (b, p) row along the dot axis.</summary>
    private static void NormalizeRows(ReadOnlySpan<T> x, Geometry g, int batch, Span<T> xn, Span<T> sq, Span<T> inv)
    {
        T cap = T.CreateChecked(InverseNormCap);
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < g.P; p++)
            {
                int o = b * g.L + p * g.Fs, row = b * g.P + p;
                T s = T.Zero;
                for (int k = 0; k < g.N; k++) s += x[o + k * g.Cs] * x[o + k * g.Cs];
                T r = T.Min(T.One / T.Sqrt(s), cap);
                sq[row] = s;
                inv[row] = r;
                for (int k = 0; k < g.N; k++) xn[o + k * g.Cs] = x[o + k * g.Cs] * r;
            }
    }

    /// <summary>Turns dx̂ (in <paramref name="d"/>) into dx in place: r·(dx̂ − x̂ (x̂·dx̂)) where 1/√s ≤ 1e7, else r·dx̂
    /// (the cap is a constant there).</summary>
    private static void NormalizeBackward(ReadOnlySpan<T> xn, Geometry g, int batch, ReadOnlySpan<T> sq, ReadOnlySpan<T> inv, Span<T> d)
    {
        T cap = T.CreateChecked(InverseNormCap);
        for (int b = 0; b < batch; b++)
            for (int p = 0; p < g.P; p++)
            {
                int o = b * g.L + p * g.Fs, row = b * g.P + p;
                T r = inv[row];
                T dot = T.Zero;
                if (T.One / T.Sqrt(sq[row]) <= cap)
                    for (int k = 0; k < g.N; k++) dot += xn[o + k * g.Cs] * d[o + k * g.Cs];
                for (int k = 0; k < g.N; k++) d[o + k * g.Cs] = r * (d[o + k * g.Cs] - xn[o + k * g.Cs] * dot);
            }
    }
}
