//! The WebSocket at `/`: every event declared with `ws` (or `rest`) is a command, and clients
//! `register` for the notifications they want pushed.
//!
//! A client sends text frames holding a JSON object: `{"command": "greet", "name": "ws", "id": 7}`
//! (parameters as in REST, camelCase accepted; `id` optional and echoed). Each is answered by
//! the same object with `response` added, in the order the answers come: a slow request holds
//! up nothing. `register` / `unregister` manage the client's filters (see [`filter`]), and the
//! [`hub`] pushes matching notifications. A bad frame gets an error frame and the connection
//! stays open; a frame over `EDRI_MAX_BODY_SIZE` closes it with 1009.

mod connection;
mod filter;
mod frame;
mod hub;

use std::sync::Arc;

use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;

use self::frame::Commands;
use self::hub::Hub;
use super::{ApiError, ApiState};
use crate::{Error, EventInfo};

/// What every connection shares.
struct Shared {
    state: Arc<ApiState>,
    commands: Commands,
    hub: Hub,
}

/// The WebSocket route at `/`. A REST route on `/` would hide it, so that is a startup error,
/// as is a `ws` event named `register` or `unregister`.
pub(crate) fn routes(
    state: &Arc<ApiState>,
    events: &[&'static EventInfo],
) -> Result<axum::Router, Error> {
    root_is_free(events)?;
    let shared = Arc::new(Shared {
        state: state.clone(),
        commands: Commands::new(events)?,
        hub: Hub::new(
            state.entry.router().clone(),
            state.entry.router().config.queue_capacity,
        ),
    });
    let methods = MethodRouter::new()
        .get(
            move |headers: HeaderMap,
                  upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>| {
                let shared = shared.clone();
                async move { upgrade_or_refuse(shared, &headers, upgrade) }
            },
        )
        .fallback(|method: Method| async move {
            let mut error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("`/` is the API's WebSocket: it takes GET with an upgrade, not {method}"),
            );
            error.allow = Some("GET".to_owned());
            error
        });
    Ok(axum::Router::new().route("/", methods))
}

/// No REST route may take `/`: axum cannot serve both there.
fn root_is_free(events: &[&'static EventInfo]) -> Result<(), Error> {
    let at_root = events
        .iter()
        .find_map(|info| Some((info, info.rest.filter(|route| route.path == "/")?)));
    match at_root {
        Some((info, route)) => Err(Error::ApiRoute(format!(
            "`/` is the API's WebSocket, so the event `{}` ({}) cannot be served at `{route}`",
            info.type_name, info.location,
        ))),
        None => Ok(()),
    }
}

/// Accepts the upgrade, or explains in the API's error JSON what the request lacks. A browser
/// page from an origin the API does not allow gets 403: CORS does not cover WebSockets, so
/// without this check any site could use a visitor's cookies on the API.
fn upgrade_or_refuse(
    shared: Arc<Shared>,
    headers: &HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejection) => return refuse(rejection),
    };
    if let Some(reason) = shared.state.origins.refusal(headers) {
        tracing::debug!(reason, "WebSocket upgrade refused");
        return ApiError::new(StatusCode::FORBIDDEN, reason).into_response();
    }
    let limit = shared.state.limits.max_body;
    upgrade
        // Checked on each frame's header, so an oversized frame is refused before it is read.
        .max_frame_size(limit)
        .max_message_size(limit)
        .on_upgrade(move |socket| connection::serve(shared, socket))
}

fn refuse(rejection: WebSocketUpgradeRejection) -> Response {
    use WebSocketUpgradeRejection as R;
    let why = rejection.body_text();
    match rejection {
        // A plain GET: nothing asked for a WebSocket.
        R::InvalidConnectionHeader(_)
        | R::InvalidUpgradeHeader(_)
        | R::ConnectionNotUpgradable(_) => {
            let mut response = ApiError::new(
                StatusCode::UPGRADE_REQUIRED,
                format!("`/` is the API's WebSocket: connect with a WebSocket client ({why})"),
            )
            .into_response();
            response
                .headers_mut()
                .insert(header::UPGRADE, HeaderValue::from_static("websocket"));
            response
        }
        // HEAD, which axum routes with GET.
        R::MethodNotGet(_) => {
            let mut error = ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("`/` is the API's WebSocket: it takes GET with an upgrade ({why})"),
            );
            error.allow = Some("GET".to_owned());
            error.into_response()
        }
        _ => ApiError::new(
            rejection.status(),
            format!("not a valid WebSocket request: {why}"),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{FieldInfo, HttpMethod, Registry, RestRoute};

    /// A registered event's info under another name, with other fields.
    pub(super) fn info(
        name: &'static str,
        rest: Option<RestRoute>,
        fields: &'static [FieldInfo],
    ) -> &'static EventInfo {
        let model = Registry::get().unwrap().by_name("edri-test-ping").unwrap();
        Box::leak(Box::new(EventInfo {
            name,
            rest,
            ws: true,
            fields,
            ..*model
        }))
    }

    #[test]
    fn a_rest_route_at_the_root_is_a_startup_error() {
        let route = |path, text| RestRoute {
            method: HttpMethod::Get,
            path,
            params: &[],
            text,
        };
        let events = [info("home", Some(route("/", "GET /")), &[])];
        let error = root_is_free(&events).unwrap_err().to_string();
        assert!(error.contains("`GET /`"), "{error}");
        let events = [info("home", Some(route("/home", "GET /home")), &[])];
        assert!(root_is_free(&events).is_ok());
    }

    #[test]
    fn the_broker_commands_are_reserved() {
        for name in [frame::REGISTER, frame::UNREGISTER] {
            let Err(error) = Commands::new(&[info(name, None, &[])]) else {
                panic!("`{name}` was accepted as an event name");
            };
            assert!(error.to_string().contains(&format!("`{name}`")), "{error}");
        }
    }
}
