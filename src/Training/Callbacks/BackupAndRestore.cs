namespace Nn.Simd.Training.Callbacks;

/// <summary>What <see cref="BackupAndRestore"/> needs from the model beyond <see cref="IModel"/>.</summary>
internal interface IBackupTarget
{
    /// <summary>Saves the full training state (as <c>Save</c>) with the epoch to continue from, atomically.</summary>
    void WriteBackup(string path, int epoch);

    /// <summary>Restores a backup into the model and makes the running <c>Fit</c> continue at its epoch, which it returns.</summary>
    /// <exception cref="InvalidDataException">The backup is damaged or from another kind of model; nothing is changed.</exception>
    int RestoreBackup(string path);
}

/// <summary>
/// Backs up the training state at the end of every epoch and restores it when <c>Fit</c> is run again after an
/// interruption, as Keras' <c>BackupAndRestore</c>: the backup (<c>latest.safetensors</c> in
/// <see cref="BackupDir"/>) holds the weights, the optimizer's step count and state, the random state (shuffle order
/// and generators, dropout and noise generators) and the number of epochs done; at the start of <c>Fit</c> a backup
/// found there is loaded into the model and training continues with the next epoch. A run interrupted after epoch k
/// (an exception, a killed process) and then given the same <c>Fit</c> call again, on the same model or on a new one
/// with the same layers and compile settings, ends bit for bit where the uninterrupted run would. When <c>Fit</c>
/// completes (also when stopped by <see cref="IModel.StopTraining"/>, as in Keras) the backup is deleted if
/// <see cref="DeleteCheckpoint"/>.
/// </summary>
/// <remarks>
/// Differences from Keras: only <c>save_freq="epoch"</c> is supported (Keras' integer <c>save_freq</c> saves mid-epoch
/// but restarts the epoch from its first batch on restore, which would not continue the run exactly). Each backup is
/// one file written atomically (temporary file, then rename), so there is no second, previous copy to fall back on: a
/// damaged backup (which an atomic write cannot leave behind, but a disk or a person can) stops <c>Fit</c> with an
/// <see cref="InvalidDataException"/> naming the file and what is wrong, and the model is left unchanged. On
/// completion only the backup file is deleted, and the directory only if that leaves it empty (Keras removes the whole
/// directory). Layers are matched by position, so default layer names may differ. Callback state (an
/// <see cref="EarlyStopping"/> counter, a learning rate lowered by <see cref="ReduceLROnPlateau"/>) is not backed up,
/// as in Keras.
/// </remarks>
public sealed class BackupAndRestore : Callback
{
    /// <summary>The name of the backup file in <see cref="BackupDir"/>.</summary>
    public const string FileName = "latest.safetensors";

    /// <summary>Creates the callback.</summary>
    /// <param name="backupDir">The directory for the backup, created when needed; use it for nothing else.</param>
    /// <param name="saveFreq">When to back up: <c>"epoch"</c> (the default and the only value supported).</param>
    /// <param name="deleteCheckpoint">Whether to delete the backup when <c>Fit</c> completes.</param>
    /// <exception cref="ArgumentException"><paramref name="backupDir"/> is empty, or <paramref name="saveFreq"/> is not <c>"epoch"</c>.</exception>
    public BackupAndRestore(string backupDir, string saveFreq = "epoch", bool deleteCheckpoint = true)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(backupDir);
        ArgumentNullException.ThrowIfNull(saveFreq);
        if (saveFreq != "epoch")
            throw new ArgumentException($"saveFreq must be \"epoch\" (backups at the end of each epoch; mid-epoch backups are not supported); got \"{saveFreq}\".", nameof(saveFreq));
        BackupDir = backupDir;
        SaveFreq = saveFreq;
        DeleteCheckpoint = deleteCheckpoint;
    }

    /// <summary>The backup directory.</summary>
    public string BackupDir { get; }

    /// <summary>When backups are written: <c>"epoch"</c>.</summary>
    public string SaveFreq { get; }

    /// <summary>Whether the backup is deleted when <c>Fit</c> completes.</summary>
    public bool DeleteCheckpoint { get; }

    /// <summary>The backup file's path.</summary>
    public string BackupPath => System.IO.Path.Combine(BackupDir, FileName);

    /// <summary>The epoch the last <c>Fit</c> resumed at from a backup, or null when it found none.</summary>
    public int? RestoredEpoch { get; private set; }

    private IBackupTarget Target => Model as IBackupTarget
        ?? throw new InvalidOperationException($"BackupAndRestore needs a Sequential model; got {Model?.GetType().Name ?? "none"}.");

    /// <inheritdoc/>
    /// <exception cref="InvalidDataException">The backup is damaged or was written by a different model; nothing is changed.</exception>
    public override void OnTrainBegin(TrainBeginInfo info)
    {
        RestoredEpoch = File.Exists(BackupPath) ? Target.RestoreBackup(BackupPath) : null;
    }

    /// <inheritdoc/>
    public override void OnEpochEnd(int epoch, IReadOnlyDictionary<string, double> logs)
    {
        Directory.CreateDirectory(BackupDir);
        Target.WriteBackup(BackupPath, epoch + 1);
    }

    /// <inheritdoc/>
    public override void OnTrainEnd(IReadOnlyDictionary<string, double> logs)
    {
        if (!DeleteCheckpoint) return;
        File.Delete(BackupPath);
        if (Directory.Exists(BackupDir) && !Directory.EnumerateFileSystemEntries(BackupDir).Any()) Directory.Delete(BackupDir);
    }
}
