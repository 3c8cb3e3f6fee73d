//! The API's answers on the wire: `{"data": ..., "status": "OK"}` for a success, and
//! `{"status_code", "status", "description", "reasons"}` for every error.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::{Failure, Status};

/// An error the API answers with: an HTTP status and the reasons, for people.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) code: StatusCode,
    /// The wire spelling of the status, as in `"BAD_REQUEST"`.
    pub(crate) status: String,
    pub(crate) reasons: Vec<String>,
    /// The methods a path allows, for 405 answers.
    pub(crate) allow: Option<String>,
}

impl ApiError {
    /// An error with the HTTP status's own name, as in `METHOD_NOT_ALLOWED`.
    pub(crate) fn new(code: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            code,
            status: status_name(code),
            reasons: vec![reason.into()],
            allow: None,
        }
    }

    pub(crate) fn bad_request(reason: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, reason)
    }

    /// The body, without the HTTP status: the WebSocket sends it inside a frame.
    pub(crate) fn body(&self) -> Value {
        let code = self.code.as_u16();
        json!({
            "status_code": code,
            "status": self.status,
            "description": self.code.canonical_reason().unwrap_or("Error"),
            "reasons": self
                .reasons
                .iter()
                .map(|message| json!({"message": message, "status_code": code}))
                .collect::<Vec<_>>(),
        })
    }
}

impl From<Failure> for ApiError {
    fn from(failure: Failure) -> Self {
        let status = failure.status();
        Self {
            code: StatusCode::from_u16(status.http_code())
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            status: status.as_str().to_owned(),
            reasons: vec![failure.message().to_owned()],
            allow: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code, axum::Json(self.body())).into_response();
        if let Some(allow) = self
            .allow
            .and_then(|allow| HeaderValue::from_str(&allow).ok())
        {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        response
    }
}

/// `BAD_REQUEST` for 400, `PAYLOAD_TOO_LARGE` for 413: the reason phrase, shouted.
fn status_name(code: StatusCode) -> String {
    let phrase = code.canonical_reason().unwrap_or("error");
    match code.as_u16() {
        // The names `Status` uses, so a Failure and the API's own errors agree.
        400 => Status::BadRequest.as_str().to_owned(),
        404 => Status::NotFound.as_str().to_owned(),
        _ => phrase
            .chars()
            .map(|c| match c {
                ' ' | '-' => '_',
                c => c.to_ascii_uppercase(),
            })
            .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect(),
    }
}

/// The body of a successful answer: `data` (keys in camelCase) is left out when the response
/// has no fields.
pub(crate) fn success_body(data: Value) -> Value {
    match camel_keys(data) {
        Value::Null => json!({"status": "OK"}),
        data => json!({"data": data, "status": "OK"}),
    }
}

/// A successful answer.
pub(crate) fn success(data: Value) -> Response {
    axum::Json(success_body(data)).into_response()
}

/// `file_name` -> `fileName`, in every object, however deep.
pub(crate) fn camel_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, value)| (camel_case(&key), camel_keys(value)))
                .collect::<Map<_, _>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(camel_keys).collect()),
        other => other,
    }
}

/// `file_name` -> `fileName`; a name without underscores stays as it is.
pub(crate) fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_camel_case_at_every_depth() {
        let value = json!({"file_name": "a", "parts": [{"part_size": 1}], "ok": true});
        assert_eq!(
            camel_keys(value),
            json!({"fileName": "a", "parts": [{"partSize": 1}], "ok": true})
        );
    }

    #[test]
    fn status_names_follow_the_reason_phrase() {
        assert_eq!(
            status_name(StatusCode::METHOD_NOT_ALLOWED),
            "METHOD_NOT_ALLOWED"
        );
        assert_eq!(
            status_name(StatusCode::PAYLOAD_TOO_LARGE),
            "PAYLOAD_TOO_LARGE"
        );
        assert_eq!(status_name(StatusCode::BAD_REQUEST), "BAD_REQUEST");
    }

    #[test]
    fn a_response_without_fields_has_no_data() {
        assert_eq!(success_body(Value::Null), json!({"status": "OK"}));
        assert_eq!(
            success_body(json!({"a_b": 1})),
            json!({"data": {"aB": 1}, "status": "OK"})
        );
    }
}
