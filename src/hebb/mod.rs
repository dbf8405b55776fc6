//! The Hebbian convolution engine of the MSc report (seed 003): a conv
//! layer whose behaviour is composed from small parts rather than one
//! `match mode`:
//!
//! - [`layer`]: the layer itself (activation, optional surround, update);
//! - [`rule`]: how pre- and post-synaptic activity become a weight change
//!   (instar, plain Hebb, BCM), behind [`rule::PlasticityRule`];
//! - [`competition`]: which units learn and how much (none, hard-WTA,
//!   soft-WTA, temporal, statistical), behind [`competition::Competition`];
//! - [`presynaptic`]: competition between a unit's input couplings;
//! - [`surround`]: difference-of-Gaussians lateral inhibition;
//! - [`stats_report`]: the report's printed statistical update, a variant.
//!
//! Activations are NHWC row-major matrices ([`crate::nhwc::Map`]): one row per
//! image location, one column per channel. That makes the forward pass and
//! the update two GEMMs over one im2col per batch (`U = P·Wᵀ`, `ΔW = Aᵀ·P`),
//! and every competition a row-wise operation.

pub mod competition;
pub mod gemm;
pub mod layer;
pub mod presynaptic;
pub mod rule;
pub mod stats_report;
pub mod surround;
pub mod tensor;

pub use crate::nhwc::Map;
pub use layer::{Activation, CosineNorm, HebbConv, HebbConvSpec};

/// Lets glibc's `malloc` reuse freed large blocks instead of returning them
/// to the kernel. Each Hebbian batch allocates tens of megabytes (patches,
/// activations, updates); served by fresh `mmap`s, every page of them
/// faults and is zeroed again on each batch. Safe to call more than once.
pub fn keep_large_buffers() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is thread-safe.
    unsafe {
        // 32 MiB is the largest threshold glibc accepts on 64-bit targets.
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 1 << 30);
    }
}
