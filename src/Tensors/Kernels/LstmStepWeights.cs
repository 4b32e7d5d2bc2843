using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>
/// An LSTM's input kernel (with its bias row) and recurrent kernel, packed for <see cref="LstmStep"/>: per block of
/// V units (V = the vector's lanes), <c>F' + H</c> rows of <c>4·V</c> values, the i, f, g and o weights of those
/// units side by side. Pack once per pass, then run every step of the pass on it.
/// </summary>
/// <remarks>Packing allocates nothing after construction; the layout belongs to the vector width of the machine
/// that built it. Concurrent steps that only read it are safe; packing while a step runs is not.</remarks>
public sealed class LstmStepWeights<T> where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly T[] _storage;
    private readonly int _offset;

    /// <summary>Allocates the packed storage.</summary>
    /// <param name="inputColumns">F': the input features, plus one for a bias row.</param>
    /// <param name="units">H.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive.</exception>
    /// <exception cref="PlatformNotSupportedException"><see cref="LstmStep.IsSupported{T}"/> is false.</exception>
    public LstmStepWeights(int inputColumns, int units)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputColumns, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(units, 1);
        if (!LstmStep.IsSupported<T>())
            throw new PlatformNotSupportedException($"The fused LSTM step needs 256- or 512-bit vectors of {typeof(T).Name}.");
        InputColumns = inputColumns;
        Units = units;
        Lanes = LstmStep.Lanes<T>();
        Blocks = (units + Lanes - 1) / Lanes;
        long length = (long)Blocks * (inputColumns + units) * 4 * Lanes;
        if (length > Array.MaxLength - 64)
            throw new ArgumentException($"An LSTM with {inputColumns} input columns and {units} units is too large to pack ({length} elements).", nameof(units));
        _storage = AlignedArray.Allocate<T>((int)length, out _offset);
    }

    /// <summary>F': rows of the input kernel, including a bias row.</summary>
    public int InputColumns { get; }

    /// <summary>H.</summary>
    public int Units { get; }

    /// <summary>V: units per block, the vector width.</summary>
    public int Lanes { get; }

    /// <summary>Unit blocks, ⌈H / V⌉ (the last zero-padded).</summary>
    public int Blocks { get; }

    internal unsafe T* Pointer => (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_storage)) + _offset;

    /// <summary>Packs new weight values.</summary>
    /// <param name="kernel">[F', 4H] row-major: W, with the bias as its last row when the layer has one.</param>
    /// <param name="recurrentKernel">U, [H, 4H] row-major.</param>
    /// <exception cref="ArgumentException">A span's length does not match its shape.</exception>
    public void Pack(ReadOnlySpan<T> kernel, ReadOnlySpan<T> recurrentKernel)
    {
        int fx = InputColumns, h = Units, g4 = 4 * h, v = Lanes;
        if (kernel.Length != fx * g4)
            throw new ArgumentException($"The kernel has {kernel.Length} elements but [{fx}, {g4}] needs {fx * g4}.", nameof(kernel));
        if (recurrentKernel.Length != h * g4)
            throw new ArgumentException($"The recurrent kernel has {recurrentKernel.Length} elements but [{h}, {g4}] needs {h * g4}.", nameof(recurrentKernel));
        var dst = _storage.AsSpan(_offset, Blocks * (fx + h) * 4 * v);
        int o = 0;
        for (int j = 0; j < Blocks; j++)
        {
            int col = j * v, valid = Math.Min(v, h - col);
            for (int p = 0; p < fx + h; p++)
            {
                var row = p < fx ? kernel.Slice(p * g4, g4) : recurrentKernel.Slice((p - fx) * g4, g4);
                for (int q = 0; q < 4; q++)
                {
                    var d = dst.Slice(o + q * v, v);
                    row.Slice(q * h + col, valid).CopyTo(d);
                    d.Slice(valid).Clear();
                }
                o += 4 * v;
            }
        }
    }
}
