using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using Nn.Simd.Tensors.Threading;

namespace Nn.Simd.Tensors.Kernels;

/// <summary>The arguments of one GEMM call, as raw pointers (the spans are pinned by the caller).</summary>
internal unsafe struct GemmArgs<T> where T : unmanaged
{
    public bool TransA, TransB;
    public int M, N, K;
    public T Alpha, Beta;
    public T* A, B, C;
    public nint Lda, Ldb, Ldc;

    /// <summary>B already packed by <see cref="GemmDriver{T, TPath}.PackAll"/>, or null to pack per call.</summary>
    public T* Packed;
}

/// <summary>
/// The BLIS-style loop nest around a path's micro-kernel, written once for every path.
/// </summary>
/// <remarks>
/// <para>Loops, outermost first (C is [m, n], op(B) is [k, n]):</para>
/// <list type="number">
/// <item>the thread split: the NR-wide column panels of C and op(B) are cut into a few chunks per thread,
/// which the threads take in turn; each thread packs the B columns of its own chunks. When C has fewer panels than
/// there are threads (a narrow C), its rows are cut instead, and each chunk packs all of op(B);</item>
/// <item><c>jc</c>, NC columns at a time, and <c>pc</c>, KC of k at a time: pack op(B)[pc.., jc..] into NR-wide
/// panels of KC rows (a plain vector copy for B, a transposing copy for Bᵀ) in the thread's own buffer, which
/// stays in L2. When m ≤ MR each B element is used once, so B (not transposed) is read in place instead;</item>
/// <item><c>ir</c>, MR rows of A at a time: A is <b>not</b> packed; the micro-kernel reads it in place
/// through row pointers (or, for Aᵀ, as contiguous columns), and its MR×KC sliver stays in L1 while
/// <c>jr</c> walks the B panels.</item>
/// </list>
/// <para>Determinism: an element of C is a chain of fused multiply-adds over its KC-block, in k order,
/// followed by the <see cref="GemmEpilogue"/> for that block. KC depends only on the element type, never on the
/// thread count, the split, the path's row count or whether B was pre-packed, so all of those give bitwise
/// identical C.</para>
/// </remarks>
internal static unsafe class GemmDriver<T, TPath>
    where T : unmanaged, IFloatingPointIeee754<T>
    where TPath : struct, IGemmPath<T>
{
    /// <summary>Rows of op(B) per packed block: the depth of every accumulation chain segment.</summary>
    public static int Kc => GemmEpilogue.ChainDepth;

    /// <summary>Columns per packed block: KC×NC elements (512 KiB) sit in the 1 MiB L2.</summary>
    public static int Nc => Unsafe.SizeOf<T>() == 4 ? 512 : 256;

    /// <summary>Panel width NR (two vectors).</summary>
    public static int Nr => 2 * TPath.Lanes;

    [ThreadStatic] private static T[]? t_packBuffer;

    /// <summary>The number of elements a fully packed [k, n] B occupies (n rounded up to NR).</summary>
    public static long PackedLength(int k, int n) => (long)k * RoundUp(n, Nr);

    private static int RoundUp(int x, int multiple) => (x + multiple - 1) / multiple * multiple;

    /// <summary>Runs one GEMM (m, n, k ≥ 1), splitting over N when the call is large enough, or over M when C has
    /// fewer column panels than there are threads (a narrow C: a convolution's few filters).</summary>
    public static void Run(in GemmArgs<T> args)
    {
        int panels = (args.N + Nr - 1) / Nr;
        int threads = Parallelism.MaxDegree;
        bool splitRows = panels < threads && args.M >= 2;
        int parts = Math.Min(threads, splitRows ? args.M : panels);
        if (parts > 1 && 2L * args.M * args.N * args.K >= Gemm.ParallelMinFlops && WorkerPool.TryEnter())
        {
            // The caller's pack buffer, at its full size, before the chunks are handed out: the worker may take
            // every chunk of the first calls, and the caller's first pack would then allocate in a later, steady-state
            // call (seen as a rare non-zero allocation in a steady-state training test).
            if (args.Packed == null) PackBuffer(Kc * Nc);
            GemmJob job = GemmJob.Instance;
            job.Args = args;
            job.SplitRows = splitRows;
            // Every row chunk packs all of B again, so row chunks stay at least RowChunkMin rows long.
            job.Chunks = splitRows ? Math.Clamp(args.M / RowChunkMin, parts, parts * ChunksPerThread) : Math.Min(panels, parts * ChunksPerThread);
            job.Next = 0;
            WorkerPool.Run(job, parts);
            job.Args = default;
            return;
        }
        RunColumns(args, 0, args.N);
    }

    /// <summary>
    /// Column chunks per thread in a parallel call. Threads take chunks from a shared counter, so a thread that
    /// gets no core (the machine is shared) only delays the chunk it holds, and the others finish the rest.
    /// </summary>
    /// <remarks>Two, not more: every chunk streams all of op(A) again, and a narrow chunk uses each MR×KC sliver of A
    /// for only a panel or two before the next. Measured at two threads on this Zen 4 (min of 180 interleaved calls,
    /// 4 → 2 chunks per thread): Aᵀ·B 128×512×1920 (the LSTM's dU at H = 128, B = 32) 1249 → 1206 µs, 64×256×1920
    /// 350 → 308 µs, A·B 1920×512×128 1302 → 1210 µs, 512³ 1553 → 1448 µs, 256³ 190 → 176 µs; one chunk per
    /// thread was within 2 % of two.</remarks>
    private const int ChunksPerThread = 2;

    /// <summary>The fewest rows of C a row chunk should have (below it, repacking B per chunk starts to cost).</summary>
    private const int RowChunkMin = 64;

    /// <summary>Computes row chunk <paramref name="chunk"/> of <paramref name="chunks"/>: whole MR-row tiles where there
    /// are enough (an element's arithmetic does not depend on the rows around it, so any split gives the same C).</summary>
    private static void RunRowChunk(in GemmArgs<T> args, int chunk, int chunks)
    {
        int m = args.M, mr = TPath.MaxRows, tiles = (m + mr - 1) / mr;
        int r0, r1;
        if (tiles >= chunks)
        {
            r0 = Math.Min(m, (int)((long)tiles * chunk / chunks) * mr);
            r1 = Math.Min(m, (int)((long)tiles * (chunk + 1) / chunks) * mr);
        }
        else
        {
            r0 = (int)((long)m * chunk / chunks);
            r1 = (int)((long)m * (chunk + 1) / chunks);
        }
        if (r1 <= r0) return;
        var part = args;
        part.M = r1 - r0;
        part.A = args.TransA ? args.A + r0 : args.A + r0 * args.Lda;
        part.C = args.C + r0 * args.Ldc;
        RunColumns(part, 0, args.N);
    }

    /// <summary>Computes chunk <paramref name="chunk"/> of <paramref name="chunks"/>: a run of whole NR panels.</summary>
    private static void RunChunk(in GemmArgs<T> args, int chunk, int chunks)
    {
        int nr = Nr;
        int panels = (args.N + nr - 1) / nr;
        int p0 = (int)((long)panels * chunk / chunks), p1 = (int)((long)panels * (chunk + 1) / chunks);
        if (p1 > p0) RunColumns(args, p0 * nr, Math.Min(args.N, p1 * nr));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void RunColumns(in GemmArgs<T> args, int j0, int j1)
    {
        int nr = Nr, kcMax = Kc, ncMax = Nc, k = args.K;
        // With no more rows than one micro-kernel call takes, every B element is used by exactly one call, so
        // packing B would only copy it: read B's rows in place instead (only the last, partial panel is packed).
        bool direct = args.Packed == null && !args.TransB && args.M <= TPath.MaxRows;
        T* buffer = null;
        if (args.Packed == null) buffer = PackBuffer(direct ? kcMax * nr : kcMax * ncMax);
        int nPadded = RoundUp(args.N, nr);
        for (int jc = j0; jc < j1; jc += ncMax)
        {
            int nc = Math.Min(ncMax, j1 - jc);
            for (int pc = 0; pc < k; pc += kcMax)
            {
                int kc = Math.Min(kcMax, k - pc);
                int mode = pc > 0 ? GemmEpilogue.Accumulate : args.Beta == T.Zero ? GemmEpilogue.Overwrite : GemmEpilogue.Scale;
                var block = new BBlock { Kc = kc, Nc = nc };
                if (direct)
                {
                    block.Start = args.B + (nint)pc * args.Ldb + jc;
                    block.RowStride = args.Ldb;
                    block.PanelStep = nr;
                    block.FullPanels = nc / nr;
                    if (nc % nr != 0)
                    {
                        PackBlock(false, args.B, args.Ldb, pc, kc, jc + block.FullPanels * nr, nc % nr, buffer);
                        block.Tail = buffer;
                    }
                }
                else
                {
                    if (args.Packed != null)
                    {
                        block.Start = args.Packed + (nint)pc * nPadded + (nint)(jc / nr) * kc * nr;
                    }
                    else
                    {
                        PackBlock(args.TransB, args.B, args.Ldb, pc, kc, jc, nc, buffer);
                        block.Start = buffer;
                    }
                    block.RowStride = nr;
                    block.PanelStep = (nint)kc * nr;
                    block.FullPanels = (nc + nr - 1) / nr;    // packed panels are zero-padded to NR
                }
                if (args.TransA) MacroKernel<ATransposed>(args, pc, jc, block, mode);
                else MacroKernel<ANormal>(args, pc, jc, block, mode);
            }
        }
    }

    /// <summary>Where the micro-kernels find one KC×NC block of op(B).</summary>
    private struct BBlock
    {
        public int Kc, Nc;
        public T* Start;          // panel 0
        public nint RowStride;    // between k rows of a panel: NR when packed, ldb when read in place
        public nint PanelStep;    // between panels
        public int FullPanels;    // panels read from Start (the last may have fewer than NR valid columns when packed)
        public T* Tail;           // in-place reads only: the packed last panel, when nc is not a multiple of NR
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    [SkipLocalsInit]
    private static void MacroKernel<TA>(in GemmArgs<T> args, int pc, int jc, in BBlock block, int mode)
        where TA : struct, IAOrder
    {
        // Room for one edge tile's accumulators (at most 8 rows × NR), which the kernel stores raw.
        T* edge = stackalloc T[8 * 2 * TPath.Lanes];
        int m = args.M, mr = TPath.MaxRows;
        nint lda = args.Lda;
        for (int ir = 0; ir < m;)
        {
            int rows = m - ir;
            T* a = TA.Transposed ? args.A + (nint)pc * lda + ir : args.A + (nint)ir * lda + pc;
            T* c = args.C + (nint)ir * args.Ldc + jc;
            if (rows >= 8 && mr >= 8) { Panels<Rows8, TA>(args, a, block, c, mode, edge); ir += 8; }
            else if (rows >= 4) { Panels<Rows4, TA>(args, a, block, c, mode, edge); ir += 4; }
            else if (rows >= 2) { Panels<Rows2, TA>(args, a, block, c, mode, edge); ir += 2; }
            else { Panels<Rows1, TA>(args, a, block, c, mode, edge); ir += 1; }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Panels<TRows, TA>(in GemmArgs<T> args, T* a, in BBlock block, T* c, int mode, T* edge)
        where TRows : struct, IRows where TA : struct, IAOrder
    {
        int nr = Nr, kc = block.Kc, nc = block.Nc;
        T alpha = args.Alpha, beta = args.Beta;
        nint lda = args.Lda, ldc = args.Ldc, rowStride = block.RowStride, step = block.PanelStep;
        T* b = block.Start;
        int jr = 0;
        for (int q = 0; q < block.FullPanels; q++, jr += nr, b += step)
        {
            int cols = Math.Min(nr, nc - jr);
            Tile<TRows, TA>(kc, a, lda, b, rowStride, c + jr, ldc, cols, alpha, beta, mode, edge);
        }
        if (block.Tail != null) Tile<TRows, TA>(kc, a, lda, block.Tail, nr, c + jr, ldc, nc - jr, alpha, beta, mode, edge);
    }

    /// <summary>One micro-tile: the one-vector kernel when the valid columns fit in the panel's first vector (a
    /// narrow C, such as 16 filters of a convolution, would otherwise do twice the work and a scalar epilogue), then
    /// the scalar epilogue where the kernel left raw accumulators.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Tile<TRows, TA>(int kc, T* a, nint lda, T* b, nint rowStride, T* c, nint ldc, int cols, T alpha, T beta, int mode, T* edge)
        where TRows : struct, IRows where TA : struct, IAOrder
    {
        if (cols <= TPath.Lanes)
        {
            TPath.KernelNarrow<TRows, TA>(kc, a, lda, b, rowStride, c, ldc, cols, alpha, beta, mode, edge);
            if (cols < TPath.Lanes) ApplyEdge(edge, c, ldc, TRows.Count, cols, alpha, beta, mode);
        }
        else
        {
            TPath.Kernel<TRows, TA>(kc, a, lda, b, rowStride, c, ldc, cols, alpha, beta, mode, edge);
            if (cols < Nr) ApplyEdge(edge, c, ldc, TRows.Count, cols, alpha, beta, mode);
        }
    }

    /// <summary>The epilogue of an edge tile from the raw accumulators the kernel stored at <paramref name="edge"/>
    /// (rows of NR), for the first <paramref name="cols"/> columns.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ApplyEdge(T* edge, T* c, nint ldc, int rows, int cols, T alpha, T beta, int mode)
    {
        for (int r = 0; r < rows; r++)
            GemmEpilogue.ApplyPartial(edge + r * Nr, c + r * ldc, cols, alpha, beta, mode);
    }

    /// <summary>
    /// Packs op(B)[pc..pc+kc, jc..jc+nc] into NR-wide panels: panel q holds columns jc+q·NR.. as kc rows of NR
    /// contiguous elements, zero-padded past column nc.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackBlock(bool transB, T* b, nint ldb, int pc, int kc, int jc, int nc, T* dst)
    {
        int nr = Nr;
        for (int jr = 0; jr < nc; jr += nr, dst += (nint)kc * nr)
        {
            int cols = Math.Min(nr, nc - jr);
            if (!transB)
            {
                T* src = b + (nint)pc * ldb + jc + jr;
                if (cols == nr)
                {
                    for (int p = 0; p < kc; p++) TPath.CopyPanelRow(src + p * ldb, dst + (nint)p * nr);
                }
                else if (cols == TPath.Lanes)
                {
                    for (int p = 0; p < kc; p++) TPath.CopyHalfPanelRow(src + p * ldb, dst + (nint)p * nr);
                }
                else
                {
                    for (int p = 0; p < kc; p++)
                    {
                        T* s = src + p * ldb, d = dst + (nint)p * nr;
                        int j = 0;
                        for (; j < cols; j++) d[j] = s[j];
                        for (; j < nr; j++) d[j] = T.Zero;
                    }
                }
            }
            else
            {
                PackTransposedPanel(b + (nint)(jc + jr) * ldb + pc, ldb, kc, cols, dst);
            }
        }
    }

    // Bᵀ is stored [n, k]: panel column j is the contiguous run b[j·ldb + pc ..]. For float with AVX, 8×8 blocks
    // are transposed in registers; otherwise four source rows at a time keep four read streams and write four
    // adjacent elements of each destination row.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackTransposedPanel(T* src, nint ldb, int kc, int cols, T* dst)
    {
        int nr = Nr;
        int j = 0;
        if (typeof(T) == typeof(float) && Avx.IsSupported && kc >= 8)
        {
            for (; j + 8 <= cols; j += 8)
            {
                float* s = (float*)(src + j * ldb);
                float* d = (float*)(dst + j);
                int p = 0;
                for (; p + 8 <= kc; p += 8) Transpose8x8(s + p, ldb, d + (nint)p * nr, nr);
                for (; p < kc; p++)
                    for (int jj = 0; jj < 8; jj++) d[(nint)p * nr + jj] = s[jj * ldb + p];
            }
        }
        for (; j + 4 <= cols; j += 4)
        {
            T* s0 = src + j * ldb, s1 = s0 + ldb, s2 = s1 + ldb, s3 = s2 + ldb;
            T* d = dst + j;
            for (int p = 0; p < kc; p++, d += nr)
            {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
            }
        }
        for (; j < cols; j++)
        {
            T* s = src + j * ldb, d = dst + j;
            for (int p = 0; p < kc; p++, d += nr) *d = s[p];
        }
        if (cols < nr)
        {
            for (int p = 0; p < kc; p++)
                new Span<T>(dst + (nint)p * nr + cols, nr - cols).Clear();
        }
    }

    /// <summary>
    /// Writes the transpose of the 8×8 block at <paramref name="s"/> (rows <paramref name="lds"/> apart) to
    /// <paramref name="d"/> (rows <paramref name="ldd"/> apart): d[i, j] = s[j, i].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, nint lds, float* d, nint ldd)
    {
        Vector256<float> r0 = Avx.LoadVector256(s), r1 = Avx.LoadVector256(s + lds);
        Vector256<float> r2 = Avx.LoadVector256(s + 2 * lds), r3 = Avx.LoadVector256(s + 3 * lds);
        Vector256<float> r4 = Avx.LoadVector256(s + 4 * lds), r5 = Avx.LoadVector256(s + 5 * lds);
        Vector256<float> r6 = Avx.LoadVector256(s + 6 * lds), r7 = Avx.LoadVector256(s + 7 * lds);
        // Interleave pairs of rows: t0 = a0 b0 a1 b1 | a4 b4 a5 b5, t1 = a2 b2 a3 b3 | a6 b6 a7 b7, ...
        Vector256<float> t0 = Avx.UnpackLow(r0, r1), t1 = Avx.UnpackHigh(r0, r1);
        Vector256<float> t2 = Avx.UnpackLow(r2, r3), t3 = Avx.UnpackHigh(r2, r3);
        Vector256<float> t4 = Avx.UnpackLow(r4, r5), t5 = Avx.UnpackHigh(r4, r5);
        Vector256<float> t6 = Avx.UnpackLow(r6, r7), t7 = Avx.UnpackHigh(r6, r7);
        // Gather quads: u0 = a0 b0 c0 d0 | a4 b4 c4 d4, u1 = a1 b1 c1 d1 | a5 b5 c5 d5, ...
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        // Join the 128-bit halves of rows a–d and e–h: column i of the block.
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>Packs all of op(B) [k, n] into <paramref name="dst"/> (<see cref="PackedLength"/> elements).</summary>
    public static void PackAll(bool transB, int k, int n, T* b, nint ldb, T* dst)
    {
        int nPadded = RoundUp(n, Nr);
        for (int pc = 0; pc < k; pc += Kc)
        {
            int kc = Math.Min(Kc, k - pc);
            PackBlock(transB, b, ldb, pc, kc, 0, n, dst + (nint)pc * nPadded);
        }
    }

    // One KC×NC block per thread, allocated the first time the thread packs and then reused: nothing is allocated
    // per call. A pinned array needs no finaliser and dies with the thread.
    private static T* PackBuffer(int elements)
    {
        T[]? buffer = t_packBuffer;
        int pad = 64 / Unsafe.SizeOf<T>();
        // The first allocation is a whole KC×NC block whatever this call needs, so that a thread which first runs a small
        // call (a worker running one sample of a convolution) never has to grow it in a later, steady-state call.
        if (buffer is null || buffer.Length < elements + pad)
            t_packBuffer = buffer = GC.AllocateUninitializedArray<T>(Math.Max(elements, Kc * Nc) + pad, pinned: true);
        T* p = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(buffer));
        nint misalign = (nint)p & 63;
        return misalign == 0 ? p : (T*)((byte*)p + (64 - misalign));
    }

    /// <summary>The reusable job handed to the worker pool (the pool runs one job at a time).</summary>
    private sealed class GemmJob : IParallelWork
    {
        public static readonly GemmJob Instance = new();
        public GemmArgs<T> Args;
        public bool SplitRows;
        public int Chunks;
        public int Next;

        // Every part, the caller's included, takes chunks until none are left (see WorkerPool.Run).
        public void Execute(int part, int parts)
        {
            int chunk;
            while ((chunk = Interlocked.Increment(ref Next) - 1) < Chunks)
            {
                if (SplitRows) RunRowChunk(Args, chunk, Chunks);
                else RunChunk(Args, chunk, Chunks);
            }
        }
    }
}
