using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Nn.Simd.Tensors;

/// <summary>Pinned arrays whose usable part starts on a 64-byte boundary (a cache line, one AVX-512 vector): the
/// storage of tensors and of packed GEMM and LSTM operands.</summary>
internal static class AlignedArray
{
    /// <summary>The alignment in bytes.</summary>
    public const int Bytes = 64;

    /// <summary>Allocates a zeroed pinned array with room for <paramref name="length"/> elements from
    /// <paramref name="offset"/>, where element <paramref name="offset"/> is 64-byte aligned.</summary>
    public static T[] Allocate<T>(int length, out int offset) where T : unmanaged
    {
        var array = GC.AllocateArray<T>(length + Bytes / Unsafe.SizeOf<T>(), pinned: true);
        nint address;
        unsafe { address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array)); }
        int misalign = (int)(address & (Bytes - 1));
        offset = misalign == 0 ? 0 : (Bytes - misalign) / Unsafe.SizeOf<T>();
        return array;
    }
}
