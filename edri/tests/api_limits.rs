//! The API's limits and security checks, tried as a hostile client would against a real server
//! on 127.0.0.1: slow and silent clients, too many connections, foreign origins, malformed
//! requests. Deadlines are shortened through the settings, so no test waits for a default.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use edri::prelude::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[event(request, rest = "POST /sum")]
pub struct Sum {
    pub first_number: i64,
    pub second_number: i64,
    #[response]
    pub total_value: i64,
}

#[derive(Default)]
pub struct Api;

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
        }
    }
}

/// How long any one step may take before the test fails instead of hanging.
const BOUND: Duration = Duration::from_secs(10);

async fn server(configure: impl FnOnce(Edri) -> Edri) -> (Handle, SocketAddr) {
    let edri = configure(Edri::new().manager(Api).start_api("127.0.0.1:0"))
        .start()
        .await
        .unwrap();
    let addr = edri.api_addr().unwrap();
    (edri, addr)
}

/// Everything the server sends until it closes the connection.
async fn read_to_close(socket: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    tokio::time::timeout(BOUND, socket.read_to_end(&mut answer))
        .await
        .expect("the server did not close the connection")
        .ok();
    String::from_utf8_lossy(&answer).into_owned()
}

/// One whole answer (head and a Content-Length body) on a connection that stays open.
async fn read_answer(socket: &mut TcpStream) -> String {
    let mut answer = Vec::new();
    let mut chunk = [0u8; 4096];
    tokio::time::timeout(BOUND, async {
        loop {
            let n = socket.read(&mut chunk).await.unwrap();
            assert!(
                n > 0,
                "closed mid-answer: {}",
                String::from_utf8_lossy(&answer)
            );
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&answer);
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|line| {
                        let (name, value) = line.split_once(':')?;
                        name.eq_ignore_ascii_case("content-length")
                            .then(|| value.trim().parse().ok())?
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    return;
                }
            }
        }
    })
    .await
    .expect("no whole answer in time");
    String::from_utf8_lossy(&answer).into_owned()
}

/// The JSON body of a raw answer.
fn body(answer: &str) -> Value {
    let (_, body) = answer
        .split_once("\r\n\r\n")
        .expect("an answer with a head");
    serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {answer}"))
}

fn greet_request(name: &str) -> String {
    format!("GET /greet/{name} HTTP/1.1\r\nHost: test\r\n\r\n")
}

#[tokio::test]
async fn a_partial_header_gets_408_at_the_header_deadline() {
    let timeout = Duration::from_millis(300);
    let (_edri, addr) = server(|edri| edri.api_header_timeout(timeout)).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let started = Instant::now();
    socket
        .write_all(b"GET /greet/slow HTTP/1.1\r\nHost: test\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut socket).await;
    assert!(started.elapsed() >= timeout);
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    let body = body(&answer);
    assert_eq!(body["status_code"], 408);
    assert!(
        body["reasons"][0]["message"]
            .as_str()
            .unwrap()
            .contains("EDRI_API_HEADER_TIMEOUT"),
        "{body}"
    );
}

#[tokio::test]
async fn a_silent_socket_is_closed_at_the_header_deadline() {
    let (_edri, addr) = server(|edri| edri.api_header_timeout(Duration::from_millis(200))).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    // Nothing sent, so nothing to answer: the server just closes.
    assert_eq!(read_to_close(&mut socket).await, "");
}

#[tokio::test]
async fn a_header_trickled_a_byte_at_a_time_is_cut_off() {
    let (_edri, addr) = server(|edri| edri.api_header_timeout(Duration::from_millis(300))).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    let request = b"GET /greet/slowloris HTTP/1.1\r\nHost: test\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
    let mut cut_off = false;
    for byte in request {
        if socket.write_all(&[*byte]).await.is_err() {
            cut_off = true;
            break;
        }
        // The pace of the attack, not a synchronisation: one byte every 20 ms.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let answer = read_to_close(&mut socket).await;
    assert!(
        cut_off || answer.starts_with("HTTP/1.1 408 "),
        "the trickled request was served: {answer}"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_lives_for_the_keep_alive_timeout_not_the_header_one() {
    let header = Duration::from_millis(200);
    let keep_alive = Duration::from_millis(1200);
    let (_edri, addr) = server(|edri| {
        edri.api_header_timeout(header)
            .api_keep_alive_timeout(keep_alive)
    })
    .await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(greet_request("one").as_bytes())
        .await
        .unwrap();
    assert!(read_answer(&mut socket).await.starts_with("HTTP/1.1 200 "));

    // Idle for longer than the header timeout: the connection is still served.
    tokio::time::sleep(header * 2).await;
    socket
        .write_all(greet_request("two").as_bytes())
        .await
        .unwrap();
    let answer = read_answer(&mut socket).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    assert_eq!(body(&answer)["data"]["message"], "Hello, two!");

    // Then idle until the keep-alive timeout closes it, without an answer.
    let idle = Instant::now();
    assert_eq!(read_to_close(&mut socket).await, "");
    assert!(idle.elapsed() >= keep_alive);
}

#[tokio::test]
async fn a_body_short_of_its_content_length_gets_408() {
    let timeout = Duration::from_millis(300);
    let (_edri, addr) = server(|edri| edri.api_body_timeout(timeout)).await;
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(
            b"POST /sum HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
              Content-Length: 100\r\n\r\n{\"firstNumber\": 1",
        )
        .await
        .unwrap();
    let answer = read_to_close(&mut socket).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(body(&answer)["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("EDRI_API_BODY_TIMEOUT"));
}

#[tokio::test]
async fn connections_beyond_the_cap_get_503_and_the_others_are_still_served() {
    let (_edri, addr) = server(|edri| edri.api_max_connections(3)).await;
    // Three clients, each served once so that it surely holds its place.
    let mut held = Vec::new();
    for name in ["a", "b", "c"] {
        let mut socket = TcpStream::connect(addr).await.unwrap();
        socket
            .write_all(greet_request(name).as_bytes())
            .await
            .unwrap();
        assert!(read_answer(&mut socket).await.starts_with("HTTP/1.1 200 "));
        held.push(socket);
    }
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    fourth
        .write_all(greet_request("d").as_bytes())
        .await
        .unwrap();
    let answer = read_to_close(&mut fourth).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    assert!(body(&answer)["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("EDRI_API_MAX_CONNECTIONS"));

    // The clients already connected are served as before.
    for socket in &mut held {
        socket
            .write_all(greet_request("again").as_bytes())
            .await
            .unwrap();
        assert!(read_answer(socket).await.starts_with("HTTP/1.1 200 "));
    }

    // A client that leaves frees its place: once the server has seen it go, a new one is served.
    let mut leaving = held.pop().unwrap();
    leaving
        .write_all(b"GET /greet/bye HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut leaving).await;
    assert!(answer.starts_with("HTTP/1.1 200 "), "{answer}");
    let served = tokio::time::timeout(BOUND, async {
        loop {
            let mut socket = TcpStream::connect(addr).await.unwrap();
            socket
                .write_all(greet_request("new").as_bytes())
                .await
                .unwrap();
            let mut answer = vec![0u8; 12];
            if socket.read_exact(&mut answer).await.is_ok() && answer.starts_with(b"HTTP/1.1 200") {
                return;
            }
            // The server closed the old socket but has not dropped its place yet: try again.
            tokio::task::yield_now().await;
        }
    })
    .await;
    assert!(served.is_ok(), "no place came free after a client left");
}

/// A WebSocket handshake with these extra headers: `Ok` or the HTTP status of the refusal.
async fn ws_handshake(
    addr: SocketAddr,
    headers: &[(&'static str, String)],
) -> Result<(), (u16, Value)> {
    let mut request = format!("ws://{addr}/").into_client_request().unwrap();
    for (name, value) in headers {
        request
            .headers_mut()
            .insert(*name, HeaderValue::from_str(value).unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => Ok(()),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            let body = response
                .body()
                .as_ref()
                .and_then(|body| serde_json::from_slice(body).ok())
                .unwrap_or(Value::Null);
            Err((response.status().as_u16(), body))
        }
        Err(other) => panic!("handshake failed: {other}"),
    }
}

#[tokio::test]
async fn a_websocket_from_a_foreign_origin_is_refused() {
    let (_edri, addr) = server(|edri| edri.cors_origins("https://app.example")).await;
    let origin = |value: &str| vec![("origin", value.to_owned())];

    let (status, body) = ws_handshake(addr, &origin("https://evil.example"))
        .await
        .unwrap_err();
    assert_eq!(status, 403);
    assert!(body["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("https://evil.example"));
    // A hidden origin is still a cross-site browser.
    let hidden = vec![("sec-fetch-site", "cross-site".to_owned())];
    assert_eq!(ws_handshake(addr, &hidden).await.unwrap_err().0, 403);

    assert_eq!(
        ws_handshake(addr, &origin("https://app.example")).await,
        Ok(())
    );
    assert_eq!(
        ws_handshake(addr, &origin(&format!("http://{addr}"))).await,
        Ok(())
    );
    // Clients that are not browsers send no Origin.
    assert_eq!(ws_handshake(addr, &[]).await, Ok(()));
}

#[tokio::test]
async fn without_allowed_origins_a_websocket_takes_only_its_own_origin() {
    let (_edri, addr) = server(|edri| edri).await;
    let foreign = vec![("origin", "https://evil.example".to_owned())];
    assert_eq!(ws_handshake(addr, &foreign).await.unwrap_err().0, 403);
    let own = vec![("origin", format!("http://{addr}"))];
    assert_eq!(ws_handshake(addr, &own).await, Ok(()));
}

/// POST /sum with these extra headers: the status.
async fn post_sum(addr: SocketAddr, headers: &[(&'static str, &str)]) -> (StatusCode, Value) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(format!("http://{addr}/sum"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("firstNumber=2&secondNumber=3");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap())
}

#[tokio::test]
async fn a_cross_site_form_post_is_refused_when_origins_are_set() {
    let (_edri, addr) = server(|edri| edri.cors_origins("https://app.example")).await;
    let (status, body) = post_sum(addr, &[("origin", "https://evil.example")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("CSRF"));
    let (status, _) = post_sum(addr, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN);

    let (status, body) = post_sum(addr, &[("origin", "https://app.example")]).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["totalValue"], 5);
    assert_eq!(post_sum(addr, &[]).await.0, StatusCode::OK);
    let own = format!("http://{addr}");
    assert_eq!(post_sum(addr, &[("origin", &own)]).await.0, StatusCode::OK);

    // Safe methods are not checked: a foreign page may read what CORS lets it read.
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/greet/x"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn the_csrf_check_follows_its_setting() {
    // Off by default without allowed origins (documented) ...
    let (_edri, addr) = server(|edri| edri).await;
    assert_eq!(
        post_sum(addr, &[("origin", "https://evil.example")])
            .await
            .0,
        StatusCode::OK
    );
    // ... and on when asked for.
    let (_edri, addr) = server(|edri| edri.api_csrf_check(true)).await;
    assert_eq!(
        post_sum(addr, &[("origin", "https://evil.example")])
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let own = format!("http://{addr}");
    assert_eq!(post_sum(addr, &[("origin", &own)]).await.0, StatusCode::OK);
}

#[tokio::test]
async fn media_types_are_case_insensitive() {
    let (_edri, addr) = server(|edri| edri).await;
    for content_type in [
        "Application/JSON",
        "APPLICATION/JSON; Charset=UTF-8",
        "application/Json",
    ] {
        let response = reqwest::Client::new()
            .post(format!("http://{addr}/sum"))
            .header("content-type", content_type)
            .body(json!({"firstNumber": 1, "secondNumber": 2}).to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{content_type}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["totalValue"], 3);
    }
    let response = reqwest::Client::new()
        .post(format!("http://{addr}/sum"))
        .header("content-type", "Application/X-WWW-Form-URLEncoded")
        .body("firstNumber=4&secondNumber=5")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

/// Sends raw bytes and returns the whole answer, after which the server closes.
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut socket = TcpStream::connect(addr).await.unwrap();
    socket.write_all(request).await.unwrap();
    read_to_close(&mut socket).await
}

#[tokio::test]
async fn hypers_own_errors_carry_the_api_error_body() {
    let (_edri, addr) = server(|edri| edri).await;

    let long = format!(
        "GET /greet/{} HTTP/1.1\r\nHost: test\r\n\r\n",
        "a".repeat(70_000)
    );
    let answer = raw(addr, long.as_bytes()).await;
    assert!(
        answer.starts_with("HTTP/1.1 414 "),
        "{}",
        &answer[..answer.len().min(200)]
    );
    assert_eq!(body(&answer)["status_code"], 414);

    let mut many = String::from("GET /greet/x HTTP/1.1\r\nHost: test\r\n");
    for i in 0..200 {
        many.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    let answer = raw(addr, many.as_bytes()).await;
    assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
    assert_eq!(body(&answer)["status"], "REQUEST_HEADER_FIELDS_TOO_LARGE");

    let answer = raw(addr, b"THIS IS NOT HTTP\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 400 "), "{answer}");
    assert_eq!(body(&answer)["status_code"], 400);

    // The server still serves everyone else.
    let response = reqwest::get(format!("http://{addr}/greet/after"))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
