//! Every setting is checked when the system starts: a bad value is an error naming it, never a
//! panic later. This file holds one test, so that it alone changes the process's environment.

use std::time::Duration;

use edri::prelude::*;
use edri::Error;

#[derive(Default)]
pub struct Idle;

#[manager]
impl Idle {}

/// Starts a system with the API, expecting it to fail; returns the error.
async fn start_fails(edri: Edri) -> Error {
    match edri.manager(Idle).start_api("127.0.0.1:0").start().await {
        Ok(handle) => {
            handle.shutdown().await.unwrap();
            panic!("the system started");
        }
        Err(error) => error,
    }
}

#[tokio::test]
async fn bad_settings_are_startup_errors_that_name_them() {
    let bad_variables = [
        // Panicked inside tokio before.
        ("EDRI_QUEUE_CAPACITY", "2305843009213693952"),
        // Panicked inside tower-http before.
        ("EDRI_CORS_ORIGINS", "*,https://a.example"),
        // Accepted before.
        ("EDRI_CORS_ORIGINS", "not an origin"),
        ("EDRI_CORS_ORIGINS", "https://a.example/path"),
        ("EDRI_REQUEST_TIMEOUT", "0"),
        ("EDRI_API_RESPONSE_TIMEOUT", "0s"),
        ("EDRI_API_HEADER_TIMEOUT", "0"),
        ("EDRI_API_BODY_TIMEOUT", "-1"),
        ("EDRI_API_KEEP_ALIVE_TIMEOUT", "1000000000"),
        ("EDRI_API_MAX_CONNECTIONS", "0"),
        ("EDRI_API_WS_PING_INTERVAL", "soon"),
        ("EDRI_API_WS_MAX_FILTER_ITEMS", "0"),
        ("EDRI_API_CSRF_CHECK", "maybe"),
        ("EDRI_MAX_BODY_SIZE", "0"),
        ("EDRI_PORT", "70000"),
    ];
    for (name, value) in bad_variables {
        std::env::set_var(name, value);
        let error = start_fails(Edri::new()).await;
        std::env::remove_var(name);
        match &error {
            Error::InvalidEnv { name: named, .. } => assert_eq!(*named, name, "{error}"),
            other => panic!("{name}={value:?} gave {other:?}"),
        }
        // A sentence naming the variable, in Display and Debug alike (`main` prints Debug).
        let sentence = format!("environment variable {name}={value:?} is invalid");
        assert!(error.to_string().starts_with(&sentence), "{error}");
        assert!(format!("{error:?}").starts_with(&sentence), "{error:?}");
    }

    type Configure = fn(Edri) -> Edri;
    let bad_calls: [(&str, Configure); 5] = [
        ("request_timeout", |edri| {
            edri.request_timeout(Duration::ZERO)
        }),
        ("api_response_timeout", |edri| {
            edri.api_response_timeout(Duration::ZERO)
        }),
        ("queue_capacity", |edri| edri.queue_capacity(usize::MAX)),
        ("cors_origins", |edri| edri.cors_origins("ftp:/nowhere")),
        ("api_header_timeout", |edri| {
            edri.api_header_timeout(Duration::from_secs(400 * 24 * 3600))
        }),
    ];
    for (call, configure) in bad_calls {
        let error = start_fails(configure(Edri::new())).await;
        match &error {
            Error::InvalidSetting { call: named, .. } => assert_eq!(*named, call, "{error}"),
            other => panic!("{call} gave {other:?}"),
        }
        assert!(
            error.to_string().starts_with(&format!("Edri::{call}(")),
            "{error}"
        );
    }

    // Good values still start.
    std::env::set_var(
        "EDRI_CORS_ORIGINS",
        "https://a.example, HTTP://LOCALHOST:3000",
    );
    std::env::set_var("EDRI_API_HEADER_TIMEOUT", "500ms");
    let handle = Edri::new()
        .manager(Idle)
        .start_api("127.0.0.1:0")
        .start()
        .await
        .expect("valid settings start");
    handle.shutdown().await.unwrap();
}
