//! The pages as HTML for people: built on the server, every piece of text escaped, no script
//! and nothing loaded from elsewhere (the style is inline).

use std::collections::BTreeMap;
use std::fmt;

use super::catalog::{Catalog, EventDoc, Location};
use crate::events::router::HealthStatus;
use crate::health::{Dropped, HealthReport};
use crate::topology::{Link, Topology};

/// Text made safe to put in HTML content and in quoted attribute values.
pub(super) struct Escaped<'a>(pub(super) &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(index) = rest.find(['&', '<', '>', '"', '\'']) {
            f.write_str(&rest[..index])?;
            f.write_str(match rest.as_bytes()[index] {
                b'&' => "&amp;",
                b'<' => "&lt;",
                b'>' => "&gt;",
                b'"' => "&quot;",
                _ => "&#39;",
            })?;
            rest = &rest[index + 1..];
        }
        f.write_str(rest)
    }
}

fn esc(text: &str) -> Escaped<'_> {
    Escaped(text)
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f7f8fa;line-height:1.5}\
header,main,nav{max-width:62rem;margin:0 auto;padding:0 1.5rem}\
header{padding-top:1.5rem}\
h1{margin:.2rem 0}\
h2{margin-top:2rem}\
a{color:#2457c5}\
code{font-family:ui-monospace,'SFMono-Regular',Menlo,monospace;font-size:.92em;background:#eceff4;padding:.05rem .3rem;border-radius:3px}\
.lead{color:#4a5263}\
.toc li{margin:.2rem 0}\
section.event{background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.2rem 1.2rem 1rem;margin:1.2rem 0}\
.doc p{white-space:pre-line}\
table{border-collapse:collapse;width:100%;margin:.5rem 0;background:#fff}\
th,td{border:1px solid #dde1e8;padding:.35rem .6rem;text-align:left;vertical-align:top}\
th{background:#eef1f6}\
dl.access{display:grid;grid-template-columns:max-content 1fr;gap:.3rem 1rem}\
dl.access dt{font-weight:600}\
dl.access dd{margin:0}\
.badge{font-size:.75rem;font-weight:600;text-transform:uppercase;padding:.1rem .45rem;border-radius:999px;background:#e4e9f2;vertical-align:middle}\
.status-ok{color:#17643a}.status-warning{color:#8a5a00}.status-error{color:#a3161c}\
ul.links{list-style:none;margin:0;padding:0}\
.count{font-variant-numeric:tabular-nums;font-weight:600}\
.none{color:#6b7385}\
.graph{overflow-x:auto;background:#fff;border:1px solid #dde1e8;border-radius:6px;padding:.5rem;margin:1rem 0}\
.graph svg{display:block;max-width:none}\
";

/// A whole page: `body` is HTML already escaped where it holds text.
fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body>{body}\
         <footer><nav><p class=\"lead\"><a href=\"/edri/docs\">API documentation</a> · \
         <a href=\"/edri/openapi.json\">OpenAPI</a> · <a href=\"/edri/topology\">Topology</a> · \
         <a href=\"/edri/health\">Health</a></p></nav></footer></body></html>\n",
        title = esc(title),
    )
}

/// `/edri/docs`: a table of contents, then one section per event.
pub(super) fn docs(catalog: &Catalog) -> String {
    let mut body = format!(
        "<header><h1>API documentation</h1><p class=\"lead\">{} event(s) served over REST \
         or WebSocket. Parameter names are camelCase (snake_case works too). A success is \
         <code>{{\"data\": {{...}}, \"status\": \"OK\"}}</code>; an error is \
         <code>{{\"status_code\", \"status\", \"description\", \"reasons\"}}</code>.</p></header>",
        catalog.events.len()
    );
    if catalog.events.is_empty() {
        body += "<main><p>No event is exposed: declare events with <code>rest = \"METHOD \
                 /path\"</code> or <code>ws</code>.</p></main>";
        return page("API documentation", &body);
    }
    body += "<nav aria-label=\"Contents\"><h2>Contents</h2><ol class=\"toc\">";
    for event in &catalog.events {
        body += &format!(
            "<li><a href=\"#event-{name}\">{name}</a>",
            name = esc(event.name)
        );
        match &event.rest {
            Some(rest) => {
                body += &format!(" <code>{} {}</code>", esc(rest.method), esc(&rest.path))
            }
            None => body += " <span class=\"none\">WebSocket only</span>",
        }
        body += "</li>";
    }
    body += "</ol></nav><main>";
    for event in &catalog.events {
        body += &event_section(event);
    }
    body += "</main>";
    page("API documentation", &body)
}

fn event_section(event: &EventDoc) -> String {
    let mut out = format!(
        "<section class=\"event\" id=\"event-{name}\"><h2><code>{name}</code> \
         <span class=\"badge\">{kind}</span></h2>",
        name = esc(event.name),
        kind = esc(event.kind),
    );
    if !event.doc.is_empty() {
        out += "<div class=\"doc\">";
        for paragraph in event.doc.split("\n\n").filter(|p| !p.trim().is_empty()) {
            out += &format!("<p>{}</p>", esc(paragraph.trim()));
        }
        out += "</div>";
    }
    out += "<dl class=\"access\">";
    if let Some(rest) = &event.rest {
        out += &format!(
            "<dt>REST</dt><dd><code class=\"route\">{} {}</code></dd>",
            esc(rest.method),
            esc(&rest.path)
        );
    }
    if let Some(command) = event.command {
        let mut frame = format!("{{\"command\": {}", json_string(command));
        for param in &event.parameters {
            frame += &format!(", {}: …", json_string(&param.name));
        }
        frame += "}";
        out += &format!(
            "<dt>WebSocket</dt><dd>command <code class=\"command\">{}</code>: \
             <code>{}</code></dd>",
            esc(command),
            esc(&frame)
        );
    }
    out += &format!(
        "<dt>Rust type</dt><dd><code>{}</code></dd></dl>",
        esc(event.rust_type)
    );

    out += "<h3>Parameters</h3>";
    if event.parameters.is_empty() {
        out += "<p class=\"none\">None.</p>";
    } else {
        out += "<table class=\"parameters\"><thead><tr><th>Name</th><th>Type</th>\
                <th>Required</th><th>In</th><th>Description</th></tr></thead><tbody>";
        for param in &event.parameters {
            let location = match param.location {
                Location::Path => "path",
                Location::Query => "query",
                Location::Body => "body",
                Location::Frame => "frame",
            };
            out += &format!(
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td><td>{}</td>\
                 <td>{}</td></tr>",
                esc(&param.name),
                esc(param.ty),
                if param.required { "yes" } else { "no" },
                location,
                esc(param.doc),
            );
        }
        out += "</tbody></table>";
    }

    out += "<h3>Response</h3>";
    match &event.response {
        None => out += "<p class=\"none\">None: a notification has no answer.</p>",
        Some(response) if response.is_unit() => {
            out += "<p>No data: the answer is <code>{\"status\": \"OK\"}</code>.</p>"
        }
        Some(response) if response.is_generated() => {
            out += &format!(
                "<p><code>{}</code>, in <code>data</code>:</p><table class=\"response\">\
                 <thead><tr><th>Field</th><th>Type</th><th>Description</th></tr></thead><tbody>",
                esc(response.ty)
            );
            for field in &response.fields {
                out += &format!(
                    "<tr><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
                    esc(&field.name),
                    esc(field.ty),
                    esc(field.doc)
                );
            }
            out += "</tbody></table>";
        }
        Some(response) => {
            out += &format!(
                "<p><code>{}</code>, in <code>data</code> with camelCase keys.</p>",
                esc(response.ty)
            )
        }
    }
    out += "</section>";
    out
}

/// `"text"` with JSON's quoting, for the example frames.
fn json_string(text: &str) -> String {
    serde_json::Value::from(text).to_string()
}

/// `/edri/topology`: the graph, the drops, then per event its solvers and senders with counts;
/// then per manager.
pub(super) fn topology(topology: &Topology, dropped: Dropped) -> String {
    let mut body = String::from(
        "<header><h1>Topology</h1><p class=\"lead\">Which managers solve and which send each \
         event, with how many each received or sent since it started (<code>api</code> is the \
         API broker). Reload for fresh counts.</p>",
    );
    body += &dropped_line(dropped);
    body += "</header><main>";
    if topology.events.is_empty() {
        body += "<h2>Events</h2><p class=\"none\">No event has a solver or was sent yet.</p>";
    } else {
        body += "<h2>Graph</h2><figure class=\"graph\">";
        body += &super::graph::svg(topology);
        body += "<figcaption class=\"lead\">Senders on the left, events in the middle, solvers \
                 on the right. An arrow from a sender to an event carries how many it sent; an \
                 arrow from an event to a solver, how many that solver received. A dashed arrow \
                 has carried nothing yet.</figcaption></figure><h2>Events</h2>";
        body += "<table class=\"topology\"><thead><tr><th>Event</th><th>Kind</th>\
                 <th>Solved by (received)</th><th>Sent by (sent)</th></tr></thead><tbody>";
        for event in &topology.events {
            body += &format!(
                "<tr id=\"event-{name}\"><td><code>{name}</code></td><td>{kind}</td><td>{}</td>\
                 <td>{}</td></tr>",
                links(&pairs(&event.solvers), "nobody"),
                links(&pairs(&event.senders), "not sent yet"),
                name = esc(&event.name),
                kind = esc(event.kind),
            );
        }
        body += "</tbody></table>";

        // The same links, by manager: (event, count) it solves, and that it sends.
        type Pairs<'a> = Vec<(&'a str, u64)>;
        let mut managers: BTreeMap<&str, (Pairs, Pairs)> = BTreeMap::new();
        for event in &topology.events {
            for link in &event.solvers {
                let entry = managers.entry(&link.manager).or_default();
                entry.0.push((&event.name, link.count));
            }
            for link in &event.senders {
                let entry = managers.entry(&link.manager).or_default();
                entry.1.push((&event.name, link.count));
            }
        }
        body += "<h2>Managers</h2><table class=\"managers\"><thead><tr><th>Manager</th>\
                 <th>Solves (received)</th><th>Sends (sent)</th></tr></thead><tbody>";
        for (manager, (solves, sends)) in &managers {
            body += &format!(
                "<tr><td class=\"manager\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(manager),
                links(solves, "nothing"),
                links(sends, "nothing"),
            );
        }
        body += "</tbody></table>";
    }
    body += "</main>";
    page("Topology", &body)
}

fn pairs(links: &[Link]) -> Vec<(&str, u64)> {
    links
        .iter()
        .map(|link| (link.manager.as_str(), link.count))
        .collect()
}

/// A list of `name count`; `empty` when there are none.
fn links(links: &[(&str, u64)], empty: &str) -> String {
    if links.is_empty() {
        return format!("<span class=\"none\">{}</span>", esc(empty));
    }
    let mut out = String::from("<ul class=\"links\">");
    for (name, count) in links {
        out += &format!(
            "<li><span class=\"name\">{}</span> <span class=\"count\">{count}</span></li>",
            esc(name),
        );
    }
    out += "</ul>";
    out
}

/// `/edri/health` and `/edri/ready`: a verdict, then one row per manager.
pub(super) fn health(title: &str, verdict: &[String], report: &HealthReport) -> String {
    let mut body = format!(
        "<header><h1>{}</h1><p class=\"lead\">Overall: <strong class=\"status-{}\">{}</strong>\
         </p>",
        esc(title),
        status_class(report.status),
        report.status,
    );
    for line in verdict {
        body += &format!("<p>{}</p>", esc(line));
    }
    body += &dropped_line(report.dropped);
    body += "</header><main>";
    if report.components.is_empty() {
        body += "<p class=\"none\">No manager is running.</p>";
    } else {
        body += "<table class=\"health\"><thead><tr><th>Manager</th><th>Status</th>\
                 <th>Reason</th><th>Silent for</th><th>Round trip</th><th>Queue</th>\
                 <th>Processed</th><th>Failed</th><th>Panics</th></tr></thead><tbody>";
        for component in &report.components {
            let answer = component.last_answer.as_ref();
            let number = |value: Option<u64>| value.map_or("–".to_owned(), |n| n.to_string());
            body += &format!(
                "<tr><td class=\"manager\">{}</td><td class=\"status-{}\">{}</td><td>{}</td>\
                 <td>{:.1} s</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&component.name),
                status_class(component.status),
                component.status,
                esc(component.reason.as_deref().unwrap_or("")),
                component.silent_for.as_secs_f64(),
                component.round_trip.map_or("–".to_owned(), |trip| format!(
                    "{:.1} ms",
                    trip.as_secs_f64() * 1000.0
                )),
                answer.map_or("–".to_owned(), |answer| format!(
                    "{} / {}",
                    answer.queue_depth, answer.queue_capacity
                )),
                number(answer.map(|answer| answer.processed)),
                number(answer.map(|answer| answer.failed)),
                number(answer.map(|answer| answer.panics)),
            );
        }
        body += "</tbody></table><p class=\"lead\">Processed, failed and panics count since \
                 the previous check.</p>";
    }
    body += "</main>";
    page(title, &body)
}

/// The router's drops since the system started, in one line.
fn dropped_line(dropped: Dropped) -> String {
    format!(
        "<p class=\"dropped\">Dropped since the start: \
         <span class=\"count\" id=\"dropped-unrouted\">{}</span> notification(s) nobody \
         subscribed to (unrouted), <span class=\"count\" id=\"dropped-undeliverable\">{}</span> \
         delivery(ies) to a manager that had stopped (undeliverable).</p>",
        dropped.unrouted, dropped.undeliverable,
    )
}

/// A page with a title and a few lines, for `/edri/live`.
pub(super) fn message(title: &str, lines: &[&str]) -> String {
    let mut body = format!("<header><h1>{}</h1>", esc(title));
    for line in lines {
        body += &format!("<p>{}</p>", esc(line));
    }
    body += "</header>";
    page(title, &body)
}

fn status_class(status: HealthStatus) -> &'static str {
    match status {
        HealthStatus::Ok => "ok",
        HealthStatus::Warning => "warning",
        HealthStatus::Error => "error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_are_escaped() {
        assert_eq!(
            esc("<script>alert('x') && \"y\"</script>").to_string(),
            "&lt;script&gt;alert(&#39;x&#39;) &amp;&amp; &quot;y&quot;&lt;/script&gt;"
        );
        assert_eq!(esc("plain – ünïcode").to_string(), "plain – ünïcode");
    }
}
