//! `#[manager(...)]`: parse the impl block and its `#[solve]` functions -> model -> validate ->
//! expand into an `edri::Manager` implementation.
//!
//! - [`parse`]: the arguments of `#[manager]`, and the functions of the block with their
//!   `#[solve]` arguments (the attributes are taken off) and their parameters as written;
//! - [`model`]: the typed manager, its solvers and hooks;
//! - [`validate`]: every check, each mistake reported with its span; function, thread and
//!   process solvers go through one check;
//! - [`expand`]: the tokens, one dispatch arm per solver whatever its mode.

mod expand;
mod model;
mod parse;
mod validate;

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::ItemImpl;

use crate::diagnostics::Errors;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "#[manager] goes on an impl block: `#[manager] impl MyManager { ... }`",
            )
            .to_compile_error();
            return quote!(#error #input);
        }
    };
    let mut errors = Errors::default();
    let args = parse::args(args, &mut errors);
    let functions = parse::functions(&mut item, &mut errors);
    let manager = validate::manager(&item, args, functions, &mut errors);
    let implementation = manager.as_ref().map(expand::manager);
    let errors = errors.to_compile_errors();
    // The user's block, without the `#[solve]` attributes, is emitted whatever the mistakes.
    quote! {
        #item
        #implementation
        #errors
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;

    fn expand_impl(args: proc_macro2::TokenStream, solver: proc_macro2::TokenStream) -> String {
        expand(
            args,
            quote! {
                impl Pinger {
                    #solver

                    #[solve(req)]
                    async fn fine(&mut self, event: Fine) {}
                }
            },
        )
        .to_string()
    }

    #[test]
    fn one_mistake_gives_one_error_and_keeps_the_manager() {
        for (args, solver) in [
            (
                quote!(),
                quote!(
                    #[solve]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "fiber")]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, retries = 3)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, priority = 1)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req)]
                    async fn a(self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req)]
                    async fn a(&mut self) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req)]
                    async fn a(&mut self, event: Fine) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(res)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    fn after_start(&mut self) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    async fn a(event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "process")]
                    fn a(event: &A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "process")]
                    fn a(event: A, ctx: &Context) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    fn a(event: A, reply: Responder<A>) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    fn a(event: A, worker: &mut Worker, again: &mut Worker) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(res, mode = "process")]
                    fn a(event: A, answer: Result<(), Failure>) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, timeout = "30s")]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "process", timeout = "soon")]
                    fn a(event: A) {}
                ),
            ),
            (
                quote!(workers = 4, queue = "priority"),
                quote!(
                    #[solve(req, priority = 1)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
        ] {
            let expanded = expand_impl(args.clone(), solver.clone());
            assert_eq!(
                expanded.matches("compile_error").count(),
                1,
                "{args} {solver}"
            );
            assert!(
                expanded.contains("impl :: edri :: Manager for Pinger"),
                "{solver}"
            );
            assert!(!expanded.contains("# [solve"), "{solver}");
        }
    }

    #[test]
    fn a_trait_impl_gets_no_manager() {
        let expanded = expand(quote!(), quote!(impl Default for Pinger {})).to_string();
        assert_eq!(expanded.matches("compile_error").count(), 1);
        assert!(!expanded.contains("impl :: edri :: Manager"));
    }
}
