//! What to do about an error (STYLE.md §2). A leaf: every module's error implements `Hint` without importing
//! the crate-wide `Error`, so the errors do not tie the crate into one circle.

/// What to do about an error, in one sentence that names the flag, file or variable to change.
pub trait Hint {
    fn hint(&self) -> Option<String>;
}
