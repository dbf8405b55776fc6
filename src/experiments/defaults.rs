//! Parameter defaults shared by several experiment kinds, so one default
//! is stated once (serde's `default = "..."` needs a function).

/// Földiák sigmoid gain λ (Földiák 1990).
pub fn d_lambda() -> f64 {
    10.0
}
/// Földiák settling time constant τ.
pub fn d_tau() -> f64 {
    10.0
}
/// Földiák settling tolerance (relative change of y per step).
pub fn d_tol() -> f64 {
    1e-3
}
/// Földiák settling step limit.
pub fn d_steps() -> usize {
    200
}
/// Földiák warm-up threshold rate.
pub fn d_wgamma() -> f64 {
    0.1
}
/// Readout minibatch.
pub fn d_rbatch() -> usize {
    100
}
/// Readout Adam learning rate.
pub fn d_rlr() -> f64 {
    1e-3
}
/// The dataset of kinds that can run on either.
pub fn d_mnist() -> String {
    "mnist".into()
}
