//! Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5).
//!
//! ```text
//! PE(pos, 2i)   = sin(pos / 10000^(2i / d_model))
//! PE(pos, 2i+1) = cos(pos / 10000^(2i / d_model))
//! ```
//!
//! The table is computed on demand for the positions a call needs, so it has no length limit and
//! an incremental decoding step costs one row.

use burn::prelude::*;

/// The encodings of positions `start .. start + len`, row-major `[len, d_model]`.
pub fn sinusoidal_table(start: usize, len: usize, d_model: usize) -> Vec<f32> {
    let mut table = Vec::with_capacity(len * d_model);
    for pos in start..start + len {
        for j in 0..d_model {
            let two_i = (j - j % 2) as f64;
            let angle = pos as f64 / 10000f64.powf(two_i / d_model as f64);
            table.push(if j % 2 == 0 { angle.sin() } else { angle.cos() } as f32);
        }
    }
    table
}

/// The encodings of positions `start .. start + len` as a tensor that broadcasts over the batch.
///
/// # Shapes
/// - output: `[1, len, d_model]`
pub fn sinusoidal_encoding(start: usize, len: usize, d_model: usize, device: &Device) -> Tensor<3> {
    let data = TensorData::new(sinusoidal_table(start, len, d_model), [1, len, d_model]);
    Tensor::from_data(data, device)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_the_papers_formula() {
        let d = 16;
        let table = sinusoidal_table(0, 50, d);
        for pos in 0..50 {
            for i in 0..d / 2 {
                let angle = pos as f64 / 10000f64.powf(2.0 * i as f64 / d as f64);
                assert!((table[pos * d + 2 * i] as f64 - angle.sin()).abs() < 1e-6);
                assert!((table[pos * d + 2 * i + 1] as f64 - angle.cos()).abs() < 1e-6);
            }
        }
        // Position 0 is [0, 1, 0, 1, ...].
        assert_eq!(&table[..4], &[0.0, 1.0, 0.0, 1.0]);
    }

    #[test]
    fn an_offset_window_equals_the_same_rows_of_the_full_table() {
        let full = sinusoidal_table(0, 20, 8);
        let window = sinusoidal_table(7, 3, 8);
        assert_eq!(&full[7 * 8..10 * 8], &window[..]);
    }

    #[test]
    fn tensor_has_a_broadcastable_shape() {
        let pe = sinusoidal_encoding(3, 5, 6, &Device::flex());
        assert_eq!(pe.dims(), [1, 5, 6]);
    }
}
