//! The WebSocket side of the API broker, through a real client (tokio-tungstenite) against a
//! server on 127.0.0.1.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::Gate;
use edri::prelude::*;
use futures_util::future::join_all;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

#[event(request, ws)]
pub struct Sum {
    pub first_number: i64,
    pub second_number: i64,
    #[response]
    pub total_value: i64,
}

/// A request with a field named `id`: the frame's `id` is that parameter.
#[event(request, ws)]
pub struct Lookup {
    pub id: u32,
    #[response]
    pub seen: u32,
}

#[event(request, ws)]
pub struct Missing {
    pub name: String,
}

#[event(request, ws)]
pub struct Slow {}

/// Nobody solves it.
#[event(request, ws)]
pub struct Orphan {}

/// Its field hides behind the frame's `command` key, so it is refused over WebSocket.
#[event(request, ws)]
pub struct Exec {
    pub command: String,
}

#[event(notification, ws)]
pub struct Relay {
    pub token: String,
    pub count: i64,
    pub sender_name: Option<String>,
}

/// Sent by clients; a manager and other clients receive it.
#[event(notification, ws)]
pub struct Chat {
    pub text: String,
}

/// Numbers of two kinds, for `in` lists: `2` must match `2.0`, and `u64::MAX` only itself.
#[event(notification, ws)]
pub struct Sample {
    pub big: u64,
    pub ratio: f64,
}

/// Not exposed to the API.
#[event(notification)]
pub struct Internal {
    pub secret: String,
}

struct Api {
    chats: mpsc::UnboundedSender<String>,
}

/// Holds `slow` at its gate; a manager of its own, so `Api` answers meanwhile.
struct Holder {
    gate: Gate,
}

#[manager]
impl Holder {
    #[solve(req)]
    async fn slow(&mut self, _event: Slow) {
        self.gate.pass().await;
    }
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
        }
    }

    #[solve(req)]
    async fn lookup(&mut self, event: Lookup) -> LookupResponse {
        LookupResponse { seen: event.id }
    }

    #[solve(req)]
    async fn missing(&mut self, event: Missing) -> Result<(), Failure> {
        Err(Failure::not_found(format!(
            "no item named `{}`",
            event.name
        )))
    }

    #[solve(req)]
    async fn exec(&mut self, _event: Exec) {}

    #[solve(req)]
    async fn chat(&mut self, event: Chat) {
        let _ = self.chats.send(event.text);
    }

    #[solve(req)]
    async fn internal(&mut self, _event: Internal) {}
}

struct Server {
    edri: Handle,
    addr: SocketAddr,
    gate: Gate,
    chats: mpsc::UnboundedReceiver<String>,
}

async fn server_with(configure: impl FnOnce(Edri) -> Edri) -> Server {
    let gate = Gate::default();
    let (sender, chats) = mpsc::unbounded_channel();
    let edri = configure(
        Edri::new()
            .manager(Api { chats: sender })
            .manager(Holder { gate: gate.clone() })
            .start_api("127.0.0.1:0"),
    )
    .start()
    .await
    .unwrap();
    let addr = edri.api_addr().unwrap();
    Server {
        edri,
        addr,
        gate,
        chats,
    }
}

async fn server() -> Server {
    server_with(|edri| edri).await
}

impl Server {
    async fn client(&self) -> Client {
        Client::connect(self.addr).await
    }

    async fn relay(&self, token: &str, count: i64) {
        self.edri
            .notify(Relay {
                token: token.to_owned(),
                count,
                sender_name: None,
            })
            .await
            .unwrap();
    }

    async fn stop(self) {
        self.edri.shutdown().await.unwrap();
    }
}

/// Bounds every wait of a test, so a missing frame fails the test instead of hanging it.
const PATIENCE: Duration = Duration::from_secs(10);

struct Client {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    async fn connect(addr: SocketAddr) -> Client {
        let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/"))
            .await
            .unwrap();
        Client { socket }
    }

    async fn send(&mut self, frame: Value) {
        self.socket
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    /// The next message other than a ping or pong.
    async fn message(&mut self) -> Option<Message> {
        loop {
            let next = tokio::time::timeout(PATIENCE, self.socket.next())
                .await
                .expect("no message in time");
            match next {
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                Some(Ok(message)) => return Some(message),
                Some(Err(error)) => panic!("the connection failed: {error}"),
                None => return None,
            }
        }
    }

    /// The next text frame, as JSON.
    async fn recv(&mut self) -> Value {
        match self.message().await {
            Some(Message::Text(text)) => serde_json::from_str(&text).unwrap(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    async fn call(&mut self, frame: Value) -> Value {
        self.send(frame).await;
        self.recv().await
    }

    /// Registers and checks the answer.
    async fn register(&mut self, event: &str, param_set: Value) {
        let answer = self
            .call(json!({"command": "register", "event": event, "paramSet": param_set}))
            .await;
        assert_eq!(
            answer,
            json!({"command": "register", "event": event, "response": {"status": "OK"}})
        );
    }

    /// The Close frame the server sends next (after any frames still on their way).
    async fn close_frame(&mut self) -> CloseFrame {
        loop {
            match self.message().await {
                Some(Message::Close(Some(frame))) => return frame,
                Some(Message::Text(_)) => continue,
                other => panic!("expected a Close frame, got {other:?}"),
            }
        }
    }

    /// Closes from the client side and waits for the server to finish the handshake.
    async fn close(mut self) {
        self.socket.close(None).await.unwrap();
        while let Some(message) = self.message().await {
            assert!(matches!(message, Message::Close(_)), "{message:?}");
        }
    }
}

/// An error frame: `{"command", "id"?, "status": "FAILED", "reasons": [..]}`, one reason
/// containing `needle`.
fn assert_failed(frame: &Value, command: Value, code: u16, needle: &str) {
    assert_eq!(frame["command"], command, "{frame}");
    assert_eq!(frame["status"], "FAILED", "{frame}");
    let reasons = frame["reasons"].as_array().expect("reasons");
    assert_eq!(reasons.len(), 1, "{frame}");
    assert_eq!(reasons[0]["status_code"], code, "{frame}");
    let message = reasons[0]["message"].as_str().unwrap();
    assert!(message.contains(needle), "`{needle}` not in {frame}");
}

/// The A7 error body inside `response`.
fn assert_error_response(frame: &Value, code: u16, status: &str, needle: &str) {
    let response = &frame["response"];
    assert_eq!(response["status_code"], code, "{frame}");
    assert_eq!(response["status"], status, "{frame}");
    assert!(response["description"].is_string(), "{frame}");
    let message = response["reasons"][0]["message"].as_str().unwrap();
    assert!(message.contains(needle), "`{needle}` not in {frame}");
}

#[tokio::test]
async fn a_request_is_answered_with_its_frame_echoed_and_the_response() {
    let server = server().await;
    let mut client = server.client().await;
    let answer = client
        .call(json!({"command": "greet", "name": "ws", "id": 7}))
        .await;
    assert_eq!(
        answer,
        json!({"command": "greet", "name": "ws", "id": 7,
               "response": {"data": {"message": "Hello, ws!"}, "status": "OK"}})
    );
    // Without an id, and with a text id.
    let answer = client.call(json!({"command": "greet", "name": "x"})).await;
    assert_eq!(
        answer,
        json!({"command": "greet", "name": "x",
               "response": {"data": {"message": "Hello, x!"}, "status": "OK"}})
    );
    let answer = client
        .call(json!({"command": "greet", "name": "y", "id": "a-1"}))
        .await;
    assert_eq!(answer["id"], "a-1");
    server.stop().await;
}

#[tokio::test]
async fn parameters_take_camel_case_keys_and_are_coerced() {
    let server = server().await;
    let mut client = server.client().await;
    let answer = client
        .call(json!({"command": "sum", "firstNumber": "2", "second_number": 40}))
        .await;
    assert_eq!(
        answer["response"],
        json!({"data": {"totalValue": 42}, "status": "OK"})
    );
    // An event with an `id` field takes the frame's `id` as that parameter.
    let answer = client.call(json!({"command": "lookup", "id": 5})).await;
    assert_eq!(
        answer,
        json!({"command": "lookup", "id": 5, "response": {"data": {"seen": 5}, "status": "OK"}})
    );
    server.stop().await;
}

#[tokio::test]
async fn failures_timeouts_and_unsolved_requests_answer_with_the_error_body() {
    let server = server_with(|edri| edri.api_response_timeout(Duration::from_millis(200))).await;
    let mut client = server.client().await;
    let answer = client
        .call(json!({"command": "missing", "name": "hat", "id": 1}))
        .await;
    assert_eq!(answer["id"], 1);
    assert_eq!(answer["name"], "hat");
    assert_error_response(&answer, 404, "NOT_FOUND", "no item named `hat`");

    let answer = client.call(json!({"command": "orphan"})).await;
    assert_error_response(&answer, 503, "UNAVAILABLE", "orphan");

    let answer = client.call(json!({"command": "slow", "id": 2})).await;
    assert_eq!(answer["id"], 2);
    assert_error_response(&answer, 504, "TIMEOUT", "slow");
    server.gate.open();
    server.stop().await;
}

#[tokio::test]
async fn commands_are_answered_as_they_complete() {
    let server = server().await;
    let mut client = server.client().await;
    client.send(json!({"command": "slow", "id": 1})).await;
    server.gate.entered().await;
    // The slow request is held: the next command is answered first.
    let answer = client
        .call(json!({"command": "greet", "name": "a", "id": 2}))
        .await;
    assert_eq!(answer["id"], 2);
    server.gate.open();
    let answer = client.recv().await;
    assert_eq!(
        answer,
        json!({"command": "slow", "id": 1, "response": {"status": "OK"}})
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_get_error_frames_and_the_connection_stays_open() {
    let server = server().await;
    let mut client = server.client().await;

    client
        .socket
        .send(Message::text("{\"command\": "))
        .await
        .unwrap();
    let frame = client.recv().await;
    assert_failed(&frame, Value::Null, 400, "malformed JSON");
    assert!(frame.get("id").is_none(), "{frame}");

    let frame = client.call(json!([1, 2])).await;
    assert_failed(&frame, Value::Null, 400, "not an array");

    let frame = client.call(json!({"name": "x", "id": 3})).await;
    assert_failed(&frame, Value::Null, 400, "no `command`");
    assert_eq!(frame["id"], 3);

    let frame = client.call(json!({"command": 5})).await;
    assert_failed(&frame, Value::Null, 400, "`command` must be text");

    let frame = client.call(json!({"command": "launch", "id": 4})).await;
    assert_failed(&frame, json!("launch"), 400, "unknown command `launch`");
    assert_eq!(frame["id"], 4);

    // An event not declared with `ws` is not a command.
    let frame = client
        .call(json!({"command": "internal", "secret": "s"}))
        .await;
    assert_failed(&frame, json!("internal"), 400, "unknown command `internal`");

    let frame = client
        .call(json!({"command": "greet", "name": "x", "colour": "red"}))
        .await;
    assert_failed(&frame, json!("greet"), 400, "unknown parameter `colour`");

    let frame = client
        .call(json!({"command": "sum", "firstNumber": 1}))
        .await;
    assert_failed(&frame, json!("sum"), 400, "secondNumber");

    let frame = client
        .call(json!({"command": "sum", "firstNumber": "one", "secondNumber": 1}))
        .await;
    assert_failed(&frame, json!("sum"), 400, "firstNumber");

    let frame = client.call(json!({"command": "exec", "command_": 1})).await;
    assert_failed(&frame, json!("exec"), 400, "field `command`");

    client
        .socket
        .send(Message::binary(b"{\"command\": \"greet\"}".to_vec()))
        .await
        .unwrap();
    let frame = client.recv().await;
    assert_failed(&frame, Value::Null, 400, "binary frames");

    // 10 000 levels of nesting: serde_json's recursion limit, not a stack overflow.
    let deep = "[".repeat(10_000) + &"]".repeat(10_000);
    client.socket.send(Message::text(deep)).await.unwrap();
    let frame = client.recv().await;
    assert_failed(&frame, Value::Null, 400, "recursion limit");
    let deep = format!(
        "{{\"command\": \"greet\", \"name\": {}{}}}",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    client.socket.send(Message::text(deep)).await.unwrap();
    let frame = client.recv().await;
    assert_failed(&frame, Value::Null, 400, "recursion limit");

    // Still open, still answering.
    let answer = client.call(json!({"command": "greet", "name": "ok"})).await;
    assert_eq!(answer["response"]["data"]["message"], "Hello, ok!");
    server.stop().await;
}

#[tokio::test]
async fn a_plain_http_request_to_the_websocket_gets_the_error_json() {
    let server = server().await;
    let http = reqwest::Client::new();
    let response = http
        .get(format!("http://{}/", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::UPGRADE_REQUIRED);
    assert_eq!(response.headers()["upgrade"], "websocket");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status_code"], 426, "{body}");
    assert_eq!(body["status"], "UPGRADE_REQUIRED", "{body}");
    let reason = body["reasons"][0]["message"].as_str().unwrap();
    assert!(reason.contains("WebSocket"), "{body}");

    let response = http
        .post(format!("http://{}/", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), reqwest::StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(response.headers()["allow"], "GET");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status_code"], 405, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn a_frame_over_the_size_limit_closes_with_1009() {
    let server = server_with(|edri| edri.api_max_body(1024)).await;
    let mut client = server.client().await;
    // Just under the limit is fine.
    let name = "n".repeat(900);
    let answer = client.call(json!({"command": "greet", "name": name})).await;
    assert_eq!(answer["response"]["status"], "OK");

    let name = "n".repeat(4096);
    client.send(json!({"command": "greet", "name": name})).await;
    let close = client.close_frame().await;
    assert_eq!(close.code, CloseCode::Size);
    assert!(close.reason.contains("1024 bytes"), "{close:?}");

    // Other clients are unaffected.
    let mut other = server.client().await;
    let answer = other.call(json!({"command": "greet", "name": "b"})).await;
    assert_eq!(answer["response"]["status"], "OK");
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_closes_that_connection_only() {
    let server = server().await;
    let mut bad = server.client().await;
    let mut good = server.client().await;
    bad.register("relay", json!({})).await;
    assert_eq!(server.edri.subscribers::<Relay>().len(), 1);

    let frame = Frame::message(vec![b'{', 0xff, 0xfe, b'}'], OpCode::Data(Data::Text), true);
    bad.socket.send(Message::Frame(frame)).await.unwrap();
    let close = bad.close_frame().await;
    assert_eq!(close.code, CloseCode::Invalid);
    // Its registration went before the Close.
    assert!(server.edri.subscribers::<Relay>().is_empty());

    let answer = good.call(json!({"command": "greet", "name": "g"})).await;
    assert_eq!(answer["response"]["data"]["message"], "Hello, g!");
    server.stop().await;
}

/// The counts of the `relay` pushes a client receives before the marker (token `marker`).
async fn counts_until_marker(client: &mut Client) -> Vec<i64> {
    let mut counts = Vec::new();
    loop {
        let push = client.recv().await;
        assert_eq!(push["command"], "relay", "{push}");
        if push["token"] == "marker" {
            return counts;
        }
        counts.push(push["count"].as_i64().unwrap());
    }
}

#[tokio::test]
async fn filters_use_each_operator_and_and_their_keys() {
    let server = server().await;
    let cases = [
        (json!({"count": 3}), vec![3]),
        (json!({"count": "3"}), vec![3]),
        (json!({"count": {"eq": 3}}), vec![3]),
        (json!({"count": {"ne": 3}, "token": "t"}), vec![1, 2, 4, 5]),
        (json!({"count": {"in": [1, "5"]}}), vec![1, 5]),
        (json!({"count": {"gt": 3}}), vec![4, 5]),
        (json!({"count": {"gte": 3}}), vec![3, 4, 5]),
        (json!({"count": {"lt": 3}, "token": "t"}), vec![1, 2]),
        (json!({"count": {"lte": 3}, "token": "t"}), vec![1, 2, 3]),
        (json!({"count": {"gte": 2, "lt": 4}}), vec![2, 3]),
        (json!({"token": "t", "count": {"gte": 4}}), vec![4, 5]),
        (json!({"token": "u", "count": {"gte": 4}}), vec![]),
        (json!({"token": {"gt": "s"}, "count": {"lte": 1}}), vec![1]),
        (json!({"senderName": "ann"}), vec![2]),
        (json!({"sender_name": {"ne": null}}), vec![2]),
        (json!({}), vec![1, 2, 3, 4, 5]),
    ];
    let mut clients = Vec::new();
    for (param_set, _) in &cases {
        let mut client = server.client().await;
        client.register("relay", param_set.clone()).await;
        client.register("relay", json!({"token": "marker"})).await;
        clients.push(client);
    }
    for count in 1..=5 {
        server
            .edri
            .notify(Relay {
                token: "t".to_owned(),
                count,
                sender_name: (count == 2).then(|| "ann".to_owned()),
            })
            .await
            .unwrap();
    }
    server.relay("marker", 0).await;
    for ((param_set, expected), client) in cases.iter().zip(&mut clients) {
        let counts = counts_until_marker(client).await;
        assert_eq!(&counts, expected, "filter {param_set}");
    }
    server.stop().await;
}

#[tokio::test]
async fn pushes_are_camel_case_and_once_per_client_when_several_filters_match() {
    let server = server().await;
    let mut client = server.client().await;
    client.register("relay", json!({"token": "a"})).await;
    client.register("relay", json!({"count": {"gt": 1}})).await;
    client.register("relay", json!({"token": "a"})).await;
    // The marker (count 0) matches none of the filters above: it gets its own.
    client.register("relay", json!({"token": "marker"})).await;
    server
        .edri
        .notify(Relay {
            token: "a".to_owned(),
            count: 5,
            sender_name: Some("bo".to_owned()),
        })
        .await
        .unwrap();
    server.relay("marker", 0).await;
    let push = client.recv().await;
    assert_eq!(
        push,
        json!({"command": "relay", "token": "a", "count": 5, "senderName": "bo"})
    );
    let marker = client.recv().await;
    assert_eq!(
        marker["token"], "marker",
        "a second push of the first: {marker}"
    );
    server.stop().await;
}

#[tokio::test]
async fn bad_registrations_get_error_frames() {
    let server = server().await;
    let mut client = server.client().await;
    let cases = [
        (json!({"event": "weather"}), 400, "unknown event `weather`"),
        (
            json!({"event": "internal"}),
            400,
            "unknown event `internal`",
        ),
        (json!({"event": "greet"}), 400, "`greet` is a request"),
        (json!({}), 400, "needs `event`"),
        (json!({"event": 3}), 400, "`event` must be"),
        (
            json!({"event": "relay", "paramSet": [1]}),
            400,
            "`paramSet` must be an object",
        ),
        (
            json!({"event": "relay", "paramSet": {"colour": 1}}),
            400,
            "unknown field `colour`",
        ),
        (
            json!({"event": "relay", "paramSet": {"count": {"like": 1}}}),
            400,
            "unknown operator `like`",
        ),
        (
            json!({"event": "relay", "paramSet": {"count": {"in": 1}}}),
            400,
            "`in` takes an array",
        ),
        (
            json!({"event": "relay", "paramSet": {"count": {}}}),
            400,
            "no operator",
        ),
        (
            json!({"event": "relay", "paramSet": {"count": "many"}}),
            400,
            "a whole number",
        ),
        (
            json!({"event": "relay", "paramSet": {"token": 5}}),
            400,
            "text",
        ),
        (
            json!({"event": "relay", "filters": {}}),
            400,
            "unknown key `filters`",
        ),
    ];
    for (index, (frame, code, needle)) in cases.into_iter().enumerate() {
        let mut frame = frame;
        frame["command"] = json!("register");
        frame["id"] = json!(index);
        let answer = client.call(frame).await;
        assert_failed(&answer, json!("register"), code, needle);
        assert_eq!(answer["id"], index);
    }
    let answer = client
        .call(json!({"command": "unregister", "event": "relay", "id": 9}))
        .await;
    assert_failed(
        &answer,
        json!("unregister"),
        404,
        "not registered for `relay`",
    );
    assert_eq!(answer["id"], 9);
    // Nothing was registered along the way.
    assert!(server.edri.subscribers::<Relay>().is_empty());

    // At most 64 filters per client and event: every push tests them all.
    for count in 0..64 {
        client.register("relay", json!({ "count": count })).await;
    }
    let answer = client
        .call(json!({"command": "register", "event": "relay", "paramSet": {"count": 64}}))
        .await;
    assert_failed(&answer, json!("register"), 400, "at most 64 filters");
    server.stop().await;
}

#[tokio::test]
async fn unregister_stops_pushes_and_the_last_one_unsubscribes_from_the_router() {
    let server = server().await;
    let mut a = server.client().await;
    a.register("relay", json!({"token": "x"})).await;
    assert_eq!(
        server.edri.subscribers::<Relay>(),
        vec!["api (WebSocket clients)".to_owned()]
    );
    let answer = a
        .call(json!({"command": "unregister", "event": "relay", "id": 1}))
        .await;
    assert_eq!(
        answer,
        json!({"command": "unregister", "event": "relay", "id": 1, "response": {"status": "OK"}})
    );
    assert!(server.edri.subscribers::<Relay>().is_empty());

    // With another client keeping the subscription, `a` gets nothing of `x` any more.
    let mut b = server.client().await;
    b.register("relay", json!({"token": {"in": ["x", "marker"]}}))
        .await;
    server.relay("x", 1).await;
    a.register("relay", json!({"token": "marker"})).await;
    server.relay("marker", 0).await;
    assert_eq!(counts_until_marker(&mut b).await, vec![1]);
    assert_eq!(counts_until_marker(&mut a).await, Vec::<i64>::new());
    server.stop().await;
}

#[tokio::test]
async fn a_notification_from_a_client_reaches_managers_and_registered_clients() {
    let mut server = server().await;
    let mut listener = server.client().await;
    listener.register("chat", json!({})).await;
    let mut speaker = server.client().await;
    let ack = speaker
        .call(json!({"command": "chat", "text": "hi", "id": 1}))
        .await;
    assert_eq!(
        ack,
        json!({"command": "chat", "text": "hi", "id": 1, "response": {"status": "OK"}})
    );
    assert_eq!(server.chats.recv().await.as_deref(), Some("hi"));
    assert_eq!(
        listener.recv().await,
        json!({"command": "chat", "text": "hi"})
    );
    server.stop().await;
}

#[tokio::test]
async fn a_disconnect_removes_the_clients_subscriptions() {
    let server = server().await;
    let mut client = server.client().await;
    client.register("relay", json!({"count": 1})).await;
    client.register("relay", json!({"count": 2})).await;
    client.register("chat", json!({})).await;
    assert_eq!(server.edri.subscribers::<Relay>().len(), 1);
    assert_eq!(server.edri.subscribers::<Chat>().len(), 2);
    client.close().await;
    assert!(server.edri.subscribers::<Relay>().is_empty());
    // The manager's subscription stays.
    assert_eq!(server.edri.subscribers::<Chat>().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn two_hundred_clients_each_get_exactly_their_own_pushes() {
    const CLIENTS: i64 = 200;
    let server = server().await;
    let addr = server.addr;
    let clients = join_all((0..CLIENTS).map(|index| async move {
        let mut client = Client::connect(addr).await;
        client
            .register("relay", json!({"token": format!("c{index}")}))
            .await;
        client.register("relay", json!({"token": "marker"})).await;
        client
    }))
    .await;
    for index in 0..CLIENTS {
        server.relay(&format!("c{index}"), index).await;
    }
    server.relay("marker", -1).await;
    let received = join_all(
        clients
            .into_iter()
            .map(|mut client| async move { counts_until_marker(&mut client).await }),
    )
    .await;
    for (index, counts) in received.iter().enumerate() {
        assert_eq!(counts, &vec![index as i64], "client {index}");
    }
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_does_not_read_is_closed_with_1008() {
    const PUSHES: i64 = 48;
    let server = server_with(|edri| edri.queue_capacity(4)).await;
    let mut slow = server.client().await;
    slow.register("relay", json!({"count": {"gte": 0}})).await;
    let mut fast = server.client().await;
    fast.register("relay", json!({"token": "marker"})).await;
    // More than the kernel's socket buffers hold (tcp_rmem max 32 MiB, tcp_wmem 4 MiB here),
    // so the slow client's outbox overflows.
    let big = "b".repeat(2 * 1024 * 1024);
    for count in 0..PUSHES {
        server.relay(&big, count).await;
    }
    server.relay("marker", -1).await;
    // The marker came through: the fan-out was not held up by the slow client.
    assert_eq!(counts_until_marker(&mut fast).await, Vec::<i64>::new());
    let mut received = 0;
    let close = loop {
        match slow.message().await {
            Some(Message::Text(_)) => received += 1,
            Some(Message::Close(Some(frame))) => break frame,
            other => panic!("expected pushes then a Close, got {other:?}"),
        }
    };
    assert_eq!(close.code, CloseCode::Policy, "{close:?}");
    assert!(close.reason.contains("too slow"), "{close:?}");
    assert!(received < PUSHES, "{received} pushes");
    // The fast client's registration keeps the router subscription.
    assert_eq!(server.edri.subscribers::<Relay>().len(), 1);
    server.stop().await;
}

#[tokio::test]
async fn stopping_the_api_closes_connections_with_1001() {
    let server = server().await;
    let mut client = server.client().await;
    client.register("relay", json!({})).await;
    server.edri.shutdown().await.unwrap();
    let close = client.close_frame().await;
    assert_eq!(close.code, CloseCode::Away);
}

#[tokio::test]
async fn a_notification_kept_for_a_late_subscriber_reaches_the_first_client_to_register() {
    let server = server().await;
    // Nobody subscribes to `relay` yet: the router keeps it.
    server.relay("early", 1).await;
    let mut client = server.client().await;
    client.register("relay", json!({})).await;
    server.relay("marker", 0).await;
    assert_eq!(counts_until_marker(&mut client).await, vec![1]);
    server.stop().await;
}

#[tokio::test]
async fn a_filter_over_the_budget_is_refused_and_the_connection_stays_usable() {
    let server = server_with(|edri| edri.api_ws_filter_limits(10, 200)).await;
    let mut client = server.client().await;

    // The condition and its ten items: 11.
    let list: Vec<i64> = (0..10).collect();
    let answer = client
        .call(json!({"command": "register", "event": "relay", "id": 1,
                     "paramSet": {"count": {"in": list}}}))
        .await;
    assert_failed(
        &answer,
        json!("register"),
        400,
        "11 items (conditions and `in` items), over the limit of 10 per client \
         (EDRI_API_WS_MAX_FILTER_ITEMS)",
    );
    assert_eq!(answer["id"], 1);

    // One condition, but 302 bytes of operand.
    let answer = client
        .call(json!({"command": "register", "event": "relay", "id": 2,
                     "paramSet": {"token": "x".repeat(300)}}))
        .await;
    assert_failed(
        &answer,
        json!("register"),
        400,
        "302 bytes of operands, over the limit of 200 per client \
         (EDRI_API_WS_MAX_FILTER_BYTES)",
    );
    assert_eq!(answer["id"], 2);
    // Nothing of either was kept.
    assert!(server.edri.subscribers::<Relay>().is_empty());

    // Still open, still answering, and a filter within the budget works.
    let answer = client.call(json!({"command": "greet", "name": "ok"})).await;
    assert_eq!(answer["response"]["data"]["message"], "Hello, ok!");
    client.register("relay", json!({"token": "ok"})).await;
    server.relay("ok", 7).await;
    assert_eq!(client.recv().await["count"], 7);
    server.stop().await;
}

#[tokio::test]
async fn the_filter_budget_spans_events_and_unregister_gives_it_back() {
    let mut server = server_with(|edri| edri.api_ws_filter_limits(10, 1000)).await;
    let mut client = server.client().await;
    // 6 items of the 10.
    client
        .register("relay", json!({"count": {"in": [1, 2, 3, 4, 5]}}))
        .await;
    let four_texts = json!({"text": {"in": ["a", "b", "c", "d"]}});
    let register_chat = json!({"command": "register", "event": "chat", "paramSet": four_texts});
    let answer = client.call(register_chat.clone()).await;
    assert_failed(
        &answer,
        json!("register"),
        400,
        "5 items (conditions and `in` items) on top of the 6 this client has registered",
    );
    // Up to the limit exactly is fine; one more is not.
    client
        .register("relay", json!({"count": {"in": [6, 7, 8]}}))
        .await;
    let answer = client
        .call(json!({"command": "register", "event": "chat", "paramSet": {"text": "a"}}))
        .await;
    assert_failed(&answer, json!("register"), 400, "on top of the 10");

    let answer = client
        .call(json!({"command": "unregister", "event": "relay"}))
        .await;
    assert_eq!(answer["response"]["status"], "OK", "{answer}");
    let answer = client.call(register_chat).await;
    assert_eq!(answer["response"]["status"], "OK", "{answer}");
    // The registration is live.
    server
        .edri
        .notify(Chat {
            text: "b".to_owned(),
        })
        .await
        .unwrap();
    assert_eq!(server.chats.recv().await.as_deref(), Some("b"));
    assert_eq!(client.recv().await, json!({"command": "chat", "text": "b"}));
    server.stop().await;
}

/// The `(big, ratio)` of the `sample` pushes a client receives before the marker (ratio -1).
async fn samples_until_marker(client: &mut Client) -> Vec<(u64, f64)> {
    let mut samples = Vec::new();
    loop {
        let push = client.recv().await;
        assert_eq!(push["command"], "sample", "{push}");
        let ratio = push["ratio"].as_f64().expect("a ratio");
        if ratio == -1.0 {
            return samples;
        }
        samples.push((push["big"].as_u64().expect("a big"), ratio));
    }
}

#[tokio::test]
async fn a_large_in_list_matches_exactly_its_members() {
    let server = server().await;
    // 9 000 even numbers and u64::MAX: within the default budget of 10 000 items.
    let mut bigs: Vec<u64> = (0..9_000).map(|n| n * 2).collect();
    bigs.push(u64::MAX);
    let mut by_big = server.client().await;
    by_big
        .register("sample", json!({"big": {"in": bigs}}))
        .await;
    by_big.register("sample", json!({"ratio": -1})).await;
    // Whole numbers, fractions and text read as numbers.
    let mut by_ratio = server.client().await;
    by_ratio
        .register("sample", json!({"ratio": {"in": [2, 0.5, "1.25"]}}))
        .await;
    by_ratio.register("sample", json!({"ratio": -1})).await;

    let samples = [
        (0, 0.0),
        (1, 2.0),
        (2, 2.5),
        (17_998, 0.5),
        (17_999, 1.25),
        (18_000, 1.0),
        (u64::MAX, 3.0),
        (u64::MAX - 1, 2.000_000_1),
        // The marker.
        (5, -1.0),
    ];
    for (big, ratio) in samples {
        server.edri.notify(Sample { big, ratio }).await.unwrap();
    }
    let bigs: Vec<u64> = samples_until_marker(&mut by_big)
        .await
        .into_iter()
        .map(|(big, _)| big)
        .collect();
    assert_eq!(bigs, vec![0, 2, 17_998, u64::MAX]);
    let ratios: Vec<f64> = samples_until_marker(&mut by_ratio)
        .await
        .into_iter()
        .map(|(_, ratio)| ratio)
        .collect();
    assert_eq!(ratios, vec![2.0, 0.5, 1.25]);
    server.stop().await;
}

/// A WebSocket client that reads raw frames and so never answers a ping, as a vanished peer
/// would not.
struct RawClient {
    reader: BufReader<TcpStream>,
}

impl RawClient {
    /// Opens the connection with a handshake written by hand.
    async fn connect(addr: SocketAddr) -> RawClient {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut reader = BufReader::new(stream);
        let mut status = String::new();
        reader.read_line(&mut status).await.unwrap();
        assert!(status.starts_with("HTTP/1.1 101"), "{status}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" {
                return RawClient { reader };
            }
        }
    }

    /// The next frame's opcode and payload (a server's frames are not masked); `None` once
    /// the server has let go of the connection.
    async fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut head = [0; 2];
        if self.reader.read_exact(&mut head).await.is_err() {
            return None;
        }
        assert_eq!(head[1] & 0x80, 0, "a masked frame from the server");
        let length = match head[1] & 0x7f {
            126 => u64::from(self.reader.read_u16().await.unwrap()),
            127 => self.reader.read_u64().await.unwrap(),
            short => u64::from(short),
        };
        let mut payload = vec![0; usize::try_from(length).unwrap()];
        self.reader.read_exact(&mut payload).await.unwrap();
        Some((head[0] & 0x0f, payload))
    }
}

#[tokio::test]
async fn a_client_that_answers_no_pings_is_closed_after_two() {
    const INTERVAL: Duration = Duration::from_millis(150);
    const PING: u8 = 0x9;
    const CLOSE: u8 = 0x8;
    let server = server_with(|edri| edri.api_ws_ping_interval(INTERVAL)).await;
    let mut raw = RawClient::connect(server.addr).await;
    let connected = Instant::now();
    // Bounded as a whole: a server that never gave up would ping forever.
    let close = timeout(PATIENCE, async {
        let mut pings = 0;
        loop {
            match raw.frame().await {
                Some((PING, _)) => pings += 1,
                Some((CLOSE, payload)) => {
                    assert_eq!(pings, 2, "pings before the Close");
                    return payload;
                }
                other => panic!("expected pings then a Close, got {other:?}"),
            }
            assert!(pings <= 2, "a third ping, and no Close");
        }
    })
    .await
    .expect("no Close in time");
    let closed = Instant::now();
    // The Close goes when a third ping is due, three intervals in; never before two.
    assert!(
        closed - connected >= INTERVAL * 2,
        "closed after {:?}",
        closed - connected
    );
    assert!(close.len() >= 2, "a Close without a code: {close:?}");
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1008);
    assert_eq!(String::from_utf8_lossy(&close[2..]), "no answer to 2 pings");
    // The server lets go at once rather than waiting for a Close from a peer that answers
    // nothing.
    let end = timeout(PATIENCE, raw.frame())
        .await
        .expect("no end in time");
    assert_eq!(end, None);
    assert!(
        closed.elapsed() < Duration::from_secs(2),
        "the server held the connection {:?} after its Close",
        closed.elapsed()
    );
    // Other clients are unaffected.
    let mut other = server.client().await;
    let answer = other.call(json!({"command": "greet", "name": "b"})).await;
    assert_eq!(answer["response"]["status"], "OK");
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_reads_answers_the_pings_and_stays_connected() {
    const INTERVAL: Duration = Duration::from_millis(100);
    let server = server_with(|edri| edri.api_ws_ping_interval(INTERVAL)).await;
    let mut client = server.client().await;
    // Six pings are twice the three intervals a silent client lasts. tungstenite answers
    // each Pong as the next read begins.
    let mut pings = 0;
    while pings < 6 {
        let next = timeout(PATIENCE, client.socket.next())
            .await
            .expect("no ping in time");
        match next {
            Some(Ok(Message::Ping(_))) => pings += 1,
            other => panic!("expected pings, got {other:?}"),
        }
    }
    let answer = client
        .call(json!({"command": "greet", "name": "alive"}))
        .await;
    assert_eq!(answer["response"]["data"]["message"], "Hello, alive!");
    client.close().await;
    server.stop().await;
}
