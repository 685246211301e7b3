//! Errors raised while reading, validating, translating or compiling a
//! module. Each kind is kept apart until the API edge, where it becomes one
//! clear line.

/// Why a module could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrontendError {
    /// The bytes are not a well-formed, valid module (the validator's message,
    /// which names the byte offset).
    #[error("{0}")]
    Invalid(String),
    /// The module is valid but uses something this engine cannot run yet:
    /// every such feature the module uses, shown `; `-separated, each as
    /// `feature (detail)`.
    #[error("not supported yet: {0}")]
    Unsupported(UnsupportedNotes),
    /// The module is valid but goes past one of the engine's published
    /// implementation limits (`translate::limits`), or past the compile
    /// deadline.
    #[error("implementation limit exceeded: {0}")]
    Limit(String),
    /// Cranelift could not compile a function (an engine bug or limit, not
    /// the module's fault).
    #[error("code generation failed: {0}")]
    Codegen(String),
    /// The host refused a resource (address space, executable memory).
    #[error("out of resources: {0}")]
    Resource(String),
}

impl From<wasmparser::BinaryReaderError> for FrontendError {
    fn from(e: wasmparser::BinaryReaderError) -> Self {
        FrontendError::Invalid(e.to_string())
    }
}

/// Shorthand for a [`FrontendError::Unsupported`].
pub fn unsupported(what: impl Into<String>) -> FrontendError {
    let mut notes = UnsupportedNotes::default();
    notes.add(what);
    FrontendError::Unsupported(notes)
}

/// The features a module needs that the engine lacks, each once: notes are
/// `feature (detail)`; the first note of each feature is kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct UnsupportedNotes(Vec<String>);

impl std::fmt::Display for UnsupportedNotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("; "))
    }
}

impl UnsupportedNotes {
    fn feature(note: &str) -> &str {
        note.split(" (").next().unwrap_or(note)
    }

    /// Records a note unless its feature is already there.
    pub fn add(&mut self, note: impl Into<String>) {
        let note = note.into();
        if !self
            .0
            .iter()
            .any(|n| Self::feature(n) == Self::feature(&note))
        {
            self.0.push(note);
        }
    }

    /// Records the notes of an `Unsupported` error (which may list several).
    pub fn add_error(&mut self, e: FrontendError) {
        if let FrontendError::Unsupported(notes) = e {
            self.merge(notes);
        }
    }

    /// Records every note of `other`.
    pub fn merge(&mut self, other: UnsupportedNotes) {
        for note in other.0 {
            self.add(note);
        }
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The `Unsupported` error listing every note, if any.
    pub fn into_error(self) -> Option<FrontendError> {
        (!self.0.is_empty()).then_some(FrontendError::Unsupported(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_keep_one_per_feature() {
        let mut n = UnsupportedNotes::default();
        n.add("exception handling (tags)");
        n.add("SIMD (v128 locals)");
        n.add("exception handling (throw)");
        let mut other = UnsupportedNotes::default();
        other.add("GC (struct.new)");
        other.add("SIMD (i8x16_add)");
        n.add_error(other.into_error().unwrap());
        assert_eq!(
            n.into_error().unwrap().to_string(),
            "not supported yet: exception handling (tags); SIMD (v128 locals); GC (struct.new)"
        );
    }
}
