namespace EdgeAvsr.Runtime.Projector;

/// <summary>Where the INT8 projector runs: this CPU's kernels, or the CUDA kernels of libsmop_cuda.so on GPU 0.</summary>
public enum ProjectorDevice
{
    Cpu,
    Cuda,
}
