using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Nn.Simd.Tensors.Kernels.Common;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// A recurrent layer's input kernel (with its bias row) and recurrent kernel, packed for a fused step
/// (<see cref="LstmStep"/> with 4 gates, <see cref="GruStep"/> with 3): per block of V units (V = the vector's
/// lanes), <c>F' + H</c> rows of <c>G·V</c> values, the G gates' weights of those units side by side. Pack once per
/// pass, then run every step of the pass on it.
/// </summary>
/// <remarks>Packing allocates nothing after construction; the layout belongs to the vector width of the machine
/// that built it. Concurrent steps that only read it are safe; packing while a step runs is not.</remarks>
public sealed class RecurrentStepWeights<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _storage;
    private readonly int _offset;

    /// <summary>Allocates the packed storage.</summary>
    /// <param name="inputColumns">F': the input features, plus one for a bias row.</param>
    /// <param name="units">H.</param>
    /// <param name="gates">G: 4 for an LSTM, 3 for a GRU.</param>
    /// <param name="biasRow">Whether the last input row is a bias, so that the inputs' last column is the constant 1
    /// (see <see cref="BiasRow"/>).</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or <paramref name="gates"/> is not 3 or 4.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="IsSupported"/> is false.</exception>
    public RecurrentStepWeights(int inputColumns, int units, int gates, bool biasRow = false)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputColumns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        if (gates is not (3 or 4)) throw new ArgumentOutOfRangeException(nameof(gates), $"A fused step has 3 (GRU) or 4 (LSTM) gates; got {gates}.");
        if (!IsSupported)
            throw new PlatformNotSupportedException($"The fused recurrent steps need 256- or 512-bit vectors of {typeof(T).Name}.");
        InputColumns = inputColumns;
        BiasRow = biasRow;
        Units = units;
        Gates = gates;
        Lanes = MachineLanes;
        Blocks = (units + Lanes - 1) / Lanes;
        long length = (long)Blocks * (inputColumns + units) * gates * Lanes;
        if (length > Array.MaxLength - 64)
            throw new ArgumentException($"A layer with {inputColumns} input columns, {units} units and {gates} gates is too large to pack ({length} elements).", nameof(units));
        _storage = AlignedArray.Allocate<T>((int)length, out _offset);
    }

    /// <summary>Whether the fused steps run on this machine for <typeparamref name="T"/> (float or double with
    /// 256- or 512-bit vectors).</summary>
    public static bool IsSupported => Simd512<T>.IsSupported || Simd256<T>.IsSupported;

    /// <summary>The lanes per unit block on this machine: the widest vector of <typeparamref name="T"/>, 0 when not supported.</summary>
    internal static int MachineLanes => Simd512<T>.IsSupported ? Vector512<T>.Count : Simd256<T>.IsSupported ? Vector256<T>.Count : 0;

    /// <summary>F': rows of the input kernel, including a bias row.</summary>
    public int InputColumns { get; }

    /// <summary>Whether the last of the <see cref="InputColumns"/> rows is a bias, so that every input row's last
    /// column is the constant 1. A step may then add that row instead of multiplying it by the 1 (the same bits: a
    /// fused multiply-add of 1·b rounds the same sum as the add), and need not read the column. The results do not
    /// depend on this flag as long as the column does hold 1.</summary>
    public bool BiasRow { get; }

    /// <summary>H.</summary>
    public int Units { get; }

    /// <summary>G: gates per unit.</summary>
    public int Gates { get; }

    /// <summary>V: units per block, the vector width.</summary>
    public int Lanes { get; }

    /// <summary>Unit blocks, ⌈H / V⌉ (the last zero-padded).</summary>
    public int Blocks { get; }

    internal unsafe T* Pointer => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage)) + _offset;

    /// <summary>Throws unless these weights were packed for <paramref name="gates"/> gates at this machine's width.</summary>
    internal void CheckFor(int gates, int lanes)
    {
        if (Gates != gates)
            throw new ArgumentException($"The weights were packed for {Gates} gates; this step needs {gates}.", "weights");
        if (Lanes != lanes)
            throw new PlatformNotSupportedException($"The weights were packed for {Lanes} lanes, but this machine's vectors hold {lanes}.");
    }

    /// <summary>Packs new weight values.</summary>
    /// <param name="kernel">[F', G·H] row-major: W, with the input bias as its last row when the layer has one.</param>
    /// <param name="recurrentKernel">U, [H, G·H] row-major.</param>
    /// <exception cref="ArgumentException">A span's length does not match its shape.</exception>
    public void Pack(ReadOnlySpan<T> kernel, ReadOnlySpan<T> recurrentKernel)
    {
        int fx = InputColumns, h = Units, gh = Gates * h, v = Lanes;
        if (kernel.Length != fx * gh)
            throw new ArgumentException($"The kernel has {kernel.Length} elements but [{fx}, {gh}] needs {fx * gh}.", nameof(kernel));
        if (recurrentKernel.Length != h * gh)
            throw new ArgumentException($"The recurrent kernel has {recurrentKernel.Length} elements but [{h}, {gh}] needs {h * gh}.", nameof(recurrentKernel));
        var dst = _storage.AsSpan(_offset, Blocks * (fx + h) * Gates * v);
        int o = 0;
        for (int j = 0; j < Blocks; j++)
        {
            int col = j * v, valid = Math.Min(v, h - col);
            // Written only where it changed: in inference the weights are the same pass after pass, and a line
            // rewritten here that another core's row block read in the last pass must first be taken back from that
            // core (this made packing 3× slower at two threads than at one). The comparison is of the bits, so −0
            // replacing +0 (or a new NaN payload) is still written.
            if (valid == v && CopyBlockIfChanged(kernel, recurrentKernel, col, dst.Slice(o)))
            {
                o += (fx + h) * Gates * v;
                continue;
            }
            for (int p = 0; p < fx + h; p++)
            {
                var row = p < fx ? kernel.Slice(p * gh, gh) : recurrentKernel.Slice((p - fx) * gh, gh);
                for (int q = 0; q < Gates; q++)
                {
                    var d = dst.Slice(o + q * v, v);
                    var src = row.Slice(q * h + col, valid);
                    if (!MemoryMarshal.AsBytes(src).SequenceEqual(MemoryMarshal.AsBytes(d[..valid]))) src.CopyTo(d);
                    if (valid < v && d[valid..].ContainsAnyExcept(T.Zero)) d[valid..].Clear();
                }
                o += Gates * v;
            }
        }
    }

    /// <summary>The whole unit block at column <paramref name="col"/> (V units wide) into <paramref name="dst"/>, a
    /// vector at a time, each written only if its bits differ (the general path's span calls per vector made a pass
    /// over unchanged LSTM weights take 3.2 µs at H = 64 and 13.8 µs at H = 128 when all was in cache; this, 1.7 and
    /// 7.2 µs). False, doing nothing, when a vector is not 32 or 64 bytes; the caller then takes the general path.</summary>
    private bool CopyBlockIfChanged(ReadOnlySpan<T> kernel, ReadOnlySpan<T> recurrentKernel, int col, Span<T> dst)
    {
        int fx = InputColumns, h = Units, gh = Gates * h, v = Lanes, size = Unsafe.SizeOf<T>(), bytes = v * size;
        bool wide = bytes == 64 && Vector512.IsHardwareAccelerated;
        if (!wide && !(bytes == 32 && Vector256.IsHardwareAccelerated)) return false;
        if (dst.Length < (fx + h) * Gates * v || col + (Gates - 1) * h + v > gh) return false;
        ref byte d = ref Unsafe.As<T, byte>(ref MemoryMarshal.GetReference(dst));
        nuint gateStep = (nuint)(h * size), rowStep = (nuint)(gh * size);
        for (int part = 0; part < 2; part++)
        {
            var source = part == 0 ? kernel : recurrentKernel;
            int rows = part == 0 ? fx : h;
            ref byte s = ref Unsafe.As<T, byte>(ref Unsafe.Add(ref MemoryMarshal.GetReference(source), col));
            for (int p = 0; p < rows; p++)
            {
                for (int q = 0; q < Gates; q++)
                {
                    nuint at = (nuint)p * rowStep + (nuint)q * gateStep, to = (nuint)q * (nuint)bytes;
                    if (wide)
                    {
                        var a = Vector512.LoadUnsafe(ref s, at);
                        if (a != Vector512.LoadUnsafe(ref d, to)) a.StoreUnsafe(ref d, to);
                    }
                    else
                    {
                        var a = Vector256.LoadUnsafe(ref s, at);
                        if (a != Vector256.LoadUnsafe(ref d, to)) a.StoreUnsafe(ref d, to);
                    }
                }
                d = ref Unsafe.Add(ref d, (nint)(Gates * bytes));
            }
        }
        return true;
    }
}
