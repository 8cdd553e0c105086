//! The one error type of the search crate: options that no search can run with.

/// Why a search's options are invalid.
#[derive(thiserror::Error, Clone, Debug, PartialEq)]
pub enum DecodeError {
    /// A beam of width 0.
    #[error("the beam width must be at least 1")]
    Width,
    /// More hypotheses per sentence than the beam keeps, or none.
    #[error(
        "{nbest} hypotheses per sentence need a beam of at least {nbest} (the beam is {width}), and at least 1"
    )]
    NBest {
        /// Hypotheses asked for.
        nbest: usize,
        /// The beam width.
        width: usize,
    },
    /// A GNMT length penalty whose α is negative or not a number.
    #[error("the length penalty's alpha must be a number of at least 0, not {0}")]
    Alpha(f32),
}
