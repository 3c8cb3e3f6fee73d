//! The serializability check of event fields.
//!
//! Every event crosses processes, machines and the API, so every field must implement serde's
//! `Serialize` and `Deserialize`. A field that does not would make serde's derive fail several
//! times with serde's own messages (once per trait and per generated function). Instead, each
//! field is serialized through two functions generated for its concrete type, which pick serde
//! when the type supports it and a never-called stand-in when it does not (method resolution
//! prefers `__EdriProbe<T>` to `&__EdriProbe<T>`, "autoref specialization"), and one check call
//! gives the only error, with edri's message, at the field's type.
//!
//! The helpers are emitted once per event, in an anonymous `const` block; they could move to
//! `edri::__private::wire`, leaving only the two functions and the check per field here.

use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::Field;

use crate::serde_attrs;
use crate::shape::Shape;

/// The fields of one struct with their serde attributes, and the functions those attributes name.
pub(crate) struct WireFields {
    pub(crate) fields: Vec<TokenStream>,
    functions: TokenStream,
}

/// Routes each field of `owner` through the check, unless the user chose how to serialize it
/// (`#[serde(with = "...")]` and the like) or serde skips it.
pub(crate) fn fields(owner: &Ident, fields: &[Field]) -> WireFields {
    let mut functions = TokenStream::new();
    let fields = fields
        .iter()
        .enumerate()
        .map(|(index, field)| {
            let serde = serde_attrs::field(&field.attrs);
            if serde.custom || serde.skip {
                return field.to_token_stream();
            }
            let base = field
                .ident
                .as_ref()
                .map_or_else(|| index.to_string(), |ident| ident.unraw().to_string());
            let serialize = format_ident!("__edri_serialize_{}", base);
            let deserialize = format_ident!("__edri_deserialize_{}", base);
            let ty = &field.ty;
            let span = ty.span();
            let probe = quote_spanned!(span=> (&__EdriProbe::<#ty>(::core::marker::PhantomData)));
            let check = quote_spanned!(span=> #probe.wire_check());
            // Prefixed names, so the user's items (a `const value`, a type `S`) cannot clash.
            let value = Ident::new("__edri_value", Span::call_site());
            let serializer = Ident::new("__edri_serializer", Span::call_site());
            let deserializer = Ident::new("__edri_deserializer", Span::call_site());
            let s = Ident::new("__EdriS", Span::call_site());
            let d = Ident::new("__EdriD", Span::call_site());
            functions.extend(quote! {
                #[doc(hidden)]
                fn #serialize<#s: ::edri::serde::Serializer>(
                    #value: &#ty,
                    #serializer: #s,
                ) -> ::core::result::Result<#s::Ok, #s::Error> {
                    #check;
                    #probe.wire_serialize(#value, #serializer)
                }

                #[doc(hidden)]
                fn #deserialize<'__edri_de, #d: ::edri::serde::Deserializer<'__edri_de>>(
                    #deserializer: #d,
                ) -> ::core::result::Result<#ty, #d::Error> {
                    #probe.wire_deserialize(#deserializer)
                }
            });
            let serialize = format!("{owner}::{serialize}");
            let deserialize = format!("{owner}::{deserialize}");
            // serde fills a missing `Option` field with `None`, but not through
            // `deserialize_with`: `default` keeps that rule.
            let default = (Shape::of(ty).is_option() && !serde.default).then(|| quote!(default,));
            let attr = quote_spanned! {span=>
                #[serde(#default serialize_with = #serialize, deserialize_with = #deserialize)]
            };
            quote!(#attr #field)
        })
        .collect();
    let functions = if functions.is_empty() {
        functions
    } else {
        quote! {
            impl #owner {
                #functions
            }
        }
    };
    WireFields { fields, functions }
}

/// The helpers and the functions named by the fields' serde attributes, in one anonymous block.
pub(crate) fn support<'a>(structs: impl IntoIterator<Item = &'a WireFields>) -> TokenStream {
    let functions: TokenStream = structs
        .into_iter()
        .map(|wire| wire.functions.clone())
        .collect();
    if functions.is_empty() {
        return functions;
    }
    quote! {
        #[allow(dead_code, unreachable_code, clippy::all)]
        const _: () = {
            // Items only: a `use` here would shadow the user's names in the field types below.
            struct __EdriProbe<T>(::core::marker::PhantomData<T>);

            /// Chosen when the field type is serializable: serde does the work.
            trait __EdriWire<T> {
                fn wire_serialize<S: ::edri::serde::Serializer>(&self, __edri_value: &T, __edri_serializer: S) -> ::core::result::Result<S::Ok, S::Error>;
                fn wire_deserialize<'de, D: ::edri::serde::Deserializer<'de>>(&self, __edri_deserializer: D) -> ::core::result::Result<T, D::Error>;
                fn wire_check(&self) {}
            }

            impl<T> __EdriWire<T> for __EdriProbe<T>
            where
                T: ::edri::serde::Serialize + ::edri::serde::de::DeserializeOwned,
            {
                fn wire_serialize<S: ::edri::serde::Serializer>(&self, __edri_value: &T, __edri_serializer: S) -> ::core::result::Result<S::Ok, S::Error> {
                    ::edri::serde::Serialize::serialize(__edri_value, __edri_serializer)
                }

                fn wire_deserialize<'de, D: ::edri::serde::Deserializer<'de>>(&self, __edri_deserializer: D) -> ::core::result::Result<T, D::Error> {
                    <T as ::edri::serde::Deserialize>::deserialize(__edri_deserializer)
                }
            }

            /// Chosen otherwise, so serde's derive compiles; `wire_check` then gives the error.
            trait __EdriNoWire<T> {
                fn wire_serialize<S: ::edri::serde::Serializer>(&self, _: &T, _: S) -> ::core::result::Result<S::Ok, S::Error> {
                    ::core::unreachable!()
                }
                fn wire_deserialize<'de, D: ::edri::serde::Deserializer<'de>>(&self, _: D) -> ::core::result::Result<T, D::Error> {
                    ::core::unreachable!()
                }
                fn wire_check(&self)
                where
                    T: SerializeAndDeserialize,
                {
                }
            }

            impl<T> __EdriNoWire<T> for &__EdriProbe<T> {}

            #[diagnostic::on_unimplemented(
                message = "event field type `{Self}` cannot be serialized",
                label = "events cross processes, machines and the API, so every field must implement serde's `Serialize` and `Deserialize`",
                note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}`, or use a type that has them"
            )]
            trait SerializeAndDeserialize {}

            // Not recommended, so the error names this trait (and edri's message), not serde's.
            #[diagnostic::do_not_recommend]
            impl<T> SerializeAndDeserialize for T where
                T: ::edri::serde::Serialize + ::edri::serde::de::DeserializeOwned
            {
            }

            #functions
        };
    }
}
