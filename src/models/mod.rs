//! Learning models: the networks whose plasticity hebbench compares.

pub mod analysis;
pub mod basic_cnn;
pub mod bp_cnn;
pub mod foldiak;
pub mod hebb_cnn;
pub mod krotov;
pub mod mlp;
pub mod topographic;
