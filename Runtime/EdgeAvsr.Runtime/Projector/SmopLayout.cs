namespace EdgeAvsr.Runtime.Projector;

/// <summary>How the Sparse Mixture of Projectors shares routers and experts between modalities.</summary>
public enum SmopLayout
{
    /// <summary>Joint experts, joint router: one MoP over the audio tokens followed by the video tokens (the authors' public code).</summary>
    Jejr,

    /// <summary>Disjoint experts, joint router: one router shared by both modalities, experts per modality.</summary>
    Dejr,

    /// <summary>Disjoint experts, disjoint routers: a router and experts per modality (the paper's best).</summary>
    Dedr,
}
