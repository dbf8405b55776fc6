//! How raw pixels become model inputs. Every statistic (a mean, say) comes
//! from the training split only and is applied to both splits.

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::Split;
use crate::error::Result;

/// How pixels become input vectors.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum Preprocess {
    /// `x / 255`, as the MNIST notebook.
    #[default]
    Unit,
    /// Subtract the training mean, then scale each vector to unit L2 norm,
    /// as the CIFAR-10 notebook.
    CenterL2,
}

/// Both splits as N × D tensors on `device`, preprocessed.
pub fn to_vectors(
    train: &Split,
    test: &Split,
    d: usize,
    pre: Preprocess,
    device: &Device,
) -> Result<(Tensor, Tensor)> {
    let to = |s: &Split| -> Result<Tensor> {
        Ok(Tensor::from_vec(s.unit_floats(), (s.len(), d), device)?)
    };
    let (a, b) = (to(train)?, to(test)?);
    match pre {
        Preprocess::Unit => Ok((a, b)),
        Preprocess::CenterL2 => {
            let mean = a.mean_keepdim(0)?;
            let norm = |x: Tensor| -> Result<Tensor> {
                let c = x.broadcast_sub(&mean)?;
                let l2 = c.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
                Ok(c.broadcast_div(&l2)?)
            };
            Ok((norm(a)?, norm(b)?))
        }
    }
}

/// CIFAR-10 channel means and standard deviations (the report's `data.py`).
pub const CIFAR_MEAN: [f32; 3] = [0.4914, 0.4822, 0.4465];
/// CIFAR-10 per-channel std (with [`CIFAR_MEAN`], the report's normalisation).
pub const CIFAR_STD: [f32; 3] = [0.2023, 0.1994, 0.2010];

/// Per-channel normalisation of CHW images (`plane` pixels a channel) with
/// the CIFAR-10 statistics the report uses.
pub fn normalise_channels(x: &mut [f32], plane: usize) {
    for img in x.chunks_mut(3 * plane) {
        for (ch, p) in img.chunks_mut(plane).enumerate() {
            let (m, s) = (CIFAR_MEAN[ch % 3], CIFAR_STD[ch % 3]);
            p.iter_mut().for_each(|v| *v = (*v - m) / s);
        }
    }
}

/// Reorders each CHW image (`c` planes of `plane` pixels) to HWC.
pub fn chw_to_hwc(x: &[f32], c: usize, plane: usize) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    for (src, dst) in x.chunks(c * plane).zip(out.chunks_mut(c * plane)) {
        for ch in 0..c {
            for p in 0..plane {
                dst[p * c + ch] = src[ch * plane + p];
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn center_l2_uses_the_training_mean_and_unit_norms() -> Result<()> {
        // Train pixels (0, 255) and (255, 255) → mean (0.5, 1); centred
        // rows (−0.5, 0), (0.5, 0) → unit: (−1, 0), (1, 0). Test (255, 0)
        // → (0.5, −1)/√1.25.
        let train = Split {
            images: vec![0, 255, 255, 255],
            labels: vec![0, 1],
        };
        let test = Split {
            images: vec![255, 0],
            labels: vec![0],
        };
        let (a, b) = to_vectors(&train, &test, 2, Preprocess::CenterL2, &Device::Cpu)?;
        assert_eq!(a.to_vec2::<f32>()?, vec![vec![-1.0, 0.0], vec![1.0, 0.0]]);
        let b = b.to_vec2::<f32>()?;
        let s = 1.25f32.sqrt();
        assert!(
            (b[0][0] - 0.5 / s).abs() < 1e-6 && (b[0][1] + 1.0 / s).abs() < 1e-6,
            "{b:?}"
        );
        Ok(())
    }
}
