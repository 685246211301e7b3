//! Errors raised while reading, validating or translating a module.

/// Why a module could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontendError {
    /// The bytes are not a well-formed, valid module (the validator's message,
    /// which names the byte offset).
    #[error("{0}")]
    Invalid(String),
    /// The module is valid but uses something this engine cannot run yet.
    #[error("not supported yet: {0}")]
    Unsupported(String),
}

impl From<wasmparser::BinaryReaderError> for FrontendError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        FrontendError::Invalid(e.to_string())
    }
}

/// Shorthand for a [`FrontendError::Unsupported`].
pub fn unsupported(what: impl Into<String>) -> FrontendError {
    FrontendError::Unsupported(what.into())
}
