//! Parameter defaults shared by several experiment kinds, so one default
//! is stated once.

/// Földiák sigmoid gain λ (Földiák 1990).
pub const LAMBDA: f64 = 10.0;
/// Földiák settling time constant τ.
pub const TAU: f64 = 10.0;
/// Földiák settling tolerance (relative change of y per step).
pub const TOL: f64 = 1e-3;
/// Földiák settling step limit.
pub const STEPS: usize = 200;
/// Földiák warm-up threshold rate.
pub const WARMUP_GAMMA: f64 = 0.1;
/// Readout minibatch.
pub const READOUT_BATCH: usize = 100;
/// Readout Adam learning rate.
pub const READOUT_LR: f64 = 1e-3;
