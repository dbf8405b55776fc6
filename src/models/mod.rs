//! Learning models: the networks whose plasticity hebbench compares.

pub mod basic_cnn;
pub mod foldiak;
pub mod kernels;
pub mod krotov;
pub mod mlp;
pub mod topographic;
