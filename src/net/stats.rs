//! (in progress)
#[derive(Clone, Debug, Default)]
pub struct NetStats;
