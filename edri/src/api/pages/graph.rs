//! The topology drawn as an inline SVG, for `/edri/topology`: no script, nothing loaded.
//!
//! Three columns: the senders on the left, the events in the middle, the solvers on the right
//! (a manager that both sends and solves has a box in each outer column). An arrow goes from a
//! sender to each event it sent (`class="edge send"`) and from an event to each of its solvers
//! (`class="edge solve"`), its count written on it and kept in `data-count`; an arrow that has
//! carried nothing yet is dashed. Events keep the topology's order (by name); each outer column
//! is ordered by the mean position of the events it links to, which keeps arrows from crossing
//! where it can. Every name is XML-escaped, and too long a name is shortened on its box (the
//! box's `<title>` and `data-name` keep it whole).

use std::collections::BTreeMap;
use std::fmt::{self, Write};

use crate::topology::Topology;

/// Width of a character in the boxes' monospace font (13 px, about 7.8 px wide).
const CHAR_WIDTH: usize = 8;
/// Longer names are shortened on their box.
const MAX_CHARS: usize = 28;
const BOX_HEIGHT: usize = 28;
/// From the top of one box to the top of the next in a column.
const PITCH: usize = 40;
/// Space left and right of a name in its box.
const PADDING: usize = 10;
/// Between two columns: room for the arrows and their counts.
const GAP: usize = 150;
const MARGIN: usize = 12;
/// Where the boxes start, below the columns' titles.
const TOP: usize = 36;

const STYLE: &str = "\
.edri-graph{font-family:ui-monospace,'SFMono-Regular',Menlo,monospace;font-size:13px}\
.edri-graph .column-title{font-family:system-ui,sans-serif;font-weight:600;fill:#4a5263}\
.edri-graph .node rect{stroke:#8b95a8;stroke-width:1}\
.edri-graph .node.sender rect,.edri-graph .node.solver rect{fill:#fff}\
.edri-graph .node.request rect{fill:#eef3ff}\
.edri-graph .node.notification rect{fill:#fff6e5}\
.edri-graph .node text{fill:#1d2330}\
.edri-graph .edge path{fill:none;stroke-width:1.5}\
.edri-graph .edge.send path{stroke:#2457c5}\
.edri-graph .edge.solve path{stroke:#17643a}\
.edri-graph .edge[data-count='0'] path{stroke:#9aa2b1;stroke-dasharray:4 3}\
.edri-graph .edge text{font-weight:600;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}\
.edri-graph .edge.send text{fill:#2457c5}\
.edri-graph .edge.solve text{fill:#17643a}\
.edri-graph .edge[data-count='0'] text{fill:#6b7385}\
";

/// Text made safe for XML content and quoted attribute values: markup characters escaped, and
/// characters XML does not allow (most control characters) replaced by U+FFFD.
struct Xml<'a>(&'a str);

impl fmt::Display for Xml<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '&' => f.write_str("&amp;")?,
                '<' => f.write_str("&lt;")?,
                '>' => f.write_str("&gt;")?,
                '"' => f.write_str("&quot;")?,
                '\'' => f.write_str("&#39;")?,
                '\t' | '\n' | '\r' => f.write_char(c)?,
                c if c < ' ' || c == '\u{FFFE}' || c == '\u{FFFF}' => f.write_char('\u{FFFD}')?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// A name as shown on its box: at most [`MAX_CHARS`] characters, shortened with `…`.
fn shown(name: &str) -> String {
    if name.chars().count() <= MAX_CHARS {
        return name.to_owned();
    }
    let mut short: String = name.chars().take(MAX_CHARS - 1).collect();
    short.push('…');
    short
}

/// One column of boxes.
struct Column<'a> {
    title: &'static str,
    /// `sender`, `event` or `solver`.
    class: &'static str,
    names: Vec<&'a str>,
    x: usize,
    width: usize,
    /// The top of the first box.
    y: usize,
}

impl<'a> Column<'a> {
    fn new(title: &'static str, class: &'static str, names: Vec<&'a str>) -> Self {
        let widest = names
            .iter()
            .map(|name| name.chars().count().min(MAX_CHARS))
            .max()
            .unwrap_or(0)
            .max(title.len());
        Self {
            title,
            class,
            names,
            x: 0,
            width: widest * CHAR_WIDTH + 2 * PADDING,
            y: TOP,
        }
    }

    fn height(&self) -> usize {
        if self.names.is_empty() {
            0
        } else {
            (self.names.len() - 1) * PITCH + BOX_HEIGHT
        }
    }

    /// The vertical middle of the box at `row`.
    fn middle(&self, row: usize) -> usize {
        self.y + row * PITCH + BOX_HEIGHT / 2
    }

    fn right(&self) -> usize {
        self.x + self.width
    }
}

/// The managers of one side, each with the rows of the events it links to.
type Rows<'a> = BTreeMap<&'a str, Vec<usize>>;

/// The managers of one outer column, each with the events (by position) it links to, ordered by
/// the mean of those positions, then by name.
fn ordered(links: Rows<'_>) -> Vec<&str> {
    let mut managers: Vec<(&str, Vec<usize>)> = links.into_iter().collect();
    // Compares sum_a / len_a with sum_b / len_b without division, so the order is exact.
    managers.sort_by(|(name_a, a), (name_b, b)| {
        let (sum_a, sum_b) = (a.iter().sum::<usize>(), b.iter().sum::<usize>());
        (sum_a * b.len())
            .cmp(&(sum_b * a.len()))
            .then_with(|| name_a.cmp(name_b))
    });
    managers.into_iter().map(|(name, _)| name).collect()
}

/// One arrow: a curve from the right side of one box to the left side of another.
fn edge(
    out: &mut String,
    kind: &str,
    (from, to): (&str, &str),
    count: u64,
    (x1, y1): (usize, usize),
    (x2, y2): (usize, usize),
) {
    let middle = (x1 + x2) / 2;
    let verb = if kind == "send" { "sent" } else { "received" };
    let (who, what) = if kind == "send" {
        (from, to)
    } else {
        (to, from)
    };
    // The label sits on the curve a third of the way from the event's box, where the arrows of
    // different events are still apart (at the middle, those converging on one manager meet).
    let near_start = kind == "solve";
    let (label_x, label_y) = bezier_third((x1, y1), (x2, y2), middle, near_start);
    let _ = write!(
        out,
        "<g class=\"edge {kind}\" data-from=\"{from}\" data-to=\"{to}\" data-count=\"{count}\">\
         <title>{who} {verb} {what}: {count}</title>\
         <path d=\"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}\" \
         marker-end=\"url(#edri-arrow-{kind})\"/>\
         <text x=\"{label_x}\" y=\"{label_y}\">{count}</text></g>",
        from = Xml(from),
        to = Xml(to),
        who = Xml(who),
        what = Xml(what),
        label_y = label_y.saturating_sub(4),
    );
}

/// The point a third of the way along an edge's curve (control points at the middle `x`), from
/// its start or from its end.
fn bezier_third(
    (x1, y1): (usize, usize),
    (x2, y2): (usize, usize),
    middle: usize,
    near_start: bool,
) -> (usize, usize) {
    // A cubic Bezier at t = 1/3: weights 8, 12 + 6, 1 (over 27) for x; 8 + 12, 6 + 1 for y.
    if near_start {
        ((8 * x1 + 18 * middle + x2) / 27, (20 * y1 + 7 * y2) / 27)
    } else {
        ((x1 + 18 * middle + 8 * x2) / 27, (7 * y1 + 20 * y2) / 27)
    }
}

/// The topology as an `<svg>` element, or nothing when it has no event.
pub(super) fn svg(topology: &Topology) -> String {
    if topology.events.is_empty() {
        return String::new();
    }
    let events: Vec<&str> = topology
        .events
        .iter()
        .map(|event| event.name.as_str())
        .collect();
    let (mut sends, mut solves) = (Rows::new(), Rows::new());
    for (row, event) in topology.events.iter().enumerate() {
        for link in &event.senders {
            sends.entry(&link.manager).or_default().push(row);
        }
        for link in &event.solvers {
            solves.entry(&link.manager).or_default().push(row);
        }
    }
    let mut senders = Column::new("Senders", "sender", ordered(sends));
    let mut middle = Column::new("Events", "event", events);
    let mut solvers = Column::new("Solvers", "solver", ordered(solves));

    senders.x = MARGIN;
    middle.x = senders.right() + GAP;
    solvers.x = middle.right() + GAP;
    let tallest = [&senders, &middle, &solvers]
        .iter()
        .map(|column| column.height())
        .max()
        .unwrap_or(0);
    // Each column centred on the tallest.
    for column in [&mut senders, &mut middle, &mut solvers] {
        column.y = TOP + (tallest - column.height()) / 2;
    }
    let (width, height) = (solvers.right() + MARGIN, TOP + tallest + MARGIN);

    let links: usize = topology
        .events
        .iter()
        .map(|event| event.senders.len() + event.solvers.len())
        .sum();
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"edri-graph\" id=\"topology-graph\" \
         width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" \
         aria-labelledby=\"topology-graph-title\">\
         <title id=\"topology-graph-title\">Topology: {} event(s), {links} link(s); arrows go \
         from senders to events and from events to solvers</title>\
         <style>{STYLE}</style><defs>",
        topology.events.len(),
    );
    for (kind, colour) in [("send", "#2457c5"), ("solve", "#17643a")] {
        let _ = write!(
            out,
            "<marker id=\"edri-arrow-{kind}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
             markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\">\
             <path d=\"M0,0 L10,5 L0,10 z\" fill=\"{colour}\"/></marker>"
        );
    }
    out += "</defs>";
    for column in [&senders, &middle, &solvers] {
        let _ = write!(
            out,
            "<text class=\"column-title\" x=\"{}\" y=\"20\" text-anchor=\"middle\">{}</text>",
            column.x + column.width / 2,
            column.title,
        );
    }

    // The arrows first, so the boxes are drawn over their ends.
    let row = |column: &Column, name: &str| column.names.iter().position(|n| *n == name);
    out += "<g class=\"edges\">";
    for (event_row, event) in topology.events.iter().enumerate() {
        let event_middle = middle.middle(event_row);
        for link in &event.senders {
            if let Some(sender) = row(&senders, &link.manager) {
                edge(
                    &mut out,
                    "send",
                    (&link.manager, &event.name),
                    link.count,
                    (senders.right(), senders.middle(sender)),
                    (middle.x, event_middle),
                );
            }
        }
        for link in &event.solvers {
            if let Some(solver) = row(&solvers, &link.manager) {
                edge(
                    &mut out,
                    "solve",
                    (&event.name, &link.manager),
                    link.count,
                    (middle.right(), event_middle),
                    (solvers.x, solvers.middle(solver)),
                );
            }
        }
    }
    out += "</g><g class=\"nodes\">";
    for column in [&senders, &middle, &solvers] {
        for (index, name) in column.names.iter().enumerate() {
            let (class, what) = match column.class {
                "event" => {
                    let kind = topology.events[index].kind;
                    (format!("event {}", Xml(kind)), format!(" ({})", Xml(kind)))
                }
                class => (class.to_owned(), String::new()),
            };
            let top = column.y + index * PITCH;
            let _ = write!(
                out,
                "<g class=\"node {class}\" data-name=\"{name}\"><title>{name}{what}</title>\
                 <rect x=\"{x}\" y=\"{top}\" width=\"{width}\" height=\"{BOX_HEIGHT}\" \
                 rx=\"4\"/><text x=\"{text_x}\" y=\"{text_y}\">{shown}</text></g>",
                name = Xml(name),
                x = column.x,
                width = column.width,
                text_x = column.x + PADDING,
                text_y = top + BOX_HEIGHT / 2 + 5,
                shown = Xml(&shown(name)),
            );
        }
    }
    out += "</g></svg>";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xml_escapes_markup_and_replaces_what_xml_cannot_hold() {
        assert_eq!(
            Xml("<a href='x'>\"&\"</a>\u{1}\tok").to_string(),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;\u{FFFD}\tok"
        );
    }

    #[test]
    fn long_names_are_shortened_on_their_box() {
        assert_eq!(shown("short"), "short");
        let long = "x".repeat(40);
        let short = shown(&long);
        assert_eq!(short.chars().count(), MAX_CHARS);
        assert!(short.ends_with('…'));
    }

    #[test]
    fn outer_columns_follow_the_events_they_link_to() {
        let links = BTreeMap::from([("a", vec![3]), ("b", vec![0, 1]), ("c", vec![0, 1])]);
        assert_eq!(ordered(links), ["b", "c", "a"]);
    }

    #[test]
    fn one_arrow_per_link_with_its_count_and_every_name_escaped() {
        let odd = "<b>\"Odd\" & Co's</b>";
        let mut builder = crate::topology::TopologyBuilder::new();
        builder.sender("greet", "api", 2);
        builder.solver("greet", odd, 2);
        builder.solver("greet", "Greeter", 2);
        builder.sender("ping", "Greeter", 1);
        builder.solver("ping", "Greeter", 0);
        let svg = svg(&builder.build());
        let escaped = "&lt;b&gt;&quot;Odd&quot; &amp; Co&#39;s&lt;/b&gt;";
        assert!(!svg.contains(odd), "{svg}");
        for edge in [
            "<g class=\"edge send\" data-from=\"api\" data-to=\"greet\" data-count=\"2\">",
            "<g class=\"edge send\" data-from=\"Greeter\" data-to=\"ping\" data-count=\"1\">",
            "<g class=\"edge solve\" data-from=\"greet\" data-to=\"Greeter\" data-count=\"2\">",
            "<g class=\"edge solve\" data-from=\"ping\" data-to=\"Greeter\" data-count=\"0\">",
            &format!(
                "<g class=\"edge solve\" data-from=\"greet\" data-to=\"{escaped}\" data-count=\"2\">"
            ),
        ] {
            assert_eq!(svg.matches(edge).count(), 1, "`{edge}` in {svg}");
        }
        assert_eq!(svg.matches("<g class=\"edge ").count(), 5, "{svg}");
        // Greeter sends and solves: a box in each outer column.
        assert!(svg.contains("<g class=\"node sender\" data-name=\"Greeter\">"));
        assert!(svg.contains("<g class=\"node solver\" data-name=\"Greeter\">"));
        assert!(svg.contains(&format!(
            "<g class=\"node solver\" data-name=\"{escaped}\">"
        )));
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
    }

    #[test]
    fn no_event_draws_nothing() {
        assert_eq!(svg(&Topology::default()), "");
    }
}
