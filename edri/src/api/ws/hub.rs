//! Which WebSocket client receives which notification.
//!
//! The hub subscribes to a notification type in the router only while some client is
//! registered for it: each type gets its own subscriber id and one task that reads the
//! deliveries, encodes each notification once, and hands the frame to every client with a
//! matching filter. Handing over never waits: a client whose bounded outbox is full is told to
//! go (close 1008), so a slow client can hold up neither the router nor the other clients.
//!
//! Nor does a push take a lock: each type's listeners are an immutable snapshot, replaced whole
//! (copy-on-write) by `register` and `unregister`, so testing the filters of one push holds up
//! no registration and no other type's push.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use arc_swap::ArcSwap;
use axum::extract::ws::Utf8Bytes;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, Notify};

use super::filter::Filter;
use crate::api::reply::camel_keys;
use crate::mailbox::{Delivery, Mailbox};
use crate::router::{Route, Router, SubscriberId};
use crate::EventInfo;

/// Identifies one WebSocket connection in the hub.
pub(super) type ClientId = u64;

/// The most filters one client may register for one event: every push tests them all.
pub(super) const MAX_FILTERS: usize = 64;

/// The hub's side of one connection: where its pushes go.
#[derive(Clone)]
pub(super) struct Client {
    pub(super) id: ClientId,
    outbox: mpsc::Sender<Utf8Bytes>,
    slow: Arc<Slow>,
}

/// Set when a client's outbox overflowed; the connection closes with 1008.
#[derive(Default)]
struct Slow {
    flag: AtomicBool,
    notify: Notify,
}

impl Client {
    fn kick(&self) {
        if !self.slow.flag.swap(true, Ordering::AcqRel) {
            self.slow.notify.notify_one();
        }
    }

    fn kicked(&self) -> bool {
        self.slow.flag.load(Ordering::Acquire)
    }
}

/// The connection's side: the pushes to send.
pub(super) struct Outbox {
    receiver: mpsc::Receiver<Utf8Bytes>,
}

impl Outbox {
    /// The next push. Never `None` while the connection holds its [`Client`].
    pub(super) async fn recv(&mut self) -> Option<Utf8Bytes> {
        self.receiver.recv().await
    }

    /// How many pushes the outbox holds at most.
    pub(super) fn capacity(&self) -> usize {
        self.receiver.max_capacity()
    }
}

/// The connection's side of [`Client::kick`].
pub(super) struct Kicked {
    slow: Arc<Slow>,
}

impl Kicked {
    /// Completes once the client fell too far behind to keep.
    pub(super) async fn wait(&self) {
        // The flag covers a notification taken by a future that was then dropped.
        while !self.slow.flag.load(Ordering::Acquire) {
            self.slow.notify.notified().await;
        }
    }
}

/// One client's filters for one notification type.
struct Listener {
    client: Client,
    /// Shared between snapshots, so copying a snapshot copies no filter.
    filters: Vec<Arc<Filter>>,
}

/// The clients registered for one notification type, and their filters.
type Listeners = HashMap<ClientId, Arc<Listener>>;

struct Topic {
    subscriber: SubscriberId,
    /// Shared with the type's fan-out task, which reads it without locking; only changed with
    /// [`Hub::topics`] locked, so changes never race each other.
    listeners: Arc<ArcSwap<Listeners>>,
}

/// Every registration of every connected client.
pub(super) struct Hub {
    router: Arc<Router>,
    /// The size of each client's outbox and of each type's queue.
    capacity: usize,
    /// Held by `register` and `unregister` only, never by a push.
    topics: Mutex<HashMap<TypeId, Topic>>,
    next_client: AtomicU64,
}

/// Why a registration was refused.
pub(super) struct TooManyFilters;

impl Hub {
    pub(super) fn new(router: Arc<Router>, capacity: usize) -> Self {
        Self {
            router,
            capacity,
            topics: Mutex::new(HashMap::new()),
            next_client: AtomicU64::new(1),
        }
    }

    /// A new connection: its handle for the hub, its outbox, and the signal that it fell
    /// behind.
    pub(super) fn client(&self) -> (Client, Outbox, Kicked) {
        let (sender, receiver) = mpsc::channel(self.capacity);
        let slow = Arc::new(Slow::default());
        let client = Client {
            id: self.next_client.fetch_add(1, Ordering::Relaxed),
            outbox: sender,
            slow: slow.clone(),
        };
        (client, Outbox { receiver }, Kicked { slow })
    }

    /// Adds a filter of `client` for the notification `info`; the first registration for a
    /// type subscribes the hub to it in the router.
    pub(super) fn register(
        &self,
        client: &Client,
        info: &'static EventInfo,
        filter: Filter,
    ) -> Result<(), TooManyFilters> {
        let type_id = (info.type_id)();
        let filter = Arc::new(filter);
        let mut topics = lock(&self.topics);
        if let Some(topic) = topics.get(&type_id) {
            let current = topic.listeners.load();
            let mut filters = match current.get(&client.id) {
                Some(listener) if listener.filters.len() >= MAX_FILTERS => {
                    return Err(TooManyFilters)
                }
                Some(listener) => listener.filters.clone(),
                None => Vec::new(),
            };
            filters.push(filter);
            let mut next = Listeners::clone(&current);
            next.insert(client.id, listener(client, filters));
            topic.listeners.store(Arc::new(next));
            return Ok(());
        }
        // The client is listed before the subscription, so the notifications the router kept
        // for a late subscriber (handed back by `subscribe`) reach it.
        let listeners = Arc::new(ArcSwap::from_pointee(HashMap::from([(
            client.id,
            listener(client, vec![filter]),
        )])));
        let subscriber = self.router.new_subscriber();
        let (sender, inbox) = mpsc::channel(self.capacity);
        let route = Route {
            mailbox: Mailbox::Fifo(sender),
            solver: 0,
            priority: 0,
            subscriber,
            name: Arc::from("api (WebSocket clients)"),
            remote: false,
        };
        let kept = self.router.subscribe(vec![(type_id, route)]);
        tokio::spawn(fan_out(info, inbox, kept, listeners.clone()));
        topics.insert(
            type_id,
            Topic {
                subscriber,
                listeners,
            },
        );
        Ok(())
    }

    /// Removes every filter of `client` for the type; the last client to go unsubscribes the
    /// hub from the router. Whether the client had any.
    pub(super) fn unregister(&self, client: ClientId, type_id: TypeId) -> bool {
        let mut topics = lock(&self.topics);
        let Some(topic) = topics.get(&type_id) else {
            return false;
        };
        let current = topic.listeners.load_full();
        if !current.contains_key(&client) {
            return false;
        }
        let mut next = Listeners::clone(&current);
        next.remove(&client);
        let empty = next.is_empty();
        topic.listeners.store(Arc::new(next));
        if empty {
            if let Some(topic) = topics.remove(&type_id) {
                // The route's queue closes with it, which ends the type's fan-out task.
                self.router.unsubscribe(topic.subscriber);
            }
        }
        true
    }
}

/// A client's entry in a snapshot of [`Listeners`].
fn listener(client: &Client, filters: Vec<Arc<Filter>>) -> Arc<Listener> {
    Arc::new(Listener {
        client: client.clone(),
        filters,
    })
}

/// Reads the deliveries of one notification type and hands them to its clients.
async fn fan_out(
    info: &'static EventInfo,
    mut inbox: mpsc::Receiver<Delivery>,
    kept: Vec<Delivery>,
    listeners: Arc<ArcSwap<Listeners>>,
) {
    for delivery in kept {
        push(info, &listeners, &*delivery.event);
    }
    while let Some(delivery) = inbox.recv().await {
        push(info, &listeners, &*delivery.event);
    }
}

/// One notification to every client with a matching filter, once per client.
fn push(info: &'static EventInfo, listeners: &ArcSwap<Listeners>, event: &(dyn Any + Send + Sync)) {
    let json = match (info.encode_json)(event) {
        Ok(json) => json,
        Err(error) => {
            tracing::error!(event = info.name, %error, "cannot push a notification: not JSON");
            return;
        }
    };
    // Encoded on the first match only, then shared by every client.
    let mut frame: Option<Utf8Bytes> = None;
    // A snapshot: registrations made meanwhile apply from the next push on.
    let listeners = listeners.load_full();
    for listener in listeners.values() {
        let Listener { client, filters } = &**listener;
        if client.kicked() || !filters.iter().any(|filter| filter.matches(&json)) {
            continue;
        }
        let frame = frame
            .get_or_insert_with(|| push_frame(info.name, &json))
            .clone();
        match client.outbox.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                tracing::warn!(
                    event = info.name,
                    client = client.id,
                    "a WebSocket client does not read its pushes: disconnected"
                );
                client.kick();
            }
            // The connection is ending; it removes its registrations itself.
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }
}

/// `{"command": "relay", "token": "..."}`: the notification's fields in camelCase.
fn push_frame(name: &'static str, json: &Value) -> Utf8Bytes {
    let mut frame = Map::new();
    frame.insert("command".to_owned(), Value::from(name));
    if let Value::Object(fields) = camel_keys(json.clone()) {
        // Registration is refused for a notification with a field named `command`, so nothing
        // is overwritten here.
        frame.extend(fields);
    }
    Utf8Bytes::from(Value::Object(frame).to_string())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while these locks are held, so a poisoned lock still holds valid data.
    mutex.lock().unwrap_or_else(|poison| poison.into_inner())
}
