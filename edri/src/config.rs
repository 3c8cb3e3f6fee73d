//! Runtime settings: defaults, overridden by `EDRI_*` environment variables, overridden by
//! builder calls. Every value is checked when the system starts, so a bad one is an error that
//! names it, never a panic later.

use std::time::Duration;

use crate::Error;

/// The longest duration a setting takes: longer ones are surely a typo, and tokio's clock and
/// `Instant` arithmetic stay far from overflowing below it.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// The largest queue capacity: far beyond any useful queue, and far below tokio's own limit
/// (a channel panics above `usize::MAX >> 3`).
pub(crate) const MAX_QUEUE_CAPACITY: usize = 1 << 24;

/// The settings of one edri system.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    /// How long `ask` and `send` wait for an answer (`EDRI_REQUEST_TIMEOUT`).
    pub(crate) request_timeout: Duration,
    /// How long a notification nobody subscribes to is kept for a late subscriber
    /// (`EDRI_CACHE_TIMEOUT`).
    pub(crate) unrouted_window: Duration,
    /// How many such notifications are kept at most (`EDRI_CACHE_SIZE`).
    pub(crate) unrouted_capacity: usize,
    /// Queue capacity of a manager that sets none (`EDRI_QUEUE_CAPACITY`).
    pub(crate) queue_capacity: usize,
    /// How long shutdown waits for managers to finish their queues (`EDRI_SHUTDOWN_TIMEOUT`).
    pub(crate) shutdown_timeout: Duration,
    /// How long a worker past its timeout has to stop before it is killed (`EDRI_WORKER_GRACE`).
    pub(crate) worker_grace: Duration,
    /// How often every manager is sent a health check (`EDRI_HEALTH_CHECK_TIMEOUT`).
    pub(crate) health_period: Duration,
    /// How many periods of silence turn a manager to ERROR; half as many to WARNING
    /// (`EDRI_HEALTH_CHECK_FAILURE_LIMIT`).
    pub(crate) health_failure_limit: usize,
    /// Where `start_api_default()` listens (`EDRI_HOST`, `EDRI_PORT`).
    pub(crate) api_host: String,
    pub(crate) api_port: u16,
    /// The API's limits and deadlines.
    pub(crate) api: ApiLimits,
    /// Origins allowed by CORS and on WebSocket upgrades (`EDRI_CORS_ORIGINS`); none by default.
    pub(crate) cors_origins: Option<AllowedOrigins>,
    /// Whether browsers' unsafe requests (POST, PUT, PATCH, DELETE) must come from an allowed
    /// origin (`EDRI_API_CSRF_CHECK`); `None` means "when `cors_origins` is set".
    pub(crate) csrf_check: Option<bool>,
    /// How this router joins a switch, if it does.
    pub(crate) switch: crate::switch::SwitchSettings,
}

/// What the API takes from one client, and for how long it waits.
#[derive(Clone, Debug)]
pub(crate) struct ApiLimits {
    /// The largest request body or WebSocket message (`EDRI_MAX_BODY_SIZE`).
    pub(crate) max_body: usize,
    /// How long the API waits for an answer (`EDRI_API_RESPONSE_TIMEOUT`).
    pub(crate) response_timeout: Duration,
    /// How long a client has to send a request's headers (`EDRI_API_HEADER_TIMEOUT`).
    pub(crate) header_timeout: Duration,
    /// How long a client has to send a request's body (`EDRI_API_BODY_TIMEOUT`).
    pub(crate) body_timeout: Duration,
    /// How long a connection may sit idle between requests (`EDRI_API_KEEP_ALIVE_TIMEOUT`).
    pub(crate) keep_alive: Duration,
    /// How many connections are open at once at most (`EDRI_API_MAX_CONNECTIONS`).
    pub(crate) max_connections: usize,
    /// How often a WebSocket client is pinged; two unanswered pings close it
    /// (`EDRI_API_WS_PING_INTERVAL`).
    pub(crate) ws_ping_interval: Duration,
    /// How many filter conditions and `in` items one WebSocket client may register in all
    /// (`EDRI_API_WS_MAX_FILTER_ITEMS`).
    pub(crate) ws_max_filter_items: usize,
    /// How many bytes of filter operands one WebSocket client may register in all
    /// (`EDRI_API_WS_MAX_FILTER_BYTES`).
    pub(crate) ws_max_filter_bytes: usize,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            max_body: 4 * 1024 * 1024,
            response_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            keep_alive: Duration::from_secs(60),
            max_connections: 10_000,
            ws_ping_interval: Duration::from_secs(30),
            ws_max_filter_items: 10_000,
            ws_max_filter_bytes: 1024 * 1024,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(30),
            unrouted_window: Duration::from_secs(30),
            unrouted_capacity: 10_000,
            queue_capacity: 1024,
            shutdown_timeout: Duration::from_secs(10),
            worker_grace: Duration::from_secs(1),
            health_period: Duration::from_secs(10),
            health_failure_limit: 3,
            api_host: "127.0.0.1".to_owned(),
            api_port: 8080,
            api: ApiLimits::default(),
            cors_origins: None,
            csrf_check: None,
            switch: crate::switch::SwitchSettings::default(),
        }
    }
}

/// Whether a duration setting may be zero.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Zero {
    Allowed,
    Refused,
}

impl Config {
    /// The defaults with the environment's overrides applied.
    pub(crate) fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut config = Config::default();
        let invalid = |name: &'static str, value: String, reason: String| Error::InvalidEnv {
            name,
            value,
            reason,
        };
        let duration = |name: &'static str, target: &mut Duration, zero: Zero| {
            if let Some(value) = lookup(name) {
                *target = parse_duration(&value)
                    .and_then(|duration| check_duration(duration, zero))
                    .map_err(|reason| invalid(name, value, reason))?;
            }
            Ok::<(), Error>(())
        };
        use Zero::{Allowed, Refused};
        duration("EDRI_REQUEST_TIMEOUT", &mut config.request_timeout, Refused)?;
        duration("EDRI_CACHE_TIMEOUT", &mut config.unrouted_window, Allowed)?;
        duration(
            "EDRI_SHUTDOWN_TIMEOUT",
            &mut config.shutdown_timeout,
            Allowed,
        )?;
        duration("EDRI_WORKER_GRACE", &mut config.worker_grace, Allowed)?;
        duration(
            "EDRI_HEALTH_CHECK_TIMEOUT",
            &mut config.health_period,
            Refused,
        )?;
        let api = &mut config.api;
        duration(
            "EDRI_API_RESPONSE_TIMEOUT",
            &mut api.response_timeout,
            Refused,
        )?;
        duration("EDRI_API_HEADER_TIMEOUT", &mut api.header_timeout, Refused)?;
        duration("EDRI_API_BODY_TIMEOUT", &mut api.body_timeout, Refused)?;
        duration("EDRI_API_KEEP_ALIVE_TIMEOUT", &mut api.keep_alive, Refused)?;
        duration(
            "EDRI_API_WS_PING_INTERVAL",
            &mut api.ws_ping_interval,
            Refused,
        )?;
        let switch = &mut config.switch;
        duration(
            "EDRI_SWITCH_SESSION_TIMEOUT",
            &mut switch.session_timeout,
            Refused,
        )?;
        duration(
            "EDRI_SWITCH_IDLE_TIMEOUT",
            &mut switch.idle_timeout,
            Refused,
        )?;

        let count = |name: &'static str, target: &mut usize, min: usize, max: usize| {
            if let Some(value) = lookup(name) {
                *target = match value.trim().parse::<usize>() {
                    Ok(n) if (min..=max).contains(&n) => n,
                    _ => {
                        return Err(invalid(
                            name,
                            value,
                            format!("expected a whole number from {min} to {max}"),
                        ))
                    }
                };
            }
            Ok(())
        };
        count("EDRI_CACHE_SIZE", &mut config.unrouted_capacity, 0, 1 << 24)?;
        count(
            "EDRI_QUEUE_CAPACITY",
            &mut config.queue_capacity,
            1,
            MAX_QUEUE_CAPACITY,
        )?;
        count(
            "EDRI_HEALTH_CHECK_FAILURE_LIMIT",
            &mut config.health_failure_limit,
            1,
            1_000_000,
        )?;
        let api = &mut config.api;
        count("EDRI_MAX_BODY_SIZE", &mut api.max_body, 1, 1 << 40)?;
        count(
            "EDRI_API_MAX_CONNECTIONS",
            &mut api.max_connections,
            1,
            1 << 24,
        )?;
        count(
            "EDRI_API_WS_MAX_FILTER_ITEMS",
            &mut api.ws_max_filter_items,
            1,
            1 << 24,
        )?;
        count(
            "EDRI_API_WS_MAX_FILTER_BYTES",
            &mut api.ws_max_filter_bytes,
            1,
            1 << 32,
        )?;
        count("EDRI_SWITCH_WINDOW", &mut config.switch.window, 1, 1 << 24)?;
        config
            .switch
            .apply_env(&lookup)
            .map_err(|(name, value, reason)| invalid(name, value, reason))?;
        let mut port = usize::from(config.api_port);
        count("EDRI_PORT", &mut port, 0, usize::from(u16::MAX))?;
        config.api_port = u16::try_from(port).unwrap_or(config.api_port);
        if let Some(host) = lookup("EDRI_HOST").filter(|host| !host.trim().is_empty()) {
            config.api_host = host.trim().to_owned();
        }
        if let Some(origins) = lookup("EDRI_CORS_ORIGINS").filter(|o| !o.trim().is_empty()) {
            config.cors_origins = Some(
                AllowedOrigins::parse(&origins)
                    .map_err(|reason| invalid("EDRI_CORS_ORIGINS", origins, reason))?,
            );
        }
        if let Some(value) = lookup("EDRI_API_CSRF_CHECK") {
            config.csrf_check = Some(
                parse_bool(&value)
                    .map_err(|reason| invalid("EDRI_API_CSRF_CHECK", value, reason))?,
            );
        }
        Ok(config)
    }

    /// Whether the API refuses browsers' unsafe requests from origins it does not allow.
    pub(crate) fn csrf_check(&self) -> bool {
        self.csrf_check.unwrap_or(self.cors_origins.is_some())
    }
}

/// A duration setting within bounds: `Err` says why not.
pub(crate) fn check_duration(duration: Duration, zero: Zero) -> Result<Duration, String> {
    if zero == Zero::Refused && duration.is_zero() {
        Err("must be longer than zero".to_owned())
    } else if duration > MAX_DURATION {
        Err("must be at most 365 days".to_owned())
    } else {
        Ok(duration)
    }
}

/// Parses `"30"`, `"2.5"` (seconds), `"500ms"`, `"30s"` or `"2m"`.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(n) = text.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60.0)
    } else {
        (text, 1.0)
    };
    let invalid =
        || format!("expected a duration such as `30`, `2.5s`, `500ms` or `2m`, got `{text}`");
    let value: f64 = number.trim().parse().map_err(|_| invalid())?;
    Duration::try_from_secs_f64(value * scale).map_err(|_| invalid())
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err("expected true or false".to_owned()),
    }
}

/// The web origins the API trusts: CORS answers them, and browsers on them may open the
/// WebSocket and send unsafe requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AllowedOrigins {
    /// `*`: every origin (CORS without credentials).
    Any,
    /// These origins, as browsers serialize them: `scheme://host[:port]`, lowercase, without
    /// a default port.
    List(Vec<String>),
}

impl AllowedOrigins {
    /// Reads `*` or a comma-separated list of origins; `Err` names the entry at fault.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let entries: Vec<&str> = text
            .split(',')
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        if entries.contains(&"*") {
            return if entries.len() == 1 {
                Ok(AllowedOrigins::Any)
            } else {
                Err("`*` allows every origin, so it cannot be listed with others".to_owned())
            };
        }
        if entries.is_empty() {
            return Err("expected `*` or a comma-separated list of origins".to_owned());
        }
        entries
            .into_iter()
            .map(|entry| normalize_origin(entry).ok_or_else(|| not_an_origin(entry)))
            .collect::<Result<_, _>>()
            .map(AllowedOrigins::List)
    }

    /// Whether `origin` (a request's `Origin` header) is allowed.
    pub(crate) fn allows(&self, origin: &str) -> bool {
        match self {
            AllowedOrigins::Any => true,
            AllowedOrigins::List(list) => {
                normalize_origin(origin).is_some_and(|origin| list.contains(&origin))
            }
        }
    }
}

fn not_an_origin(entry: &str) -> String {
    format!(
        "`{entry}` is not an origin: expected `scheme://host` or `scheme://host:port`, \
         such as `https://app.example`, with no path, query or user"
    )
}

/// `HTTPS://App.Example:443` -> `https://app.example`; `None` when `text` is not an origin.
pub(crate) fn normalize_origin(text: &str) -> Option<String> {
    let (scheme, authority) = text.trim().split_once("://")?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok || authority.is_empty() {
        return None;
    }
    // No path, query, fragment or user; a bracketed IPv6 address keeps its colons.
    if authority.contains(['/', '?', '#', '@', ' ', '\\']) {
        return None;
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '[' | ']' | ':'));
    if !host_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    let host = host.to_ascii_lowercase();
    let port: Option<u16> = match port {
        Some(port) => Some(port.parse().ok()?),
        None => None,
    };
    let default_port = match scheme.as_str() {
        "http" | "ws" => Some(80),
        "https" | "wss" => Some(443),
        _ => None,
    };
    Some(match port {
        Some(port) if Some(port) != default_port => format!("{scheme}://{host}:{port}"),
        _ => format!("{scheme}://{host}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_every_unit() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("2.5s"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
    }

    fn with(name: &'static str, value: &'static str) -> Result<Config, Error> {
        Config::from_lookup(|asked| (asked == name).then(|| value.to_owned()))
    }

    #[test]
    fn environment_overrides_defaults_and_names_bad_values() {
        let config = with("EDRI_REQUEST_TIMEOUT", "5").unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(5));
        assert_eq!(config.queue_capacity, 1024);

        let error = with("EDRI_QUEUE_CAPACITY", "0").unwrap_err();
        assert!(
            error.to_string().contains("EDRI_QUEUE_CAPACITY=\"0\""),
            "{error}"
        );
    }

    #[test]
    fn out_of_range_values_are_refused_by_name() {
        for (name, value) in [
            ("EDRI_QUEUE_CAPACITY", "2305843009213693952"),
            ("EDRI_REQUEST_TIMEOUT", "0"),
            ("EDRI_API_RESPONSE_TIMEOUT", "0ms"),
            ("EDRI_API_HEADER_TIMEOUT", "0"),
            ("EDRI_API_KEEP_ALIVE_TIMEOUT", "100000000"),
            ("EDRI_API_MAX_CONNECTIONS", "0"),
            ("EDRI_PORT", "65536"),
            ("EDRI_CORS_ORIGINS", "*,https://a.example"),
            ("EDRI_CORS_ORIGINS", "not an origin"),
            ("EDRI_CORS_ORIGINS", "https://a.example/path"),
            ("EDRI_API_CSRF_CHECK", "maybe"),
        ] {
            match with(name, value) {
                Err(Error::InvalidEnv { name: named, .. }) => assert_eq!(named, name, "{value}"),
                other => panic!("{name}={value:?} gave {other:?}"),
            }
        }
        assert_eq!(
            with("EDRI_CACHE_TIMEOUT", "0").unwrap().unrouted_window,
            Duration::ZERO
        );
    }

    #[test]
    fn origins_are_normalized_as_browsers_send_them() {
        assert_eq!(
            normalize_origin("HTTPS://App.Example:443").as_deref(),
            Some("https://app.example")
        );
        assert_eq!(
            normalize_origin("http://localhost:3000").as_deref(),
            Some("http://localhost:3000")
        );
        assert_eq!(
            normalize_origin("http://[::1]:8080").as_deref(),
            Some("http://[::1]:8080")
        );
        for bad in [
            "not an origin",
            "https://a.example/path",
            "https://user@a.example",
            "https://",
            "//a.example",
            "https://a.example:99999",
            "null",
        ] {
            assert_eq!(normalize_origin(bad), None, "{bad}");
        }
        let list = AllowedOrigins::parse("https://a.example, http://localhost:3000").unwrap();
        assert!(list.allows("https://a.example"));
        assert!(list.allows("https://A.example:443"));
        assert!(!list.allows("https://evil.example"));
        assert!(!list.allows("null"));
        assert_eq!(AllowedOrigins::parse(" * "), Ok(AllowedOrigins::Any));
    }
}
