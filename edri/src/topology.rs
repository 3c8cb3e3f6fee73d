//! Topology: which managers solve and which send each event, with live counts.

use std::collections::BTreeMap;

use serde::Serialize;

/// Who solves and who sends each event, as [`Handle::topology`](crate::Handle::topology)
/// reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(crate = "serde")]
#[non_exhaustive]
pub struct Topology {
    /// One entry per event that has a solver or was sent, by wire name.
    pub events: Vec<EventTopology>,
}

impl Topology {
    /// The entry of the event named `name`.
    pub fn event(&self, name: &str) -> Option<&EventTopology> {
        self.events.iter().find(|event| event.name == name)
    }
}

/// The solvers and senders of one event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(crate = "serde")]
#[non_exhaustive]
pub struct EventTopology {
    /// The event's wire name.
    pub name: String,
    /// `"notification"` or `"request"`.
    pub kind: &'static str,
    /// The managers that solve it (`#[solve(req)]`), with how many they received.
    pub solvers: Vec<Link>,
    /// The managers (and the API) that sent it, with how many each sent.
    pub senders: Vec<Link>,
}

/// One manager's part in an event's traffic.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(crate = "serde")]
pub struct Link {
    /// The manager's name (`api` for the API broker).
    pub manager: String,
    /// Events received (for a solver) or sent (for a sender).
    pub count: u64,
}

/// Builds the topology from each component's solvers and counts.
pub(crate) struct TopologyBuilder {
    events: BTreeMap<&'static str, EventTopology>,
}

impl TopologyBuilder {
    pub(crate) fn new() -> Self {
        Self {
            events: BTreeMap::new(),
        }
    }

    fn entry(&mut self, event: &'static str) -> &mut EventTopology {
        self.events.entry(event).or_insert_with(|| EventTopology {
            name: event.to_owned(),
            kind: crate::event::Registry::get()
                .ok()
                .and_then(|registry| registry.by_name(event))
                .map_or("unknown", |info| match info.kind {
                    crate::EventKind::Notification => "notification",
                    crate::EventKind::Request => "request",
                }),
            ..EventTopology::default()
        })
    }

    pub(crate) fn solver(&mut self, event: &'static str, manager: &str, count: u64) {
        self.entry(event).solvers.push(Link {
            manager: manager.to_owned(),
            count,
        });
    }

    pub(crate) fn sender(&mut self, event: &'static str, manager: &str, count: u64) {
        self.entry(event).senders.push(Link {
            manager: manager.to_owned(),
            count,
        });
    }

    pub(crate) fn build(self) -> Topology {
        Topology {
            events: self.events.into_values().collect(),
        }
    }
}
