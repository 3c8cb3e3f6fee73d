//! The REST side of the API broker, through a real HTTP client against a server on 127.0.0.1.

mod common;

use std::time::Duration;

use common::Gate;
use edri::api::axum;
use edri::prelude::*;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

/// Adds numbers; camelCase keys in and out.
#[event(request, rest = "POST /sum")]
pub struct Sum {
    pub first_number: i64,
    pub second_number: i64,
    pub label: Option<String>,
    #[response]
    pub total_value: i64,
    #[response]
    pub label_text: Option<String>,
}

/// The same path with two methods, and a path placeholder that overrides the query.
#[event(request, rest = "GET /items/{id}")]
pub struct ReadItem {
    pub id: u32,
    pub verbose: Option<bool>,
    #[response]
    pub id_seen: u32,
    #[response]
    pub verbose_seen: bool,
}

#[event(request, rest = "DELETE /items/{id}")]
pub struct DeleteItem {
    pub id: u32,
}

#[event(request, rest = "GET /missing/{name}")]
pub struct Missing {
    pub name: String,
}

#[event(request, rest = "GET /slow")]
pub struct Slow {}

#[event(request, rest = "GET /explode")]
pub struct Explode {}

/// Nobody solves it.
#[event(request, rest = "GET /orphan")]
pub struct Orphan {}

#[event(request, rest = "POST /tags")]
pub struct Tags {
    pub tags: Vec<String>,
    #[response]
    pub count: usize,
}

#[event(request, rest = "GET /scores")]
pub struct Scores {
    pub values: Vec<u32>,
    #[response]
    pub total: u32,
}

pub struct Api {
    gate: Gate,
}

#[manager]
impl Api {
    #[solve(req)]
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }

    #[solve(req)]
    async fn sum(&mut self, event: Sum) -> SumResponse {
        SumResponse {
            total_value: event.first_number + event.second_number,
            label_text: event.label,
        }
    }

    #[solve(req)]
    async fn read_item(&mut self, event: ReadItem) -> ReadItemResponse {
        ReadItemResponse {
            id_seen: event.id,
            verbose_seen: event.verbose.unwrap_or(false),
        }
    }

    #[solve(req)]
    async fn delete_item(&mut self, _event: DeleteItem) {}

    #[solve(req)]
    async fn missing(&mut self, event: Missing) -> Result<(), Failure> {
        Err(Failure::not_found(format!(
            "no item named `{}`",
            event.name
        )))
    }

    #[solve(req)]
    async fn slow(&mut self, _event: Slow) {
        self.gate.pass().await;
    }

    #[solve(req)]
    async fn explode(&mut self, _event: Explode) {
        panic!("the solver broke");
    }

    #[solve(req)]
    async fn scores(&mut self, event: Scores) -> ScoresResponse {
        ScoresResponse {
            total: event.values.iter().sum(),
        }
    }

    #[solve(req)]
    async fn tags(&mut self, event: Tags) -> TagsResponse {
        TagsResponse {
            count: event.tags.len(),
        }
    }
}

struct Server {
    edri: Handle,
    base: String,
    client: reqwest::Client,
    gate: Gate,
}

async fn server_with(configure: impl FnOnce(Edri) -> Edri) -> Server {
    let gate = Gate::default();
    let edri = configure(
        Edri::new()
            .manager(Api { gate: gate.clone() })
            .start_api("127.0.0.1:0")
            .api_response_timeout(Duration::from_millis(300)),
    )
    .start()
    .await
    .unwrap();
    let base = format!("http://{}", edri.api_addr().unwrap());
    Server {
        edri,
        base,
        client: reqwest::Client::new(),
        gate,
    }
}

async fn server() -> Server {
    server_with(|edri| edri).await
}

impl Server {
    async fn send(&self, request: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let response = request.send().await.unwrap();
        let status = response.status();
        let body = response.json::<Value>().await.unwrap();
        (status, body)
    }

    async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.client.get(format!("{}{path}", self.base)))
            .await
    }

    async fn post_json(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
            .await
    }

    async fn stop(self) {
        self.edri.shutdown().await.unwrap();
    }
}

/// The error shape of A7, with one reason containing `needle`.
fn assert_error(body: &Value, code: u16, status: &str, needle: &str) {
    assert_eq!(body["status_code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["description"].is_string(), "{body}");
    let reasons = body["reasons"].as_array().expect("reasons");
    assert_eq!(reasons[0]["status_code"], code, "{body}");
    let message = reasons[0]["message"].as_str().unwrap();
    assert!(message.contains(needle), "`{needle}` not in {body}");
}

#[tokio::test]
async fn a_get_with_a_path_parameter_answers_with_data() {
    let server = server().await;
    let (status, body) = server.get("/greet/world").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"data": {"message": "Hello, world!"}, "status": "OK"})
    );
    server.stop().await;
}

#[tokio::test]
async fn camel_case_keys_fill_snake_case_fields_and_answers_are_camel_case() {
    let server = server().await;
    let (status, body) = server
        .post_json(
            "/sum",
            json!({"firstNumber": 2, "second_number": 40, "label": "answer"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body,
        json!({"data": {"totalValue": 42, "labelText": "answer"}, "status": "OK"})
    );
    server.stop().await;
}

#[tokio::test]
async fn text_parameters_are_coerced_and_later_sources_override_earlier_ones() {
    let server = server().await;
    // The path's id overrides the query's; "true" becomes a boolean.
    let (status, body) = server.get("/items/7?id=1&verbose=true").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"], json!({"idSeen": 7, "verboseSeen": true}));

    // A form body overrides the query.
    let request = server
        .client
        .post(format!("{}/sum?firstNumber=1&secondNumber=1", server.base))
        .form(&[("secondNumber", "9")]);
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["totalValue"], 10);

    // A JSON body overrides the query, and a string number is coerced.
    let request = server
        .client
        .post(format!("{}/sum?firstNumber=1&secondNumber=1", server.base))
        .json(&json!({"firstNumber": "5"}));
    let (_, body) = server.send(request).await;
    assert_eq!(body["data"]["totalValue"], 6);

    // Repeated query keys fill a list, and so does `a,b`; items take the item type.
    let (status, body) = server.post_json("/tags?tags=a&tags=b", json!({})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["count"], 2);
    let (status, body) = server.get("/scores?values=1,2&values=3").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["total"], 6);
    let request = server
        .client
        .get(format!("{}/scores", server.base))
        .json(&json!({"values": ["4", 5]}));
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["total"], 9);
    let (status, body) = server.get("/scores?values=1,x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "`x` is not a whole number");
    server.stop().await;
}

#[tokio::test]
async fn a_response_without_fields_has_no_data() {
    let server = server().await;
    let request = server.client.delete(format!("{}/items/3", server.base));
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "OK"}));
    server.stop().await;
}

#[tokio::test]
async fn an_unknown_url_is_404() {
    let server = server().await;
    let (status, body) = server.get("/nowhere").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404, "NOT_FOUND", "/nowhere");
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_method_is_405_with_allow_and_options_lists_the_methods() {
    let server = server().await;
    let response = server
        .client
        .put(format!("{}/items/1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("DELETE"), "{allow}");
    let body: Value = response.json().await.unwrap();
    assert_error(&body, 405, "METHOD_NOT_ALLOWED", "PUT");

    let response = server
        .client
        .request(Method::OPTIONS, format!("{}/items/1", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let allow = response.headers()["allow"].to_str().unwrap().to_owned();
    assert_eq!(allow, "GET, DELETE, OPTIONS");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["data"]["methods"], json!(["GET", "DELETE", "OPTIONS"]));
    server.stop().await;
}

#[tokio::test]
async fn missing_unknown_and_ill_typed_parameters_are_400_naming_the_field() {
    let server = server().await;
    let (status, body) = server.post_json("/sum", json!({"firstNumber": 1})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(
        &body,
        400,
        "BAD_REQUEST",
        "missing parameter `secondNumber`",
    );

    let (status, body) = server
        .post_json(
            "/sum",
            json!({"firstNumber": 1, "secondNumber": 2, "colour": "red"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "unknown parameter `colour`");

    let (status, body) = server
        .post_json("/sum", json!({"firstNumber": [1], "secondNumber": 2}))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "parameter `firstNumber`");

    let (status, body) = server.get("/items/seven").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "`id`");
    server.stop().await;
}

#[tokio::test]
async fn malformed_bodies_are_400_and_large_ones_413() {
    let server = server_with(|edri| edri.api_max_body(1024)).await;
    let request = server
        .client
        .post(format!("{}/sum", server.base))
        .header("content-type", "application/json")
        .body("{\"firstNumber\": 1,");
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "malformed JSON");

    let request = server
        .client
        .post(format!("{}/sum", server.base))
        .header("content-type", "application/json")
        .body(vec![b'{', 0xff, 0xfe, b'}']);
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "malformed JSON");

    let deep = "[".repeat(200) + &"]".repeat(200);
    let request = server
        .client
        .post(format!("{}/sum", server.base))
        .header("content-type", "application/json")
        .body(format!("{{\"label\": {deep}}}"));
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "malformed JSON");

    let (status, body) = server.post_json("/sum", json!([1, 2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_error(&body, 400, "BAD_REQUEST", "an object");

    let big = json!({"label": "x".repeat(4096), "firstNumber": 1, "secondNumber": 2});
    let (status, body) = server.post_json("/sum", big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_error(&body, 413, "PAYLOAD_TOO_LARGE", "1024 bytes");

    let request = server
        .client
        .post(format!("{}/sum", server.base))
        .header("content-type", "text/csv")
        .body("1,2");
    let (status, body) = server.send(request).await;
    assert_eq!(status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_error(&body, 415, "UNSUPPORTED_MEDIA_TYPE", "text/csv");
    server.stop().await;
}

#[tokio::test]
async fn failures_map_to_their_status() {
    let server = server().await;
    let (status, body) = server.get("/missing/hat").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&body, 404, "NOT_FOUND", "no item named `hat`");

    let (status, body) = server.get("/explode").await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_error(&body, 500, "INTERNAL", "the solver broke");

    let (status, body) = server.get("/orphan").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_error(&body, 503, "UNAVAILABLE", "orphan");
    server.stop().await;
}

#[tokio::test]
async fn no_answer_in_time_is_504() {
    let server = server().await;
    // The solver waits at the gate for longer than the API's 300 ms.
    let (status, body) = server.get("/slow").await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert_error(&body, 504, "TIMEOUT", "slow");
    server.gate.open();
    server.stop().await;
}

#[tokio::test]
async fn cors_allows_the_configured_origins() {
    let server = server_with(|edri| edri.cors_origins("http://app.example")).await;
    let response = server
        .client
        .request(Method::OPTIONS, format!("{}/greet/x", server.base))
        .header("origin", "http://app.example")
        .header("access-control-request-method", "GET")
        .header("access-control-request-headers", "authorization")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "http://app.example"
    );
    assert_eq!(
        response.headers()["access-control-allow-headers"],
        "authorization"
    );
    assert_eq!(
        response.headers()["access-control-allow-credentials"],
        "true"
    );
    let response = server
        .client
        .get(format!("{}/greet/x", server.base))
        .header("origin", "http://evil.example")
        .send()
        .await
        .unwrap();
    assert!(response
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    server.stop().await;
}

#[tokio::test]
async fn customize_api_adds_layers_and_routes() {
    let server = server_with(|edri| {
        edri.customize_api(|router| {
            router
                .route("/custom", axum::routing::get(|| async { "custom route" }))
                .layer(axum::middleware::from_fn(
                    |request: axum::extract::Request, next: axum::middleware::Next| async move {
                        let mut response = next.run(request).await;
                        response
                            .headers_mut()
                            .insert("x-layer", axum::http::HeaderValue::from_static("seen"));
                        response
                    },
                ))
        })
    })
    .await;
    let response = server
        .client
        .get(format!("{}/custom", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-layer"], "seen");
    assert_eq!(response.text().await.unwrap(), "custom route");
    let (status, _) = server.get("/greet/layered").await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_custom_route_on_a_path_edri_serves_is_a_startup_error() {
    let error = Edri::new()
        .start_api("127.0.0.1:0")
        .customize_api(|router| router.route("/edri/live", axum::routing::get(|| async { "" })))
        .start()
        .await
        .unwrap_err();
    assert!(matches!(error, edri::Error::ApiRoute(_)), "{error}");
    assert!(error.to_string().contains("/edri/live"), "{error}");
}

#[tokio::test]
async fn an_address_in_use_is_a_startup_error_naming_it() {
    let server = server().await;
    let addr = server.edri.api_addr().unwrap().to_string();
    let error = Edri::new()
        .start_api(addr.clone())
        .start()
        .await
        .unwrap_err();
    assert!(error.to_string().contains(&addr), "{error}");
    server.stop().await;
}
