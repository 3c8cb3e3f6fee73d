//! The API's built-in pages under `/edri/`, through a real HTTP client against a server on
//! 127.0.0.1; the OpenAPI document through a real validator, and the HTML pages through
//! headless Chromium.
//!
//! The validator (`pip install openapi-spec-validator`) and Chromium (`apt-get install
//! chromium`) are installed by `.ci/run`. Without them the tests that need them fail when `CI`
//! is set, and are skipped (with a message saying why) otherwise.

mod common;

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use common::Gate;
use edri::prelude::*;
use futures_util::StreamExt;
use reqwest::header::{HeaderMap, ACCEPT, ALLOW, CONTENT_TYPE};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// Greets someone. <script>alert("pwned")</script> & friends stay text.
///
/// A second paragraph.
#[event(request, rest = "GET /greet/{name}")]
pub struct Greet {
    /// Who to greet.
    pub name: String,
    /// Shout it.
    pub loud: Option<bool>,
    /// The greeting.
    #[response]
    pub message: String,
}

/// Puts an item on a shelf.
#[event(request, rest = "POST /shelves/{shelf_id}")]
pub struct CreateItem {
    /// The shelf, from the path.
    pub shelf_id: u32,
    pub item_name: String,
    pub tags: Vec<String>,
    pub quantity: Option<u32>,
    #[response]
    pub item_id: u64,
    #[response]
    pub note_text: Option<String>,
}

/// Empties a shelf: answered by its status alone.
#[event(request, rest = "DELETE /shelves/{shelf_id}")]
pub struct ClearShelf {
    pub shelf_id: u32,
    pub force: Option<bool>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Stock {
    pub total: u64,
}

#[event(request, rest = "GET /stock", response = Stock)]
pub struct ReadStock {}

/// Over WebSocket only.
#[event(request, ws)]
pub struct Ping {}

/// Pushed to WebSocket clients after each greeting.
#[event(notification, ws)]
pub struct Greeted {
    pub name: String,
}

/// Not part of the API: no `rest`, no `ws`.
#[event(notification)]
pub struct Audited {}

#[event(notification)]
pub struct Block {}

/// Nobody subscribes to it: it waits in the unrouted cache, and is dropped when that overflows.
#[event(notification)]
pub struct Unheard {
    pub n: u32,
}

/// Solved by `Doomed`, which dies before it handles any.
#[event(notification)]
pub struct Doom {}

/// Answers the API's requests; tells `Audit` about each greeting.
pub struct Greeter;

#[manager]
impl Greeter {
    #[solve(req)]
    async fn greet(&mut self, event: Greet, ctx: &Context) -> GreetResponse {
        ctx.notify(Greeted {
            name: event.name.clone(),
        })
        .await;
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }

    #[solve(req)]
    async fn create_item(&mut self, event: CreateItem) -> CreateItemResponse {
        CreateItemResponse {
            item_id: u64::from(event.shelf_id),
            note_text: None,
        }
    }

    #[solve(req)]
    async fn clear_shelf(&mut self, _event: ClearShelf) {}

    #[solve(req)]
    async fn read_stock(&mut self, _event: ReadStock) -> Stock {
        Stock { total: 3 }
    }

    #[solve(req)]
    async fn ping(&mut self, _event: Ping) {}
}

/// Receives `Greeted` and says so with `Audited`, which the tests await.
pub struct Audit;

#[manager]
impl Audit {
    #[solve(req)]
    async fn greeted(&mut self, _event: Greeted, ctx: &Context) {
        ctx.notify(Audited {}).await;
    }
}

/// Receives `Audited` under a name full of markup, and tells the test each time.
pub struct Tally {
    seen: tokio::sync::mpsc::UnboundedSender<()>,
}

#[manager]
impl Tally {
    #[solve(req)]
    async fn audited(&mut self, _event: Audited) {
        let _ = self.seen.send(());
    }
}

/// The name `Tally` runs under: every markup character, to be escaped everywhere.
const ODD_NAME: &str = "Tally <&> \"Co's\"";

/// Panics in `after_start`: its task ends, its queue closes, and deliveries of `Doom` to it
/// are refused. `alive` is dropped with it, which tells the test.
pub struct Doomed {
    _alive: tokio::sync::oneshot::Sender<()>,
}

#[manager]
impl Doomed {
    async fn after_start(&mut self) {
        panic!("doomed: stops before handling anything");
    }

    #[solve(req)]
    async fn doom(&mut self, _event: Doom) {}
}

/// Holds `Block` until the test opens its gate: silent to health checks meanwhile.
pub struct Sleepy {
    gate: Gate,
}

#[manager]
impl Sleepy {
    #[solve(req)]
    async fn block(&mut self, _event: Block) {
        self.gate.pass().await;
    }
}

struct Server {
    edri: Handle,
    base: String,
    client: reqwest::Client,
}

/// A page as received.
struct Page {
    status: StatusCode,
    headers: HeaderMap,
    text: String,
}

impl Page {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|error| {
            panic!("not JSON ({error}): {}", self.text);
        })
    }
}

const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

async fn start(configure: impl FnOnce(Edri) -> Edri) -> Server {
    let edri = configure(
        Edri::new()
            .manager(Greeter)
            .manager(Audit)
            .start_api("127.0.0.1:0"),
    )
    .start()
    .await
    .unwrap();
    let base = format!("http://{}", edri.api_addr().unwrap());
    // No pooled connections: a test that moves the paused clock must not meet a connection
    // that timed out meanwhile.
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    Server { edri, base, client }
}

impl Server {
    async fn request(&self, method: Method, path: &str, accept: &str) -> Page {
        let response = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header(ACCEPT, accept)
            .send()
            .await
            .unwrap();
        Page {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.unwrap(),
        }
    }

    async fn json(&self, path: &str) -> (StatusCode, Value) {
        let page = self.request(Method::GET, path, "application/json").await;
        (page.status, page.json())
    }

    async fn html(&self, path: &str) -> Page {
        let page = self.request(Method::GET, path, BROWSER).await;
        let content_type = page.headers[CONTENT_TYPE].to_str().unwrap();
        assert!(content_type.starts_with("text/html"), "{content_type}");
        page
    }

    async fn stop(self) {
        self.edri.shutdown().await.unwrap();
    }
}

/// The entry of `docs` (or of a topology) whose `name` is `name`.
fn named<'a>(list: &'a Value, name: &str) -> &'a Value {
    list.as_array()
        .unwrap_or_else(|| panic!("not a list: {list}"))
        .iter()
        .find(|entry| entry["name"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {list}"))
}

#[tokio::test]
async fn docs_as_json_list_every_api_event_with_its_route_parameters_and_response() {
    let server = start(|edri| edri).await;
    let page = server
        .request(Method::GET, "/edri/docs", "application/json")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.headers[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    assert_eq!(page.headers["vary"], "accept");
    let docs = page.json();
    let events = &docs["events"];

    let greet = named(events, "greet");
    assert_eq!(greet["kind"], "request");
    assert_eq!(
        greet["rest"],
        json!({"method": "GET", "path": "/greet/{name}"})
    );
    assert_eq!(greet["command"], "greet");
    assert!(greet["doc"]
        .as_str()
        .unwrap()
        .starts_with("Greets someone."));
    assert_eq!(
        greet["parameters"],
        json!([
            {"name": "name", "type": "String", "required": true, "doc": "Who to greet.", "in": "path"},
            {"name": "loud", "type": "Option<bool>", "required": false, "doc": "Shout it.", "in": "query"},
        ])
    );
    assert_eq!(
        greet["response"],
        json!({"type": "GreetResponse", "fields": [
            {"name": "message", "type": "String", "doc": "The greeting."}
        ]})
    );

    // camelCase names, path placeholders included; body parameters for a POST.
    let create = named(events, "create-item");
    assert_eq!(create["rest"]["path"], "/shelves/{shelfId}");
    let params = &create["parameters"];
    assert_eq!(named(params, "shelfId")["in"], "path");
    assert_eq!(named(params, "itemName")["in"], "body");
    assert_eq!(named(params, "tags")["type"], "Vec<String>");
    assert_eq!(named(params, "quantity")["required"], false);
    let fields: Vec<&str> = create["response"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|field| field["name"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["itemId", "noteText"]);

    assert_eq!(named(events, "clear-shelf")["response"]["type"], "()");
    assert_eq!(named(events, "read-stock")["response"]["type"], "Stock");
    // WebSocket only: no route, parameters in the frame.
    let ping = named(events, "ping");
    assert_eq!(ping["rest"], Value::Null);
    assert_eq!(ping["command"], "ping");
    let greeted = named(events, "greeted");
    assert_eq!(greeted["kind"], "notification");
    assert_eq!(greeted["response"], Value::Null);
    assert_eq!(named(&greeted["parameters"], "name")["in"], "frame");
    // Events outside the API are not listed.
    for private in ["audited", "block"] {
        assert!(
            !events
                .as_array()
                .unwrap()
                .iter()
                .any(|event| event["name"] == private),
            "`{private}` is listed: {events}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn docs_as_html_have_a_contents_and_a_section_per_event_all_escaped() {
    let server = start(|edri| edri).await;
    let page = server.html("/edri/docs").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.text;
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<title>API documentation</title>"));
    assert!(
        html.contains("<a href=\"#event-greet\">greet</a>"),
        "{html}"
    );
    assert!(html.contains("id=\"event-create-item\""), "{html}");
    assert!(html.contains("GET /greet/{name}"));
    assert!(html.contains("POST /shelves/{shelfId}"));
    assert!(html.contains("<code>itemName</code>"));
    assert!(html.contains("CreateItemResponse"));
    // The doc comment's markup is text, never markup; the page runs no script at all.
    assert!(html.contains("&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; friends"));
    assert!(!html.contains("<script"), "{html}");
    let policy = page.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'none'"), "{policy}");
    server.stop().await;
}

#[tokio::test]
async fn the_openapi_document_passes_a_real_validator() {
    let server = start(|edri| edri).await;
    let (status, document) = server.json("/edri/openapi.json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.1.0");
    let paths = &document["paths"];

    let greet = &paths["/greet/{name}"]["get"];
    assert_eq!(greet["operationId"], "greet");
    assert_eq!(
        named(&greet["parameters"], "name"),
        &json!({"name": "name", "in": "path", "required": true,
                "description": "Who to greet.", "schema": {"type": "string"}})
    );
    let loud = named(&greet["parameters"], "loud");
    assert_eq!(loud["in"], "query");
    assert_eq!(loud["required"], false);
    assert_eq!(loud["schema"]["type"], json!(["boolean", "null"]));
    let ok = &greet["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(ok["required"], json!(["data", "status"]));
    assert_eq!(
        ok["properties"]["data"]["properties"]["message"]["type"],
        "string"
    );
    for code in ["400", "404", "405", "413", "500", "503", "504"] {
        assert!(greet["responses"][code]["$ref"].is_string(), "{code}");
    }

    // One path, two methods; a body for POST, the query for DELETE.
    let shelf = &paths["/shelves/{shelfId}"];
    let body = &shelf["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["required"], json!(["itemName", "tags"]));
    assert_eq!(body["properties"]["tags"]["items"]["type"], "string");
    assert_eq!(
        body["properties"]["quantity"]["type"],
        json!(["integer", "null"])
    );
    let data = &shelf["post"]["responses"]["200"]["content"]["application/json"]["schema"]
        ["properties"]["data"];
    assert_eq!(data["required"], json!(["itemId"]));
    assert!(data["properties"]["noteText"].is_object(), "{data}");
    assert_eq!(
        named(&shelf["delete"]["parameters"], "force")["in"],
        "query"
    );
    // `()`: the answer is `{"status": "OK"}`.
    let cleared = &shelf["delete"]["responses"]["200"]["content"]["application/json"]["schema"];
    assert_eq!(cleared["required"], json!(["status"]));
    assert!(cleared["properties"].get("data").is_none(), "{cleared}");
    // WebSocket-only events have no path.
    assert_eq!(paths.as_object().unwrap().len(), 3, "{paths}");
    let errors = &document["components"]["schemas"]["Error"]["required"];
    assert_eq!(
        errors,
        &json!(["status_code", "status", "description", "reasons"])
    );

    if validator_installed().await {
        let file = temp_path("openapi.json");
        std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();
        let output = run(tokio::process::Command::new("python3")
            .args(["-m", "openapi_spec_validator", "--schema", "3.1"])
            .arg(&file))
        .await;
        let _ = std::fs::remove_file(&file);
        assert!(
            output.status.success(),
            "openapi-spec-validator refused the document:\n{}\n{}\n{document:#}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    } else {
        missing(
            "the OpenAPI validator",
            "pip install openapi-spec-validator",
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn live_is_always_ok_and_the_pages_take_only_get() {
    let server = start(|edri| edri).await;
    let (status, body) = server.json("/edri/live").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "OK"}));
    let page = server.html("/edri/live").await;
    assert!(page.text.contains("<h1>Live</h1>"), "{}", page.text);

    let page = server
        .request(Method::POST, "/edri/docs", "application/json")
        .await;
    assert_eq!(page.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(page.headers[ALLOW], "GET, HEAD, OPTIONS");
    let body = page.json();
    assert_eq!(body["status"], "METHOD_NOT_ALLOWED");
    assert!(body["reasons"][0]["message"]
        .as_str()
        .unwrap()
        .contains("/edri/docs"));
    let page = server.request(Method::HEAD, "/edri/docs", BROWSER).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text.is_empty());
    let page = server
        .request(Method::OPTIONS, "/edri/live", "application/json")
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers[ALLOW], "GET, HEAD, OPTIONS");
    server.stop().await;
}

const PERIOD: Duration = Duration::from_secs(10);

#[tokio::test(start_paused = true)]
async fn health_and_ready_answer_503_while_a_manager_is_silent() {
    let gate = Gate::default();
    let server = start(|edri| {
        edri.manager(Sleepy { gate: gate.clone() })
            .health_period(PERIOD)
            .health_failure_limit(1)
    })
    .await;
    let (status, report) = server.json("/edri/health").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["status"], "OK");
    assert_eq!(named(&report["components"], "Sleepy")["status"], "OK");
    let (status, body) = server.json("/edri/ready").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));

    server.edri.notify(Block {}).await.unwrap();
    gate.entered().await;
    // Limit 1: ERROR after two periods without an answer.
    tokio::time::sleep(3 * PERIOD).await;

    let (status, report) = server.json("/edri/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{report}");
    assert_eq!(report["status"], "ERROR");
    let sleepy = named(&report["components"], "Sleepy");
    assert_eq!(sleepy["status"], "ERROR");
    assert!(
        sleepy["reason"].as_str().unwrap().contains("no answer"),
        "{sleepy}"
    );
    assert_eq!(named(&report["components"], "Greeter")["status"], "OK");
    let page = server.html("/edri/health").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text.contains("Sleepy"), "{}", page.text);

    let (status, body) = server.json("/edri/ready").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status_code"], 503);
    assert_eq!(body["status"], "UNAVAILABLE");
    assert!(body["description"].is_string());
    let reasons = body["reasons"].as_array().unwrap();
    assert_eq!(reasons.len(), 1, "{body}");
    assert_eq!(reasons[0]["status_code"], 503);
    let reason = reasons[0]["message"].as_str().unwrap();
    assert!(
        reason.contains("`Sleepy` is not ready") && reason.contains("no answer"),
        "{reason}"
    );
    let page = server.html("/edri/ready").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.text.contains("<h1>Not ready</h1>"), "{}", page.text);

    // Free again, it answers the check waiting in its queue: healthy and ready.
    gate.open();
    let (status, report) = server.json("/edri/health").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let (status, body) = server.json("/edri/ready").await;
    assert_eq!((status, body), (StatusCode::OK, json!({"status": "OK"})));
    server.stop().await;
}

/// Greets `count` times over REST, and waits until `Audit` has received every `Greeted`.
async fn greet_over_rest(server: &Server, count: usize) {
    let mut audited = server.edri.subscribe::<Audited>();
    for n in 0..count {
        let (status, body) = server.json(&format!("/greet/visitor{n}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    for _ in 0..count {
        audited.next().await.unwrap();
    }
}

/// Text as the pages escape it in HTML and SVG.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// The `<svg ...>...</svg>` element of a page.
fn graph(html: &str) -> &str {
    let start = html
        .find("<svg")
        .unwrap_or_else(|| panic!("no <svg> in:\n{html}"));
    let end = html[start..]
        .find("</svg>")
        .unwrap_or_else(|| panic!("<svg> not closed in:\n{html}"));
    &html[start..start + end + "</svg>".len()]
}

/// The value of the attribute `name="..."` at the start of `tag`'s attributes.
fn attribute<'a>(tag: &'a str, name: &str) -> &'a str {
    let start = tag
        .find(&format!(" {name}=\""))
        .unwrap_or_else(|| panic!("no `{name}` in `{tag}`"))
        + name.len()
        + 3;
    let end = tag[start..].find('"').unwrap() + start;
    &tag[start..end]
}

/// The graph's arrows, `(kind, from, to, count)` (names as written, escaped), sorted.
fn edges(svg: &str) -> Vec<(String, String, String, u64)> {
    let mut edges: Vec<_> = svg
        .match_indices("<g class=\"edge ")
        .map(|(start, _)| {
            let tag = &svg[start..start + svg[start..].find('>').unwrap()];
            let kind = tag["<g class=\"edge ".len()..].split('"').next().unwrap();
            (
                kind.to_owned(),
                attribute(tag, "data-from").to_owned(),
                attribute(tag, "data-to").to_owned(),
                attribute(tag, "data-count").parse().unwrap(),
            )
        })
        .collect();
    edges.sort();
    edges
}

/// The arrow `(kind, from, to, count)`, names unescaped.
fn arrow(kind: &str, from: &str, to: &str, count: u64) -> (String, String, String, u64) {
    (kind.to_owned(), escaped(from), escaped(to), count)
}

#[tokio::test]
async fn topology_shows_solvers_and_senders_with_counts() {
    let (seen, mut tallied) = tokio::sync::mpsc::unbounded_channel();
    let server = start(|edri| edri.named_manager(ODD_NAME, Tally { seen })).await;
    greet_over_rest(&server, 2).await;
    for _ in 0..2 {
        tokio::time::timeout(Duration::from_secs(10), tallied.recv())
            .await
            .expect("Tally did not receive `Audited` within 10 s")
            .unwrap();
    }
    let (status, topology) = server.json("/edri/topology").await;
    assert_eq!(status, StatusCode::OK, "{topology}");
    let events = &topology["events"];

    let greet = named(events, "greet");
    assert_eq!(greet["kind"], "request");
    assert_eq!(
        greet["solvers"],
        json!([{"manager": "Greeter", "count": 2}])
    );
    assert_eq!(greet["senders"], json!([{"manager": "api", "count": 2}]));
    let greeted = named(events, "greeted");
    assert_eq!(greeted["kind"], "notification");
    assert_eq!(
        greeted["solvers"],
        json!([{"manager": "Audit", "count": 2}])
    );
    assert_eq!(
        greeted["senders"],
        json!([{"manager": "Greeter", "count": 2}])
    );
    // Solved, never sent.
    assert_eq!(named(events, "ping")["senders"], json!([]));
    assert_eq!(
        named(events, "ping")["solvers"],
        json!([{"manager": "Greeter", "count": 0}])
    );
    let audited = named(events, "audited");
    assert_eq!(
        audited["solvers"],
        json!([{"manager": ODD_NAME, "count": 2}])
    );
    assert_eq!(
        audited["senders"],
        json!([{"manager": "Audit", "count": 2}])
    );

    let page = server.html("/edri/topology").await;
    assert_eq!(page.status, StatusCode::OK);
    let html = &page.text;
    assert!(
        html.contains("<span class=\"name\">Greeter</span> <span class=\"count\">2</span>"),
        "{html}"
    );

    // The graph: one arrow per link of the JSON, with its count, and nothing else.
    let svg = graph(html);
    let mut expected = Vec::new();
    for event in events.as_array().unwrap() {
        let name = event["name"].as_str().unwrap();
        for (kind, links) in [("send", &event["senders"]), ("solve", &event["solvers"])] {
            for link in links.as_array().unwrap() {
                let manager = link["manager"].as_str().unwrap();
                let count = link["count"].as_u64().unwrap();
                expected.push(match kind {
                    "send" => arrow(kind, manager, name, count),
                    _ => arrow(kind, name, manager, count),
                });
            }
        }
    }
    expected.sort();
    let drawn = edges(svg);
    assert_eq!(drawn, expected, "{svg}");
    for edge in [
        arrow("send", "api", "greet", 2),
        arrow("solve", "greet", "Greeter", 2),
        arrow("send", "Greeter", "greeted", 2),
        arrow("solve", "greeted", "Audit", 2),
        arrow("send", "Audit", "audited", 2),
        arrow("solve", "audited", ODD_NAME, 2),
        arrow("solve", "ping", "Greeter", 0),
    ] {
        assert!(drawn.contains(&edge), "no {edge:?} in {drawn:?}");
    }
    // Each arrow shows its count, points with an arrowhead, and the boxes are there: Greeter
    // both sends and solves, so it has one on each side.
    assert!(
        svg.contains("data-count=\"2\"><title>api sent greet: 2</title>"),
        "{svg}"
    );
    assert!(svg.contains("<marker id=\"edri-arrow-send\""), "{svg}");
    assert!(
        svg.contains("marker-end=\"url(#edri-arrow-solve)\""),
        "{svg}"
    );
    assert!(svg.contains(">2</text></g>"), "{svg}");
    for node in [
        "<g class=\"node sender\" data-name=\"api\">".to_owned(),
        "<g class=\"node sender\" data-name=\"Greeter\">".to_owned(),
        "<g class=\"node solver\" data-name=\"Greeter\">".to_owned(),
        "<g class=\"node event request\" data-name=\"greet\">".to_owned(),
        "<g class=\"node event notification\" data-name=\"greeted\">".to_owned(),
        format!(
            "<g class=\"node solver\" data-name=\"{}\">",
            escaped(ODD_NAME)
        ),
    ] {
        assert_eq!(svg.matches(&node).count(), 1, "`{node}` in {svg}");
    }
    // The odd name is text everywhere, never markup.
    assert!(!html.contains("<&>"), "{html}");
    assert!(html.contains(&format!(">{}</text>", escaped(ODD_NAME))));
    server.stop().await;
}

#[tokio::test]
async fn unrouted_drops_show_in_health_and_in_the_topology() {
    let server = start(|edri| edri.cache_size(2)).await;
    let (_, report) = server.json("/edri/health").await;
    assert_eq!(
        report["dropped"],
        json!({"unrouted": 0, "undeliverable": 0}),
        "{report}"
    );
    // Two are kept for a late subscriber; each later one pushes out the oldest.
    for n in 0..5 {
        server.edri.notify(Unheard { n }).await.unwrap();
    }
    let dropped = json!({"unrouted": 3, "undeliverable": 0});

    let (status, report) = server.json("/edri/health").await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["dropped"], dropped, "{report}");
    let (status, topology) = server.json("/edri/topology").await;
    assert_eq!(status, StatusCode::OK, "{topology}");
    assert_eq!(topology["dropped"], dropped, "{topology}");
    assert!(topology["events"].is_array(), "{topology}");

    for path in ["/edri/health", "/edri/topology", "/edri/ready"] {
        let page = server.html(path).await;
        for count in [
            "<span class=\"count\" id=\"dropped-unrouted\">3</span>",
            "<span class=\"count\" id=\"dropped-undeliverable\">0</span>",
        ] {
            assert!(
                page.text.contains(count),
                "`{count}` not on {path}:\n{}",
                page.text
            );
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn deliveries_to_a_stopped_manager_show_as_undeliverable() {
    let (alive, gone) = tokio::sync::oneshot::channel();
    let server = start(|edri| edri.manager(Doomed { _alive: alive })).await;
    // `Doomed` is dropped, and its queue with it, when its task ends.
    tokio::time::timeout(Duration::from_secs(10), gone)
        .await
        .expect("`Doomed` did not stop within 10 s")
        .unwrap_err();
    for _ in 0..2 {
        server.edri.notify(Doom {}).await.unwrap();
    }
    let dropped = json!({"unrouted": 0, "undeliverable": 2});
    let (_, report) = server.json("/edri/health").await;
    assert_eq!(report["dropped"], dropped, "{report}");
    let (_, topology) = server.json("/edri/topology").await;
    assert_eq!(topology["dropped"], dropped, "{topology}");
    let page = server.html("/edri/topology").await;
    assert!(
        page.text
            .contains("<span class=\"count\" id=\"dropped-undeliverable\">2</span>"),
        "{}",
        page.text
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_renders_the_docs_and_the_topology() {
    if !chromium_installed().await {
        missing("Chromium", "apt-get install -y chromium");
        return;
    }
    let server = start(|edri| edri).await;
    greet_over_rest(&server, 3).await;

    let docs = render(&format!("{}/edri/docs", server.base)).await;
    assert!(docs.contains("<h1>API documentation</h1>"), "{docs}");
    for text in [
        "<a href=\"#event-greet\">greet</a>",
        "<code class=\"route\">GET /greet/{name}</code>",
        "<code class=\"route\">POST /shelves/{shelfId}</code>",
        "<code class=\"command\">ping</code>",
        "<code>itemName</code>",
        "CreateItemResponse",
        // The doc comment's tag rendered as text, not as an element.
        "&lt;script&gt;alert(\"pwned\")&lt;/script&gt; &amp; friends",
    ] {
        assert!(docs.contains(text), "`{text}` not rendered:\n{docs}");
    }
    assert!(!docs.contains("<script"), "{docs}");

    let topology = render(&format!("{}/edri/topology", server.base)).await;
    assert!(topology.contains("<h1>Topology</h1>"), "{topology}");
    let greet_row = row(&topology, "event-greet");
    assert!(
        greet_row.contains("<span class=\"name\">Greeter</span> <span class=\"count\">3</span>"),
        "{greet_row}"
    );
    assert!(
        greet_row.contains("<span class=\"name\">api</span> <span class=\"count\">3</span>"),
        "{greet_row}"
    );
    let greeted_row = row(&topology, "event-greeted");
    assert!(
        greeted_row.contains("<span class=\"name\">Audit</span> <span class=\"count\">3</span>"),
        "{greeted_row}"
    );
    assert!(topology.contains("<td class=\"manager\">Greeter</td>"));

    // The graph is rendered as SVG (an element in the DOM, not text), with its arrows.
    let svg = graph(&topology);
    assert!(
        svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""),
        "{svg}"
    );
    assert!(svg.contains("<marker id=\"edri-arrow-send\""), "{svg}");
    let drawn = edges(svg);
    for edge in [
        arrow("send", "api", "greet", 3),
        arrow("solve", "greet", "Greeter", 3),
        arrow("send", "Greeter", "greeted", 3),
        arrow("solve", "greeted", "Audit", 3),
    ] {
        assert!(drawn.contains(&edge), "no {edge:?} in {drawn:?}:\n{svg}");
    }
    assert!(
        svg.contains("<g class=\"node solver\" data-name=\"Greeter\">"),
        "{svg}"
    );
    assert!(
        topology.contains("<span class=\"count\" id=\"dropped-unrouted\">"),
        "{topology}"
    );
    server.stop().await;
}

/// The table row `<tr id="{id}">...</tr>` of a rendered page.
fn row<'a>(html: &'a str, id: &str) -> &'a str {
    let start = html
        .find(&format!("<tr id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no row `{id}` in:\n{html}"));
    let end = html[start..]
        .find("</tr>")
        .map_or(html.len(), |end| start + end);
    &html[start..end]
}

/// A page as headless Chromium rendered it: its DOM, serialized.
async fn render(url: &str) -> String {
    let profile = temp_path("chromium");
    let output = run(tokio::process::Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(["--dump-dom", url]))
    .await;
    let _ = std::fs::remove_dir_all(&profile);
    assert!(
        output.status.success(),
        "chromium failed on {url}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

async fn chromium_installed() -> bool {
    tokio::process::Command::new("chromium")
        .arg("--version")
        .output()
        .await
        .is_ok_and(|output| output.status.success())
}

/// Whether `python3 -m openapi_spec_validator` can run.
async fn validator_installed() -> bool {
    tokio::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output()
        .await
        .is_ok_and(|output| output.status.success())
}

/// Runs a tool to its end, or fails after a minute rather than hanging the suite.
async fn run(command: &mut tokio::process::Command) -> Output {
    let child = command.kill_on_drop(true).output();
    match tokio::time::timeout(Duration::from_secs(60), child).await {
        Ok(output) => output.unwrap(),
        Err(_) => panic!("{command:?} did not finish within a minute"),
    }
}

/// A tool a test needs is missing: a failure on CI, a skip (said out loud) elsewhere.
fn missing(tool: &str, install: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{tool} is not installed: run `{install}` (.ci/run does)");
    }
    eprintln!("skipped: {tool} is not installed (`{install}`; .ci/run installs it)");
}

/// A path in the temporary directory, unique to this process and this use.
fn temp_path(what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("edri-api-pages-{}-{n}-{what}", std::process::id()))
}
