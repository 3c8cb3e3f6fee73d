//! `#[edri::work]`: registers a long-lived `Work` type so it can run in a worker process.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::{ImplItem, ItemImpl, Type};

use crate::diagnostics::span_range;

const USAGE: &str = "#[edri::work] goes on the `impl Work for MyType` block of a type deriving \
     `Serialize` and `Deserialize`: `impl Work for MyType { fn run(&mut self, worker: &mut Worker) { .. } }`";

/// Expands `#[edri::work] impl Work for MyType { ... }`: the impl, a method giving the registry
/// key and encoded value, and the registry entry the child process looks the key up in.
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(Span::call_site(), USAGE).to_compile_error();
            return quote!(#error #input);
        }
    };
    let error = if !args.is_empty() {
        Some(syn::Error::new_spanned(
            args,
            "#[edri::work] takes no arguments: the mode is chosen where the worker starts, \
             with `ctx.start_worker(work, Mode::Thread | Mode::Process)`",
        ))
    } else {
        match &item.trait_ {
            // `impl MyType`: point at the header, from `impl` to the type.
            None => {
                let (impl_token, generics, self_ty) =
                    (&item.impl_token, &item.generics, &item.self_ty);
                Some(syn::Error::new_spanned(
                    quote!(#impl_token #generics #self_ty),
                    USAGE,
                ))
            }
            Some((_, path, _))
                if path
                    .segments
                    .last()
                    .is_none_or(|segment| segment.ident != "Work") =>
            {
                Some(syn::Error::new_spanned(path, USAGE))
            }
            Some(_) if !item.generics.params.is_empty() => Some(syn::Error::new_spanned(
                &item.generics,
                "#[edri::work] does not support generic types: the worker process finds the type \
                 by its name, so it needs one concrete type",
            )),
            Some(_) => None,
        }
    };
    if let Some(error) = error {
        let error = error.to_compile_error();
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

    // Both uses of the type as a value that crosses to the child (encoded here, decoded there)
    // are calls through one trait, spanned at the type. A type that is not serde gives one error
    // with edri's message: `__process` names `__edri_run` first, as the registry entry does, so
    // the error is identical in both places (printed once) and implies the one of
    // `__edri_encode` (dropped).
    let check = format_ident!("__EdriWork{}", name);
    let (first, last) = span_range(&self_ty);
    let through = |method: &str| {
        let method = syn::Ident::new(method, last);
        let open = quote_spanned!(first=> <);
        let rest = quote_spanned!(last=> as #check>::#method);
        quote!(#open #self_ty #rest)
    };
    let (encode, run) = (through("__edri_encode"), through("__edri_run"));
    item.items.push(ImplItem::Verbatim(quote! {
        #[doc(hidden)]
        fn __process(
            &self,
        ) -> ::core::option::Option<(
            &'static str,
            ::core::result::Result<::std::vec::Vec<u8>, ::edri::WireError>,
        )> {
            let _ = #run;
            ::core::option::Option::Some((#key, #encode(self)))
        }
    }));
    let static_name = format_ident!("__EDRI_WORK_{}", name.to_uppercase());
    let message = "`{Self}` cannot run in a worker process: it is sent there, so it must \
                   implement serde's `Serialize` and `Deserialize`";
    quote! {
        #item

        #[doc(hidden)]
        #[diagnostic::on_unimplemented(
            message = #message,
            label = "#[edri::work] sends this type to a worker process",
            note = "derive `Serialize` and `Deserialize` for `{Self}` (with `#[serde(crate = \"edri::serde\")]` \
                    if you have no serde dependency of your own); a worker that only runs with `Mode::Thread` does not need #[edri::work]"
        )]
        trait #check {
            fn __edri_encode(
                &self,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::edri::WireError>;

            fn __edri_run(
                bytes: &[u8],
                worker: &mut ::edri::Worker,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::edri::Failure>;
        }

        #[diagnostic::do_not_recommend]
        impl<T> #check for T
        where
            T: ::edri::Work
                + ::edri::serde::Serialize
                + ::edri::serde::de::DeserializeOwned,
        {
            fn __edri_encode(
                &self,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::edri::WireError> {
                ::edri::__private::wire_encode(self)
            }

            fn __edri_run(
                bytes: &[u8],
                worker: &mut ::edri::Worker,
            ) -> ::core::result::Result<::std::vec::Vec<u8>, ::edri::Failure> {
                ::edri::__private::run_work::<T>(bytes, worker)
            }
        }

        #[::edri::__private::linkme::distributed_slice(::edri::__private::WORKS)]
        #[linkme(crate = ::edri::__private::linkme)]
        #[doc(hidden)]
        static #static_name: ::edri::__private::WorkEntry = ::edri::__private::WorkEntry {
            key: #key,
            run: #run,
        };
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;

    #[test]
    fn one_mistake_gives_one_error_and_keeps_the_impl() {
        for (args, item) in [
            (quote!(mode = "process"), quote!(impl Work for Echo {})),
            (quote!(), quote!(impl Echo {})),
            (quote!(), quote!(impl Default for Echo {})),
            (
                quote!(),
                quote!(
                    impl<T> Work for Echo<T> {}
                ),
            ),
        ] {
            let expanded = expand(args.clone(), item.clone()).to_string();
            assert_eq!(
                expanded.matches("compile_error").count(),
                1,
                "{args} {item}"
            );
            assert!(
                expanded.contains(&item.to_string()),
                "the impl is kept: {item}"
            );
            assert!(!expanded.contains("distributed_slice"), "{item}");
        }
    }

    #[test]
    fn a_work_impl_is_registered() {
        let expanded = expand(quote!(), quote!(impl Work for Echo {})).to_string();
        assert!(!expanded.contains("compile_error"));
        assert!(expanded.contains("__EDRI_WORK_ECHO"));
        assert!(expanded.contains("fn __process"));
    }
}
