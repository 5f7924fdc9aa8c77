//! Fleet-facing commands: `doctor` (what is configured, from where, and what is wrong) and `set-api-key`.
//! GovAPI registration, heartbeats and `health` join them later (DESIGN.md §5).

pub mod doctor;
pub mod set_api_key;
pub mod status;
