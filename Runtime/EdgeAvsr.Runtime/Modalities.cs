namespace EdgeAvsr.Runtime;

public static class Modalities
{
    public static string ToText(this Modality modality) => modality == Modality.Audio ? "audio" : "video";
}
