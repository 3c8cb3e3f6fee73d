//! `#[work]`: registers a long-lived `Work` type so it can run in a worker process.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::{ImplItem, ItemImpl, Type};

/// Expands `#[work] impl Work for MyType { ... }`: the impl, a method giving the registry key
/// and encoded value, and the registry entry the child process looks the key up in.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let usage =
        "#[work] goes on `impl Work for MyType { fn run(&mut self, worker: &mut Worker) { .. } }`";
    let mut item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(Span::call_site(), usage).to_compile_error();
            return quote!(#error #input);
        }
    };
    if !args.is_empty() {
        let error = syn::Error::new_spanned(args, "#[work] takes no arguments").to_compile_error();
        return quote!(#error #item);
    }
    let is_work = item
        .trait_
        .as_ref()
        .and_then(|(_, path, _)| path.segments.last())
        .is_some_and(|segment| segment.ident == "Work");
    if !is_work || !item.generics.params.is_empty() {
        let error = syn::Error::new_spanned(&item.self_ty, usage).to_compile_error();
        return quote!(#error #item);
    }
    let self_ty = item.self_ty.clone();
    let name = match &*self_ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map(|segment| segment.ident.to_string()),
        _ => None,
    }
    .unwrap_or_else(|| self_ty.to_token_stream().to_string().replace(' ', ""));
    let key_suffix = format!("::{name}");
    let key = quote!(::core::concat!(::core::module_path!(), #key_suffix));
    item.items.push(ImplItem::Verbatim(quote! {
        #[doc(hidden)]
        fn __process(
            &self,
        ) -> ::core::option::Option<(
            &'static str,
            ::core::result::Result<::std::vec::Vec<u8>, ::edri::__private::postcard::Error>,
        )> {
            ::core::option::Option::Some((#key, ::edri::__private::postcard::to_stdvec(self)))
        }
    }));
    let static_name = format_ident!("__EDRI_WORK_{}", name.to_uppercase());
    quote! {
        #item

        #[::edri::__private::linkme::distributed_slice(::edri::__private::WORKS)]
        #[linkme(crate = ::edri::__private::linkme)]
        #[doc(hidden)]
        static #static_name: ::edri::__private::WorkEntry = ::edri::__private::WorkEntry {
            key: #key,
            run: ::edri::__private::run_work::<#self_ty>,
        };
    }
}
