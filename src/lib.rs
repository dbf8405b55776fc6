//! hebbench: a reproducible harness for Hebbian learning in image
//! recognition.
//!
//! The modules follow the flow of an experiment:
//! [`data`] (pinned, verified datasets) → [`models`] (learning rules and
//! networks) → [`train`] (readouts and metrics) → [`experiments`] (one
//! kind per paper system) → [`suite`] (YAML matrices of runs) → [`run`]
//! (runner, provenance, Parquet results).

#![warn(missing_docs)]

pub mod atomic;
pub mod bench;
pub mod config;
pub mod data;
pub mod error;
pub mod experiments;
pub mod gate;
pub mod hebb;
pub mod identity;
pub mod kernels;
pub mod models;
pub mod nhwc;
pub mod progress;
pub mod report;
pub mod run;
pub mod suite;
pub mod train;

pub use error::{Error, Result};
