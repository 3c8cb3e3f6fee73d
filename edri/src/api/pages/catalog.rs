//! The catalog of API events: what `/edri/docs` lists and `/edri/openapi.json` describes, read
//! once from the registry.

use serde::Serialize;

use crate::api::reply::camel_case;
use crate::event::FieldShape;
use crate::{EventInfo, EventKind};

/// Every API event, sorted by name.
#[derive(Serialize)]
#[serde(crate = "serde")]
pub(super) struct Catalog {
    pub(super) events: Vec<EventDoc>,
}

impl Catalog {
    /// The events exposed over REST or WebSocket; the others stay private to the system.
    pub(super) fn new(events: &[&'static EventInfo]) -> Self {
        let mut events: Vec<EventDoc> = events
            .iter()
            .filter(|info| info.rest.is_some() || info.ws)
            .map(|info| EventDoc::new(info))
            .collect();
        events.sort_by_key(|event| event.name);
        Self { events }
    }
}

/// One API event.
#[derive(Serialize)]
#[serde(crate = "serde", rename_all = "camelCase")]
pub(super) struct EventDoc {
    /// The wire name.
    pub(super) name: &'static str,
    /// The Rust path of the type.
    pub(super) rust_type: &'static str,
    /// `"request"` or `"notification"`.
    pub(super) kind: &'static str,
    pub(super) doc: &'static str,
    pub(super) rest: Option<RestDoc>,
    /// The WebSocket command (the event's name), when it is exposed over WebSocket.
    pub(super) command: Option<&'static str>,
    pub(super) parameters: Vec<ParamDoc>,
    /// `None` for a notification: nobody answers it.
    pub(super) response: Option<ResponseDoc>,
}

/// A REST route, its path placeholders in camelCase like every other parameter name.
#[derive(Serialize)]
#[serde(crate = "serde")]
pub(super) struct RestDoc {
    pub(super) method: &'static str,
    pub(super) path: String,
}

/// Where a parameter goes in a REST call (any of them works; this is where it belongs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(crate = "serde", rename_all = "lowercase")]
pub(super) enum Location {
    Path,
    Query,
    Body,
    /// A member of the WebSocket command frame, for events without a REST route.
    Frame,
}

/// One request parameter.
#[derive(Serialize)]
#[serde(crate = "serde")]
pub(super) struct ParamDoc {
    /// camelCase, as clients send it.
    pub(super) name: String,
    /// The Rust type as written, as in `Option<u32>`.
    #[serde(rename = "type")]
    pub(super) ty: &'static str,
    /// What its values look like, for the OpenAPI schema.
    #[serde(skip)]
    pub(super) shape: FieldShape,
    /// Whether a call must give it: every field that is not optional (an `Option`, or a
    /// field with `#[serde(default)]`), and path parameters.
    pub(super) required: bool,
    pub(super) doc: &'static str,
    #[serde(rename = "in")]
    pub(super) location: Location,
}

/// The answer of a request.
#[derive(Serialize)]
#[serde(crate = "serde")]
pub(super) struct ResponseDoc {
    /// `()`, the generated `<Name>Response`, or the type named by `response = Type`.
    #[serde(rename = "type")]
    pub(super) ty: &'static str,
    /// The fields of a generated response (empty for `()` and for a named type, whose fields
    /// the registry does not know).
    pub(super) fields: Vec<FieldDoc>,
}

impl ResponseDoc {
    /// Whether the answer has no data (`()`): the success body is `{"status": "OK"}`.
    pub(super) fn is_unit(&self) -> bool {
        self.ty == "()"
    }

    /// Whether the registry knows the fields: a generated `<Name>Response`.
    pub(super) fn is_generated(&self) -> bool {
        !self.is_unit() && !self.fields.is_empty()
    }
}

/// One field of a response.
#[derive(Serialize)]
#[serde(crate = "serde")]
pub(super) struct FieldDoc {
    /// camelCase, as the API writes it.
    pub(super) name: String,
    #[serde(rename = "type")]
    pub(super) ty: &'static str,
    /// What its values look like, for the OpenAPI schema.
    #[serde(skip)]
    pub(super) shape: FieldShape,
    pub(super) doc: &'static str,
}

impl EventDoc {
    fn new(info: &'static EventInfo) -> Self {
        // `#[event]` checked that each placeholder of the route names a field.
        let rest = info.rest;
        let parameters = info
            .fields
            .iter()
            .map(|field| {
                let location = match rest {
                    None => Location::Frame,
                    Some(route) if route.params.contains(&field.name) => Location::Path,
                    Some(route) if route.method.takes_body() => Location::Body,
                    Some(_) => Location::Query,
                };
                ParamDoc {
                    name: camel_case(field.name),
                    ty: field.ty,
                    shape: field.shape,
                    required: location == Location::Path || !field.optional,
                    doc: field.doc,
                    location,
                }
            })
            .collect();
        let response = (info.kind == EventKind::Request).then(|| ResponseDoc {
            ty: info.response_type,
            fields: info
                .response_fields
                .iter()
                .map(|field| FieldDoc {
                    name: camel_case(field.name),
                    ty: field.ty,
                    shape: field.shape,
                    doc: field.doc,
                })
                .collect(),
        });
        Self {
            name: info.name,
            rust_type: info.type_name,
            kind: match info.kind {
                EventKind::Request => "request",
                EventKind::Notification => "notification",
            },
            doc: info.doc,
            rest: rest.map(|route| RestDoc {
                method: route.method.as_str(),
                path: camel_path(route.path),
            }),
            command: info.ws.then_some(info.name),
            parameters,
            response,
        }
    }

    /// The first line of the doc comment, for summaries.
    pub(super) fn summary(&self) -> Option<&'static str> {
        self.doc
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
    }
}

/// `{file_name}` -> `file_name`; `None` for a literal segment.
fn placeholder(segment: &str) -> Option<&str> {
    segment.strip_prefix('{')?.strip_suffix('}')
}

/// `/files/{file_name}` -> `/files/{fileName}`: the same URLs, with the parameter's API name.
fn camel_path(path: &str) -> String {
    path.split('/')
        .map(|segment| match placeholder(segment) {
            Some(name) => format!("{{{}}}", camel_case(name)),
            None => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::HttpMethod;

    #[test]
    fn placeholders_take_the_camel_case_name() {
        assert_eq!(
            camel_path("/files/{file_name}/raw"),
            "/files/{fileName}/raw"
        );
        assert_eq!(camel_path("/"), "/");
    }

    #[test]
    fn only_post_put_and_patch_take_a_body() {
        let body: Vec<HttpMethod> = HttpMethod::ALL
            .into_iter()
            .filter(|method| method.takes_body())
            .collect();
        assert_eq!(body, [HttpMethod::Post, HttpMethod::Put, HttpMethod::Patch]);
    }
}
