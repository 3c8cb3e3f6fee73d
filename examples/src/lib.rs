//! The runnable examples are in this folder: `cargo run --example NAME`.
