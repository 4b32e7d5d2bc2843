using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

/// <summary>Runs a per-sample body (im2col, col2im, pooling) over a batch: samples touch only their own rows or
/// pixels, so blocks of them run on the worker threads; below about 32K values the caller does it alone.</summary>
/// <param name="body">The work for sample n (first argument), forward or backward (third); the second argument is the
/// index of the block running it, 0 ≤ block &lt; <see cref="Blocks"/>: a block's samples run one after another on one
/// thread, so per-block scratch memory is never shared.</param>
internal sealed class SampleLoop(Action<int, int, bool> body) : ParallelChunks
{
    private int _batch, _chunks;
    private bool _backward;

    /// <summary>A loop whose body does not need its block index.</summary>
    public SampleLoop(Action<int, bool> body) : this((n, _, backward) => body(n, backward)) { }

    /// <summary>The number of blocks <see cref="Run"/> splits the same arguments into.</summary>
    /// <param name="batch">B.</param>
    /// <param name="work">The values the pass touches (or the multiply-adds it does), to decide whether splitting pays.</param>
    public static int Blocks(int batch, long work) => work < 1 << 15 ? 1 : Math.Min(batch, 4 * Parallelism.MaxDegree);

    /// <summary>Runs the body for samples 0 to <paramref name="batch"/> − 1.</summary>
    /// <param name="batch">B.</param>
    /// <param name="work">The values the pass touches (or the multiply-adds it does), to decide whether splitting pays.</param>
    /// <param name="backward">Passed to the body.</param>
    public void Run(int batch, long work, bool backward)
    {
        (_batch, _backward) = (batch, backward);
        _chunks = Blocks(batch, work);
        Run(_chunks);
    }

    protected override void ExecuteChunk(int chunk)
    {
        int n0 = _batch * chunk / _chunks, n1 = _batch * (chunk + 1) / _chunks;
        for (int n = n0; n < n1; n++) body(n, chunk, _backward);
    }
}
