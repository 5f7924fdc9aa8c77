//! The enforcement mode: what to do with a call outside the approved scope. A leaf, so `settings` resolves
//! it (`THOTH_ENFORCEMENT_MODE`) without importing `policy`, which re-exports it as `policy::Mode`.

/// What to do with a call outside the approved scope. Spelled as in `--enforcement-mode` in a policy file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Forward everything; log the decision that would have been made.
    Observe,
    /// Refuse out-of-scope calls (-32001). The default.
    Block,
    /// Out-of-scope calls need approval (-32002).
    #[value(name = "step_up", alias = "step-up")]
    #[serde(alias = "step-up")]
    StepUp,
    /// Per session: the first violation is allowed with a warning, the next ones need approval, then block.
    Progressive,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::Block => "block",
            Mode::StepUp => "step_up",
            Mode::Progressive => "progressive",
        }
    }
}
