//! Which web origins may use the API from a browser: CORS for reading answers, and the origin
//! checks that CORS does not cover, on WebSocket upgrades and on unsafe requests (CSRF).
//!
//! A request without `Origin` (and without a cross-site `Sec-Fetch-Site`) is not from a
//! browser page of another site, so it always passes: curl, servers and native clients.

use axum::extract::Request;
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiError;
use crate::config::{normalize_origin, AllowedOrigins};

/// The origin checks of one API.
#[derive(Clone, Debug)]
pub(crate) struct OriginPolicy {
    allowed: Option<AllowedOrigins>,
}

impl OriginPolicy {
    pub(crate) fn new(allowed: Option<AllowedOrigins>) -> Self {
        Self { allowed }
    }

    /// Why a request from a browser page may not go on, if it may not: its `Origin` is neither
    /// the API's own nor an allowed one.
    pub(crate) fn refusal(&self, headers: &HeaderMap) -> Option<String> {
        let origin = headers
            .get(header::ORIGIN)
            .map(|value| value.to_str().unwrap_or("(not text)"));
        match origin {
            Some(origin) => {
                if same_origin(origin, headers)
                    || self.allowed.as_ref().is_some_and(|a| a.allows(origin))
                {
                    None
                } else {
                    Some(format!(
                        "requests from the origin `{origin}` are not allowed; \
                         list it in EDRI_CORS_ORIGINS"
                    ))
                }
            }
            // Without `Origin`, a browser still says where the request comes from.
            None => match headers
                .get("sec-fetch-site")
                .and_then(|site| site.to_str().ok())
            {
                Some("cross-site" | "same-site") => Some(
                    "a cross-site request without an `Origin` header is not allowed".to_owned(),
                ),
                _ => None,
            },
        }
    }
}

/// Whether `origin` is the API's own: its host and port are the request's `Host`.
fn same_origin(origin: &str, headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok())
    else {
        return false;
    };
    let (Some(origin), Some(own)) = (
        normalize_origin(origin),
        normalize_origin(&format!("http://{host}")),
    ) else {
        return false;
    };
    // The scheme may differ behind a TLS proxy; host and port must not.
    let authority = |origin: &str| origin.split_once("://").map(|(_, rest)| rest.to_owned());
    authority(&origin) == authority(&own)
}

/// Middleware: a browser's POST, PUT, PATCH or DELETE from an origin the API does not allow
/// gets 403 before any handler runs.
pub(crate) async fn csrf_check(policy: OriginPolicy, request: Request, next: Next) -> Response {
    let safe = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    );
    if !safe {
        if let Some(reason) = policy.refusal(request.headers()) {
            return ApiError::new(StatusCode::FORBIDDEN, format!("{reason} (CSRF check)"))
                .into_response();
        }
    }
    next.run(request).await
}

/// CORS from `EDRI_CORS_ORIGINS`: `*` (any origin, no credentials), or a list of origins
/// (credentials allowed). The methods and headers a preflight asks for are allowed, so
/// `Authorization` works (browsers do not apply `Access-Control-Allow-Headers: *` to it).
pub(crate) fn cors(allowed: &AllowedOrigins) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer};
    let layer = CorsLayer::new()
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request());
    match allowed {
        AllowedOrigins::Any => layer.allow_origin(AllowOrigin::any()),
        AllowedOrigins::List(_) => {
            // Matched as `AllowedOrigins` does, so `HTTPS://App.example` in a request matches.
            let allowed = allowed.clone();
            layer
                .allow_origin(AllowOrigin::predicate(move |origin, _| {
                    origin.to_str().is_ok_and(|origin| allowed.allows(origin))
                }))
                .allow_credentials(true)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                )
            })
            .collect()
    }

    #[test]
    fn browsers_are_checked_and_other_clients_pass() {
        let none = OriginPolicy::new(None);
        let listed = OriginPolicy::new(Some(AllowedOrigins::parse("https://app.example").unwrap()));
        // Not a browser page of another site.
        assert_eq!(listed.refusal(&headers(&[("host", "api.example")])), None);
        assert_eq!(
            none.refusal(&headers(&[
                ("host", "x"),
                ("sec-fetch-site", "same-origin")
            ])),
            None
        );
        // The API's own pages.
        let own = headers(&[
            ("host", "127.0.0.1:8080"),
            ("origin", "http://127.0.0.1:8080"),
        ]);
        assert_eq!(none.refusal(&own), None);
        let own = headers(&[("host", "api.example"), ("origin", "https://api.example")]);
        assert_eq!(none.refusal(&own), None);
        // Listed and foreign origins.
        let app = headers(&[("host", "api.example"), ("origin", "https://app.example")]);
        assert_eq!(listed.refusal(&app), None);
        assert!(none.refusal(&app).is_some());
        let evil = headers(&[("host", "api.example"), ("origin", "https://evil.example")]);
        assert!(listed.refusal(&evil).unwrap().contains("evil.example"));
        let port = headers(&[
            ("host", "api.example:8080"),
            ("origin", "http://api.example"),
        ]);
        assert!(none.refusal(&port).is_some());
        let hidden = headers(&[("host", "api.example"), ("sec-fetch-site", "cross-site")]);
        assert!(listed.refusal(&hidden).is_some());
        let any = OriginPolicy::new(Some(AllowedOrigins::Any));
        assert_eq!(any.refusal(&evil), None);
    }
}
