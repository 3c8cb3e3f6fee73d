//! The one way into the router. Every sender (the [`Handle`](crate::Handle), each manager's
//! [`Context`](crate::Context), its thread and process workers, the scheduler, the API broker)
//! holds an [`Entry`], and an event reaches subscribers only through one.
//!
//! An entry counts what it sends per event type, without a lock, for `/edri/topology`; it is
//! also where the switch attaches to forward events to other routers.

use std::any::{Any, TypeId};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use super::{Origin, Router};
use crate::answer::Answers;
use crate::payload::Payload;
use crate::{Notification, Request};

/// How often one sender sent each event type: one atomic counter per registered event,
/// indexed like the router's event list.
pub(crate) struct SendCounts {
    counts: Box<[AtomicU64]>,
}

impl SendCounts {
    fn new(events: usize) -> Self {
        Self {
            counts: (0..events).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn count(&self, index: Option<usize>) {
        if let Some(counter) = index.and_then(|index| self.counts.get(index)) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The events sent at least once, by index, with their counts.
    fn sent(&self) -> impl Iterator<Item = (usize, u64)> + '_ {
        self.counts
            .iter()
            .enumerate()
            .map(|(index, count)| (index, count.load(Ordering::Relaxed)))
            .filter(|(_, count)| *count > 0)
    }
}

/// One sender's way into the router. Cheap to clone; clones count into the same counters.
#[derive(Clone)]
pub(crate) struct Entry {
    router: Arc<Router>,
    counts: Arc<SendCounts>,
}

impl Entry {
    /// A new sender, listed under `name` in the topology. Entries with the same name (a
    /// manager and its workers) add up.
    pub(crate) fn new(router: &Arc<Router>, name: &str) -> Self {
        let counts = Arc::new(SendCounts::new(router.events.len()));
        router.list_sender(name, counts.clone());
        Self {
            router: router.clone(),
            counts,
        }
    }

    /// The router this entry leads into.
    pub(crate) fn router(&self) -> &Arc<Router> {
        &self.router
    }

    fn count(&self, type_id: TypeId) {
        self.counts.count(self.router.events.index(type_id));
    }

    /// Sends a notification to every subscriber, or keeps it for a late one.
    pub(crate) async fn notify<E: Notification>(&self, event: E) {
        self.count(TypeId::of::<E>());
        self.router
            .notify(
                TypeId::of::<E>(),
                E::NAME,
                Payload::new(event),
                Origin::Local,
            )
            .await;
    }

    /// [`notify`](Self::notify) for an event whose type is known by id only (the API, the
    /// scheduler, worker processes).
    pub(crate) async fn notify_erased(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Arc<dyn Any + Send + Sync>,
    ) {
        self.notify_erased_from(type_id, event_name, event, Origin::Local)
            .await;
    }

    async fn notify_erased_from(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Arc<dyn Any + Send + Sync>,
        from: Origin,
    ) {
        self.count(type_id);
        self.router
            .notify(type_id, event_name, event.into(), from)
            .await;
    }

    /// Sends a request to every solver; the answers come back through what it returns.
    pub(crate) async fn request<E: Request>(&self, event: E) -> Answers {
        self.count(TypeId::of::<E>());
        self.router
            .request(
                TypeId::of::<E>(),
                E::NAME,
                Payload::new(event),
                Origin::Local,
            )
            .await
    }

    /// [`request`](Self::request) for an event whose type is known by id only.
    pub(crate) async fn request_erased(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Arc<dyn Any + Send + Sync>,
    ) -> Answers {
        self.request_erased_from(type_id, event_name, event, Origin::Local)
            .await
    }

    async fn request_erased_from(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Arc<dyn Any + Send + Sync>,
        from: Origin,
    ) -> Answers {
        self.count(type_id);
        self.router
            .request(type_id, event_name, event.into(), from)
            .await
    }
}

impl Entry {
    /// Delivers a notification that came from another router to this router's own
    /// subscribers (never back to the switch).
    pub(crate) async fn notify_from_switch(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Arc<dyn Any + Send + Sync>,
    ) {
        self.notify_erased_from(type_id, event_name, event, Origin::Switch)
            .await;
    }

    /// Sends a request that came from another router to this router's own solvers.
    pub(crate) async fn request_from_switch(
        &self,
        type_id: TypeId,
        event_name: &'static str,
        event: Arc<dyn Any + Send + Sync>,
    ) -> Answers {
        self.request_erased_from(type_id, event_name, event, Origin::Switch)
            .await
    }
}

/// One listed sender: its name and its counters.
pub(super) struct Listed {
    pub(super) name: Arc<str>,
    pub(super) counts: Arc<SendCounts>,
}

impl Router {
    fn list_sender(&self, name: &str, counts: Arc<SendCounts>) {
        self.lock_senders().push(Listed {
            name: Arc::from(name),
            counts,
        });
    }

    /// What each sender sent: `(sender, event, count)` for every event sent at least once,
    /// senders of the same name added up.
    pub(crate) fn sent(&self) -> Vec<(Arc<str>, &'static str, u64)> {
        let mut sent: BTreeMap<(Arc<str>, &'static str), u64> = BTreeMap::new();
        for listed in self.lock_senders().iter() {
            for (index, count) in listed.counts.sent() {
                let key = (listed.name.clone(), self.events.name(index));
                *sent.entry(key).or_default() += count;
            }
        }
        sent.into_iter()
            .map(|((sender, event), count)| (sender, event, count))
            .collect()
    }
}
