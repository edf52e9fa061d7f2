//! The event loop (being written).
