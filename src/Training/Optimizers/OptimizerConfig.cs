using System.Globalization;

namespace Nn.Simd.Training.Optimizers;

public abstract partial class Optimizer
{
    /// <summary>The optimizer's settings as invariant strings, as Keras' <c>get_config</c>: the learning rate, the
    /// constructor arguments, the clipping option, <c>weight_decay</c>, <c>gradient_accumulation_steps</c>, the EMA options
    /// (each only when set) and the schedule (<c>schedule</c> and <c>schedule.*</c> keys).
    /// <see cref="FromConfig"/> turns it back into an optimizer; models save it with their weights.</summary>
    public IReadOnlyDictionary<string, string> GetConfig()
    {
        var c = new Dictionary<string, string>(StringComparer.Ordinal) { ["learning_rate"] = Str(LearningRate) };
        AddConfig(c);
        if (ClipValue is double cv) c["clipvalue"] = Str(cv);
        if (ClipNorm is double cn) c["clipnorm"] = Str(cn);
        if (GlobalClipNorm is double gn) c["global_clipnorm"] = Str(gn);
        if (WeightDecay != 0) c["weight_decay"] = Str(WeightDecay);
        if (GradientAccumulationSteps is int n) c["gradient_accumulation_steps"] = n.ToString(CultureInfo.InvariantCulture);
        if (UseEma)
        {
            c["use_ema"] = "true";
            c["ema_momentum"] = Str(EmaMomentum);
            if (EmaOverwriteFrequency is int f) c["ema_overwrite_frequency"] = f.ToString(CultureInfo.InvariantCulture);
        }
        if (Schedule is not null) ScheduleConfig.Write(Schedule, c);
        return c;
    }

    /// <summary>Adds the subclass's constructor arguments to <see cref="GetConfig"/>'s map.</summary>
    protected virtual void AddConfig(IDictionary<string, string> config) { }

    /// <summary>Whether <see cref="FromConfig"/> rebuilds this optimizer exactly: a built-in optimizer type
    /// (not a subclass) with no schedule or a built-in one.</summary>
    public bool IsBuiltIn =>
        (GetType() == typeof(Sgd) || GetType() == typeof(Adam) || GetType() == typeof(AdamW) || GetType() == typeof(RmsProp)
         || GetType() == typeof(Adagrad) || GetType() == typeof(Nadam) || GetType() == typeof(Adamax) || GetType() == typeof(Adadelta)
         || GetType() == typeof(Lion))
        && (Schedule is null || ScheduleConfig.IsBuiltIn(Schedule));

    /// <summary>Creates a built-in optimizer from its name and a <see cref="GetConfig"/> map (Keras' <c>from_config</c>).
    /// Missing keys take the constructor's defaults; the step count and state are not part of the config.</summary>
    /// <exception cref="ArgumentException">The name is unknown, a key is unknown, or a value does not parse or is out of range.</exception>
    public static Optimizer FromConfig(string name, IReadOnlyDictionary<string, string> config)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(config);
        var r = new ConfigReader(config, $"optimizer '{name}'");
        Optimizer o = name switch
        {
            "sgd" => new Sgd(r.Double("learning_rate", 0.01), r.Double("momentum", 0), r.Bool("nesterov", false)),
            "adam" => new Adam(r.Double("learning_rate", 1e-3), r.Double("beta_1", 0.9), r.Double("beta_2", 0.999), r.Double("epsilon", 1e-7))
            { AmsGrad = r.Bool("amsgrad", false) },
            "adamw" => new AdamW(r.Double("learning_rate", 1e-3), r.Double("weight_decay", 0.004), r.Double("beta_1", 0.9),
                r.Double("beta_2", 0.999), r.Double("epsilon", 1e-7)) { AmsGrad = r.Bool("amsgrad", false) },
            "rmsprop" => new RmsProp(r.Double("learning_rate", 1e-3), r.Double("rho", 0.9), r.Double("momentum", 0),
                r.Double("epsilon", 1e-7), r.Bool("centered", false)),
            "adagrad" => new Adagrad(r.Double("learning_rate", 1e-3), r.Double("initial_accumulator_value", 0.1), r.Double("epsilon", 1e-7)),
            "nadam" => new Nadam(r.Double("learning_rate", 1e-3), r.Double("beta_1", 0.9), r.Double("beta_2", 0.999), r.Double("epsilon", 1e-7)),
            "adamax" => new Adamax(r.Double("learning_rate", 1e-3), r.Double("beta_1", 0.9), r.Double("beta_2", 0.999), r.Double("epsilon", 1e-7)),
            "adadelta" => new Adadelta(r.Double("learning_rate", 1e-3), r.Double("rho", 0.95), r.Double("epsilon", 1e-7)),
            "lion" => new Lion(r.Double("learning_rate", 1e-4), r.Double("beta_1", 0.9), r.Double("beta_2", 0.99)),
            _ => throw new ArgumentException($"Unknown optimizer '{name}'. Known: {KnownNames}.", nameof(name)),
        };
        if (config.ContainsKey("clipvalue")) o.ClipValue = r.Double("clipvalue", 0);
        if (config.ContainsKey("clipnorm")) o.ClipNorm = r.Double("clipnorm", 0);
        if (config.ContainsKey("global_clipnorm")) o.GlobalClipNorm = r.Double("global_clipnorm", 0);
        if (config.ContainsKey("weight_decay")) o.WeightDecay = r.Double("weight_decay", 0);
        if (config.ContainsKey("gradient_accumulation_steps")) o.GradientAccumulationSteps = Int(r, "gradient_accumulation_steps");
        o.UseEma = r.Bool("use_ema", false);
        o.EmaMomentum = r.Double("ema_momentum", 0.99);
        if (config.ContainsKey("ema_overwrite_frequency")) o.EmaOverwriteFrequency = Int(r, "ema_overwrite_frequency");
        o.Schedule = ScheduleConfig.Read(r);
        r.ThrowOnUnknown();
        return o;
    }

    private static int Int(ConfigReader r, string key)
    {
        long v = r.Long(key, 0);
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw new ArgumentOutOfRangeException(key, $"{key} must fit an int; got {v}.");
    }

    private protected static string Str(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Reads a string map with invariant parsing, remembering which keys were read.</summary>
internal sealed class ConfigReader(IReadOnlyDictionary<string, string> config, string what)
{
    private readonly HashSet<string> _read = new(StringComparer.Ordinal);

    public bool Has(string key) => config.ContainsKey(key);

    public string? String(string key)
    {
        _read.Add(key);
        return config.TryGetValue(key, out var v) ? v : null;
    }

    public double Double(string key, double fallback)
    {
        string? v = String(key);
        if (v is null) return fallback;
        return double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            ? d : throw new ArgumentException($"{what}: '{key}' must be a number; got '{v}'.", key);
    }

    public long Long(string key, long fallback)
    {
        string? v = String(key);
        if (v is null) return fallback;
        return long.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out long d)
            ? d : throw new ArgumentException($"{what}: '{key}' must be an integer; got '{v}'.", key);
    }

    /// <summary>A comma-separated list of integers; empty when the key is missing.</summary>
    public long[] Longs(string key)
    {
        string? v = String(key);
        if (string.IsNullOrEmpty(v)) return [];
        var parts = v.Split(',');
        var result = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!long.TryParse(parts[i], NumberStyles.Integer, CultureInfo.InvariantCulture, out result[i]))
                throw new ArgumentException($"{what}: '{key}' must be comma-separated integers; got '{v}'.", key);
        return result;
    }

    /// <summary>A comma-separated list of numbers; empty when the key is missing.</summary>
    public double[] Doubles(string key)
    {
        string? v = String(key);
        if (string.IsNullOrEmpty(v)) return [];
        var parts = v.Split(',');
        var result = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out result[i]))
                throw new ArgumentException($"{what}: '{key}' must be comma-separated numbers; got '{v}'.", key);
        return result;
    }

    public bool Bool(string key, bool fallback) => String(key) switch
    {
        null => fallback,
        "true" => true,
        "false" => false,
        var v => throw new ArgumentException($"{what}: '{key}' must be true or false; got '{v}'.", key),
    };

    public void ThrowOnUnknown()
    {
        var unknown = config.Keys.Where(k => !_read.Contains(k)).ToList();
        if (unknown.Count > 0) throw new ArgumentException($"{what}: unknown setting(s) {string.Join(", ", unknown)}.");
    }
}

/// <summary>The built-in schedules as <c>schedule</c> / <c>schedule.*</c> entries of an optimizer config.</summary>
internal static class ScheduleConfig
{
    public static bool IsBuiltIn(ILearningRateSchedule s) => s is InverseTimeDecay or ExponentialDecay or StepDecay or CosineDecay
        or PiecewiseConstantDecay or PolynomialDecay or CosineDecayRestarts;

    public static void Write(ILearningRateSchedule schedule, IDictionary<string, string> c)
    {
        static string L(long v) => v.ToString(CultureInfo.InvariantCulture);
        static string D(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        static string B(bool v) => v ? "true" : "false";
        switch (schedule)
        {
            case InverseTimeDecay s:
                c["schedule"] = "inverse_time_decay";
                c["schedule.decay_rate"] = D(s.DecayRate); c["schedule.decay_steps"] = L(s.DecaySteps); c["schedule.staircase"] = B(s.Staircase);
                break;
            case ExponentialDecay s:
                c["schedule"] = "exponential_decay";
                c["schedule.decay_steps"] = L(s.DecaySteps); c["schedule.decay_rate"] = D(s.DecayRate); c["schedule.staircase"] = B(s.Staircase);
                break;
            case StepDecay s:
                c["schedule"] = "step_decay";
                c["schedule.step_size"] = L(s.StepSize); c["schedule.gamma"] = D(s.Gamma);
                break;
            case CosineDecay s:
                c["schedule"] = "cosine_decay";
                c["schedule.decay_steps"] = L(s.DecaySteps); c["schedule.alpha"] = D(s.Alpha);
                if (s.WarmupTarget is double target) { c["schedule.warmup_target"] = D(target); c["schedule.warmup_steps"] = L(s.WarmupSteps); }
                break;
            case PiecewiseConstantDecay s:
                c["schedule"] = "piecewise_constant_decay";
                c["schedule.boundaries"] = string.Join(",", s.Boundaries.Select(L));
                c["schedule.values"] = string.Join(",", s.Values.Select(D));
                break;
            case PolynomialDecay s:
                c["schedule"] = "polynomial_decay";
                c["schedule.decay_steps"] = L(s.DecaySteps); c["schedule.end_learning_rate"] = D(s.EndLearningRate);
                c["schedule.power"] = D(s.Power); c["schedule.cycle"] = B(s.Cycle);
                break;
            case CosineDecayRestarts s:
                c["schedule"] = "cosine_decay_restarts";
                c["schedule.first_decay_steps"] = L(s.FirstDecaySteps); c["schedule.t_mul"] = D(s.TMul);
                c["schedule.m_mul"] = D(s.MMul); c["schedule.alpha"] = D(s.Alpha);
                break;
            default:
                // A user's schedule cannot be rebuilt from a name; recording its type still tells a reader what it was.
                c["schedule"] = "custom:" + schedule.GetType().FullName;
                break;
        }
    }

    public static ILearningRateSchedule? Read(ConfigReader r) => r.String("schedule") switch
    {
        null => null,
        "inverse_time_decay" => new InverseTimeDecay(r.Double("schedule.decay_rate", 0), r.Long("schedule.decay_steps", 1), r.Bool("schedule.staircase", false)),
        "exponential_decay" => new ExponentialDecay(r.Long("schedule.decay_steps", 1), r.Double("schedule.decay_rate", 1), r.Bool("schedule.staircase", false)),
        "step_decay" => new StepDecay(r.Long("schedule.step_size", 1), r.Double("schedule.gamma", 0.1)),
        "cosine_decay" => new CosineDecay(r.Long("schedule.decay_steps", 1), r.Double("schedule.alpha", 0),
            r.Has("schedule.warmup_target") ? r.Double("schedule.warmup_target", 0) : null, r.Long("schedule.warmup_steps", 0)),
        "piecewise_constant_decay" => new PiecewiseConstantDecay(r.Longs("schedule.boundaries"), r.Doubles("schedule.values")),
        "polynomial_decay" => new PolynomialDecay(r.Long("schedule.decay_steps", 1), r.Double("schedule.end_learning_rate", 1e-4),
            r.Double("schedule.power", 1), r.Bool("schedule.cycle", false)),
        "cosine_decay_restarts" => new CosineDecayRestarts(r.Long("schedule.first_decay_steps", 1), r.Double("schedule.t_mul", 2),
            r.Double("schedule.m_mul", 1), r.Double("schedule.alpha", 0)),
        var other => throw new ArgumentException($"The schedule '{other}' cannot be rebuilt from a config (only the built-in schedules can).", "schedule"),
    };
}
