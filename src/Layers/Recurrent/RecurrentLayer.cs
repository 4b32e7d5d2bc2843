using System.Globalization;
using System.Numerics;
using Nn.Simd.Layers.Activations;
using Nn.Simd.Layers.Initializers;
using Nn.Simd.Tensors;
using Nn.Simd.Tensors.Kernels;

namespace Nn.Simd.Layers;

// Shapes: B = batch, T = time steps, F = input features, H = units, G = gates per unit (1 SimpleRNN, 3 GRU,
// 4 LSTM). s = the step in processing order (s = t, or T−1−t with GoBackwards).
// Caches are time-major so every step's rows are one contiguous [B, ·] block:
//   xT    [T, B, F]      the input in processing order
//   gates [T, B, G·H]    x·W + b for all steps (one GEMM), then the activated gates, then dZ in backward
//   h     [T+1, B, H]    h[0] = the initial state, h[s+1] = the output of step s
//   c     [T+1, B, H]    the same for the LSTM cell state
// With h[0..T) contiguous, dU = h[0..T)ᵀ·dZ is one GEMM over all steps, as are dW = xTᵀ·dZ and dx = dZ·Wᵀ.

/// <summary>
/// The shared time loop of the recurrent layers (<see cref="SimpleRnn{T}"/>, <see cref="Lstm{T}"/>,
/// <see cref="Gru{T}"/>): Keras' options, time-major caches, whole-sequence GEMMs and backpropagation
/// through time (full or truncated).
/// </summary>
/// <remarks>
/// <para><b>Forward.</b> The input <c>[B, T, F]</c> is copied time-major (reversed with
/// <see cref="GoBackwards"/>) and, in a training pass, projected for all steps by one GEMM
/// <c>[T·B, F+1]·[F+1, G·H]</c> with the input bias folded in as a column of ones (an inference pass projects
/// each row block's step just before it runs, with the same bits, so the gates stay in L1); then each step adds <c>h_{s−1}·U</c> by one GEMM on contiguous
/// <c>[B, H]</c> rows, with U packed once per pass, and runs the fused gate math. The LSTM and the GRU with
/// their default activations replace all of that by one kernel per step (<see cref="LstmStep"/>,
/// <see cref="GruStep"/>: projection, recurrent product and gate math in one register tile), with the same bits. The output
/// is <c>[B, T, H]</c> with <see cref="ReturnSequences"/> (in processing order, so reversed in time with
/// <see cref="GoBackwards"/>, as in Keras) or the last step's <c>[B, H]</c>.</para>
/// <para><b>Threads.</b> Every batch row is an independent sequence, so the time loops run over blocks of rows, one
/// block per thread at a time, with no synchronisation between steps; results are bitwise the same at any thread
/// count (see <see cref="Parallelism"/>).</para>
/// <para><b>Backward.</b> <c>dH</c> (and <c>dC</c> for the LSTM) is carried from the last step to the first;
/// each step turns it into the pre-activation gradient <c>dZ</c>, stored over the step's gates, and carries
/// <c>dZ·Uᵀ</c> back. After the loop, <c>dW</c>, <c>dU</c>, the bias gradient and <c>dx</c> are each one
/// GEMM (or one sum) over all steps.</para>
/// <para><b>Truncated BPTT</b> (<see cref="TruncateBptt"/> = k &gt; 0). The steps, in processing order, are cut
/// into windows of k steps counted back from the last step (so the last window is full and the first may
/// be shorter). The state entering each window other than the first is treated as a constant in the
/// backward pass: <c>dH</c> and <c>dC</c> are not carried across a window boundary. So the gradient of an
/// output reaches back at most k steps (exactly k for the last output), all other gradients are the exact
/// gradients of the windows, and the forward pass is unchanged. The result equals running full BPTT on each
/// window separately with the previous window's final state fed in as a constant initial state.</para>
/// <para><b>Stateful</b> layers keep the final state of each call as the initial state of the next call,
/// which must have the same batch size; as in Keras, no gradient flows into the previous call.</para>
/// </remarks>
public abstract class RecurrentLayer<T> : Layer<T>, IMaskConsumer, IInputGradientOptional where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Workspace<T> _wxT = new(), _wGates = new(), _wH = new(), _wC = new(), _wOut = new(),
        _wDxT = new(), _wDx = new(), _wDhStep = new(), _wDhCarry = new(), _wDcCarry = new(),
        _wFinalH = new(), _wFinalC = new(), _wDInitH = new(), _wDInitC = new(), _wZeroDx = new(), _wKernelBias = new(),
        _wMaskedDh = new(), _wMaskedDc = new(), _wInputDrop = new(), _wStateDrop = new(), _wHMasked = new(), _wCarry = new(), _wInputGrad = new();
    private SequenceMask? _mask;
    // Dropout (training only): one mask per sequence for the inputs [B, F] and one for the state fed to U [B, H].
    private Tensor<T>? _inputDropMask, _stateDropMask, _hMasked, _carryScratch;
    private bool _inputDropout, _stateDropout;
    private double _dropout, _recurrentDropout;
    private ResumableRandom _dropoutRng = new(0);
    private Tensor<T>? _input, _xT, _lastOutput, _finalH, _finalC, _dInitH, _dInitC, _stateH, _stateC;
    private int _statefulBatch;
    private bool _forwardDone;
    private PackedMatrix<T>? _packedU, _packedUT, _packedKernel;
    private bool _streamInputs, _fusedForward, _fillInputsPerBlock;
    private readonly TimeLoop _timeLoop;
    private readonly InputProduct _inputProduct;
    // The backward loop's per-call inputs, read by the chunks.
    private Tensor<T>? _dOutput;
    private Tensor<T>? _dhStep, _dhCarry, _dcCarry, _maskedDh, _maskedDc;

    /// <summary>Sets the options shared by all recurrent layers.</summary>
    /// <param name="units">H; positive.</param>
    /// <param name="gateCount">G, the number of gate blocks of H columns (1, 3 or 4).</param>
    /// <param name="hasCellState">Whether there is a second state (the LSTM's c).</param>
    /// <param name="activation">The activation object.</param>
    /// <param name="useBias">Whether biases are added.</param>
    /// <param name="kernelInitializer">Null means Glorot-uniform.</param>
    /// <param name="recurrentInitializer">Null means orthogonal.</param>
    /// <param name="biasInitializer">Null means zeros.</param>
    /// <param name="returnSequences">Return every step's output, [B, T, H], instead of the last, [B, H].</param>
    /// <param name="returnState">Expose the final state(s) through <see cref="FinalH"/> and <see cref="FinalC"/>.</param>
    /// <param name="goBackwards">Process the input from the last step to the first.</param>
    /// <param name="stateful">Carry the final state into the next call.</param>
    /// <param name="truncateBptt">0 for full BPTT, else the window k of truncated BPTT.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="units"/> is not positive or
    /// <paramref name="truncateBptt"/> is negative.</exception>
    private protected RecurrentLayer(int units, int gateCount, bool hasCellState, Activation<T> activation,
        bool useBias, Initializer? kernelInitializer, Initializer? recurrentInitializer, Initializer? biasInitializer,
        bool returnSequences, bool returnState, bool goBackwards, bool stateful, int truncateBptt)
    {
        if (units <= 0)
            throw new ArgumentOutOfRangeException(nameof(units), $"units must be a positive integer; got {units}.");
        if (truncateBptt < 0)
            throw new ArgumentOutOfRangeException(nameof(truncateBptt), $"truncateBptt must be 0 (full BPTT) or a positive window length; got {truncateBptt}.");
        ArgumentNullException.ThrowIfNull(activation);
        Units = units;
        GateCount = gateCount;
        HasCellState = hasCellState;
        Activation = activation;
        ReturnSequences = returnSequences;
        ReturnState = returnState;
        GoBackwards = goBackwards;
        Stateful = stateful;
        TruncateBptt = truncateBptt;
        UseBias = useBias;
        KernelInitializer = kernelInitializer ?? new GlorotUniform();
        RecurrentInitializer = recurrentInitializer ?? new Orthogonal();
        BiasInitializer = biasInitializer ?? new Constant(0);
        _timeLoop = new TimeLoop(this);
        _inputProduct = new InputProduct(this);
    }

    /// <summary>Whether biases are added.</summary>
    public bool UseBias { get; }

    /// <summary>The kernel initializer (Glorot-uniform by default).</summary>
    public Initializer KernelInitializer { get; }

    /// <summary>The recurrent kernel initializer (orthogonal by default).</summary>
    public Initializer RecurrentInitializer { get; }

    /// <summary>The bias initializer (zeros by default).</summary>
    public Initializer BiasInitializer { get; }

    /// <summary>H, the size of the hidden state and of each step's output.</summary>
    public int Units { get; }

    /// <summary>The activation of the candidate / output (tanh by default).</summary>
    public Activation<T> Activation { get; }

    /// <summary>Whether the output is every step's h, [B, T, H], rather than the last step's, [B, H].</summary>
    public bool ReturnSequences { get; }

    /// <summary>Whether the final states are exposed through <see cref="FinalH"/> and <see cref="FinalC"/>
    /// (Keras' <c>return_state</c>) and can receive gradients through <see cref="Backward(Tensor{T}, Tensor{T}?, Tensor{T}?)"/>.</summary>
    public bool ReturnState { get; }

    /// <summary>Whether the input is processed from the last step to the first (Keras' <c>go_backwards</c>).
    /// With <see cref="ReturnSequences"/> the output stays in processing order, i.e. reversed in time.</summary>
    public bool GoBackwards { get; }

    /// <summary>Whether the final state of a call is the initial state of the next (Keras' <c>stateful</c>).</summary>
    public bool Stateful { get; }

    /// <summary>0 for full backpropagation through time; k &gt; 0 for truncated BPTT with windows of k steps
    /// (see the class remarks for exactly what is truncated).</summary>
    public int TruncateBptt { get; }

    /// <summary>Whether <see cref="Backward(Tensor{T}, Tensor{T}?, Tensor{T}?)"/> computes the gradient with respect to
    /// the input (the default). Set it to false when the input is data, as for the first layer of a model: the
    /// backward pass then skips <c>dZ·Wᵀ</c> and returns a tensor of zeros of the input's shape.</summary>
    public bool ComputeInputGradient { get; set; } = true;

    /// <summary>G, the number of gate blocks (1 SimpleRNN, 3 GRU, 4 LSTM).</summary>
    protected int GateCount { get; }

    /// <summary>Whether the layer has a cell state c besides h.</summary>
    protected bool HasCellState { get; }

    /// <summary>An initial hidden state [B, H] used by the next calls instead of zeros (Keras' <c>initial_state</c>);
    /// null for zeros. Not allowed on a stateful layer (use <see cref="ResetState(Tensor{T}, Tensor{T}?)"/>).</summary>
    public Tensor<T>? InitialH { get; set; }

    /// <summary>The LSTM's initial cell state [B, H]; null for zeros.</summary>
    public Tensor<T>? InitialC { get; set; }

    /// <summary>The timestep mask of the following calls' input, <c>[B, T]</c>, or null for none (Keras' <c>mask</c>
    /// argument). A masked step is skipped: h (and c) are carried through unchanged, so the layer computes what it
    /// would on the sequence without those steps, and the gradient passes straight through them. Inside a
    /// <c>Sequential</c> model the <see cref="Masking{T}"/> layer sets it.</summary>
    public SequenceMask? InputMask { get; set; }

    /// <summary>The mask of the last output: the input mask when <see cref="ReturnSequences"/> (the output keeps the
    /// time axis), else null, as Keras' <c>compute_mask</c>.</summary>
    public SequenceMask? OutputMask => ReturnSequences ? _mask : null;

    /// <summary>With a mask and <see cref="ReturnSequences"/>, whether the output at a masked step is zero (true) or
    /// repeats the previous step's output (false, Keras' default <c>zero_output_for_mask</c>).
    /// <see cref="Bidirectional{T}"/> sets it on the layers it wraps, as Keras does.</summary>
    public bool ZeroOutputForMask { get; set; }

    /// <summary>Keras' <c>dropout</c>: in training, the fraction of input features dropped (the rest scaled by
    /// 1/(1 − rate)), with one mask per sequence kept for all its time steps (variational dropout, Gal and
    /// Ghahramani, 2016). 0 (the default) turns it off; inference never drops.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not in [0, 1).</exception>
    public double Dropout { get => _dropout; set => _dropout = CheckRate(value, nameof(Dropout)); }

    /// <summary>Keras' <c>recurrent_dropout</c>: in training, the fraction of the state's units dropped where the
    /// state enters the recurrent product (h_{t−1}·U; the GRU's blend with h_{t−1} and the LSTM's cell are not
    /// masked), one mask per sequence for all steps. One mask is shared by all gates (Gal and Ghahramani's tied
    /// form); Keras draws one per gate. With it, the GRU runs its general path rather than the fused step.</summary>
    /// <exception cref="ArgumentOutOfRangeException">Not in [0, 1).</exception>
    public double RecurrentDropout { get => _recurrentDropout; set => _recurrentDropout = CheckRate(value, nameof(RecurrentDropout)); }

    /// <summary>Keep the dropout masks of the last training call while the input shape stays the same (for gradient
    /// checks, as <see cref="NoiseLayer{T}.FreezeMask"/>).</summary>
    public bool FreezeDropoutMasks { get; set; }

    /// <summary>The input dropout mask [B, F] of the last training call (0 or 1/(1 − rate)), or null.</summary>
    public Tensor<T>? InputDropoutMask => _inputDropout ? _inputDropMask : null;

    /// <summary>The recurrent dropout mask [B, H] of the last training call, or null.</summary>
    public Tensor<T>? RecurrentDropoutMask => _stateDropout ? _stateDropMask : null;

    /// <summary>Whether this pass drops state units before the recurrent product.</summary>
    private protected bool StateDropoutActive => _stateDropout;

    private static double CheckRate(double rate, string name) =>
        rate is >= 0 and < 1 ? rate : throw new ArgumentOutOfRangeException(name, $"{name} must be in [0, 1); got {rate}.");

    /// <summary>A penalty on the kernel W added to the training loss (Keras' <c>kernel_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? KernelRegularizer { get => GetRegularizer("kernel"); set => SetRegularizer("kernel", value); }

    /// <summary>A penalty on the recurrent kernel U (Keras' <c>recurrent_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? RecurrentRegularizer { get => GetRegularizer("recurrent_kernel"); set => SetRegularizer("recurrent_kernel", value); }

    /// <summary>A penalty on the bias (Keras' <c>bias_regularizer</c>); null for none.</summary>
    public Regularizers.Regularizer? BiasRegularizer { get => GetRegularizer("bias"); set => SetRegularizer("bias", value); }

    /// <summary>A projection of the kernel W after each optimizer step (Keras' <c>kernel_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the kernel's shape.</exception>
    public Constraints.Constraint? KernelConstraint { get => GetConstraint("kernel"); set => SetConstraint("kernel", value); }

    /// <summary>A projection of the recurrent kernel U after each optimizer step (Keras' <c>recurrent_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the recurrent kernel's shape.</exception>
    public Constraints.Constraint? RecurrentConstraint { get => GetConstraint("recurrent_kernel"); set => SetConstraint("recurrent_kernel", value); }

    /// <summary>A projection of the bias after each optimizer step (Keras' <c>bias_constraint</c>); null for none.</summary>
    /// <exception cref="ArgumentException">Set on a built layer, the constraint does not fit the bias's shape.</exception>
    public Constraints.Constraint? BiasConstraint { get => GetConstraint("bias"); set => SetConstraint("bias", value); }

    /// <summary>The final hidden state [B, H] of the last call (a copy owned by the layer).</summary>
    /// <exception cref="InvalidOperationException"><see cref="ReturnState"/> is false or no forward pass ran.</exception>
    public Tensor<T> FinalH => ReturnState
        ? _finalH ?? throw new InvalidOperationException($"{Name}: FinalH is available after a forward pass.")
        : throw new InvalidOperationException($"{Name}: FinalH needs returnState: true.");

    /// <summary>The final cell state [B, H] of the last call (LSTM only).</summary>
    /// <exception cref="InvalidOperationException"><see cref="ReturnState"/> is false, the layer has no cell state, or no forward pass ran.</exception>
    public Tensor<T> FinalC => ReturnState && HasCellState
        ? _finalC ?? throw new InvalidOperationException($"{Name}: FinalC is available after a forward pass.")
        : throw new InvalidOperationException($"{Name}: FinalC needs returnState: true and a layer with a cell state (LSTM).");

    /// <summary>The gradient with respect to the initial hidden state [B, H] from the last backward pass.</summary>
    /// <exception cref="InvalidOperationException">No backward pass ran.</exception>
    public Tensor<T> InitialHGradient => _dInitH ?? throw new InvalidOperationException($"{Name}: no backward pass ran.");

    /// <summary>The gradient with respect to the initial cell state [B, H] (LSTM only) from the last backward pass.</summary>
    /// <exception cref="InvalidOperationException">No backward pass ran or the layer has no cell state.</exception>
    public Tensor<T> InitialCGradient => _dInitC ?? throw new InvalidOperationException($"{Name}: no backward pass ran, or the layer has no cell state.");

    /// <summary>The current carried state h [B, H] of a stateful layer, or null before its first call.</summary>
    public Tensor<T>? StateH => _stateH;

    /// <summary>The current carried cell state c [B, H] of a stateful LSTM, or null.</summary>
    public Tensor<T>? StateC => _stateC;

    /// <summary>Clears the carried state of a stateful layer (to zeros) and releases its batch size, so the
    /// next call may use any batch size (Keras' <c>reset_state()</c>).</summary>
    public void ResetState()
    {
        _stateH = null;
        _stateC = null;
        _statefulBatch = 0;
    }

    /// <summary>Sets the carried state of a stateful layer to copies of <paramref name="h"/> (and
    /// <paramref name="c"/> for the LSTM), fixing the batch size to theirs.</summary>
    /// <param name="h">[B, H].</param>
    /// <param name="c">[B, H] for the LSTM; null means zeros.</param>
    /// <exception cref="InvalidOperationException">The layer is not stateful.</exception>
    /// <exception cref="ArgumentException">A shape is not [B, H].</exception>
    public void ResetState(Tensor<T> h, Tensor<T>? c = null)
    {
        ArgumentNullException.ThrowIfNull(h);
        if (!Stateful) throw new InvalidOperationException($"{Name} is not stateful; set InitialH/InitialC instead.");
        if (h.Rank != 2 || h.Shape[1] != Units)
            throw new ArgumentException($"{Name}: the state must be [batch, {Units}]; got h {h.Shape}.", nameof(h));
        if (c is not null && c.Shape != h.Shape)
            throw new ArgumentException($"{Name}: c has shape {c.Shape} but h has {h.Shape}.", nameof(c));
        _statefulBatch = h.Shape[0];
        _stateH = h.Clone();
        _stateC = HasCellState ? c?.Clone() ?? new Tensor<T>(h.Shape) : null;
    }

    // ***** for subclasses *****

    /// <summary>Batch size of the last forward pass.</summary>
    private protected int B { get; private set; }

    /// <summary>Whether the current forward pass is a training pass; an inference pass may skip what only the
    /// backward pass needs (the LSTM does not store its activated gates).</summary>
    private protected bool IsTraining { get; private set; }

    /// <summary>Number of steps of the last forward pass.</summary>
    private protected int Steps { get; private set; }

    /// <summary>Input features of the last forward pass.</summary>
    private protected int F { get; private set; }

    /// <summary>[T, B, G·H] gates cache (see the file legend).</summary>
    private protected Tensor<T> GatesCache { get; private set; } = null!;

    /// <summary>[T+1, B, H] hidden states.</summary>
    private protected Tensor<T> HCache { get; private set; } = null!;

    /// <summary>[T+1, B, H] cell states (LSTM only).</summary>
    private protected Tensor<T> CCache { get; private set; } = null!;

    /// <summary>The input kernel W [F, G·H].</summary>
    private protected abstract Parameter<T> KernelParameter { get; }

    /// <summary>The recurrent kernel U [H, G·H].</summary>
    private protected abstract Parameter<T> RecurrentKernelParameter { get; }

    /// <summary>The bias added to the input projection (G·H values); empty without a bias.</summary>
    private protected abstract ReadOnlySpan<T> InputBiasValue { get; }

    /// <summary>The gradient of <see cref="InputBiasValue"/>; empty without a bias.</summary>
    private protected abstract Span<T> InputBiasGrad { get; }

    /// <summary>The bias parameter, or null without one.</summary>
    private protected abstract Parameter<T>? BiasParameter { get; }

    /// <summary>The gradient of the recurrent projection's bias (GRU only); empty otherwise.</summary>
    private protected virtual Span<T> RecurrentBiasGrad => default;

    /// <summary>The [T, B, G·H] pre-activation gradient with respect to h_prev·U, for <c>dU</c> (the gates
    /// cache itself unless the recurrent part differs, as in the GRU).</summary>
    private protected virtual Tensor<T> RecurrentGradients => GatesCache;

    /// <summary>Allocates the subclass's own caches for (B, T).</summary>
    private protected virtual void PrepareCaches(int batch, int steps) { }

    /// <summary>Runs step <paramref name="s"/> for batch rows <c>[r0, r0 + rows)</c>: adds <c>h[s]·U</c> into
    /// the step's gates (or its own buffer), runs the gate math and writes <c>h[s+1]</c> (and <c>c[s+1]</c>).
    /// Row blocks may run concurrently (see <see cref="CanSplitRows"/>); each must touch only its own rows.</summary>
    private protected abstract void StepForward(int s, int r0, int rows);

    /// <summary>Back-propagates step <paramref name="s"/> for batch rows <c>[r0, r0 + rows)</c>: from
    /// <paramref name="dH"/> (and the carried dC in <paramref name="dC"/>) writes the step's dZ over its gates and,
    /// if <paramref name="carry"/>, the gradient with respect to h[s] into <paramref name="dHPrev"/> and c[s] into
    /// <paramref name="dC"/>. The spans hold exactly the block's rows.</summary>
    private protected abstract void StepBackward(int s, int r0, int rows, Span<T> dH, Span<T> dHPrev, Span<T> dC, bool carry);

    /// <summary>Whether blocks of batch rows may run their time loops on different threads (the step code keeps
    /// no shared scratch). The default is true.</summary>
    private protected virtual bool CanSplitRows => true;

    /// <summary>Called at the start of a forward pass: a layer with a fused step packs what it needs and returns
    /// true, and the time loop then calls <see cref="FusedStep"/> instead of the input projection and
    /// <see cref="StepForward"/> (in inference, <see cref="GatesCache"/> is then not allocated).</summary>
    /// <param name="inputColumns">F': the features, plus one when the input projection has a bias row.</param>
    private protected virtual bool PrepareFusedForward(int inputColumns) => false;

    /// <summary>One fused forward step for batch rows <c>[r0, r0 + rows)</c> (see <see cref="PrepareFusedForward"/>);
    /// in training it leaves in <see cref="GatesCache"/> what <see cref="StepBackward"/> needs.</summary>
    private protected virtual void FusedStep(int s, int r0, int rows) =>
        throw new InvalidOperationException($"{Name} has no fused step.");

    /// <summary>Every step of the pass for batch rows <c>[r0, r0 + rows)</c> in one call, when the cell has a
    /// sequence kernel (the time loop uses it when no step needs work between steps: no recurrent dropout, no mask);
    /// the same bits as <see cref="FusedStep"/> step by step. Returns false when the cell has none.</summary>
    private protected virtual bool FusedSteps(int r0, int rows) => false;

    /// <summary>Whether <see cref="FusedSteps"/> runs (the cell has a sequence kernel) and can read the layer's input
    /// [B, T, F] as it is, with no [T, B, F'] copy (see <see cref="DirectInput"/>).</summary>
    private protected virtual bool HasSequenceKernel => false;

    /// <summary>In this pass the sequence kernel reads the input [B, T, F] itself and the [T, B, F'] copy is not filled:
    /// inference (training keeps the copy for the input-weight gradient) in time order, with no mask.</summary>
    private protected bool DirectInput { get; private set; }

    /// <summary>The layer's input of this pass, [B, T, F].</summary>
    private protected ReadOnlySpan<T> Input => _input!.ReadOnlySpan;

    /// <summary>The input rows from batch row <paramref name="r0"/> on, laid out as [T, B, F'] (step s's rows at
    /// <c>s·B·F'</c>), with the column of ones.</summary>
    private protected ReadOnlySpan<T> StepInputsFrom(int r0) => _xT!.ReadOnlySpan.Slice(r0 * XColumns);

    /// <summary>The state rows <c>[r0, r0 + rows)</c> that step <paramref name="s"/> multiplies by U: h_{s−1}, or with
    /// recurrent dropout h_{s−1} times the state mask.</summary>
    private protected ReadOnlySpan<T> RecurrentInput(int s, int r0, int rows) =>
        (_stateDropout ? _hMasked! : HCache).ReadOnlySpan.Slice((s * B + r0) * Units, rows * Units);

    /// <summary>Every step's recurrent-product input, [T·B, H] (for dU).</summary>
    private protected ReadOnlySpan<T> RecurrentInputs => (_stateDropout ? _hMasked! : HCache).ReadOnlySpan.Slice(0, Steps * B * Units);

    /// <summary>The gradient that reaches h_{s−1} through the recurrent product, <c>dZr·Uᵀ</c> for rows
    /// <c>[r0, r0 + rows)</c>, written to (or with <paramref name="accumulate"/> added to) <paramref name="dHPrev"/>; with
    /// recurrent dropout it is multiplied by the state mask first.</summary>
    private protected void CarryThroughRecurrent(int r0, int rows, ReadOnlySpan<T> dZr, int ldz, PackedMatrix<T> packedUT, Span<T> dHPrev, bool accumulate)
    {
        int h = Units;
        if (!_stateDropout)
        {
            Gemm.Compute(false, rows, T.One, dZr, ldz, packedUT, accumulate ? T.One : T.Zero, dHPrev, h);
            return;
        }
        var scratch = _carryScratch!.Span.Slice(r0 * h, rows * h);
        Gemm.Compute(false, rows, T.One, dZr, ldz, packedUT, T.Zero, scratch, h);
        var m = _stateDropMask!.ReadOnlySpan.Slice(r0 * h, rows * h);
        if (accumulate) TensorPrimitives.MultiplyAdd(scratch, m, dHPrev, dHPrev);
        else TensorPrimitives.Multiply(scratch, m, dHPrev);
    }

    /// <summary>Multiplies <paramref name="values"/> (rows <c>[r0, r0 + rows)</c> of [B, H]) by the state mask when
    /// recurrent dropout is on.</summary>
    private protected void MaskStateGradient(int r0, int rows, Span<T> values)
    {
        if (_stateDropout) TensorPrimitives.Multiply(values, _stateDropMask!.ReadOnlySpan.Slice(r0 * Units, rows * Units), values);
    }

    /// <summary>Draws this training pass's dropout masks (kept with <see cref="FreezeDropoutMasks"/>) and sizes the
    /// masked-state cache.</summary>
    private void PrepareDropout(int b, int steps, int f, int h, bool training)
    {
        _inputDropout = training && _dropout > 0;
        _stateDropout = training && _recurrentDropout > 0;
        if (_inputDropout) _inputDropMask = DrawMask(_wInputDrop, _inputDropMask, b, f, _dropout);
        if (_stateDropout)
        {
            _stateDropMask = DrawMask(_wStateDrop, _stateDropMask, b, h, _recurrentDropout);
            _hMasked = _wHMasked.Get(steps, b, h);
            _carryScratch = _wCarry.Get(b, h);
        }
    }

    private Tensor<T> DrawMask(Workspace<T> workspace, Tensor<T>? previous, int rows, int columns, double rate)
    {
        if (FreezeDropoutMasks && previous is not null && previous.Shape[0] == rows && previous.Shape[1] == columns) return previous;
        var mask = workspace.Get(rows, columns);
        T keep = T.CreateChecked(1 / (1 - rate));
        var m = mask.Span;
        for (int i = 0; i < m.Length; i++) m[i] = _dropoutRng.NextDouble() < rate ? T.Zero : keep;
        return mask;
    }

    /// <summary>Before step s with recurrent dropout: the masked state rows the step multiplies by U.</summary>
    private void MaskState(int s, int r0, int rows)
    {
        int h = Units, n = rows * h;
        TensorPrimitives.Multiply(HCache.ReadOnlySpan.Slice((s * B + r0) * h, n), _stateDropMask!.ReadOnlySpan.Slice(r0 * h, n),
            _hMasked!.Span.Slice((s * B + r0) * h, n));
    }

    /// <summary>Step <paramref name="s"/>'s input rows <c>[r0, r0 + rows)</c>, [rows, F'] with the column of ones.</summary>
    private protected ReadOnlySpan<T> StepInput(int s, int r0, int rows) =>
        _xT!.ReadOnlySpan.Slice((s * B + r0) * XColumns, rows * XColumns);

    /// <summary>The recurrent kernel U packed as the GEMM's right operand <c>[H, G·H]</c>; refreshed at the start
    /// of every forward pass, so all T steps reuse one packing.</summary>
    private protected PackedMatrix<T> PackedRecurrent => _packedU!;

    /// <summary>Uᵀ packed as the right operand <c>[G·H, H]</c> of <c>dZ·Uᵀ</c>; refreshed at the start of every
    /// backward pass.</summary>
    private protected PackedMatrix<T> PackedRecurrentTransposed => _packedUT!;

    /// <summary>
    /// Below this many FLOPs in the recurrent products of one pass (<c>2·B·H·G·H·T</c>), the time loop stays on the
    /// calling thread. Tests lower it to force splits.
    /// </summary>
    internal static long ParallelMinFlops = 1L << 21;

    /// <summary>Batch rows per block are a multiple of this (the GEMM's row tile), except the last block.</summary>
    private const int RowBlock = 8;

    // ***** Layer *****

    /// <inheritdoc/>
    protected override void BuildCore(TensorShape inputShape, Random rng)
    {
        if (inputShape.Rank != 3)
            throw new ArgumentException($"{Name} takes [batch, time, features]; got {inputShape}.", nameof(inputShape));
        BuildCell(inputShape[2], rng);
        // Drawn after the weights, so adding dropout does not change the initial weights of a seeded model.
        _dropoutRng = new ResumableRandom(rng.Next());
    }

    internal override void AddGenerators(List<ResumableRandom> generators) => generators.Add(_dropoutRng);

    /// <summary>Creates the parameters for <paramref name="features"/> input features, in Keras' order.</summary>
    private protected abstract void BuildCell(int features, Random rng);

    /// <inheritdoc/>
    public override TensorShape ComputeOutputShape(TensorShape inputShape)
    {
        if (inputShape.Rank != 3)
            throw new ArgumentException($"{Name} takes [batch, time, features]; got {inputShape}.", nameof(inputShape));
        return ReturnSequences ? new TensorShape(inputShape[0], inputShape[1], Units) : new TensorShape(inputShape[0], Units);
    }

    /// <inheritdoc/>
    public override Tensor<T> Forward(Tensor<T> input, bool training)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 3)
            throw new ArgumentException($"{Name} takes [batch, time, features]; got {input.Shape}.", nameof(input));
        EnsureBuilt(input);
        int b = input.Shape[0], steps = input.Shape[1], f = input.Shape[2], h = Units, gh = GateCount * Units;
        if (b == 0 || steps == 0)
            throw new ArgumentException($"{Name} needs at least one sample and one time step; got {input.Shape}.", nameof(input));
        if (Stateful)
        {
            if (InitialH is not null || InitialC is not null)
                throw new InvalidOperationException($"{Name} is stateful: set its state with ResetState(h, c), not InitialH/InitialC.");
            if (_statefulBatch != 0 && _statefulBatch != b)
                throw new ArgumentException(
                    $"{Name} is stateful and holds state for batch size {_statefulBatch}, but the input is {input.Shape}. " +
                    "A stateful layer needs the same batch size on every call; call ResetState() to start over with another.", nameof(input));
        }
        CheckInitial(InitialH, b, nameof(InitialH));
        if (HasCellState) CheckInitial(InitialC, b, nameof(InitialC));
        InputMask?.CheckShape(input.Shape, Name);
        _mask = InputMask;

        B = b; Steps = steps; F = f; IsTraining = training;
        PrepareDropout(b, steps, f, h, training);
        // With a bias, xT carries a column of ones after the features and the packed kernel a bias row after W, so
        // the input projection x·W + b is one GEMM that writes each gate once (no broadcast pass, no read of C).
        int fx = XColumns;
        var xT = _xT = _wxT.Get(steps, b, fx);
        // A fused step (LSTM) forms its gates in registers; only training keeps them, for the backward pass.
        _fusedForward = PrepareFusedForward(fx);
        if (!_fusedForward || training) GatesCache = _wGates.Get(steps, b, gh);
        HCache = _wH.Get(steps + 1, b, h);
        if (HasCellState) CCache = _wC.Get(steps + 1, b, h);
        PrepareCaches(b, steps);

        // xT[s, b, :] = [x[b, t(s), :], 1]. When nothing reads xT before the time loop (a fused step, or inference,
        // which projects per row block), each row block fills its own rows as it starts: in parallel, and written by
        // the core that reads them (filled here, the lines a worker read in the last pass had to move back to this
        // core first, which made this copy 2× slower at two threads than at one).
        _input = input;
        _streamInputs = !training;
        _fillInputsPerBlock = _fusedForward || _streamInputs;
        DirectInput = _fusedForward && HasSequenceKernel && !training && !GoBackwards && _mask is null;
        if (!_fillInputsPerBlock) FillInputRows(0, b);

        // The initial state goes into h[0] (and c[0]) row block by row block as the time loop starts each block
        // (SetInitialState), written by the core that reads it.
        if (Stateful)
        {
            if (_stateH is null) { _stateH = new Tensor<T>(b, h); if (HasCellState) _stateC = new Tensor<T>(b, h); }
            _statefulBatch = b;
        }

        // Training: gates = [x, 1]·[W; b_in] for all steps at once, before the time loop: one GEMM
        // [T·B, F+1]·[F+1, G·H] that writes each gate once (jcjohnson/torch-rnn#187 measured this hoisting at
        // 10–20 %). Inference: each row block projects its own rows step by step, right before the step reads them,
        // so the gates are written and read by the same core while they are in L1 (the whole-sequence buffer is 7.5
        // MiB at H = 128, B = 64, more than the L2, and its columns were split across cores); same bits either way.
        // A fused step (the LSTM's) does its own projection inside its register tile, in training and inference.
        if (!_fusedForward)
        {
            if (_streamInputs) PackKernel(); else ProjectInputs();
            PackRecurrent(transposed: false);
        }
        _timeLoop.Run(backward: false);

        var hs = HCache.ReadOnlySpan;
        var hLast = hs.Slice(steps * b * h, b * h);
        Tensor<T> output;
        if (ReturnSequences)
        {
            output = _wOut.Get(b, steps, h);
            var os = output.Span;
            for (int s = 0; s < steps; s++)
                for (int r = 0; r < b; r++)
                {
                    if (ZeroOutputForMask && !Kept(r, s)) os.Slice((r * steps + s) * h, h).Clear();
                    else hs.Slice(((s + 1) * b + r) * h, h).CopyTo(os.Slice((r * steps + s) * h, h));
                }
        }
        else
        {
            output = _wOut.Get(b, h);
            hLast.CopyTo(output.Span);
        }
        if (ReturnState)
        {
            _finalH = _wFinalH.Get(b, h);
            hLast.CopyTo(_finalH.Span);
            if (HasCellState)
            {
                _finalC = _wFinalC.Get(b, h);
                CCache.ReadOnlySpan.Slice(steps * b * h, b * h).CopyTo(_finalC.Span);
            }
        }
        if (Stateful)
        {
            hLast.CopyTo(_stateH!.Span);
            if (HasCellState) CCache.ReadOnlySpan.Slice(steps * b * h, b * h).CopyTo(_stateC!.Span);
        }
        _forwardDone = true;
        _lastOutput = output;
        return output;
    }

    private void CheckInitial(Tensor<T>? state, int batch, string name)
    {
        if (state is not null && (state.Rank != 2 || state.Shape[0] != batch || state.Shape[1] != Units))
            throw new ArgumentException($"{Name}: {name} has shape {state.Shape} but the state must be [{batch}, {Units}] for this input.", name);
    }

    /// <inheritdoc/>
    public override Tensor<T> Backward(Tensor<T> dOutput) => Backward(dOutput, null, null);

    /// <summary>Back-propagates through the last forward call, with optional gradients on the final states
    /// (when the final states feed another computation, e.g. a decoder).</summary>
    /// <param name="dOutput">The gradient with respect to the output; its shape.</param>
    /// <param name="dFinalH">The gradient with respect to <see cref="FinalH"/>, [B, H]; null for none.</param>
    /// <param name="dFinalC">The gradient with respect to <see cref="FinalC"/>, [B, H]; null for none.</param>
    /// <returns>The gradient with respect to the input, [B, T, F], owned by the layer.</returns>
    /// <exception cref="InvalidOperationException">No forward pass precedes it, or the last one had <c>training: false</c> (an inference pass keeps no caches for backward).</exception>
    /// <exception cref="ArgumentException">A shape does not match the last forward pass.</exception>
    public Tensor<T> Backward(Tensor<T> dOutput, Tensor<T>? dFinalH, Tensor<T>? dFinalC)
    {
        CheckBackward(_lastOutput, dOutput, Name);
        if (!_forwardDone) throw new InvalidOperationException($"{Name}: Backward was called before Forward.");
        if (!IsTraining)
            throw new InvalidOperationException($"{Name}: Backward needs the caches of a training forward pass; the last Forward had training: false.");
        int b = B, steps = Steps, f = F, h = Units, gh = GateCount * Units, bh = b * h;
        if (dFinalH is not null && (dFinalH.Rank != 2 || dFinalH.Shape[0] != b || dFinalH.Shape[1] != h))
            throw new ArgumentException($"{Name}: dFinalH has shape {dFinalH.Shape} but the final state is [{b}, {h}].", nameof(dFinalH));
        if (dFinalC is not null && (!HasCellState || dFinalC.Rank != 2 || dFinalC.Shape[0] != b || dFinalC.Shape[1] != h))
            throw new ArgumentException($"{Name}: dFinalC has shape {dFinalC.Shape} but the final cell state is [{b}, {h}] (LSTM only).", nameof(dFinalC));

        _dhStep = _wDhStep.Get(b, h);
        if (_mask is not null)
        {
            _maskedDh = _wMaskedDh.Get(b, h);
            if (HasCellState) _maskedDc = _wMaskedDc.Get(b, h);
        }
        _dhCarry = _wDhCarry.Get(b, h);
        _dcCarry = HasCellState ? _wDcCarry.Get(b, h) : null;
        var dhCarry = _dhCarry.Span;
        var dcCarry = HasCellState ? _dcCarry!.Span : default;
        if (dFinalH is not null) dFinalH.ReadOnlySpan.CopyTo(dhCarry); else dhCarry.Clear();
        if (HasCellState) { if (dFinalC is not null) dFinalC.ReadOnlySpan.CopyTo(dcCarry); else dcCarry.Clear(); }

        PackRecurrent(transposed: true);
        _dOutput = dOutput;
        try { _timeLoop.Run(backward: true); }
        finally { _dOutput = null; }
        _dInitH = _wDInitH.Get(b, h);
        dhCarry.CopyTo(_dInitH.Span);
        if (HasCellState) { _dInitC = _wDInitC.Get(b, h); dcCarry.CopyTo(_dInitC.Span); }

        int rows = steps * b;
        var dZ = GatesCache.ReadOnlySpan;
        var dZr = RecurrentGradients.ReadOnlySpan;
        var kernel = KernelParameter;
        var recurrent = RecurrentKernelParameter;
        // dW += xTᵀ·dZ  [F, G·H] (and db_in += the column sums of dZ);  dU += h[0..T)ᵀ·dZr  [H, G·H]: one product
        // each over all steps. A frozen weight gets no gradient: its product is skipped.
        bool biasTrainable = BiasParameter is { Trainable: true };
        var biasGrad = biasTrainable ? InputBiasGrad : default;
        if (XColumns <= ColumnDots.MaxColumns)
        {
            // Few features: [dW; db_in] = [x, 1]ᵀ·dZ by ColumnDots, which reads dZ (a few MiB) once in place, split by
            // columns across the threads; the GEMM would pack all of it first, on one thread, since the product has a
            // single row panel (at H = 128, B = 32 that was 0.20 ms plus 0.08 ms of column sums for the bias, 5 % of a
            // two-thread training step). The bias gradient is the row of xT's column of ones.
            if (kernel.Trainable || biasGrad.Length > 0)
            {
                var dWb = _inputProduct.Run(_wInputGrad);
                if (kernel.Trainable) TensorPrimitives.Add(kernel.Grad.Span, dWb.Slice(0, f * gh), kernel.Grad.Span);
                if (biasGrad.Length > 0) TensorPrimitives.Add(biasGrad, dWb.Slice(f * gh, gh), biasGrad);
            }
        }
        else
        {
            if (kernel.Trainable) Gemm.Compute(true, false, f, gh, rows, T.One, _xT!.ReadOnlySpan, XColumns, dZ, gh, T.One, kernel.Grad.Span, gh);
            if (biasGrad.Length > 0) Elementwise.SumColumns(dZ, biasGrad, gh, accumulate: true);
        }
        if (recurrent.Trainable) AccumulateRecurrentKernelGradient(rows, dZr, recurrent.Grad.Span);
        if (biasTrainable)
        {
            var recurrentBiasGrad = RecurrentBiasGrad;
            if (recurrentBiasGrad.Length > 0) Elementwise.SumColumns(dZr, recurrentBiasGrad, gh, accumulate: true);
        }

        // The zero tensor's storage is never written, so every view of it stays zero.
        if (!ComputeInputGradient) return _wZeroDx.Get(b, steps, f);

        // dxT = dZ·Wᵀ  [T·B, F], then back to batch-first (and forward time). With few features the GEMM would pad
        // F to a whole register tile, so narrow products take one dot product per element instead.
        var dxT = _wDxT.Get(steps, b, f);
        if (f <= NarrowFeatures)
            RowDots.MultiplyTransposed(dZ.Slice(0, rows * gh), kernel.Value.ReadOnlySpan, dxT.Span, rows, f, gh);
        else
            Gemm.Compute(false, true, rows, f, gh, T.One, dZ, gh, kernel.Value.ReadOnlySpan, gh, T.Zero, dxT.Span, f);
        var dx = _wDx.Get(b, steps, f);
        var dxs = dx.Span;
        var dxts = dxT.ReadOnlySpan;
        for (int s = 0; s < steps; s++)
        {
            int t = GoBackwards ? steps - 1 - s : s;
            for (int r = 0; r < b; r++)
            {
                var d = dxs.Slice((r * steps + t) * f, f);
                if (_inputDropout) TensorPrimitives.Multiply(dxts.Slice((s * b + r) * f, f), _inputDropMask!.ReadOnlySpan.Slice(r * f, f), d);
                else dxts.Slice((s * b + r) * f, f).CopyTo(d);
            }
        }
        return dx;
    }

    /// <summary><c>dU += h[0..T)ᵀ·dZr</c> over all <paramref name="rows"/> = T·B rows, one GEMM; a cell whose
    /// recurrent product does not take <c>h_{t−1}</c> itself for every gate (the GRU with <c>reset_after = false</c>)
    /// overrides it.</summary>
    private protected virtual void AccumulateRecurrentKernelGradient(int rows, ReadOnlySpan<T> dZr, Span<T> dU)
    {
        int h = Units, gh = GateCount * Units;
        Gemm.Compute(true, false, h, gh, rows, T.One, RecurrentInputs, h, dZr, gh, T.One, dU, gh);
    }

    /// <summary>Up to this many input features, <c>dx = dZ·Wᵀ</c> uses <see cref="RowDots"/> rather than the GEMM.</summary>
    private const int NarrowFeatures = 16;

    private void PackRecurrent(bool transposed)
    {
        int h = Units, gh = GateCount * Units;
        var u = RecurrentKernelParameter.Value.ReadOnlySpan;
        // Packed once per pass and reused by all T steps. Packing per pass rather than per optimizer step (by
        // Parameter.Version) also catches direct writes to the weights, which do not bump the version; it costs
        // one copy of U (measured well under 1 % of a pass).
        if (!transposed)
        {
            if (_packedU is null) _packedU = Gemm.Pack(false, h, gh, u, gh);
            else _packedU.Repack(u, gh);
        }
        else
        {
            // op(B) = Uᵀ [G·H, H], stored as U [H, G·H] = [n, k].
            if (_packedUT is null) _packedUT = Gemm.Pack(true, gh, h, u, gh);
            else _packedUT.Repack(u, gh);
        }
    }

    /// <summary>The time loop, split into blocks of batch rows: every batch row is an independent sequence, so a block
    /// runs all T steps for its rows with no synchronisation between steps, and the result is the same bits at
    /// any thread count.</summary>
    private sealed class TimeLoop(RecurrentLayer<T> layer) : ParallelChunks
    {
        private bool _backward;
        private int _chunks, _blocks;

        public void Run(bool backward)
        {
            var l = layer;
            _backward = backward;
            _blocks = (l.B + RowBlock - 1) / RowBlock;
            int h = l.Units;
            double flops = 2.0 * l.B * h * l.GateCount * h * l.Steps;
            int threads = Parallelism.MaxDegree;
            // One chunk of rows per thread: the fused steps run more row tiles per step and call (LstmStep overlaps
            // each tile's gate math with the next tile's sums) and the per-call costs halve. Two per thread measured
            // 1–2 % slower (LSTM, two threads, medians of 600 interleaved passes: inference at H=64, B=32 408 against
            // 414 µs, training 1142 against 1163 µs; H=128, B=32 training 4317 against 4357 µs). A thread that gets
            // no core still costs nothing extra: the caller takes every chunk the worker has not started.
            _chunks = threads > 1 && l.CanSplitRows && flops >= ParallelMinFlops ? Math.Min(_blocks, threads) : 1;
            Run(_chunks);
        }

        protected override void ExecuteChunk(int chunk)
        {
            var l = layer;
            int r0 = Math.Min(l.B, _blocks * chunk / _chunks * RowBlock);
            int r1 = Math.Min(l.B, _blocks * (chunk + 1) / _chunks * RowBlock);
            if (r1 <= r0) return;
            int rows = r1 - r0;
            if (_backward)
            {
                l.BackwardRows(r0, rows);
                return;
            }
            l.SetInitialState(r0, rows);
            if (l._fillInputsPerBlock && !l.DirectInput) l.FillInputRows(r0, rows);
            if (l._fusedForward && !l._stateDropout && l._mask is null && l.FusedSteps(r0, rows)) return;
            for (int s = 0; s < l.Steps; s++)
            {
                if (l._stateDropout) l.MaskState(s, r0, rows);
                if (l._fusedForward) l.FusedStep(s, r0, rows);
                else
                {
                    if (l._streamInputs) l.ProjectStep(s, r0, rows);
                    l.StepForward(s, r0, rows);
                }
                if (l._mask is not null) l.HoldMaskedRows(s, r0, rows);
            }
        }
    }

    /// <summary><c>[x, 1]ᵀ·dZ</c> over all steps, <c>[F(+1), G·H]</c>, by <see cref="ColumnDots"/> on blocks of columns
    /// that the threads take in turn: every element is one chain over the T·B rows whatever the split, so the result
    /// is the same bits at any thread count.</summary>
    private sealed class InputProduct(RecurrentLayer<T> layer) : ParallelChunks
    {
        /// <summary>Columns per chunk are a multiple of this (four 512-bit vectors of float).</summary>
        private const int ColumnBlock = 64;
        private Tensor<T>? _result;
        private int _chunks, _blocks;

        /// <summary>Computes the product into <paramref name="workspace"/>'s tensor and returns it.</summary>
        public ReadOnlySpan<T> Run(Workspace<T> workspace)
        {
            var l = layer;
            int fx = l.XColumns, gh = l.GateCount * l.Units, rows = l.Steps * l.B;
            _result = workspace.Get(fx, gh);
            _blocks = (gh + ColumnBlock - 1) / ColumnBlock;
            double flops = 2.0 * fx * gh * rows;
            int threads = Parallelism.MaxDegree;
            _chunks = threads > 1 && flops >= ParallelMinFlops ? Math.Min(_blocks, 2 * threads) : 1;
            Run(_chunks);
            return _result.ReadOnlySpan;
        }

        protected override void ExecuteChunk(int chunk)
        {
            var l = layer;
            int fx = l.XColumns, gh = l.GateCount * l.Units, rows = l.Steps * l.B;
            int j0 = Math.Min(gh, _blocks * chunk / _chunks * ColumnBlock);
            int j1 = Math.Min(gh, _blocks * (chunk + 1) / _chunks * ColumnBlock);
            ColumnDots.TransposeMultiply(l._xT!.ReadOnlySpan, l.GatesCache.ReadOnlySpan.Slice(0, rows * gh), _result!.Span, fx, gh, rows, j0, j1);
        }
    }

    /// <summary>Columns of the time-major input: the features, plus a column of ones when there is an input bias.</summary>
    private protected int XColumns => F + (InputBiasValue.Length > 0 ? 1 : 0);

    /// <summary>The input projection of every step at once: <c>gates[T·B, G·H] = [x, 1]·[W; b_in]</c> (W alone
    /// without a bias), one GEMM over all time steps, which the GEMM splits across threads when it is big enough.</summary>
    private void ProjectInputs()
    {
        int gh = GateCount * Units, fx = XColumns;
        Gemm.Compute(false, false, Steps * B, gh, fx, T.One, _xT!.ReadOnlySpan, fx, KernelWithBias(), gh, T.Zero, GatesCache.Span, gh);
    }

    /// <summary>[W; b_in] (W alone without a bias), packed once per inference pass for <see cref="ProjectStep"/>.</summary>
    private void PackKernel()
    {
        int gh = GateCount * Units, fx = XColumns;
        var w = KernelWithBias();
        if (_packedKernel is null || _packedKernel.K != fx) _packedKernel = Gemm.Pack(false, fx, gh, w, gh);
        else _packedKernel.Repack(w, gh);
    }

    /// <summary>Rows <c>[r0, r0 + rows)</c> of the initial state into h[0] (and c[0]): the stateful layer's carried
    /// state, else <see cref="InitialH"/>/<see cref="InitialC"/>, else zeros. Each row block of the time loop sets its
    /// own rows: set before the loop on one core, the other core's first step had to fetch them from it (in a two-thread
    /// LSTM inference pass at H = 64, B = 32 the worker's first step took about 3 µs longer than the caller's).</summary>
    private void SetInitialState(int r0, int rows)
    {
        int h = Units, o = r0 * h, n = rows * h;
        var h0 = HCache.Span.Slice(o, n);
        Tensor<T>? hSource = Stateful ? _stateH : InitialH;
        if (hSource is not null) hSource.ReadOnlySpan.Slice(o, n).CopyTo(h0); else h0.Clear();
        if (!HasCellState) return;
        var c0 = CCache.Span.Slice(o, n);
        Tensor<T>? cSource = Stateful ? _stateC : InitialC;
        if (cSource is not null) cSource.ReadOnlySpan.Slice(o, n).CopyTo(c0); else c0.Clear();
    }

    /// <summary>Rows <c>[r0, r0 + rows)</c> of xT for every step: <c>xT[s, r, :] = [x[r, t(s), :]·mask, 1]</c>.</summary>
    private void FillInputRows(int r0, int rows)
    {
        int b = B, steps = Steps, f = F, fx = XColumns;
        var xs = _input!.ReadOnlySpan;
        var xts = _xT!.Span;
        for (int s = 0; s < steps; s++)
        {
            int t = GoBackwards ? steps - 1 - s : s;
            for (int r = r0; r < r0 + rows; r++)
            {
                var row = xts.Slice((s * b + r) * fx, fx);
                xs.Slice((r * steps + t) * f, f).CopyTo(row);
                if (_inputDropout) TensorPrimitives.Multiply(row.Slice(0, f), _inputDropMask!.ReadOnlySpan.Slice(r * f, f), row.Slice(0, f));
                if (fx > f) row[f] = T.One;
            }
        }
    }

    /// <summary>The B operand of the input projection, <c>[F+1, G·H]</c> = [W; b_in] in a workspace, or W itself
    /// without an input bias.</summary>
    private protected ReadOnlySpan<T> KernelWithBias()
    {
        int f = F, gh = GateCount * Units;
        ReadOnlySpan<T> w = KernelParameter.Value.ReadOnlySpan;
        if (XColumns == f) return w;
        var wb = _wKernelBias.Get(new TensorShape(f + 1, gh)).Span;
        w.CopyTo(wb);
        InputBiasValue.CopyTo(wb.Slice(f * gh, gh));
        return wb;
    }

    /// <summary>The input projection of step <paramref name="s"/> for batch rows <c>[r0, r0 + rows)</c>:
    /// <c>gates[s, r0.., :] = [x, 1]·[W; b_in]</c> (inference).</summary>
    private void ProjectStep(int s, int r0, int rows)
    {
        int gh = GateCount * Units, fx = XColumns;
        Gemm.Compute(false, rows, T.One, _xT!.ReadOnlySpan.Slice((s * B + r0) * fx, rows * fx), fx, _packedKernel!, T.Zero,
            GatesCache.Span.Slice((s * B + r0) * gh, rows * gh), gh);
    }

    /// <summary>Backpropagation through time for batch rows <c>[r0, r0 + rows)</c>.</summary>
    private void BackwardRows(int r0, int rows)
    {
        int steps = Steps, h = Units, k = TruncateBptt, n = rows * h;
        var dhStep = _dhStep!.Span.Slice(r0 * h, n);
        var dhCarry = _dhCarry!.Span.Slice(r0 * h, n);
        var dcCarry = HasCellState ? _dcCarry!.Span.Slice(r0 * h, n) : default;
        var dy = _dOutput!.ReadOnlySpan;
        for (int s = steps - 1; s >= 0; s--)
        {
            // dH of step s = carried dH + the output's gradient at s.
            if (ReturnSequences)
                for (int r = 0; r < rows; r++)
                    TensorPrimitives.Add(dhCarry.Slice(r * h, h), dy.Slice(((r0 + r) * steps + s) * h, h), dhStep.Slice(r * h, h));
            else if (s == steps - 1) TensorPrimitives.Add(dhCarry, dy.Slice(r0 * h, n), dhStep);
            else dhCarry.CopyTo(dhStep);
            // A window boundary: the state entering step s (s > 0) is a constant for truncated BPTT.
            bool carry = !(k > 0 && s > 0 && (steps - s) % k == 0);
            bool anyMasked = _mask is not null && ParkMaskedRows(s, r0, rows, dhStep, dcCarry);
            StepBackward(s, r0, rows, dhStep, dhCarry, dcCarry, carry);
            if (!carry)
            {
                dhCarry.Clear();
                if (HasCellState) dcCarry.Clear();
            }
            else if (anyMasked) PassMaskedRows(s, r0, rows, dhCarry, dcCarry);
        }
    }

    /// <summary>Whether step <paramref name="s"/> (processing order) of batch row <paramref name="r"/> is kept.</summary>
    private bool Kept(int r, int s) => _mask is null || _mask[r, GoBackwards ? Steps - 1 - s : s];

    /// <summary>After step s: a masked row keeps its state, h[s+1] = h[s] (and c), as if the step did not exist.</summary>
    private void HoldMaskedRows(int s, int r0, int rows)
    {
        int h = Units, bh = B * h;
        for (int r = r0; r < r0 + rows; r++)
        {
            if (Kept(r, s)) continue;
            HCache.ReadOnlySpan.Slice(s * bh + r * h, h).CopyTo(HCache.Span.Slice((s + 1) * bh + r * h, h));
            if (HasCellState) CCache.ReadOnlySpan.Slice(s * bh + r * h, h).CopyTo(CCache.Span.Slice((s + 1) * bh + r * h, h));
        }
    }

    /// <summary>Before the backward step s: parks the incoming dH (and dC) of masked rows and zeroes them, so the
    /// step's gate gradients, and with them the step's share of every weight gradient, are zero for those rows.
    /// With <see cref="ZeroOutputForMask"/> the output there was a constant, so its gradient is dropped.</summary>
    private bool ParkMaskedRows(int s, int r0, int rows, Span<T> dhStep, Span<T> dcCarry)
    {
        int h = Units;
        bool any = false;
        for (int i = 0; i < rows; i++)
        {
            int r = r0 + i;
            if (Kept(r, s)) continue;
            any = true;
            var dh = dhStep.Slice(i * h, h);
            var parked = _maskedDh!.Span.Slice(r * h, h);
            if (ZeroOutputForMask && ReturnSequences) _dhCarry!.ReadOnlySpan.Slice(r * h, h).CopyTo(parked);
            else dh.CopyTo(parked);
            dh.Clear();
            if (HasCellState)
            {
                dcCarry.Slice(i * h, h).CopyTo(_maskedDc!.Span.Slice(r * h, h));
                dcCarry.Slice(i * h, h).Clear();
            }
        }
        return any;
    }

    /// <summary>After the backward step s: a masked row's state passed through unchanged, so its gradient does too.</summary>
    private void PassMaskedRows(int s, int r0, int rows, Span<T> dhCarry, Span<T> dcCarry)
    {
        int h = Units;
        for (int i = 0; i < rows; i++)
        {
            int r = r0 + i;
            if (Kept(r, s)) continue;
            _maskedDh!.ReadOnlySpan.Slice(r * h, h).CopyTo(dhCarry.Slice(i * h, h));
            if (HasCellState) _maskedDc!.ReadOnlySpan.Slice(r * h, h).CopyTo(dcCarry.Slice(i * h, h));
        }
    }

    /// <summary>Options shared by every recurrent layer, with Keras' names.</summary>
    private protected Dictionary<string, string> BaseConfig()
    {
        var c = BaseOptions();
        AddRegularizerConfig(c);
        AddConstraintConfig(c);
        return c;
    }

    private Dictionary<string, string> BaseOptions() => new()
    {
        ["units"] = Units.ToString(CultureInfo.InvariantCulture),
        ["activation"] = Activation.Name,
        ["return_sequences"] = Str(ReturnSequences),
        ["return_state"] = Str(ReturnState),
        ["go_backwards"] = Str(GoBackwards),
        ["stateful"] = Str(Stateful),
        // Not a Keras option: Nn.Simd's truncated-BPTT window (0 = full BPTT).
        ["truncate_bptt"] = TruncateBptt.ToString(CultureInfo.InvariantCulture),
        ["use_bias"] = Str(UseBias),
        ["kernel_initializer"] = KernelInitializer.Name,
        ["recurrent_initializer"] = RecurrentInitializer.Name,
        ["bias_initializer"] = BiasInitializer.Name,
        ["zero_output_for_mask"] = Str(ZeroOutputForMask),
        ["dropout"] = Str(Dropout),
        ["recurrent_dropout"] = Str(RecurrentDropout),
    };

    /// <summary>A fresh, unbuilt layer with the same options except <see cref="GoBackwards"/> flipped, as
    /// Keras' <c>Bidirectional</c> makes its backward layer.</summary>
    public abstract RecurrentLayer<T> CloneReversed();

    /// <summary>Broadcasts a bias row into every row of <paramref name="m"/>.</summary>
    private protected static void BroadcastRows(ReadOnlySpan<T> row, Span<T> m, int rows)
    {
        int n = row.Length;
        for (int r = 0; r < rows; r++) row.CopyTo(m.Slice(r * n, n));
    }
}
