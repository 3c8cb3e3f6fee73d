//! From tokens to the raw parts of a manager: the arguments of `#[manager(...)]`, and each
//! function of the impl block with its `#[solve]` arguments and its parameters as written.
//! Whether the parts make sense together is `validate`'s business.

use proc_macro2::TokenStream;
use quote::ToTokens;
use syn::{FnArg, ImplItem, ItemImpl, LitInt, LitStr, PatType, Signature, Type};

use super::model::{last_segment_is, Args, Queue};
use crate::diagnostics::{skip_value, Errors};
use crate::solve::{self, SolveArgs};

/// Parses `#[manager(queue = "...", capacity = N, max_workers = N, name = "...")]`. A wrong
/// value or an unknown argument is reported and skipped, so the others (the queue above all)
/// still count.
pub(super) fn args(args: TokenStream, errors: &mut Errors) -> Args {
    let mut parsed = Args {
        queue: Queue::Fifo,
        capacity: None,
        max_workers: None,
        name: None,
    };
    let parser = syn::meta::parser(|meta| {
        let path = &meta.path;
        if path.is_ident("queue") {
            let queue: LitStr = meta.value()?.parse()?;
            parsed.queue = match queue.value().as_str() {
                "fifo" => Queue::Fifo,
                "priority" => Queue::Priority,
                other => {
                    errors.add(
                        queue.span(),
                        format!("unknown queue `{other}`; expected \"fifo\" or \"priority\""),
                    );
                    parsed.queue
                }
            };
        } else if path.is_ident("capacity") || path.is_ident("max_workers") {
            let value: LitInt = meta.value()?.parse()?;
            let number = value.base10_parse::<usize>()?;
            if number == 0 {
                errors.add(
                    value.span(),
                    format!("`{}` must be at least 1", path.to_token_stream()),
                );
                return Ok(());
            }
            if path.is_ident("capacity") {
                parsed.capacity = Some(number);
            } else {
                parsed.max_workers = Some(number);
            }
        } else if path.is_ident("name") {
            let name: LitStr = meta.value()?.parse()?;
            if name.value().trim().is_empty() {
                errors.add(name.span(), "a manager name cannot be empty");
            } else {
                parsed.name = Some(name.value());
            }
        } else {
            errors.push(meta.error(format!(
                "unknown #[manager] argument `{}`; expected `queue = \"fifo\" | \"priority\"`, `capacity = N`, \
                 `max_workers = N` or `name = \"...\"`",
                path.to_token_stream().to_string().replace(' ', "")
            )));
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push(error);
    }
    parsed
}

/// What a function of the impl block is to the manager.
pub(super) enum Role {
    /// A `#[solve]` function whose arguments parsed.
    Solver(SolveArgs),
    /// `after_start` or `before_stop`, without `#[solve]`.
    Hook,
}

/// A function of the impl block that the manager uses, as written.
pub(super) struct Function {
    pub(super) sig: Signature,
    pub(super) role: Role,
}

/// Takes the `#[solve]` attributes off the functions of `item` (they are `#[manager]`'s to
/// read) and returns the functions that are solvers or hooks, in order. A function with a
/// `#[solve]` that does not parse is reported and left out.
pub(super) fn functions(item: &mut ItemImpl, errors: &mut Errors) -> Vec<Function> {
    let mut functions = Vec::new();
    for impl_item in &mut item.items {
        let ImplItem::Fn(function) = impl_item else {
            continue;
        };
        let (solve_attrs, others): (Vec<_>, Vec<_>) = std::mem::take(&mut function.attrs)
            .into_iter()
            .partition(|attr| {
                attr.path()
                    .segments
                    .last()
                    .is_some_and(|segment| segment.ident == "solve")
            });
        function.attrs = others;
        if let Some(extra) = solve_attrs.get(1) {
            errors.add_spanned(extra, "a function has one #[solve] attribute");
        }
        let role = match solve_attrs.first() {
            Some(attr) => match solve::parse(attr, errors) {
                Some(args) => Role::Solver(args),
                None => continue,
            },
            None if is_hook(&function.sig.ident) => Role::Hook,
            None => continue,
        };
        functions.push(Function {
            sig: function.sig.clone(),
            role,
        });
    }
    functions
}

/// Whether a function without `#[solve]` is a lifecycle hook, by its name.
fn is_hook(name: &syn::Ident) -> bool {
    name == "after_start" || name == "before_stop"
}

/// What a typed parameter looks like, before its place in the signature gives it a meaning.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Written {
    /// `&Context`.
    Context,
    /// `&mut Worker` (any reference to a `Worker`).
    Worker,
    /// `Responder<..>`.
    Responder,
    /// Any other reference.
    Borrowed,
    /// Any other type.
    Owned,
}

/// The typed parameters of a signature (not `self`), each with how it is written.
pub(super) fn params(sig: &Signature) -> impl Iterator<Item = (&PatType, Written)> {
    sig.inputs.iter().filter_map(|input| {
        let FnArg::Typed(typed) = input else {
            return None;
        };
        let written = match &*typed.ty {
            Type::Reference(reference) if last_segment_is(&reference.elem, "Context") => {
                Written::Context
            }
            Type::Reference(reference) if last_segment_is(&reference.elem, "Worker") => {
                Written::Worker
            }
            ty if last_segment_is(ty, "Responder") => Written::Responder,
            Type::Reference(_) => Written::Borrowed,
            _ => Written::Owned,
        };
        Some((typed, written))
    })
}

/// The first and last token of the return type (the function's name when there is none).
pub(super) fn returns(sig: &Signature) -> (proc_macro2::Span, proc_macro2::Span) {
    match &sig.output {
        syn::ReturnType::Default => (sig.ident.span(), sig.ident.span()),
        syn::ReturnType::Type(_, ty) => crate::diagnostics::span_range(ty),
    }
}

/// `E` in `Responder<E>`.
pub(super) fn responder_event(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let syn::PathArguments::AngleBracketed(arguments) = &path.path.segments.last()?.arguments
    else {
        return None;
    };
    match arguments.args.first()? {
        syn::GenericArgument::Type(event) => Some(event),
        _ => None,
    }
}
