//! One thing `thoth doctor` found wrong and how to fix it; shared by the checks (`fleet` among them).

use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Problem {
    pub check: &'static str,
    pub problem: String,
    pub fix: Option<String>,
}
