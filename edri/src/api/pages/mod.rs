//! The built-in pages under `/edri/`: the API's documentation and OpenAPI document, health,
//! liveness and readiness probes, and the topology.
//!
//! Every page but `openapi.json` answers HTML to a client that prefers it (`Accept` lists
//! `text/html` no lower than `application/json`, as browsers do) and JSON otherwise.

mod catalog;
mod graph;
mod html;
mod openapi;

use std::sync::Arc;

use axum::body::Bytes;
use axum::handler::Handler;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, MethodRouter};
use serde::Serialize;
use serde_json::{json, Value};

use super::reply::{self, ApiError};
use super::ApiState;
use crate::events::router::HealthStatus;
use crate::health::Dropped;
use crate::topology::Topology;
use crate::{Error, EventInfo, Failure};

const DOCS: &str = "/edri/docs";
const OPENAPI: &str = "/edri/openapi.json";
const HEALTH: &str = "/edri/health";
const LIVE: &str = "/edri/live";
const READY: &str = "/edri/ready";
const TOPOLOGY: &str = "/edri/topology";
const PAGES: [&str; 6] = [DOCS, OPENAPI, HEALTH, LIVE, READY, TOPOLOGY];

/// What the pages answer besides GET (and HEAD, which axum answers with GET's headers).
const ALLOW: &str = "GET, HEAD, OPTIONS";

/// The pages' routes. The documentation is written once, here, from the registry; a REST
/// route declared on one of the pages' paths is a startup error naming its event.
pub(crate) fn routes(
    state: &Arc<ApiState>,
    events: &[&'static EventInfo],
) -> Result<axum::Router, Error> {
    check_paths(events)?;
    let catalog = catalog::Catalog::new(events);
    let written = |what: &str, error: serde_json::Error| {
        Error::ApiRoute(format!("cannot write the {what}: {error}"))
    };
    let docs_json = Bytes::from(
        serde_json::to_vec(&catalog).map_err(|error| written("API documentation", error))?,
    );
    let docs_html = Bytes::from(html::docs(&catalog));
    let openapi = Bytes::from(
        serde_json::to_vec_pretty(&openapi::document(&catalog))
            .map_err(|error| written("OpenAPI document", error))?,
    );

    let docs = move |headers: HeaderMap| async move {
        negotiate(
            &headers,
            || json_bytes(StatusCode::OK, docs_json),
            || html_page(StatusCode::OK, docs_html),
        )
    };
    let openapi = move || async move { json_bytes(StatusCode::OK, openapi) };
    let live = |headers: HeaderMap| async move {
        negotiate(
            &headers,
            || json_page(StatusCode::OK, &json!({"status": "OK"})),
            || {
                html_page(
                    StatusCode::OK,
                    html::message("Live", &["The API is serving."]),
                )
            },
        )
    };
    // axum clones a handler for each call: each closure holds its own `Arc` of the state.
    let (health_state, ready_state, topology_state) = (state.clone(), state.clone(), state.clone());
    Ok(axum::Router::new()
        .route(DOCS, page(docs))
        .route(OPENAPI, page(openapi))
        .route(LIVE, page(live))
        .route(
            HEALTH,
            page(move |headers: HeaderMap| async move { health(&health_state, &headers).await }),
        )
        .route(
            READY,
            page(move |headers: HeaderMap| async move { ready(&ready_state, &headers).await }),
        )
        .route(
            TOPOLOGY,
            page(move |headers: HeaderMap| async move { topology(&topology_state, &headers) }),
        ))
}

/// A REST route on a page's path would make axum panic when the routers merge.
fn check_paths(events: &[&'static EventInfo]) -> Result<(), Error> {
    for info in events {
        let Some(rest) = info.rest else { continue };
        if PAGES.contains(&rest.path) {
            return Err(Error::ApiRoute(format!(
                "`{rest}` of `{}` ({}) is taken by a built-in page of edri; \
                 choose another path",
                info.type_name, info.location
            )));
        }
    }
    Ok(())
}

/// GET (and HEAD) run `handler`; OPTIONS lists the methods; any other method is a 405.
fn page<H, T>(handler: H) -> MethodRouter
where
    H: Handler<T, ()>,
    T: 'static,
{
    get(handler)
        .options(|| async {
            let mut response = reply::success(json!({"methods": ["GET", "HEAD", "OPTIONS"]}));
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static(ALLOW));
            response
        })
        .fallback(|method: Method, uri: Uri| async move {
            let mut error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("`{}` does not take {method}; it takes {ALLOW}", uri.path()),
            );
            error.allow = Some(ALLOW.to_owned());
            error
        })
}

/// `/edri/health`: every manager's health and the router's drops; 503 when the worst is ERROR.
async fn health(state: &ApiState, headers: &HeaderMap) -> Response {
    let report = state.handle.health().await;
    let code = match report.status {
        HealthStatus::Error => StatusCode::SERVICE_UNAVAILABLE,
        HealthStatus::Ok | HealthStatus::Warning => StatusCode::OK,
    };
    negotiate(
        headers,
        || match to_json(&report) {
            Ok(body) => json_page(code, &body),
            Err(error) => error.into_response(),
        },
        || html_page(code, html::health("Health", &[], &report)),
    )
}

/// `/edri/ready`: 200 `{"status": "OK"}`, or 503 naming what is not ready.
///
/// Managers need no waiting for: [`Edri::start`](crate::Edri::start) returns (and the API
/// starts) only once every manager of the builder has subscribed, and
/// [`Handle::add_manager`](crate::Handle::add_manager) subscribes the manager before it
/// returns, so no manager is ever running unsubscribed where this page could see it. What
/// remains is a manager that fails its health checks (ERROR), and the API stopping.
async fn ready(state: &ApiState, headers: &HeaderMap) -> Response {
    let report = state.handle.health().await;
    let mut reasons: Vec<String> = report
        .components
        .iter()
        .filter(|component| component.status == HealthStatus::Error)
        .map(|component| {
            format!(
                "`{}` is not ready: {}",
                component.name,
                component.reason.as_deref().unwrap_or("its health is ERROR")
            )
        })
        .collect();
    if *state.stopping.borrow() {
        reasons.insert(0, "the API is stopping".to_owned());
    }
    if reasons.is_empty() {
        return negotiate(
            headers,
            || json_page(StatusCode::OK, &json!({"status": "OK"})),
            || {
                let verdict = ["Ready: no manager is failing.".to_owned()];
                html_page(StatusCode::OK, html::health("Ready", &verdict, &report))
            },
        );
    }
    let code = StatusCode::SERVICE_UNAVAILABLE;
    negotiate(
        headers,
        || {
            let mut error = ApiError::from(Failure::unavailable(reasons[0].clone()));
            error.reasons.extend(reasons[1..].iter().cloned());
            json_page(code, &error.body())
        },
        || html_page(code, html::health("Not ready", &reasons, &report)),
    )
}

/// `/edri/topology` in JSON: the topology's `events`, and the router's drops.
#[derive(Serialize)]
#[serde(crate = "serde")]
struct TopologyPage<'a> {
    #[serde(flatten)]
    topology: &'a Topology,
    dropped: Dropped,
}

/// `/edri/topology`: who solves and who sends each event, the API included, drawn and listed;
/// and what the router dropped.
fn topology(state: &ApiState, headers: &HeaderMap) -> Response {
    let topology = state.handle.topology();
    let dropped = Dropped::of(state.handle.router());
    negotiate(
        headers,
        || match to_json(&TopologyPage {
            topology: &topology,
            dropped,
        }) {
            Ok(body) => json_page(StatusCode::OK, &body),
            Err(error) => error.into_response(),
        },
        || html_page(StatusCode::OK, html::topology(&topology, dropped)),
    )
}

/// The HTML answer or the JSON one, as the client prefers. The pages show live data, so
/// nothing is cached.
fn negotiate(
    headers: &HeaderMap,
    json: impl FnOnce() -> Response,
    html: impl FnOnce() -> Response,
) -> Response {
    let mut response = if wants_html(headers) { html() } else { json() };
    let headers = response.headers_mut();
    headers.insert(header::VARY, HeaderValue::from_static("accept"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Whether the client prefers HTML: `Accept` lists `text/html` with a weight above zero and
/// no lower than `application/json`'s. `*/*` alone gets JSON.
fn wants_html(headers: &HeaderMap) -> bool {
    let (mut html, mut json) = (0.0f32, 0.0f32);
    for value in headers.get_all(header::ACCEPT) {
        let Ok(value) = value.to_str() else { continue };
        for item in value.split(',') {
            let mut parts = item.split(';');
            let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let weight = parts
                .find_map(|param| param.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "text/html" => html = html.max(weight),
                "application/json" => json = json.max(weight),
                _ => {}
            }
        }
    }
    html > 0.0 && html >= json
}

fn to_json(value: &impl Serialize) -> Result<Value, ApiError> {
    serde_json::to_value(value).map_err(|error| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot write the page as JSON: {error}"),
        )
    })
}

fn json_page(code: StatusCode, body: &Value) -> Response {
    (code, axum::Json(body)).into_response()
}

fn json_bytes(code: StatusCode, body: Bytes) -> Response {
    (
        code,
        [(header::CONTENT_TYPE, "application/json")],
        axum::body::Body::from(body),
    )
        .into_response()
}

/// An HTML page. The pages run no script and load nothing: the policy says so, so even a
/// mistake in escaping could not run one.
fn html_page(code: StatusCode, body: impl Into<Bytes>) -> Response {
    (
        code,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
                 form-action 'none'; frame-ancestors 'none'",
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        axum::body::Body::from(body.into()),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{
        decode_answer, decode_event, decode_json, encode_answer, encode_answer_json, encode_event,
        encode_json,
    };
    use crate::events::test::Test;

    fn accept(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(wants_html(&accept(browser)));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&HeaderMap::new()));
        assert!(!wants_html(&accept("text/html;q=0, application/json")));
        assert!(!wants_html(&accept("application/json, text/html;q=0.5")));
    }

    #[test]
    fn a_rest_route_on_a_page_path_is_refused() {
        static TAKEN: EventInfo = EventInfo {
            name: "taken",
            type_name: "app::Taken",
            kind: crate::EventKind::Request,
            shared: false,
            rest: Some(crate::event::RestRoute {
                method: crate::event::HttpMethod::Get,
                path: "/edri/health",
                params: &[],
                text: "GET /edri/health",
            }),
            ws: true,
            location: "src/app.rs:3",
            type_id: std::any::TypeId::of::<Test>,
            decode: decode_event::<Test>,
            encode: encode_event::<Test>,
            encode_answer: encode_answer::<Test>,
            decode_answer: decode_answer::<Test>,
            doc: "",
            fields: &[],
            response_type: "()",
            response_fields: &[],
            decode_json: decode_json::<Test>,
            encode_json: encode_json::<Test>,
            encode_answer_json: encode_answer_json::<Test>,
        };
        let error = check_paths(&[&TAKEN]).unwrap_err().to_string();
        assert!(error.contains("GET /edri/health"), "{error}");
        assert!(error.contains("app::Taken"), "{error}");
    }
}
