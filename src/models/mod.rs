//! Learning models: the networks whose plasticity hebbench compares.

pub mod krotov;
