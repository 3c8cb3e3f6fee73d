//! Compile-time checks of edri's macros live in `tests/`.
