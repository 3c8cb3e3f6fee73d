//! Runtime settings: defaults, overridden by `EDRI_*` environment variables, overridden by
//! builder calls.

use std::time::Duration;

use crate::Error;

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
    /// The largest request body or WebSocket message the API takes (`EDRI_MAX_BODY_SIZE`).
    pub(crate) api_max_body: usize,
    /// How long the API waits for an answer (`EDRI_API_RESPONSE_TIMEOUT`).
    pub(crate) api_response_timeout: Duration,
    /// Origins allowed by CORS, comma-separated, or `*` (`EDRI_CORS_ORIGINS`); none by default.
    pub(crate) cors_origins: Option<String>,
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
            api_max_body: 4 * 1024 * 1024,
            api_response_timeout: Duration::from_secs(30),
            cors_origins: None,
        }
    }
}

impl Config {
    /// The defaults with the environment's overrides applied.
    pub(crate) fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let mut config = Config::default();
        let duration = |name: &'static str, target: &mut Duration| -> Result<(), Error> {
            if let Some(value) = lookup(name) {
                *target = parse_duration(&value).map_err(|reason| Error::InvalidEnv {
                    name,
                    value,
                    reason,
                })?;
            }
            Ok(())
        };
        duration("EDRI_REQUEST_TIMEOUT", &mut config.request_timeout)?;
        duration("EDRI_CACHE_TIMEOUT", &mut config.unrouted_window)?;
        duration("EDRI_SHUTDOWN_TIMEOUT", &mut config.shutdown_timeout)?;
        duration("EDRI_WORKER_GRACE", &mut config.worker_grace)?;
        duration("EDRI_HEALTH_CHECK_TIMEOUT", &mut config.health_period)?;
        duration(
            "EDRI_API_RESPONSE_TIMEOUT",
            &mut config.api_response_timeout,
        )?;
        if config.health_period.is_zero() {
            return Err(Error::InvalidEnv {
                name: "EDRI_HEALTH_CHECK_TIMEOUT",
                value: lookup("EDRI_HEALTH_CHECK_TIMEOUT").unwrap_or_default(),
                reason: "the health check period must be longer than zero".into(),
            });
        }
        let count = |name: &'static str, target: &mut usize, minimum: usize| -> Result<(), Error> {
            if let Some(value) = lookup(name) {
                *target = match value.trim().parse::<usize>() {
                    Ok(n) if n >= minimum => n,
                    _ => {
                        return Err(Error::InvalidEnv {
                            name,
                            value,
                            reason: format!("expected a whole number of at least {minimum}"),
                        })
                    }
                };
            }
            Ok(())
        };
        count("EDRI_CACHE_SIZE", &mut config.unrouted_capacity, 0)?;
        count("EDRI_QUEUE_CAPACITY", &mut config.queue_capacity, 1)?;
        count(
            "EDRI_HEALTH_CHECK_FAILURE_LIMIT",
            &mut config.health_failure_limit,
            1,
        )?;
        count("EDRI_MAX_BODY_SIZE", &mut config.api_max_body, 1)?;
        let mut port = usize::from(config.api_port);
        count("EDRI_PORT", &mut port, 0)?;
        config.api_port = u16::try_from(port).map_err(|_| Error::InvalidEnv {
            name: "EDRI_PORT",
            value: port.to_string(),
            reason: "expected a port number, at most 65535".into(),
        })?;
        if let Some(host) = lookup("EDRI_HOST").filter(|host| !host.trim().is_empty()) {
            config.api_host = host.trim().to_owned();
        }
        config.cors_origins =
            lookup("EDRI_CORS_ORIGINS").filter(|origins| !origins.trim().is_empty());
        Ok(config)
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

    #[test]
    fn environment_overrides_defaults_and_names_bad_values() {
        let config =
            Config::from_lookup(|name| (name == "EDRI_REQUEST_TIMEOUT").then(|| "5".into()))
                .unwrap();
        assert_eq!(config.request_timeout, Duration::from_secs(5));
        assert_eq!(config.queue_capacity, 1024);

        let error = Config::from_lookup(|name| (name == "EDRI_QUEUE_CAPACITY").then(|| "0".into()))
            .unwrap_err();
        assert!(
            error.to_string().contains("EDRI_QUEUE_CAPACITY=\"0\""),
            "{error}"
        );
    }
}
