//! The special tokens every vocabulary starts with, in this order.
//!
//! Their ids are fixed so that models, batchers and decoders agree without passing a vocabulary
//! around: `<pad>` = 0, `<unk>` = 1, `<sos>` = 2, `<eos>` = 3.

/// Padding: fills short sequences in a batch; never attended to, never scored.
pub const PAD: usize = 0;
/// Unknown: any token missing from the vocabulary.
pub const UNK: usize = 1;
/// Start of sequence: the first decoder input.
pub const SOS: usize = 2;
/// End of sequence: the last decoder target; decoding stops when it is produced.
pub const EOS: usize = 3;

/// The special tokens' strings, indexed by id.
pub const SPECIAL_TOKENS: [&str; 4] = ["<pad>", "<unk>", "<sos>", "<eos>"];
