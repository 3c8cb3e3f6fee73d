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

/// The arguments of one `#[solve(...)]` attribute.
pub(crate) struct SolveArgs {
    pub(crate) direction: Direction,
    pub(crate) priority: Option<(i32, Span)>,
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
            let mode: LitStr = meta.value()?.parse()?;
            match mode.value().as_str() {
                "function" => {}
                "thread" | "process" => {
                    errors.add(
                        mode.span(),
                        format!(
                            "mode = \"{}\" is not available yet in this version of edri; \
                             use mode = \"function\" (the default)",
                            mode.value()
                        ),
                    );
                    failed = true;
                }
                other => {
                    errors.add(
                        mode.span(),
                        format!(
                            "unknown solver mode `{other}`; expected \"function\", \"thread\" or \"process\""
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
                "unknown #[solve] argument `{}`; expected `req`, `res`, `mode = \"...\"` or `priority = N`",
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
    })
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
