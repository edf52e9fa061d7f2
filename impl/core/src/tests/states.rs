//! Per-state unit tests and the "Transition out of X" tables.

use super::util::*;
use crate::*;
