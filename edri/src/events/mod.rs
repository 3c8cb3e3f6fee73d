//! Events that come with edri.

pub mod test;
