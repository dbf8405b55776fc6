//! Learning models: the networks whose plasticity hebbench compares.

pub mod foldiak;
pub mod krotov;
