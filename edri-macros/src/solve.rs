//! `#[solve(...)]`: its arguments, and the error it gives outside a `#[manager]` block.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Attribute, LitInt, LitStr, Meta};

use crate::diagnostics::{skip_value, Errors};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Direction {
    Req,
    Res,
}

/// Where a solver runs.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    Function,
    Thread,
    Process,
}

impl Mode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Mode::Function => "function",
            Mode::Thread => "thread",
            Mode::Process => "process",
        }
    }
}

/// The arguments of one `#[solve(...)]` attribute.
pub(crate) struct SolveArgs {
    pub(crate) direction: Direction,
    pub(crate) priority: Option<(i32, Span)>,
    pub(crate) mode: (Mode, Span),
    /// The timeout in nanoseconds, and where it was written.
    pub(crate) timeout: Option<(u64, Span)>,
}

const NEEDS_DIRECTION: &str = "#[solve] needs a direction: `#[solve(req)]` for events arriving, \
     `#[solve(res)]` for answers to requests this manager sent";

/// Parses `#[solve(req | res, mode = "...", priority = N)]`. Every mistake is reported; the
/// solver is kept only when there was none, so a bad argument gives one error and no guesses.
pub(crate) fn parse(attr: &Attribute, errors: &mut Errors) -> Option<SolveArgs> {
    if !matches!(attr.meta, Meta::List(_)) {
        errors.add_spanned(attr, NEEDS_DIRECTION);
        return None;
    }
    let mut direction = None;
    let mut priority = None;
    let mut mode = (Mode::Function, Span::call_site());
    let mut timeout = None;
    let mut failed = false;
    let result = attr.parse_nested_meta(|meta| {
        let path = &meta.path;
        if path.is_ident("req") || path.is_ident("res") {
            if direction.is_some() {
                errors.push(meta.error("a solver has one direction: `req` or `res`"));
                failed = true;
            } else {
                direction = Some(if path.is_ident("req") {
                    Direction::Req
                } else {
                    Direction::Res
                });
            }
        } else if path.is_ident("mode") {
            let written: LitStr = meta.value()?.parse()?;
            let span = written.span();
            match written.value().as_str() {
                "function" => mode = (Mode::Function, span),
                "thread" => mode = (Mode::Thread, span),
                "process" => mode = (Mode::Process, span),
                other => {
                    errors.add(
                        span,
                        format!(
                            "unknown solver mode `{other}`; expected \"function\", \"thread\" or \"process\""
                        ),
                    );
                    failed = true;
                }
            }
        } else if path.is_ident("timeout") {
            let value: LitStr = meta.value()?.parse()?;
            match parse_duration(&value.value()) {
                Some(nanos) if nanos > 0 => timeout = Some((nanos, value.span())),
                _ => {
                    errors.add(
                        value.span(),
                        format!(
                            "invalid timeout `{}`; expected a duration above zero such as \"30s\", \"500ms\" or \"2m\"",
                            value.value()
                        ),
                    );
                    failed = true;
                }
            }
        } else if path.is_ident("priority") {
            let value: LitInt = meta.value()?.parse()?;
            priority = Some((value.base10_parse::<i32>()?, path.span()));
        } else {
            errors.push(meta.error(format!(
                "unknown #[solve] argument `{}`; expected `req`, `res`, `mode = \"...\"`, `priority = N` or `timeout = \"...\"`",
                path.to_token_stream().to_string().replace(' ', "")
            )));
            failed = true;
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(error) = result {
        errors.push(error);
        return None;
    }
    let Some(direction) = direction else {
        if !failed {
            errors.add_spanned(attr, NEEDS_DIRECTION);
        }
        return None;
    };
    (!failed).then_some(SolveArgs {
        direction,
        priority,
        mode,
        timeout,
    })
}

/// `"30"` or `"2.5s"` (seconds), `"500ms"`, `"2m"`: the nanoseconds, or `None`.
fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 1e6)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e9)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e9)
    } else {
        (text, 1e9)
    };
    let value: f64 = number.trim().parse().ok()?;
    let nanos = value * scale;
    (value.is_finite() && nanos >= 0.0 && nanos < u64::MAX as f64).then_some(nanos as u64)
}

/// `#[solve]` reached on its own: `#[manager]` consumes these attributes, so this one is outside
/// a manager.
pub(crate) fn expand_outside_manager(_args: TokenStream, input: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "#[solve] only works on a method inside an impl block marked #[manager]",
    )
    .to_compile_error();
    quote!(#error #input)
}
