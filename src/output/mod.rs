//! Outputs: everything that turns the model into text for people or programs.

pub mod connections;
pub mod eml;
pub mod escape;
