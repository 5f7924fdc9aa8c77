//! Claude Desktop beyond its config file: the Desktop Extensions it runs (`extensions`, never wrapped by
//! thoth, so never governed) and its own managed preferences (`policy`), which decide whether they may run.

pub mod extensions;
pub mod policy;
