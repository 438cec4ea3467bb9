namespace EdgeAvsr.Runtime.Projector;

public enum ProjectorPrecision
{
    Fp32,
    Int8,
}
