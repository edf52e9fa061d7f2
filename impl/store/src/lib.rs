//! `failover-store`: stable storage (being written).
