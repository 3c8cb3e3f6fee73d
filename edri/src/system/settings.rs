//! The builder calls that change a setting. Each overrides its `EDRI_*` variable; a value the
//! system cannot use makes [`Edri::start`] fail with [`Error::InvalidSetting`] naming the call.

use std::time::Duration;

use super::Edri;
use crate::config::{check_duration, AllowedOrigins, Config, Zero, MAX_QUEUE_CAPACITY};
use crate::{Error, Result};

impl Edri {
    fn set(mut self, setting: impl FnOnce(&mut Config) -> Result<()> + Send + 'static) -> Self {
        self.settings.push(Box::new(setting));
        self
    }

    /// Sets a duration, refusing zero when `zero` says so, and anything over a year.
    fn set_duration(
        self,
        call: &'static str,
        value: Duration,
        zero: Zero,
        field: fn(&mut Config) -> &mut Duration,
    ) -> Self {
        self.set(move |config| {
            *field(config) =
                check_duration(value, zero).map_err(|reason| Error::InvalidSetting {
                    call,
                    value: format!("{value:?}"),
                    reason,
                })?;
            Ok(())
        })
    }

    /// Sets a count within `min..=max`.
    fn set_count(
        self,
        call: &'static str,
        value: usize,
        (min, max): (usize, usize),
        field: fn(&mut Config) -> &mut usize,
    ) -> Self {
        self.set(move |config| {
            if !(min..=max).contains(&value) {
                return Err(Error::InvalidSetting {
                    call,
                    value: value.to_string(),
                    reason: format!("expected a number from {min} to {max}"),
                });
            }
            *field(config) = value;
            Ok(())
        })
    }

    /// How long `ask` waits for an answer by default (`EDRI_REQUEST_TIMEOUT`, 30 s).
    pub fn request_timeout(self, timeout: Duration) -> Self {
        self.set_duration("request_timeout", timeout, Zero::Refused, |c| {
            &mut c.request_timeout
        })
    }

    /// The queue capacity of managers that set none (`EDRI_QUEUE_CAPACITY`, 1024; at most
    /// 16 777 216).
    pub fn queue_capacity(self, capacity: usize) -> Self {
        self.set_count("queue_capacity", capacity, (1, MAX_QUEUE_CAPACITY), |c| {
            &mut c.queue_capacity
        })
    }

    /// How long a notification nobody subscribes to is kept for a late subscriber
    /// (`EDRI_CACHE_TIMEOUT`, 30 s).
    pub fn cache_timeout(self, window: Duration) -> Self {
        self.set_duration("cache_timeout", window, Zero::Allowed, |c| {
            &mut c.unrouted_window
        })
    }

    /// How many such notifications are kept at most (`EDRI_CACHE_SIZE`, 10 000); the oldest
    /// is dropped to make room, and the drops are logged as a summary.
    pub fn cache_size(self, size: usize) -> Self {
        self.set_count("cache_size", size, (0, 1 << 24), |c| {
            &mut c.unrouted_capacity
        })
    }

    /// How long shutdown waits for managers to finish their queues (`EDRI_SHUTDOWN_TIMEOUT`, 10 s).
    pub fn shutdown_timeout(self, timeout: Duration) -> Self {
        self.set_duration("shutdown_timeout", timeout, Zero::Allowed, |c| {
            &mut c.shutdown_timeout
        })
    }

    /// How long a thread or process worker past its timeout has to stop before it is killed
    /// (`EDRI_WORKER_GRACE`, 1 s).
    pub fn worker_grace(self, grace: Duration) -> Self {
        self.set_duration("worker_grace", grace, Zero::Allowed, |c| {
            &mut c.worker_grace
        })
    }

    /// How often every manager is sent a health check (`EDRI_HEALTH_CHECK_TIMEOUT`, 10 s).
    pub fn health_period(self, period: Duration) -> Self {
        self.set_duration("health_period", period, Zero::Refused, |c| {
            &mut c.health_period
        })
    }

    /// After how many periods without an answer a manager turns ERROR; it turns WARNING after
    /// half as many (`EDRI_HEALTH_CHECK_FAILURE_LIMIT`, 3: WARNING after 2 periods, ERROR after 4).
    pub fn health_failure_limit(self, limit: usize) -> Self {
        self.set_count("health_failure_limit", limit, (1, 1_000_000), |c| {
            &mut c.health_failure_limit
        })
    }

    /// The largest request body or WebSocket message the API takes, in bytes
    /// (`EDRI_MAX_BODY_SIZE`, 4 MiB).
    pub fn api_max_body(self, bytes: usize) -> Self {
        self.set_count("api_max_body", bytes, (1, 1 << 40), |c| &mut c.api.max_body)
    }

    /// How long the API waits for an answer before it replies 504 (`EDRI_API_RESPONSE_TIMEOUT`,
    /// 30 s).
    pub fn api_response_timeout(self, timeout: Duration) -> Self {
        self.set_duration("api_response_timeout", timeout, Zero::Refused, |c| {
            &mut c.api.response_timeout
        })
    }

    /// How long an API client has to send a request's headers, counted from when it connects
    /// or from the first byte after an idle pause; then the connection gets 408 and is closed
    /// (`EDRI_API_HEADER_TIMEOUT`, 10 s).
    pub fn api_header_timeout(self, timeout: Duration) -> Self {
        self.set_duration("api_header_timeout", timeout, Zero::Refused, |c| {
            &mut c.api.header_timeout
        })
    }

    /// How long an API client has to send a request's body, counted from the end of its
    /// headers; then it gets 408 (`EDRI_API_BODY_TIMEOUT`, 30 s).
    pub fn api_body_timeout(self, timeout: Duration) -> Self {
        self.set_duration("api_body_timeout", timeout, Zero::Refused, |c| {
            &mut c.api.body_timeout
        })
    }

    /// How long an API connection may sit idle between requests, or stall while the client
    /// does not read its answer, before it is closed (`EDRI_API_KEEP_ALIVE_TIMEOUT`, 60 s).
    pub fn api_keep_alive_timeout(self, timeout: Duration) -> Self {
        self.set_duration("api_keep_alive_timeout", timeout, Zero::Refused, |c| {
            &mut c.api.keep_alive
        })
    }

    /// How many connections the API keeps open at once; a client beyond gets 503 and is closed,
    /// and the clients already connected are served as before (`EDRI_API_MAX_CONNECTIONS`,
    /// 10 000).
    pub fn api_max_connections(self, connections: usize) -> Self {
        self.set_count("api_max_connections", connections, (1, 1 << 24), |c| {
            &mut c.api.max_connections
        })
    }

    /// How often the API pings each WebSocket client; a client that leaves two pings
    /// unanswered is closed (`EDRI_API_WS_PING_INTERVAL`, 30 s).
    pub fn api_ws_ping_interval(self, interval: Duration) -> Self {
        self.set_duration("api_ws_ping_interval", interval, Zero::Refused, |c| {
            &mut c.api.ws_ping_interval
        })
    }

    /// How much one WebSocket client may register as filters, in all: conditions plus `in`
    /// items (`EDRI_API_WS_MAX_FILTER_ITEMS`, 10 000), and bytes of operands
    /// (`EDRI_API_WS_MAX_FILTER_BYTES`, 1 MiB).
    pub fn api_ws_filter_limits(self, items: usize, bytes: usize) -> Self {
        self.set_count("api_ws_filter_limits", items, (1, 1 << 24), |c| {
            &mut c.api.ws_max_filter_items
        })
        .set_count("api_ws_filter_limits", bytes, (1, 1 << 32), |c| {
            &mut c.api.ws_max_filter_bytes
        })
    }

    /// The origins the API trusts: `"*"`, or a comma-separated list such as
    /// `"https://app.example, http://localhost:3000"` (`EDRI_CORS_ORIGINS`; none by default).
    /// CORS answers them, browsers on them may open the WebSocket, and with the CSRF check
    /// (on when this is set) only they may send unsafe requests.
    pub fn cors_origins(self, origins: impl Into<String>) -> Self {
        let origins = origins.into();
        self.set(move |config| {
            let allowed =
                AllowedOrigins::parse(&origins).map_err(|reason| Error::InvalidSetting {
                    call: "cors_origins",
                    value: origins.clone(),
                    reason,
                })?;
            config.cors_origins = Some(allowed);
            Ok(())
        })
    }

    /// Whether a browser's POST, PUT, PATCH or DELETE must come from the API's own origin or
    /// one of [`cors_origins`](Self::cors_origins), checked on `Origin` and `Sec-Fetch-Site`
    /// (`EDRI_API_CSRF_CHECK`; on when CORS origins are set, off otherwise).
    pub fn api_csrf_check(self, on: bool) -> Self {
        self.set(move |config| {
            config.csrf_check = Some(on);
            Ok(())
        })
    }
}
