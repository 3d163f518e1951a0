//! UI state that needs no terminal: the session store, filters, sorting,
//! list scrolling and the rows of a timeline. All of it is tested directly.

pub mod filter;
pub mod list;
pub mod rows;
pub mod store;
pub mod teach;
