//! The engine choice shared by the CNN kinds.

use serde::{Deserialize, Serialize};

/// Which engine computes a CNN run: the hand-written CPU kernels or
/// candle tensor ops. One choice for `hebbian_cnn` and `backprop_cnn`, so a
/// suite can set `engine:` once for both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// The CPU kernels on the CPU, candle elsewhere.
    #[default]
    Auto,
    /// The hand-written CPU kernels (the fastest on a CPU).
    Kernels,
    /// candle tensor ops, on any device.
    Candle,
}

impl Engine {
    /// Whether the run computes in candle ops on `dev`; an error for the
    /// CPU kernels on another device, which would record a device they
    /// never used.
    pub fn uses_candle(self, dev: &candle_core::Device) -> crate::error::Result<bool> {
        match (self, dev.is_cpu()) {
            (Engine::Candle, _) | (Engine::Auto, false) => Ok(true),
            (Engine::Auto | Engine::Kernels, true) => Ok(false),
            (Engine::Kernels, false) => Err(crate::error::Error::Device(
                "`engine: kernels` computes on the CPU only; use --device cpu, or `engine: candle` (or `auto`)".into(),
            )),
        }
    }
}
