//! Insight (work in progress): hot topics from the text of work orders and letters, and early
//! warnings of bursts, computed incrementally in event time over everything stored.

pub mod segment;
