//! Turning id sequences into padded tensors: the [`Seq2SeqBatch`] every model takes.

#[cfg(feature = "dataset")]
use burn::data::dataloader::batcher::Batcher;
use burn::prelude::*;
use transduce_nn::Seq2SeqBatch;
use transduce_nn::special::{EOS, PAD, SOS};

/// One sentence pair as ids, without special tokens.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// Source ids.
    pub src: Vec<usize>,
    /// Target ids.
    pub tgt: Vec<usize>,
}

/// Pads examples into a [`Seq2SeqBatch`]: `tgt_in = <sos> y`, `tgt_out = y <eos>`.
#[derive(Clone, Debug, Default)]
pub struct Seq2SeqBatcher;

/// Batches formed ahead of time ([`crate::BatchPlan`]) arrive as one item each.
#[cfg(feature = "dataset")]
impl Batcher<Vec<Example>, Seq2SeqBatch> for Seq2SeqBatcher {
    fn batch(&self, items: Vec<Vec<Example>>, device: &Device) -> Seq2SeqBatch {
        let flat: Vec<Example> = items.into_iter().flatten().collect();
        self.pad(flat, device)
    }
}

#[cfg(feature = "dataset")]
impl Batcher<Example, Seq2SeqBatch> for Seq2SeqBatcher {
    fn batch(&self, items: Vec<Example>, device: &Device) -> Seq2SeqBatch {
        self.pad(items, device)
    }
}

impl Seq2SeqBatcher {
    /// Pads `items` into one batch (what burn's `Batcher` calls).
    pub fn pad(&self, items: Vec<Example>, device: &Device) -> Seq2SeqBatch {
        let (src, src_mask_pad) = pad_ids(items.iter().map(|e| e.src.clone()), device);
        let (tgt_in, tgt_mask_pad) = pad_ids(
            items
                .iter()
                .map(|e| std::iter::once(SOS).chain(e.tgt.iter().copied()).collect()),
            device,
        );
        let (tgt_out, _) = pad_ids(
            items
                .iter()
                .map(|e| e.tgt.iter().copied().chain(std::iter::once(EOS)).collect()),
            device,
        );
        Seq2SeqBatch {
            src,
            src_mask_pad,
            tgt_in,
            tgt_out,
            tgt_mask_pad,
        }
    }
}

/// Pads id rows with `<pad>` to the longest one.
///
/// # Shapes
/// - output: ids `[n_rows, max_len]` and the padding mask `[n_rows, max_len]` (`true` = padding)
///
/// # Panics
/// If there are no rows or every row is empty.
pub fn pad_ids(
    rows: impl IntoIterator<Item = Vec<usize>>,
    device: &Device,
) -> (Tensor<2, Int>, Tensor<2, Bool>) {
    let rows: Vec<Vec<usize>> = rows.into_iter().collect();
    let len = rows.iter().map(Vec::len).max().unwrap_or(0);
    assert!(len > 0, "cannot batch empty sequences");
    let mut ids = Vec::with_capacity(rows.len() * len);
    let mut mask = Vec::with_capacity(rows.len() * len);
    for row in &rows {
        ids.extend(row.iter().map(|&id| id as i32));
        ids.extend(std::iter::repeat_n(PAD as i32, len - row.len()));
        mask.extend(std::iter::repeat_n(false, row.len()));
        mask.extend(std::iter::repeat_n(true, len - row.len()));
    }
    let shape = [rows.len(), len];
    (
        Tensor::from_data(TensorData::new(ids, shape), device),
        Tensor::from_data(TensorData::new(mask, shape), device),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_targets_and_pads_with_masks() {
        let dev = Device::flex();
        let items = vec![
            Example {
                src: vec![4, 5, 6],
                tgt: vec![7],
            },
            Example {
                src: vec![8],
                tgt: vec![9, 10],
            },
        ];
        let b = Seq2SeqBatcher.pad(items, &dev);
        let v = |t: Tensor<2, Int>| t.into_data().convert::<i32>().try_to_vec::<i32>().unwrap();
        let m = |t: Tensor<2, Bool>| t.into_data().try_to_vec::<bool>().unwrap();
        assert_eq!(v(b.src), vec![4, 5, 6, 8, 0, 0]);
        assert_eq!(
            m(b.src_mask_pad),
            vec![false, false, false, false, true, true]
        );
        assert_eq!(v(b.tgt_in), vec![2, 7, 0, 2, 9, 10]);
        assert_eq!(v(b.tgt_out), vec![7, 3, 0, 9, 10, 3]);
        assert_eq!(
            m(b.tgt_mask_pad),
            vec![false, false, true, false, false, false]
        );
    }
}
