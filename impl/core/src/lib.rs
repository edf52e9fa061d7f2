//! `failover-core`: the sans-IO RFC 8156 endpoint (being written).
