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

#[tokio::test]
async fn topology_shows_solvers_and_senders_with_counts() {
    let server = start(|edri| edri).await;
    greet_over_rest(&server, 2).await;
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

    let page = server.html("/edri/topology").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.text
            .contains("<span class=\"name\">Greeter</span> <span class=\"count\">2</span>"),
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
