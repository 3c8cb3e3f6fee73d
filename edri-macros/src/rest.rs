//! `rest = "METHOD /path/{field}"`: checked at compile time, expanded into a typed
//! `edri::RestRoute`, so the runtime never splits the text again.

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{Field, Ident, LitStr};

use crate::diagnostics::Errors;

/// The methods edri routes: as written, and as the `HttpMethod` variant.
const METHODS: &[(&str, &str)] = &[
    ("GET", "Get"),
    ("POST", "Post"),
    ("PUT", "Put"),
    ("PATCH", "Patch"),
    ("DELETE", "Delete"),
];

/// A checked route.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Route {
    /// The `HttpMethod` variant.
    method: &'static str,
    path: String,
    /// The fields the placeholders name, in order.
    params: Vec<String>,
}

impl Route {
    /// Checks `"METHOD /path/{field}"` against the request fields of `ident`; every mistake is
    /// reported at the string.
    pub(crate) fn check(
        rest: &LitStr,
        fields: &[Field],
        ident: &Ident,
        errors: &mut Errors,
    ) -> Option<Route> {
        let value = rest.value();
        let mut report = |message: String| errors.add(rest.span(), message);
        let mut parts = value.split_whitespace();
        let (Some(method), Some(path), None) = (parts.next(), parts.next(), parts.next()) else {
            report(
                "`rest` takes \"METHOD /path\", for example `rest = \"GET /greet/{name}\"`".into(),
            );
            return None;
        };
        let mut ok = true;
        let variant = METHODS
            .iter()
            .find(|(name, _)| *name == method)
            .map(|(_, variant)| *variant);
        if variant.is_none() {
            let names: Vec<&str> = METHODS.iter().map(|(name, _)| *name).collect();
            report(format!(
                "`{method}` is not an HTTP method edri routes; expected one of {}",
                names.join(", ")
            ));
            ok = false;
        }
        if !path.starts_with('/') {
            report(format!("the REST path `{path}` must start with `/`"));
            ok = false;
        }
        let names: Vec<String> = fields
            .iter()
            .filter_map(|field| field.ident.as_ref().map(|ident| ident.to_string()))
            .collect();
        let mut params = Vec::new();
        for segment in path.split('/') {
            let Some(placeholder) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}'))
            else {
                if segment.contains(['{', '}']) {
                    report(format!(
                        "a path placeholder fills a whole segment, as in `/{{name}}`; got `{segment}`"
                    ));
                    ok = false;
                }
                continue;
            };
            if !names.iter().any(|name| name == placeholder) {
                let known = if names.is_empty() {
                    "it has no request fields".to_owned()
                } else {
                    format!("its request fields are {}", names.join(", "))
                };
                report(format!(
                    "the path placeholder `{{{placeholder}}}` names no field of `{ident}`; {known}"
                ));
                ok = false;
            }
            params.push(placeholder.to_owned());
        }
        let method = variant?;
        ok.then(|| Route {
            method,
            path: path.to_owned(),
            params,
        })
    }

    /// The `::edri::RestRoute` value, a constant expression.
    pub(crate) fn to_value(&self) -> TokenStream {
        let Route {
            method,
            path,
            params,
        } = self;
        let method = Ident::new(method, Span::call_site());
        let text = format!("{} {path}", method.to_string().to_uppercase());
        quote! {
            ::edri::RestRoute {
                method: ::edri::HttpMethod::#method,
                path: #path,
                params: &[#(#params),*],
                text: #text,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn check(rest: &str) -> Result<Route, String> {
        let fields: syn::FieldsNamed = parse_quote!({ name: String, id: u64 });
        let fields: Vec<Field> = fields.named.into_iter().collect();
        let mut errors = Errors::default();
        let route = Route::check(
            &LitStr::new(rest, Span::call_site()),
            &fields,
            &parse_quote!(Greet),
            &mut errors,
        );
        route.ok_or_else(|| errors.to_compile_errors().to_string())
    }

    #[test]
    fn a_route_is_typed() {
        assert_eq!(
            check("PATCH  /greet/{name}/to/{id}").unwrap(),
            Route {
                method: "Patch",
                path: "/greet/{name}/to/{id}".into(),
                params: vec!["name".into(), "id".into()],
            }
        );
        let value = check("GET /").unwrap().to_value().to_string();
        assert!(value.contains("HttpMethod :: Get"), "{value}");
        assert!(value.contains("text : \"GET /\""), "{value}");
    }

    #[test]
    fn mistakes_are_reported() {
        for (rest, message) in [
            ("/greet", "takes \\\"METHOD /path\\\""),
            ("FETCH /greet", "`FETCH` is not an HTTP method"),
            ("get /greet", "`get` is not an HTTP method"),
            ("GET greet", "must start with `/`"),
            ("GET /greet-{name}", "fills a whole segment"),
            ("GET /greet/{nick}", "`{nick}` names no field of `Greet`"),
        ] {
            let error = check(rest).unwrap_err();
            assert!(error.contains(message), "{rest}: {error}");
        }
    }
}
