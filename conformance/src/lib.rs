//! `failover-conformance`: trace schema and replay harness (issue 4; not yet written).
