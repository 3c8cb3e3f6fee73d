//! `#[event(...)]`: parse -> model -> validate -> expand.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, ToTokens};
use syn::ext::IdentExt;
use syn::spanned::Spanned;
use syn::{Attribute, Data, DeriveInput, Field, Fields, LitStr, Type};

use crate::diagnostics::{skip_value, Errors};
use crate::rest::Route;
use crate::serde_attrs;
use crate::shape::Shape;
use crate::wire;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Notification,
    Request,
}

#[derive(Default)]
struct Args {
    kind: Option<(Kind, Span)>,
    name: Option<LitStr>,
    response: Option<Type>,
    shared: Option<Span>,
    rest: Option<LitStr>,
    ws: Option<Span>,
    /// An argument was unknown, unavailable or malformed (and already reported).
    unavailable: bool,
}

/// Parses the arguments. An unknown or unavailable argument is reported and skipped, so the
/// others (the kind above all) still count and one mistake gives one error.
fn parse_args(args: TokenStream, errors: &mut Errors) -> Args {
    let mut parsed = Args::default();
    let parser = syn::meta::parser(|meta| {
        let path = &meta.path;
        let kind = if path.is_ident("notification") {
            Some(Kind::Notification)
        } else if path.is_ident("request") {
            Some(Kind::Request)
        } else {
            None
        };
        if let Some(kind) = kind {
            if parsed.kind.is_some() {
                errors.push(meta.error("an event has one kind: `notification` or `request`"));
            } else {
                parsed.kind = Some((kind, path.span()));
            }
        } else if path.is_ident("tunnel") {
            errors.push(meta.error(
                "tunnel events are not available yet in this version of edri; \
                 use a `request` (answered once) or `notification`s",
            ));
            parsed.unavailable = true;
        } else if path.is_ident("name") {
            parsed.name = Some(meta.value()?.parse()?);
        } else if path.is_ident("response") {
            parsed.response = Some(meta.value()?.parse()?);
        } else if path.is_ident("shared") {
            parsed.shared = Some(path.span());
        } else if path.is_ident("rest") {
            parsed.rest = Some(meta.value()?.parse()?);
        } else if path.is_ident("ws") {
            parsed.ws = Some(path.span());
        } else {
            errors.push(meta.error(format!(
                "unknown #[event] argument `{}`; expected `notification`, `request`, `name = \"...\"`, \
                 `response = Type`, `shared`, `rest = \"METHOD /path\"` or `ws`",
                path.to_token_stream().to_string().replace(' ', "")
            )));
            parsed.unavailable = true;
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push(error);
        parsed.unavailable = true;
    }
    parsed
}

/// The checked model of one event.
struct Model {
    input: DeriveInput,
    kind: Kind,
    name: String,
    request_fields: Vec<Field>,
    response_fields: Vec<Field>,
    response: Option<Type>,
    shared: bool,
    rest: Option<Route>,
    ws: bool,
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut input: DeriveInput = match syn::parse2(input.clone()) {
        Ok(input) => input,
        Err(_) => {
            // Not a struct, enum or union at all: let the error point at the attribute.
            let error = syn::Error::new(
                Span::call_site(),
                "#[event] goes on a struct with named fields",
            )
            .to_compile_error();
            return quote!(#input #error);
        }
    };
    let mut errors = Errors::default();
    let args = parse_args(args, &mut errors);
    let model = build(&mut input, args, &mut errors);
    let errors = errors.to_compile_errors();
    match model {
        // A mistake that leaves the event usable (a bad `rest`, a misplaced #[response], ...)
        // still gives the whole event, so code using it does not fail a second time.
        Some(model) => {
            let expansion = model.expand();
            quote!(#expansion #errors)
        }
        None => quote!(#input #errors),
    }
}

/// Checks the input and the arguments. Returns no model when the item cannot be an event at all
/// (an enum, a tuple struct, no kind): then only the user's item and the errors are emitted.
fn build(input: &mut DeriveInput, args: Args, errors: &mut Errors) -> Option<Model> {
    let fields = match &mut input.data {
        Data::Struct(data) => match &mut data.fields {
            Fields::Named(named) => Some(named),
            Fields::Unnamed(unnamed) => {
                errors.add(
                    unnamed.span(),
                    "#[event] needs named fields: events travel as JSON objects and by name; \
                     write `struct Name { field: Type }`",
                );
                None
            }
            Fields::Unit => {
                errors.add(
                    input.ident.span(),
                    format!(
                        "#[event] needs braces: write `struct {} {{}}` for an event without fields",
                        input.ident
                    ),
                );
                None
            }
        },
        Data::Enum(data) => {
            errors.add(
                data.enum_token.span,
                "#[event] goes on a struct with named fields, not on an enum",
            );
            None
        }
        Data::Union(data) => {
            errors.add(
                data.union_token.span,
                "#[event] goes on a struct with named fields, not on a union",
            );
            None
        }
    };
    let fields = fields?;
    if !input.generics.params.is_empty() {
        errors.add_spanned(
            &input.generics,
            "#[event] does not support generic structs: an event has one wire name and one type",
        );
        return None;
    }
    let Some((kind, _)) = args.kind else {
        // An unknown argument may have been meant as the kind: that error is enough.
        if !args.unavailable {
            errors.add(
                Span::call_site(),
                "#[event] needs a kind: `#[event(notification)]` or `#[event(request)]`",
            );
        }
        return None;
    };

    let mut request_fields = Vec::new();
    let mut response_fields = Vec::new();
    for field in std::mem::take(&mut fields.named) {
        let (marker, attrs): (Vec<Attribute>, Vec<Attribute>) = field
            .attrs
            .iter()
            .cloned()
            .partition(|attr| attr.path().is_ident("response"));
        let mut field = field;
        field.attrs = attrs;
        match marker.first() {
            Some(attr) if kind == Kind::Notification => {
                errors.add_spanned(
                    attr,
                    "#[response] fields belong to requests; a notification has no answer",
                );
                request_fields.push(field);
            }
            Some(attr) if args.response.is_some() => {
                errors.add_spanned(
                    attr,
                    "use either `response = Type` or #[response] fields, not both",
                );
                request_fields.push(field);
            }
            Some(_) => response_fields.push(field),
            None => request_fields.push(field),
        }
    }
    // The user's struct without the #[response] markers, for the error path.
    fields.named = request_fields
        .iter()
        .chain(&response_fields)
        .cloned()
        .collect();

    let mut response = args.response;
    let mut rest = args.rest;
    if kind == Kind::Notification {
        if let Some(response) = response.take() {
            errors.add_spanned(
                &response,
                "`response = Type` belongs to requests; a notification has no answer",
            );
        }
        if let Some(rest) = rest.take() {
            errors.add(
                rest.span(),
                "`rest` works only on requests: a REST call needs an answer; \
                 use `ws` to push notifications over WebSocket",
            );
        }
    }
    let rest = rest
        .as_ref()
        .and_then(|rest| Route::check(rest, &request_fields, &input.ident, errors));

    let name = match &args.name {
        Some(name) if name.value().trim().is_empty() => {
            errors.add(name.span(), "an event name cannot be empty");
            kebab_case(&input.ident.to_string())
        }
        Some(name) => name.value(),
        None => kebab_case(&input.ident.to_string()),
    };
    Some(Model {
        input: input.clone(),
        kind,
        name,
        request_fields,
        response_fields,
        response,
        shared: args.shared.is_some(),
        ws: args.ws.is_some() || rest.is_some(),
        rest,
    })
}

/// `FileUploaded` -> `file-uploaded`, `HTTPServer` -> `http-server`.
fn kebab_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let after_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let ends_acronym = i > 0
                && chars[i - 1].is_uppercase()
                && chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if after_lower || ends_acronym {
                out.push('-');
            }
            out.extend(c.to_lowercase());
        } else if c == '_' {
            out.push('-');
        } else {
            out.push(c);
        }
    }
    out
}

/// The `FieldInfo` list of some fields: name, type as written, shape, whether serde fills it
/// in when it is missing (`container_default`: the struct says so for every field), and doc
/// comment. A field serde skips is not on the wire, so it is not listed.
fn field_infos(fields: &[Field], container_default: bool) -> TokenStream {
    let infos = fields.iter().filter_map(|field| {
        let name = field.ident.as_ref()?.unraw().to_string();
        let serde = serde_attrs::field(&field.attrs);
        if serde.skip {
            return None;
        }
        let ty = field.ty.to_token_stream().to_string().replace(' ', "");
        let shape = Shape::of(&field.ty);
        let optional = shape.is_option() || serde.default || container_default;
        let shape = shape.to_value();
        let doc = doc_text(&field.attrs);
        Some(quote! {
            ::edri::FieldInfo {
                name: #name,
                ty: #ty,
                shape: #shape,
                optional: #optional,
                doc: #doc,
            }
        })
    });
    quote!(&[#(#infos),*])
}

/// The text of `///` comments, lines joined by newlines.
fn doc_text(attrs: &[Attribute]) -> String {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(syn::MetaNameValue {
                value:
                    syn::Expr::Lit(syn::ExprLit {
                        lit: syn::Lit::Str(text),
                        ..
                    }),
                ..
            }) => Some(text.value().trim().to_owned()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The derives an event needs, minus those the user already wrote.
fn derives(attrs: &[Attribute]) -> TokenStream {
    let mut written = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("derive")) {
        let _ = attr.parse_nested_meta(|meta| {
            if let Some(last) = meta.path.segments.last() {
                written.push(last.ident.to_string());
            }
            Ok(())
        });
    }
    let wanted = [
        ("Clone", quote!(::core::clone::Clone)),
        ("Debug", quote!(::core::fmt::Debug)),
        ("Serialize", quote!(::edri::serde::Serialize)),
        ("Deserialize", quote!(::edri::serde::Deserialize)),
    ];
    let missing = wanted
        .iter()
        .filter(|(name, _)| !written.iter().any(|w| w == name))
        .map(|(_, path)| path);
    quote! {
        #[derive(#(#missing),*)]
        #[serde(crate = "::edri::serde")]
    }
}

impl Model {
    fn expand(self) -> TokenStream {
        let DeriveInput {
            attrs, vis, ident, ..
        } = &self.input;
        let event_derives = derives(attrs);
        let request_wire = wire::fields(ident, &self.request_fields);
        let request_fields = &request_wire.fields;
        let mut response_wire = None;
        let name = &self.name;
        let shared = self.shared;

        let mut extra = TokenStream::new();
        let (kind, kind_type) = match self.kind {
            Kind::Notification => {
                extra.extend(quote!(impl ::edri::Notification for #ident {}));
                (
                    quote!(Notification),
                    quote!(::edri::__private::NotificationKind),
                )
            }
            Kind::Request => {
                let response = match &self.response {
                    Some(response) => response.to_token_stream(),
                    None if self.response_fields.is_empty() => quote!(()),
                    None => {
                        let response_ident = format_ident!("{}Response", ident);
                        let wire = wire::fields(&response_ident, &self.response_fields);
                        let fields = &wire.fields;
                        let doc = format!(
                            "The response of [`{ident}`], generated from its `#[response]` fields."
                        );
                        let response_derives = derives(&[]);
                        extra.extend(quote! {
                            #[doc = #doc]
                            #response_derives
                            #vis struct #response_ident {
                                #(#fields),*
                            }
                        });
                        response_wire = Some(wire);
                        response_ident.to_token_stream()
                    }
                };
                extra.extend(quote! {
                    impl ::edri::Request for #ident {
                        type Response = #response;
                    }
                });
                (
                    quote!(Request),
                    quote!(::edri::__private::RequestKind<#response>),
                )
            }
        };
        let info = self.info();
        let wire_support = wire::support(std::iter::once(&request_wire).chain(&response_wire));

        quote! {
            #(#attrs)*
            #event_derives
            #vis struct #ident {
                #(#request_fields),*
            }

            impl ::edri::Event for #ident {
                const NAME: &'static str = #name;
                const KIND: ::edri::EventKind = ::edri::EventKind::#kind;
                const SHARED: bool = #shared;
                type Kind = #kind_type;
            }

            #extra

            #wire_support

            ::edri::__private::inventory::submit! {
                #info
            }
        }
    }

    /// The event's registration: `EventInfo::new` fills in what the type tells (name, kind,
    /// codecs), each `with_*` call what only the declaration knows.
    fn info(&self) -> TokenStream {
        let ident = &self.input.ident;
        let type_name = ident.to_string();
        let mut info = quote! {
            ::edri::EventInfo::new::<#ident>(
                ::core::concat!(::core::module_path!(), "::", #type_name),
                ::core::concat!(::core::file!(), ":", ::core::line!()),
            )
        };
        match &self.rest {
            Some(route) => {
                let route = route.to_value();
                info.extend(quote!(.with_rest(#route)));
            }
            None if self.ws => info.extend(quote!(.with_ws())),
            None => {}
        }
        let doc = doc_text(&self.input.attrs);
        if !doc.is_empty() {
            info.extend(quote!(.with_doc(#doc)));
        }
        let container_default = serde_attrs::container(&self.input.attrs).default;
        if !self.request_fields.is_empty() {
            let fields = field_infos(&self.request_fields, container_default);
            info.extend(quote!(.with_fields(#fields)));
        }
        // A request without a response type or fields keeps the `()` of `EventInfo::new`.
        let response = match &self.response {
            Some(response) => {
                let written = response.to_token_stream().to_string().replace(' ', "");
                Some((written, quote!(&[])))
            }
            None if self.response_fields.is_empty() => None,
            None => Some((
                format!("{ident}Response"),
                field_infos(&self.response_fields, false),
            )),
        };
        if let (Kind::Request, Some((written, fields))) = (self.kind, response) {
            info.extend(quote!(.with_response(#written, #fields)));
        }
        info
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::{expand, kebab_case, parse_args, Kind};
    use crate::diagnostics::Errors;

    /// The messages of the `compile_error!`s in an expansion.
    fn errors_of(args: proc_macro2::TokenStream, item: proc_macro2::TokenStream) -> Vec<String> {
        let expanded = expand(args, item).to_string();
        expanded
            .split("compile_error !")
            .skip(1)
            .map(|rest| rest.split('"').nth(1).unwrap_or_default().to_owned())
            .collect()
    }

    #[test]
    fn an_unknown_argument_does_not_hide_the_others() {
        let mut errors = Errors::default();
        let args = parse_args(
            quote!(persistent = 3, request, rest = "GET /a"),
            &mut errors,
        );
        assert!(matches!(args.kind, Some((Kind::Request, _))));
        assert!(args.rest.is_some());
        assert!(args.unavailable);
        assert!(!errors.to_compile_errors().is_empty());
    }

    #[test]
    fn one_mistake_gives_one_error() {
        let item = quote!(
            pub struct Greet {
                pub name: String,
            }
        );
        for args in [
            quote!(notification, tunnel),
            quote!(tunnel),
            quote!(foo(bar), request),
            quote!(request, rest = "FETCH /greet"),
            quote!(request, rest = "GET /greet/{nmae}"),
            quote!(notification, rest = "GET /greet"),
            quote!(notification, response = String),
        ] {
            assert_eq!(errors_of(args.clone(), item.clone()).len(), 1, "{args}");
        }
        assert_eq!(errors_of(quote!(request), item).len(), 0);
    }

    #[test]
    fn a_soft_mistake_still_declares_the_event() {
        let expanded = expand(
            quote!(request, rest = "FETCH /greet"),
            quote!(
                pub struct Greet {
                    pub name: String,
                }
            ),
        )
        .to_string();
        assert!(expanded.contains("impl :: edri :: Event for Greet"));
        let expanded = expand(
            quote!(request),
            quote!(
                pub enum Greet {
                    A,
                }
            ),
        )
        .to_string();
        assert!(!expanded.contains("impl :: edri :: Event"));
    }

    #[test]
    fn names_are_kebab_case() {
        assert_eq!(kebab_case("FileUploaded"), "file-uploaded");
        assert_eq!(kebab_case("Greet"), "greet");
        assert_eq!(kebab_case("HTTPServer"), "http-server");
        assert_eq!(kebab_case("Get2Files"), "get2-files");
    }
}
