//! REST: one route per event declared with `rest = "METHOD /path/{field}"`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{FromRequestParts, Path, Request};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, MethodRouter};
use serde_json::Value;

use super::deadline::BodyTimeout;
use super::params::Params;
use super::reply::{self, ApiError};
use super::ApiState;
use crate::event::HttpMethod;
use crate::{Error, EventInfo, EventKind};

/// The REST routes of every registered event that has one. Two events on one method and path,
/// or paths the router cannot tell apart, are a startup error naming them.
pub(crate) fn routes(
    state: &Arc<ApiState>,
    events: &[&'static EventInfo],
) -> Result<axum::Router, Error> {
    let mut by_path: BTreeMap<&'static str, Vec<(HttpMethod, &'static EventInfo)>> =
        BTreeMap::new();
    for &info in events {
        // `#[event]` checked the route at compile time.
        let Some(route) = info.rest else { continue };
        let routes = by_path.entry(route.path).or_default();
        if let Some((_, other)) = routes.iter().find(|(method, _)| *method == route.method) {
            return Err(Error::ApiRoute(format!(
                "`{route}` is declared by two events: `{}` ({}) and `{}` ({})",
                other.type_name, other.location, info.type_name, info.location
            )));
        }
        routes.push((route.method, info));
    }
    let mut router = axum::Router::new();
    for (path, mut routes) in by_path {
        routes.sort_by_key(|(method, _)| *method);
        let mut allowed: Vec<&str> = routes.iter().map(|(method, _)| method.as_str()).collect();
        allowed.push("OPTIONS");
        let allow = allowed.join(", ");
        let mut methods = MethodRouter::new();
        for (method, info) in routes {
            let state = state.clone();
            methods = methods.on(filter(method), move |request: Request| {
                call(state, info, request)
            });
        }
        let options = allow.clone();
        methods = methods
            .options(move || async move { allowed_methods(&options) })
            .fallback(move |method: Method| async move {
                let mut error = ApiError::new(
                    StatusCode::METHOD_NOT_ALLOWED,
                    format!("`{path}` does not take {method}; it takes {allow}"),
                );
                error.allow = Some(allow);
                error
            });
        let current = std::mem::take(&mut router);
        router = super::without_route_panic(
            &format!("the REST path `{path}` conflicts with another"),
            || current.route(path, methods),
        )?;
    }
    Ok(router)
}

/// The axum filter of a method.
fn filter(method: HttpMethod) -> MethodFilter {
    match method {
        HttpMethod::Get => MethodFilter::GET,
        HttpMethod::Post => MethodFilter::POST,
        HttpMethod::Put => MethodFilter::PUT,
        HttpMethod::Patch => MethodFilter::PATCH,
        HttpMethod::Delete => MethodFilter::DELETE,
    }
}

/// `OPTIONS`: 200 with the allowed methods, in the `Allow` header and the body.
fn allowed_methods(allow: &str) -> Response {
    let methods: Vec<&str> = allow.split(", ").collect();
    let mut response = reply::success(serde_json::json!({ "methods": methods }));
    if let Ok(value) = header::HeaderValue::from_str(allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// One REST call: parameters in, event to the router, answer out.
async fn call(state: Arc<ApiState>, info: &'static EventInfo, request: Request) -> Response {
    match answer(&state, info, request).await {
        Ok(data) => reply::success(data),
        Err(error) => error.into_response(),
    }
}

async fn answer(
    state: &ApiState,
    info: &'static EventInfo,
    request: Request,
) -> Result<Value, ApiError> {
    let (mut parts, body) = request.into_parts();
    let mut params = Params::new(info);
    if let Some(query) = parts.uri.query() {
        params.add_text(form_urlencoded::parse(query.as_bytes()).into_owned())?;
    }
    let path = Path::<HashMap<String, String>>::from_request_parts(&mut parts, &())
        .await
        .map_err(|rejection| ApiError::bad_request(rejection.body_text()))?;
    params.add_text(path.0)?;
    add_body(&mut params, &parts.headers, body, state.limits.max_body).await?;
    let event = params.decode()?;
    let answer = state.dispatch(info, event).await?;
    match info.kind {
        EventKind::Request => (info.encode_answer_json)(answer).map_err(ApiError::from),
        EventKind::Notification => Ok(Value::Null),
    }
}

/// Adds the parameters of a JSON or form body; an empty body adds nothing.
async fn add_body(
    params: &mut Params,
    headers: &HeaderMap,
    body: Body,
    limit: usize,
) -> Result<(), ApiError> {
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the body is larger than {limit} bytes (EDRI_MAX_BODY_SIZE)"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .and_then(|length| length.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, limit).await.map_err(|error| {
        let error = error.into_inner();
        if caused_by::<http_body_util::LengthLimitError>(&*error) {
            too_large()
        } else if caused_by::<BodyTimeout>(&*error) {
            ApiError::new(StatusCode::REQUEST_TIMEOUT, BodyTimeout.to_string())
        } else {
            ApiError::bad_request(format!("cannot read the body: {error}"))
        }
    })?;
    if bytes.is_empty() {
        return Ok(());
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/json");
    // Media types are case-insensitive (RFC 9110, 8.3.1).
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match mime.as_str() {
        "application/json" | "" => {
            let value: Value = serde_json::from_slice(&bytes)
                .map_err(|error| ApiError::bad_request(format!("malformed JSON body: {error}")))?;
            match value {
                Value::Object(object) => params.add_json(object),
                other => Err(ApiError::bad_request(format!(
                    "the JSON body must be an object of parameters, not {}",
                    json_kind(&other)
                ))),
            }
        }
        "application/x-www-form-urlencoded" => {
            params.add_text(form_urlencoded::parse(&bytes).into_owned())
        }
        other => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!(
                "a body of type `{other}` is not understood; send application/json or \
                 application/x-www-form-urlencoded"
            ),
        )),
    }
}

/// Whether `error`, or an error it wraps, is a `T`.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(error) = current {
        if error.is::<T>() {
            return true;
        }
        current = error.source();
    }
    false
}

pub(crate) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
