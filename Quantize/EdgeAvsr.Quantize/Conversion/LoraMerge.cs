using System.Globalization;
using System.Text.Json;
using EdgeAvsr.Quantize.Hf;
using EdgeAvsr.Runtime;
using EdgeAvsr.Runtime.Formats;

namespace EdgeAvsr.Quantize.Conversion;

/// <summary>One low-rank update of a base weight: W += Scale * Up @ Down (Up [out, r], Down [r, in]).</summary>
internal sealed record LoraPair(string Target, string DownName, string UpName, double Scale, HfWeights Source);

/// <summary>
/// LoRA adapters merged into the base weights in float32 before the Q/K permutation and quantization:
/// the PEFT format (adapter_model.safetensors + adapter_config.json, scale lora_alpha/r or
/// lora_alpha/sqrt(r) with use_rslora) and the Llama-AVSR checkpoint format
/// (model.layers.{i}.self_attn.lora_{down,up}_{Q,V}.weight, inner dim round(hidden/reduction), scale alpha/reduction).
/// </summary>
internal sealed class LoraMerge : IDisposable
{
    private static readonly string[] s_peftModules = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
    private readonly Dictionary<string, LoraPair> _byTarget;
    private readonly HfWeights? _owned;

    private LoraMerge(Dictionary<string, LoraPair> byTarget, HfWeights? owned)
    {
        _byTarget = byTarget;
        _owned = owned;
    }

    public int Count => _byTarget.Count;

    public static LoraMerge Empty() => new(new Dictionary<string, LoraPair>(StringComparer.Ordinal), null);

    /// <summary>Reads a PEFT adapter directory; every LoRA tensor must map onto a Llama linear weight.</summary>
    public static LoraMerge OpenPeft(string directory, HfLlamaConfig config)
    {
        string cfgPath = Path.Combine(directory, "adapter_config.json");
        using var json = CheckedJson.Read(cfgPath, lenient: true);
        var root = json.Root;
        string? peftType = json.OptionalString(root, "peft_type");
        if (peftType is not null && peftType != "LORA")
        {
            throw new EdgeAvsrException($"{cfgPath}: peft_type '{peftType}' is not supported (expected LORA)");
        }
        int r = json.Int(root, "r", min: 1);
        double alpha = json.Number(root, "lora_alpha");
        if (json.OptionalBool(root, "fan_in_fan_out") == true)
        {
            throw new EdgeAvsrException($"{cfgPath}: fan_in_fan_out true is not supported (Llama linear layers are not Conv1D)");
        }
        if (json.OptionalBool(root, "use_dora") == true)
        {
            throw new EdgeAvsrException($"{cfgPath}: DoRA adapters (use_dora) are not supported");
        }
        if (json.OptionalString(root, "bias") is { } bias && bias != "none")
        {
            throw new EdgeAvsrException($"{cfgPath}: bias '{bias}' is not supported (Llama has no biases)");
        }
        foreach (string pattern in new[] { "rank_pattern", "alpha_pattern" })
        {
            if (CheckedJson.Find(root, pattern) is { ValueKind: JsonValueKind.Object } p && p.EnumerateObject().Any())
            {
                throw new EdgeAvsrException($"{cfgPath}: per-module '{pattern}' is not supported");
            }
        }
        double scale = json.OptionalBool(root, "use_rslora") == true ? alpha / Math.Sqrt(r) : alpha / r;
        string weightsPath = Path.Combine(directory, "adapter_model.safetensors");
        if (!File.Exists(weightsPath))
        {
            throw new EdgeAvsrException($"{directory}: adapter_model.safetensors not found (PEFT adapters saved as .bin must be converted first)");
        }
        var weights = HfWeights.OpenFile(weightsPath);
        try
        {
            var pairs = new Dictionary<string, LoraPair>(StringComparer.Ordinal);
            foreach (string name in weights.Names)
            {
                string n = name.StartsWith("base_model.model.", StringComparison.Ordinal) ? name["base_model.model.".Length..] : name;
                bool isA = n.EndsWith(".lora_A.weight", StringComparison.Ordinal);
                bool isB = n.EndsWith(".lora_B.weight", StringComparison.Ordinal);
                if (!isA && !isB)
                {
                    throw new EdgeAvsrException($"{weightsPath}: tensor '{name}' is not a LoRA A/B weight (modules_to_save and embeddings are not supported)");
                }
                string module = n[..^".lora_A.weight".Length];
                string target = module + ".weight";
                if (!IsLinearTarget(target, config))
                {
                    throw new EdgeAvsrException($"{weightsPath}: tensor '{name}' targets '{module}', which is not a Llama linear layer of this " +
                        $"{config.NumHiddenLayers}-layer model");
                }
                if (isA)
                {
                    string bName = name[..^".lora_A.weight".Length] + ".lora_B.weight";
                    if (!weights.Contains(bName))
                    {
                        throw new EdgeAvsrException($"{weightsPath}: '{name}' has no matching '{bName}'");
                    }
                    pairs[target] = new LoraPair(target, name, bName, scale, weights);
                }
                else if (!weights.Contains(name[..^".lora_B.weight".Length] + ".lora_A.weight"))
                {
                    throw new EdgeAvsrException($"{weightsPath}: '{name}' has no matching lora_A weight");
                }
            }
            if (pairs.Count == 0)
            {
                throw new EdgeAvsrException($"{weightsPath}: no LoRA weights found");
            }
            var merge = new LoraMerge(pairs, weights);
            merge.CheckShapes(config, r);
            return merge;
        }
        catch
        {
            weights.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The Llama-AVSR LoRA inside a checkpoint (names relative to "llm."), with reduction and alpha from the
    /// training-arguments JSON (the authors' names: reduction_lora or rank, and alpha). Returns an empty merge
    /// when the checkpoint holds no LoRA weights. <paramref name="trainLora"/>: reduction and alpha already read from
    /// <paramref name="trainConfigPath"/>.
    /// </summary>
    public static LoraMerge OpenAvsr(HfWeights checkpoint, HfLlamaConfig config, string? trainConfigPath, (int Reduction, double Alpha)? trainLora = null)
    {
        var names = checkpoint.Names.Where(n => n.Contains(".lora_", StringComparison.Ordinal)).ToList();
        if (names.Count == 0)
        {
            return Empty();
        }
        if (trainConfigPath is null)
        {
            throw new EdgeAvsrException($"{checkpoint.Description}: holds LoRA weights; --train-config is required for their reduction and alpha " +
                "(never guessed: the authors' default alpha is 1)");
        }
        var (reduction, alpha) = trainLora ?? ReadTrainConfig(trainConfigPath);
        int rank = (int)Math.Round(config.HiddenSize / (double)reduction, MidpointRounding.ToEven);
        double scale = alpha / reduction;
        var pairs = new Dictionary<string, LoraPair>(StringComparer.Ordinal);
        foreach (string name in names)
        {
            var m = System.Text.RegularExpressions.Regex.Match(name, @"^model\.layers\.(\d+)\.self_attn\.lora_(down|up)_([QKVO])\.weight$");
            if (!m.Success)
            {
                throw new EdgeAvsrException($"{checkpoint.Description}: tensor 'llm.{name}' is not a Llama-AVSR LoRA weight (expected " +
                    $"llm.model.layers.N.self_attn.lora_{{down,up}}_{{Q,K,V,O}}.weight)");
            }
            int layer = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            string proj = m.Groups[3].Value.ToLowerInvariant() + "_proj";
            string target = $"model.layers.{layer}.self_attn.{proj}.weight";
            if (!IsLinearTarget(target, config))
            {
                throw new EdgeAvsrException($"{checkpoint.Description}: 'llm.{name}' is for layer {layer}, but the model has {config.NumHiddenLayers} layers");
            }
            string prefix = $"model.layers.{layer}.self_attn.lora_";
            string down = prefix + "down_" + m.Groups[3].Value + ".weight";
            string up = prefix + "up_" + m.Groups[3].Value + ".weight";
            if (!checkpoint.Contains(down) || !checkpoint.Contains(up))
            {
                throw new EdgeAvsrException($"{checkpoint.Description}: layer {layer} has only one of lora_down_{m.Groups[3].Value} / " +
                    $"lora_up_{m.Groups[3].Value}");
            }
            pairs[target] = new LoraPair(target, down, up, scale, checkpoint);
        }
        var merge = new LoraMerge(pairs, null);
        merge.CheckShapes(config, rank, $" (rank = round(hidden {config.HiddenSize} / reduction {reduction}) = {rank})");
        return merge;
    }

    /// <summary>Reduction and alpha from the authors' training arguments; a missing value is an error.</summary>
    public static (int Reduction, double Alpha) ReadTrainConfig(string path)
    {
        using var json = CheckedJson.Read(path, lenient: true);
        var root = json.Root;
        var byReduction = json.OptionalNumber(root, "reduction_lora");
        var byRank = json.OptionalNumber(root, "rank");
        if (byReduction is not null && byRank is not null && byReduction != byRank)
        {
            throw new EdgeAvsrException($"{path}: 'reduction_lora' {byReduction} and 'rank' {byRank} disagree (both are the LoRA reduction factor)");
        }
        double reduction = byReduction ?? byRank ?? throw new EdgeAvsrException($"{path}: the LoRA reduction factor is missing: set 'reduction_lora' " +
            "(or 'rank', as the 1B/3B recipes call it)");
        if (reduction < 1 || reduction != Math.Floor(reduction))
        {
            throw new EdgeAvsrException($"{path}: the LoRA reduction factor must be a positive integer, found {reduction}");
        }
        double alpha = json.OptionalNumber(root, "alpha") ?? throw new EdgeAvsrException($"{path}: 'alpha' (LoRA alpha) is missing; it is never defaulted");
        return ((int)reduction, alpha);
    }

    private static bool IsLinearTarget(string target, HfLlamaConfig c)
    {
        var m = System.Text.RegularExpressions.Regex.Match(target, @"^model\.layers\.(\d+)\.(self_attn|mlp)\.(\w+)\.weight$");
        return m.Success
            && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int layer) && layer < c.NumHiddenLayers
            && s_peftModules.Contains(m.Groups[3].Value)
            && ((m.Groups[2].Value == "self_attn") == (m.Groups[3].Value is "q_proj" or "k_proj" or "v_proj" or "o_proj"));
    }

    private static (long Out, long In) TargetShape(string target, HfLlamaConfig c)
    {
        string module = target.Split('.')[^2];
        return module switch
        {
            "q_proj" => (c.QWidth, c.HiddenSize),
            "k_proj" or "v_proj" => (c.KvWidth, c.HiddenSize),
            "o_proj" => (c.HiddenSize, c.QWidth),
            "gate_proj" or "up_proj" => (c.IntermediateSize, c.HiddenSize),
            _ => (c.HiddenSize, c.IntermediateSize),
        };
    }

    private void CheckShapes(HfLlamaConfig c, int rank, string rankNote = "")
    {
        foreach (var p in _byTarget.Values)
        {
            var (outDim, inDim) = TargetShape(p.Target, c);
            var down = p.Source.Get(p.DownName);
            var up = p.Source.Get(p.UpName);
            long[] downShape = [rank, inDim], upShape = [outDim, rank];
            if (!down.Shape.AsSpan().SequenceEqual(downShape) || !up.Shape.AsSpan().SequenceEqual(upShape))
            {
                throw new EdgeAvsrException($"{p.Source.Description}: LoRA for '{p.Target}' [{outDim}, {inDim}] does not fit: " +
                    $"'{p.Source.Prefix}{p.DownName}' is {down.ShapeText} (expected {TensorDTypes.FormatShape(downShape)}), " +
                    $"'{p.Source.Prefix}{p.UpName}' is {up.ShapeText} (expected {TensorDTypes.FormatShape(upShape)}){rankNote}");
            }
        }
    }

    /// <summary>Adds the update for <paramref name="target"/> (an HF weight name) to <paramref name="w"/> [out, in], in float32.</summary>
    public void ApplyTo(string target, float[] w, int threads)
    {
        if (!_byTarget.TryGetValue(target, out var p))
        {
            return;
        }
        var downT = p.Source.Get(p.DownName);
        var upT = p.Source.Get(p.UpName);
        int r = (int)downT.Shape[0];
        int inDim = (int)downT.Shape[1];
        int outDim = (int)upT.Shape[0];
        float[] down = p.Source.ReadFloat32(p.DownName, r, inDim);
        float[] up = p.Source.ReadFloat32(p.UpName, outDim, r);
        float scale = (float)p.Scale;
        Parallel.For(0, outDim, new ParallelOptions { MaxDegreeOfParallelism = Math.Max(1, threads) }, o =>
        {
            var row = w.AsSpan(o * inDim, inDim);
            Span<float> acc = inDim <= 16384 ? stackalloc float[inDim] : new float[inDim];
            acc.Clear();
            for (int k = 0; k < r; k++)
            {
                float u = up[o * r + k];
                var d = down.AsSpan(k * inDim, inDim);
                for (int i = 0; i < inDim; i++)
                {
                    acc[i] += u * d[i];
                }
            }
            for (int i = 0; i < inDim; i++)
            {
                row[i] += scale * acc[i];
            }
        });
    }

    public void Dispose() => _owned?.Dispose();
}
