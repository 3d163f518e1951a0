//! (in progress)
#[derive(Clone, Debug, Default)]
pub struct FlowConfig;
#[derive(Default)]
pub struct FlowTable;
