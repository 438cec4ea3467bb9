namespace EdgeAvsr.Synthetic;

/// <summary>LoRA written by <see cref="TinyLlamaGenerator.WriteLora"/>: the AVSR-format hyperparameters and where the files are.</summary>
public sealed record TinyLora(string PeftDirectory, string AvsrCheckpoint, string TrainConfig, int Reduction, double Alpha, int PeftRank, double PeftAlpha)
{
    /// <summary>AVSR inner dimension round(hidden / reduction).</summary>
    public int AvsrRank { get; init; }
}
