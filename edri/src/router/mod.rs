//! The router: a routing table read by every sender, and the notifications kept for late
//! subscribers.
//!
//! The router is not a task that events pass through: a sender looks up the subscribers of the
//! event's type and pushes into each one's queue itself. Senders do so through an [`Entry`],
//! the only way in.

mod entry;

pub(crate) use entry::Entry;

use std::any::{Any, TypeId};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arc_swap::ArcSwap;
use tokio::time::Instant;

use crate::answer::AnswerSender;
use crate::answer::{self, Answers, Deadlines};
use crate::config::Config;
use crate::event::Registry;
use crate::log_throttle::LogThrottle;
use crate::mailbox::{Delivery, Mailbox, Refused};
use crate::payload::Payload;

/// Identifies one subscriber (a manager or a stream) in the routing table.
pub(crate) type SubscriberId = u64;

/// One subscriber of one event type.
#[derive(Clone)]
pub(crate) struct Route {
    pub(crate) mailbox: Mailbox,
    pub(crate) solver: u16,
    pub(crate) priority: i32,
    pub(crate) subscriber: SubscriberId,
    pub(crate) name: Arc<str>,
    /// A router behind the switch: events that came from the switch do not go back to it.
    pub(crate) remote: bool,
}

type RouteTable = HashMap<TypeId, Arc<[Route]>, BuildHasherDefault<TypeIdHasher>>;

/// `TypeId` is already a hash: use its bits as they are.
#[derive(Default)]
pub(crate) struct TypeIdHasher(u64);

impl Hasher for TypeIdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_ne_bytes(word);
        }
    }

    fn write_u64(&mut self, word: u64) {
        self.0 = self.0.rotate_left(5) ^ word;
    }
}

/// The event for one delivery: the last one takes it as it is (inline, for a single small
/// event); the others get a copy of small plain data, or share it.
fn share(event: &mut Option<Payload>, last: bool) -> Option<Payload> {
    if last {
        return event.take();
    }
    if let Some(copy) = event.as_ref()?.copy() {
        return Some(copy);
    }
    let shared = event.take()?.into_shared();
    *event = Some(Payload::Shared(shared.clone()));
    Some(Payload::Shared(shared))
}

/// The delivery for one route: its share of the event (all of it for the `last`) and, for a
/// request, its own answer channel.
fn delivery(
    route: &Route,
    last: bool,
    event_name: &'static str,
    event: &mut Option<Payload>,
    reply: &mut impl FnMut() -> Option<AnswerSender>,
) -> Option<Delivery> {
    Some(Delivery {
        solver: route.solver,
        event_name,
        event: share(event, last)?,
        reply: reply(),
    })
}

async fn route_push(route: &Route, delivery: Delivery) -> Result<(), Delivery> {
    route.mailbox.push(delivery, route.priority).await
}

/// Where an event comes from: this router, or another one through the switch (which already
/// sent it to every router that demands it, so it must not go back out).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Origin {
    Local,
    Switch,
}

impl Origin {
    fn skips(self, route: &Route) -> bool {
        self == Origin::Switch && route.remote
    }
}

/// A notification that had no subscriber when it was sent.
struct Kept {
    at: Instant,
    type_id: TypeId,
    event_name: &'static str,
    event: Arc<dyn Any + Send + Sync>,
}

/// Counters about routing, for the health report.
#[derive(Default)]
pub(crate) struct RouterStats {
    /// Notifications dropped from the full or expired unrouted cache.
    pub(crate) unrouted_dropped: AtomicU64,
    /// Deliveries refused because the receiving manager had stopped.
    pub(crate) undeliverable: AtomicU64,
}

/// Every registered event type, numbered in the order of their names: the index of each
/// sender's counters.
pub(crate) struct EventIndex {
    by_type: HashMap<TypeId, usize, BuildHasherDefault<TypeIdHasher>>,
    names: Box<[&'static str]>,
}

impl EventIndex {
    fn new(registry: &Registry) -> Self {
        let mut events: Vec<_> = registry.events().collect();
        events.sort_by_key(|info| info.name);
        Self {
            by_type: events
                .iter()
                .enumerate()
                .map(|(index, info)| ((info.type_id)(), index))
                .collect(),
            names: events.iter().map(|info| info.name).collect(),
        }
    }

    fn len(&self) -> usize {
        self.names.len()
    }

    fn index(&self, type_id: TypeId) -> Option<usize> {
        self.by_type.get(&type_id).copied()
    }

    /// The name of the event at `index`; indices come from counters sized by [`len`](Self::len).
    fn name(&self, index: usize) -> &'static str {
        self.names[index]
    }
}

pub(crate) struct Router {
    routes: ArcSwap<RouteTable>,
    /// The registered event types, numbered.
    events: EventIndex,
    /// Every entry made into this router, for the topology.
    senders: Mutex<Vec<entry::Listed>>,
    /// Serializes changes of the routing table with the unrouted cache, so a notification
    /// sent while a subscriber joins is either routed or kept, never lost.
    kept: Mutex<VecDeque<Kept>>,
    next_subscriber: AtomicU64,
    pub(crate) config: Config,
    pub(crate) stats: RouterStats,
    /// The deadlines of the requests sent through this router.
    pub(crate) deadlines: Arc<Deadlines>,
    /// One warning per period for dropped notifications, however many there are.
    drop_log: LogThrottle,
    /// The `shared` event types, which other routers may demand.
    shared: HashMap<TypeId, &'static str, BuildHasherDefault<TypeIdHasher>>,
    /// Bumped when local subscriptions change, so the switch connector can announce them.
    local_changes: tokio::sync::watch::Sender<u64>,
}

impl Router {
    pub(crate) fn new(config: Config, registry: &Registry) -> Self {
        Self {
            routes: ArcSwap::from_pointee(RouteTable::default()),
            events: EventIndex::new(registry),
            senders: Mutex::new(Vec::new()),
            kept: Mutex::new(VecDeque::new()),
            next_subscriber: AtomicU64::new(1),
            config,
            stats: RouterStats::default(),
            deadlines: Arc::default(),
            drop_log: LogThrottle::new(Duration::from_secs(10)),
            shared: registry
                .events()
                .filter(|info| info.shared)
                .map(|info| ((info.type_id)(), info.name))
                .collect(),
            local_changes: tokio::sync::watch::channel(0).0,
        }
    }

    /// The `shared` events this router's own subscribers take: what it demands from others.
    pub(crate) fn local_demands(&self) -> Vec<&'static str> {
        let table = self.routes.load();
        let mut demands: Vec<&'static str> = self
            .shared
            .iter()
            .filter(|(type_id, _)| {
                table
                    .get(type_id)
                    .is_some_and(|routes| routes.iter().any(|route| !route.remote))
            })
            .map(|(_, name)| *name)
            .collect();
        demands.sort_unstable();
        demands
    }

    /// Changes whenever local subscriptions may have changed [`local_demands`](Self::local_demands).
    pub(crate) fn watch_local_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.local_changes.subscribe()
    }

    pub(crate) fn new_subscriber(&self) -> SubscriberId {
        self.next_subscriber.fetch_add(1, Ordering::Relaxed)
    }

    fn routes_for(&self, type_id: TypeId) -> Option<Arc<[Route]>> {
        self.routes.load().get(&type_id).cloned()
    }

    fn lock_senders(&self) -> MutexGuard<'_, Vec<entry::Listed>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.senders
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn lock_kept(&self) -> MutexGuard<'_, VecDeque<Kept>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.kept
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Delivers a notification to every subscriber, or keeps it for a late one.
    async fn notify(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Payload,
        from: Origin,
    ) {
        let Some(event) = self
            .fan_out(type_id, event_name, event, from, || None)
            .await
        else {
            return;
        };
        if let Some((routes, event)) = self.keep_unrouted(type_id, event_name, event) {
            // A subscriber joined since the first look.
            self.push_each(&routes, 0, event_name, Some(event), from, &mut || None)
                .await;
        }
    }

    /// Pushes one delivery of the event to each subscriber of its type; gives the event back
    /// when the type has no subscriber.
    ///
    /// Queues with room take the delivery at once, read straight from the routing table; only
    /// when one is full does the sender copy the route list and wait. The last delivery gets
    /// the event itself, so a single subscriber can take it without cloning.
    async fn fan_out(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Payload,
        from: Origin,
        mut reply: impl FnMut() -> Option<AnswerSender> + Send,
    ) -> Option<Payload> {
        let mut event = Some(event);
        let (routes, full_at, delivery) = {
            let table = self.routes.load();
            let Some(routes) = table.get(&type_id) else {
                return event;
            };
            let mut waiting = None;
            for (index, route) in routes.iter().enumerate() {
                if from.skips(route) {
                    continue;
                }
                let last = index + 1 == routes.len();
                let Some(delivery) = delivery(route, last, event_name, &mut event, &mut reply)
                else {
                    break;
                };
                match route.mailbox.try_push(delivery, route.priority) {
                    Ok(()) => {}
                    Err(Refused::Closed) => self.undeliverable(event_name, route),
                    Err(Refused::Full(delivery)) => {
                        waiting = Some((routes.clone(), index, delivery));
                        break;
                    }
                }
            }
            match waiting {
                Some(waiting) => waiting,
                None => return None,
            }
        };
        if route_push(&routes[full_at], delivery).await.is_err() {
            self.undeliverable(event_name, &routes[full_at]);
        }
        self.push_each(&routes, full_at + 1, event_name, event, from, &mut reply)
            .await;
        None
    }

    /// Pushes to `routes[from..]`, waiting for room where needed.
    async fn push_each(
        &self,
        routes: &[Route],
        from: usize,
        event_name: &'static str,
        mut event: Option<Payload>,
        origin: Origin,
        reply: &mut (impl FnMut() -> Option<AnswerSender> + Send),
    ) {
        for (index, route) in routes.iter().enumerate().skip(from) {
            if origin.skips(route) {
                continue;
            }
            let last = index + 1 == routes.len();
            let Some(delivery) = delivery(route, last, event_name, &mut event, reply) else {
                break;
            };
            if route_push(route, delivery).await.is_err() {
                self.undeliverable(event_name, route);
            }
        }
    }

    /// Keeps a notification nobody subscribes to; returns the routes instead when a subscriber
    /// joined since the sender looked.
    fn keep_unrouted(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Payload,
    ) -> Option<(Arc<[Route]>, Payload)> {
        let mut kept = self.lock_kept();
        if let Some(routes) = self.routes_for(type_id) {
            return Some((routes, event));
        }
        let now = Instant::now();
        self.expire(&mut kept, now);
        if kept.len() >= self.config.unrouted_capacity {
            if let Some(oldest) = kept.pop_front() {
                self.drop_unrouted(
                    oldest.event_name,
                    "the cache of notifications without subscriber is full (EDRI_CACHE_SIZE)",
                );
            }
        }
        if self.config.unrouted_capacity > 0 {
            tracing::debug!(
                event = event_name,
                "no subscriber: kept for a late subscriber"
            );
            kept.push_back(Kept {
                at: now,
                type_id,
                event_name,
                event: event.into_shared(),
            });
        } else {
            self.drop_unrouted(
                event_name,
                "no subscriber, and the cache is off (EDRI_CACHE_SIZE=0)",
            );
        }
        None
    }

    /// Counts a notification dropped for want of a subscriber, and logs a summary of the drops
    /// at most once per period.
    fn drop_unrouted(&self, event_name: &'static str, why: &'static str) {
        let total = self.stats.unrouted_dropped.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(count) = self.drop_log.tick() {
            tracing::warn!(
                event = event_name,
                dropped = count,
                total,
                "notifications without subscriber dropped: {why}"
            );
        }
    }

    fn expire(&self, kept: &mut VecDeque<Kept>, now: Instant) {
        while let Some(oldest) = kept.front() {
            if now.duration_since(oldest.at) < self.config.unrouted_window {
                break;
            }
            self.drop_unrouted(
                oldest.event_name,
                "no manager subscribed within EDRI_CACHE_TIMEOUT",
            );
            kept.pop_front();
        }
    }

    /// Sends a request to every solver; each gets its own answer channel. A refused delivery
    /// drops its answer sender, so that requester gets `Unavailable`.
    async fn request(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Payload,
        from: Origin,
    ) -> Answers {
        let mut answers = Answers::None;
        self.fan_out(type_id, event_name, event, from, || {
            let (sender, receiver) = answer::channel();
            answers.add(receiver);
            Some(sender)
        })
        .await;
        answers
    }

    fn undeliverable(&self, event_name: &'static str, route: &Route) {
        self.stats.undeliverable.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(
            event = event_name,
            subscriber = &*route.name,
            "not delivered: the subscriber has stopped"
        );
    }

    /// Adds a subscriber's routes; returns the kept notifications it receives first.
    pub(crate) fn subscribe(&self, routes: Vec<(TypeId, Route)>) -> Vec<Delivery> {
        let mut kept = self.lock_kept();
        let mut table = RouteTable::clone(&self.routes.load());
        for (type_id, route) in &routes {
            let mut list = table
                .get(type_id)
                .map(|list| list.to_vec())
                .unwrap_or_default();
            list.push(route.clone());
            table.insert(*type_id, list.into());
        }
        self.routes.store(Arc::new(table));
        if routes.iter().any(|(_, route)| !route.remote) {
            self.local_changes.send_modify(|version| *version += 1);
        }

        self.expire(&mut kept, Instant::now());
        let mut replay = Vec::new();
        kept.retain(|entry| {
            let Some((_, route)) = routes.iter().find(|(type_id, _)| *type_id == entry.type_id)
            else {
                return true;
            };
            replay.push(Delivery {
                solver: route.solver,
                event_name: entry.event_name,
                event: Payload::Shared(entry.event.clone()),
                reply: None,
            });
            false
        });
        if !replay.is_empty() {
            tracing::debug!(
                count = replay.len(),
                "delivering kept notifications to a late subscriber"
            );
        }
        replay
    }

    /// Removes every route of a subscriber.
    pub(crate) fn unsubscribe(&self, subscriber: SubscriberId) {
        let _kept = self.lock_kept();
        let mut table = RouteTable::default();
        for (type_id, list) in self.routes.load().iter() {
            let rest: Vec<Route> = list
                .iter()
                .filter(|route| route.subscriber != subscriber)
                .cloned()
                .collect();
            if !rest.is_empty() {
                table.insert(*type_id, rest.into());
            }
        }
        self.routes.store(Arc::new(table));
        self.local_changes.send_modify(|version| *version += 1);
    }

    /// The subscriber of an event type, when it has exactly one.
    pub(crate) fn only_subscriber(&self, type_id: TypeId) -> Option<SubscriberId> {
        match self.routes.load().get(&type_id).map(|routes| &routes[..]) {
            Some([route]) => Some(route.subscriber),
            _ => None,
        }
    }

    /// The names of the subscribers of each event type, for topology and tests.
    pub(crate) fn subscribers(&self, type_id: TypeId) -> Vec<Arc<str>> {
        self.routes_for(type_id)
            .map(|routes| routes.iter().map(|route| route.name.clone()).collect())
            .unwrap_or_default()
    }
}
