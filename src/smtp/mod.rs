//! The SMTP protocol: fed bytes per direction with timestamps, emits typed
//! events. Never sees packets, sockets or terminals.

pub mod message;
