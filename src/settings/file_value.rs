//! A value read from a file (the profile, a managed source), with where it came from. A leaf of `settings`:
//! `inputs` and `managed_source` both hold it.

/// A value from a file, with where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileValue {
    pub value: String,
    pub origin: String,
}
