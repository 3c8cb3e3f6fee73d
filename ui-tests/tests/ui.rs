//! Compile-time checks of edri's macros: every misuse in `ui/fail` must fail with edri's own
//! message pointing at the offending token (pinned in the `.stderr` beside it), and every accepted
//! form in `ui/pass` must compile and run.
//!
//! After changing a message, bless the expectations with
//! `TRYBUILD=overwrite cargo test -p ui-tests`, then read every changed `.stderr`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
