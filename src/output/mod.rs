//! Outputs: everything that turns the model into text for people or programs.

pub mod eml;
pub mod escape;
