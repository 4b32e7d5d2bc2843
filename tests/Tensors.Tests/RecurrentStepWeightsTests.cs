using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Tensors.Tests;

/// <summary>The fused recurrent steps' packed weights.</summary>
public class RecurrentStepWeightsTests
{
    [Fact]
    public void RecurrentStepWeights_RepackingChangedWeights_EqualsAFreshPack_BitForBit()
    {
        // Pack writes only the vectors whose bits changed; a repack over old weights must leave exactly what a fresh
        // pack gives, including sign-of-zero flips, NaN payloads and the zero padding of a partial last block.
        foreach (int gates in new[] { 3, 4 })
            foreach (int units in new[] { 5, 16, 17, 33 })
            {
                int fx = 4, gh = gates * units;
                var w = Tensor<float>.RandomNormal(new TensorShape(fx, gh), seed: units).ToArray();
                var u = Tensor<float>.RandomNormal(new TensorShape(units, gh), seed: units + 1).ToArray();
                var used = new RecurrentStepWeights<float>(fx, units, gates);
                used.Pack(w, u);
                w[0] = 0f; u[0] = -0f; u[gh - 1] = float.NaN; w[gh + 3] = 2.5f;
                used.Pack(w, u);
                u[0] = 0f; u[gh - 1] = BitConverter.Int32BitsToSingle(0x7FC00123); w[0] = -0f;
                for (int i = 7; i < u.Length; i += 13) u[i] = -u[i];
                used.Pack(w, u);
                var fresh = new RecurrentStepWeights<float>(fx, units, gates);
                fresh.Pack(w, u);
                Assert.True(Packed(used).SequenceEqual(Packed(fresh)), $"gates {gates}, units {units}");
                // And both are the documented layout: block j, row p of [W; U], gate q, lane l = unit j·V + l (0 past H).
                int v = fresh.Lanes, k = fx + units;
                var expected = new float[fresh.Blocks * k * gates * v];
                for (int j = 0; j < fresh.Blocks; j++)
                    for (int r = 0; r < k; r++)
                        for (int q = 0; q < gates; q++)
                            for (int l = 0; l < v && j * v + l < units; l++)
                                expected[((j * k + r) * gates + q) * v + l] = r < fx ? w[r * gh + q * units + j * v + l] : u[(r - fx) * gh + q * units + j * v + l];
                Assert.True(Packed(fresh).SequenceEqual(System.Runtime.InteropServices.MemoryMarshal.AsBytes(expected.AsSpan()).ToArray()), $"layout, gates {gates}, units {units}");
            }

        static unsafe byte[] Packed(RecurrentStepWeights<float> p)
            => new ReadOnlySpan<byte>(p.Pointer, p.Blocks * (p.InputColumns + p.Units) * p.Gates * p.Lanes * sizeof(float)).ToArray();
    }
}
