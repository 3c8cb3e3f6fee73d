//! A router's side of the switch: it announces what this router demands, forwards what other
//! routers demand to them in numbered streams it keeps until they are acknowledged, and takes
//! the streams of other routers in order, once each.
//!
//! Every other router is, for the local router, a subscriber like a manager: its demands
//! become routes whose queue the connector drains into that router's [`Outbox`].

use std::any::TypeId;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::message::{Down, Item, Mark, PeerHeader, PeerInfo, Position, Up};
use super::outbound::Outbound;
use super::outbox::{self, Dropped, Outbox};
use super::report::{Gap, PeerReport, SwitchReport};
use super::spool::Spool;
use super::transport::{ConnectError, Introduction, Session, Transport};
use super::SwitchSettings;
use crate::answer::{first_answer_erased, AnswerSender};
use crate::event::{EventInfo, EventKind, Registry};
use crate::mailbox::{mailbox, Delivery, Inbox, Mailbox, QueueKind};
use crate::router::{Entry, Route, Router, SubscriberId};
use crate::{wire, Failure};

/// How long unacknowledged items wait before they are sent again.
const RESEND_AFTER: Duration = Duration::from_secs(2);
/// Room for the headers around an event in a frame: router ids (64 bytes at most each), the
/// event's name, sequence numbers.
const FRAME_HEADROOM: usize = 1024;
/// How often the connector looks at timers.
const TICK: Duration = Duration::from_millis(100);
/// How often this router tells the switch it is alive.
/// The most items a router acknowledges at once.
const ACK_EVERY: u64 = 256;

/// Counters of the connector, for health.
#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    received: AtomicU64,
    duplicates: AtomicU64,
    out_of_order: AtomicU64,
    resent: AtomicU64,
    lost: AtomicU64,
    refused: AtomicU64,
}

/// Another router, as this one knows it.
struct Peer {
    epoch: u64,
    demands: Vec<String>,
    present: bool,
    absent_since: Option<Instant>,
    /// This router's stream to it.
    outbox: Outbox,
    /// `Up::To` for it, encoded once.
    to_header: Arc<[u8]>,
    /// Its routes in the local router.
    subscriber: SubscriberId,
    mailbox: Mailbox,
}

/// A request sent to another router, waiting for its answer.
struct Asked {
    reply: AnswerSender,
    info: &'static EventInfo,
    peer: Arc<str>,
}

struct State {
    link: Option<Arc<Outbound>>,
    peers: HashMap<Arc<str>, Peer>,
    /// How far this router has taken each origin's stream.
    received: HashMap<String, Mark>,
    asked: HashMap<u64, Asked>,
    /// What this router announced it demands.
    announced: Vec<String>,
    gaps: Vec<Gap>,
    /// The item this router last asked each origin to resend from, and when.
    resume_asked: HashMap<String, (u64, Instant)>,
}

pub(crate) struct Connector {
    id: String,
    epoch: u64,
    settings: SwitchSettings,
    describe: String,
    entry: Entry,
    registry: &'static Registry,
    state: Mutex<State>,
    /// Wakes senders waiting for room in an outbox.
    room: Notify,
    /// Changes when peers or their demands change.
    peers_changed: watch::Sender<u64>,
    counters: Counters,
    next_request: AtomicU64,
    /// Deliveries a pump has taken from a peer's queue and not yet put in its outbox.
    pumping: AtomicUsize,
    spool: Option<Spool>,
}

impl Connector {
    pub(crate) fn new(
        router: &Arc<Router>,
        registry: &'static Registry,
        settings: SwitchSettings,
        describe: String,
        spool: Option<Spool>,
        id: String,
        epoch: u64,
    ) -> Arc<Self> {
        Arc::new(Self {
            id,
            epoch,
            describe,
            entry: Entry::new(router, "switch"),
            registry,
            state: Mutex::new(State {
                link: None,
                peers: HashMap::new(),
                received: HashMap::new(),
                asked: HashMap::new(),
                announced: Vec::new(),
                gaps: Vec::new(),
                resume_asked: HashMap::new(),
            }),
            room: Notify::new(),
            peers_changed: watch::channel(0).0,
            counters: Counters::default(),
            next_request: AtomicU64::new(1),
            pumping: AtomicUsize::new(0),
            spool,
            settings,
        })
    }

    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.state
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    fn router(&self) -> &Arc<Router> {
        self.entry.router()
    }

    /// Restores the streams a spool kept from this router's previous run.
    pub(crate) fn restore(self: &Arc<Self>) {
        let Some(spool) = &self.spool else { return };
        let restored = match spool.load() {
            Ok(restored) => restored,
            Err(error) => {
                tracing::error!(%error, "switch spool: cannot read it; starting empty");
                return;
            }
        };
        let mut state = self.lock();
        for (peer, next_seq, entries) in restored {
            let count = entries.len();
            let mut new = self.new_peer(&peer);
            new.outbox = Outbox::restored(next_seq, entries);
            new.absent_since = Some(Instant::now());
            tracing::info!(
                peer = &*peer,
                count,
                "switch spool: resending unacknowledged events"
            );
            state.peers.insert(peer, new);
        }
    }

    /// Runs the connector: connects, and reconnects with backoff, until stopped.
    pub(crate) async fn run(
        self: Arc<Self>,
        transport: Box<dyn Transport>,
        mut stop: watch::Receiver<bool>,
    ) {
        tokio::spawn(self.clone().tick(stop.clone()));
        tokio::spawn(self.clone().announce(stop.clone()));
        let mut backoff = Backoff::new();
        let mut failures = 0u32;
        loop {
            let introduction = self.introduction();
            let connected = tokio::select! {
                connected = transport.connect(&introduction) => connected,
                _ = stop.wait_for(|stop| *stop) => return,
            };
            match connected {
                Ok(session) => {
                    if failures > 0 {
                        tracing::info!(switch = %self.describe, "switch: connected again");
                    } else {
                        tracing::info!(switch = %self.describe, router = self.id, "switch: connected");
                    }
                    failures = 0;
                    backoff.reset();
                    tokio::select! {
                        ended = self.serve(session) => match ended {
                            Ok(()) => tracing::warn!("switch: the switch closed the connection"),
                            Err(error) => tracing::warn!("switch: connection lost: {error}"),
                        },
                        _ = stop.wait_for(|stop| *stop) => {
                            self.link_down();
                            return;
                        }
                    }
                    self.link_down();
                }
                Err(error) => {
                    failures += 1;
                    if matches!(error, ConnectError::Refused { .. }) {
                        // Asking again at once will not change the answer; it would only
                        // fill both logs.
                        tracing::error!(
                            attempts = failures,
                            "switch: {error}; retrying in 5 to 10 s"
                        );
                        backoff.refused();
                    } else if failures == 1 || failures % 50 == 0 {
                        tracing::warn!(attempts = failures, "switch: {error}; retrying");
                    } else {
                        tracing::debug!("switch: {error}; retrying");
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff.next()) => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
        }
    }

    /// The shared events this router's own managers subscribe to, as announced.
    fn local_demands(&self) -> Vec<String> {
        self.router()
            .local_demands()
            .into_iter()
            .map(String::from)
            .collect()
    }

    fn introduction(&self) -> Introduction {
        let demands = self.local_demands();
        let mut state = self.lock();
        state.announced = demands.clone();
        Introduction {
            router: self.id.clone(),
            epoch: self.epoch,
            demands,
            received: state
                .received
                .iter()
                .map(|(origin, mark)| Position {
                    origin: origin.clone(),
                    mark: *mark,
                })
                .collect(),
        }
    }

    /// Serves one session until it ends.
    async fn serve(self: &Arc<Self>, mut session: Session) -> Result<(), SessionError> {
        let out = session.out.clone();
        self.lock().link = Some(out.clone());
        let heartbeats = tokio::spawn(out.clone().heartbeats(Up::Heartbeat));
        let ended = self.read(&mut session).await;
        heartbeats.abort();
        out.close();
        ended
    }

    async fn read(self: &Arc<Self>, session: &mut Session) -> Result<(), SessionError> {
        let mut to_ack: HashSet<String> = HashSet::new();
        let mut taken = 0u64;
        loop {
            let next = tokio::time::timeout(self.settings.idle_timeout, session.incoming.next());
            let Some(body) = next.await.map_err(|_| SessionError::Silent)?? else {
                return Ok(());
            };
            let (down, payload): (Down, &[u8]) = wire::decode_prefix(body)?;
            match down {
                Down::Heartbeat => {}
                Down::Present(peers) => {
                    for peer in peers {
                        self.peer_up(peer);
                    }
                }
                Down::Arrived(peer) => self.peer_up(peer),
                Down::Demands { router, demands } => {
                    let mut state = self.lock();
                    if let Some(peer) = state.peers.get_mut(router.as_str()) {
                        self.set_demands(&router, peer, demands);
                    }
                }
                Down::Left { router } => self.peer_down(&router),
                Down::From { from } => {
                    let (header, body): (PeerHeader, &[u8]) = wire::decode_prefix(payload)?;
                    if self.from_peer(&from, header, body).await {
                        taken += 1;
                        to_ack.insert(from);
                    }
                }
            }
            if !to_ack.is_empty() && (taken >= ACK_EVERY || !session.incoming.has_more()) {
                self.send_acks(&mut to_ack);
                taken = 0;
            }
        }
    }

    fn send_acks(&self, to_ack: &mut HashSet<String>) {
        let state = self.lock();
        let Some(link) = &state.link else { return };
        for origin in to_ack.drain() {
            let Some(mark) = state.received.get(&origin) else {
                continue;
            };
            send_to(link, &origin, &PeerHeader::Ack { mark: *mark }, &[]);
        }
    }

    /// Handles what another router sent; `true` when it calls for an acknowledgement.
    async fn from_peer(self: &Arc<Self>, from: &str, header: PeerHeader, body: &[u8]) -> bool {
        match header {
            PeerHeader::Item { epoch, seq, item } => {
                let expected = {
                    let mut state = self.lock();
                    match state.received.get(from) {
                        Some(mark) if mark.epoch == epoch && seq == mark.seq + 1 => true,
                        Some(mark) if mark.epoch == epoch && seq <= mark.seq => {
                            self.counters.duplicates.fetch_add(1, Ordering::Relaxed);
                            return true;
                        }
                        mark => {
                            // Something before it has not arrived: ask for it again, once per
                            // missing item (and again if the request itself got lost).
                            let mark = mark.copied();
                            self.counters.out_of_order.fetch_add(1, Ordering::Relaxed);
                            let missing = mark.map_or(0, |mark| mark.seq + 1);
                            let asked = state.resume_asked.get(from).is_some_and(|(seq, at)| {
                                *seq == missing && at.elapsed() < RESEND_AFTER
                            });
                            if !asked {
                                if let Some(link) = &state.link {
                                    send_to(link, from, &PeerHeader::Resume { mark }, &[]);
                                }
                                state
                                    .resume_asked
                                    .insert(from.to_owned(), (missing, Instant::now()));
                            }
                            false
                        }
                    }
                };
                if !expected {
                    return false;
                }
                self.take(from, item, body).await;
                self.lock()
                    .received
                    .insert(from.to_owned(), Mark { epoch, seq });
                self.counters.received.fetch_add(1, Ordering::Relaxed);
                true
            }
            PeerHeader::Start { epoch, first } => {
                self.start(from, epoch, first);
                false
            }
            PeerHeader::Resume { mark } => {
                let taken = mark.filter(|mark| mark.epoch == self.epoch);
                let mut state = self.lock();
                let link = state.link.clone();
                if let (Some(peer), Some(link)) = (state.peers.get_mut(from), link) {
                    self.resume_stream(&link, from, peer, taken.map(|mark| mark.seq));
                }
                false
            }
            PeerHeader::Ack { mark } => {
                if mark.epoch == self.epoch {
                    self.acked(from, mark.seq);
                }
                false
            }
        }
    }

    /// An origin's stream continues at `first`: what it skipped is a reported gap.
    fn start(&self, from: &str, epoch: u64, first: u64) {
        let mut state = self.lock();
        let baseline = first.saturating_sub(1);
        match state.received.get(from).copied() {
            Some(mark) if mark.epoch == epoch => {
                if baseline > mark.seq {
                    let gap = Gap {
                        origin: from.to_owned(),
                        destination: self.id.clone(),
                        first: mark.seq + 1,
                        last: baseline,
                        count: baseline - mark.seq,
                    };
                    tracing::error!(
                        origin = from,
                        count = gap.count,
                        first = gap.first,
                        last = gap.last,
                        "switch: events from this router were lost: it dropped them after the session timeout"
                    );
                    self.counters.lost.fetch_add(gap.count, Ordering::Relaxed);
                    state.gaps.push(gap);
                    state.received.insert(
                        from.to_owned(),
                        Mark {
                            epoch,
                            seq: baseline,
                        },
                    );
                }
            }
            previous => {
                if previous.is_some() {
                    tracing::warn!(
                        origin = from,
                        "switch: this router restarted without a spool; what it had not delivered before is gone"
                    );
                }
                state.received.insert(
                    from.to_owned(),
                    Mark {
                        epoch,
                        seq: baseline,
                    },
                );
            }
        }
    }

    /// Handles one item of another router's stream.
    async fn take(self: &Arc<Self>, from: &str, item: Item, body: &[u8]) {
        match item {
            Item::Notify { event } => {
                let Some(info) = self.shared_event(&event, EventKind::Notification, from) else {
                    return;
                };
                match (info.decode)(body) {
                    Ok(event) => {
                        self.entry
                            .notify_from_switch((info.type_id)(), info.name, event)
                            .await
                    }
                    Err(error) => self.refuse(from, &event, &error.to_string()),
                }
            }
            Item::Request { id, event } => {
                let Some(info) = self.shared_event(&event, EventKind::Request, from) else {
                    self.answer(
                        from,
                        id,
                        Err(Failure::unavailable(format!(
                            "router `{}` does not know the shared request `{event}`",
                            self.id
                        ))),
                    );
                    return;
                };
                let request = match (info.decode)(body) {
                    Ok(request) => request,
                    Err(error) => {
                        self.refuse(from, &event, &error.to_string());
                        self.answer(from, id, Err(Failure::bad_request(error.to_string())));
                        return;
                    }
                };
                let answers = self
                    .entry
                    .request_from_switch((info.type_id)(), info.name, request)
                    .await;
                let connector = self.clone();
                let from = from.to_owned();
                tokio::spawn(async move {
                    let router = connector.router().clone();
                    let answer = first_answer_erased(
                        info.name,
                        answers,
                        &router.deadlines,
                        router.config.request_timeout,
                    )
                    .await;
                    let answer = answer.and_then(|response| (info.encode_answer)(response));
                    connector.answer(&from, id, answer);
                });
            }
            Item::Answer { id, failure } => {
                let Some(asked) = self.lock().asked.remove(&id) else {
                    return;
                };
                let answer = match failure {
                    Some(failure) => Err(failure),
                    None => (asked.info.decode_answer)(body),
                };
                asked.reply.send(answer);
            }
        }
    }

    /// The registered `shared` event `name` of `kind`; `None` (refused, and logged) otherwise.
    fn shared_event(&self, name: &str, kind: EventKind, from: &str) -> Option<&'static EventInfo> {
        match self.registry.by_name(name) {
            Some(info) if info.shared && info.kind == kind => Some(info),
            Some(_) => {
                self.refuse(from, name, "it is not a shared event of that kind here");
                None
            }
            None => {
                self.refuse(from, name, "no such event is registered here");
                None
            }
        }
    }

    fn refuse(&self, from: &str, event: &str, why: &str) {
        self.counters.refused.fetch_add(1, Ordering::Relaxed);
        tracing::warn!(origin = from, event, "switch: refused an event: {why}");
    }

    /// Queues the answer to request `id` of router `to` in this router's stream to it.
    fn answer(self: &Arc<Self>, to: &str, id: u64, answer: Result<Vec<u8>, Failure>) {
        let (failure, body) = match answer {
            Ok(body) => (None, body),
            Err(failure) => (Some(failure), Vec::new()),
        };
        let connector = self.clone();
        let to: Arc<str> = Arc::from(to);
        tokio::spawn(async move {
            connector
                .append(&to, vec![(Item::Answer { id, failure }, Arc::from(body))])
                .await;
        });
    }

    fn acked(&self, from: &str, seq: u64) {
        let mut state = self.lock();
        if let Some(peer) = state.peers.get_mut(from) {
            if peer.outbox.ack(seq) > 0 {
                if let Some(spool) = &self.spool {
                    spool.remove(from, seq);
                }
                self.room.notify_waiters();
            }
        }
    }

    /// A router joined (or this router joined and learned about it).
    fn peer_up(self: &Arc<Self>, info: PeerInfo) {
        if info.router == self.id {
            return;
        }
        let mut state = self.lock();
        let link = state.link.clone();
        let key: Arc<str> = Arc::from(info.router.as_str());
        if !state.peers.contains_key(&key) {
            let peer = self.new_peer(&key);
            state.peers.insert(key.clone(), peer);
        }
        let Some(peer) = state.peers.get_mut(&key) else {
            return;
        };
        if peer.epoch != info.epoch && peer.epoch != 0 {
            tracing::info!(peer = info.router, "switch: the router restarted");
        }
        peer.epoch = info.epoch;
        peer.present = true;
        peer.absent_since = None;
        self.set_demands(&info.router, peer, info.demands);
        // Its handshake says how far it has read this router's stream.
        let taken = info
            .received
            .iter()
            .find(|position| position.origin == self.id && position.mark.epoch == self.epoch)
            .map(|position| position.mark.seq);
        if let Some(link) = link {
            self.resume_stream(&link, &info.router, peer, taken);
        }
        drop(state);
        self.peers_changed.send_modify(|version| *version += 1);
    }

    fn new_peer(self: &Arc<Self>, router: &Arc<str>) -> Peer {
        let (mailbox, inbox) = mailbox(QueueKind::Fifo, self.router().config.queue_capacity);
        tokio::spawn(self.clone().pump(router.clone(), inbox));
        Peer {
            epoch: 0,
            demands: Vec::new(),
            present: false,
            absent_since: Some(Instant::now()),
            outbox: Outbox::new(1),
            to_header: Arc::from(
                wire::encode(&Up::To {
                    to: router.to_string(),
                })
                .unwrap_or_default(),
            ),
            subscriber: self.router().new_subscriber(),
            mailbox,
        }
    }

    /// Routes the events `router` demands to its outbox.
    fn set_demands(&self, router: &str, peer: &mut Peer, demands: Vec<String>) {
        if peer.demands == demands {
            return;
        }
        let name: Arc<str> = Arc::from(format!("switch: router {router}"));
        let routes: Vec<(TypeId, Route)> = demands
            .iter()
            .filter_map(|event| self.registry.by_name(event))
            .filter(|info| info.shared)
            .map(|info| {
                (
                    (info.type_id)(),
                    Route {
                        mailbox: peer.mailbox.clone(),
                        solver: 0,
                        priority: 0,
                        subscriber: peer.subscriber,
                        name: name.clone(),
                        remote: true,
                    },
                )
            })
            .collect();
        tracing::info!(peer = router, ?demands, "switch: the router demands");
        peer.demands = demands;
        self.router().unsubscribe(peer.subscriber);
        let kept = self.router().subscribe(routes);
        if !kept.is_empty() {
            let mailbox = peer.mailbox.clone();
            tokio::spawn(async move {
                for delivery in kept {
                    let _ = mailbox.push(delivery, 0).await;
                }
            });
        }
        self.peers_changed.send_modify(|version| *version += 1);
    }

    fn peer_down(&self, router: &str) {
        let mut state = self.lock();
        if let Some(peer) = state.peers.get_mut(router) {
            peer.present = false;
            peer.absent_since.get_or_insert_with(Instant::now);
            peer.outbox.pause();
            tracing::info!(peer = router, "switch: the router disconnected");
        }
    }

    fn link_down(&self) {
        let mut state = self.lock();
        state.link = None;
        for peer in state.peers.values_mut() {
            peer.present = false;
            peer.absent_since.get_or_insert_with(Instant::now);
            peer.outbox.pause();
        }
    }

    /// Starts (again) this router's stream to `peer` after `taken`, and sends what it holds.
    fn resume_stream(&self, link: &Outbound, router: &str, peer: &mut Peer, taken: Option<u64>) {
        let before = peer.outbox.len();
        let first = peer.outbox.resume(taken);
        if before > peer.outbox.len() {
            if let (Some(spool), Some(taken)) = (&self.spool, taken) {
                spool.remove(router, taken);
            }
            self.room.notify_waiters();
        }
        let start = PeerHeader::Start {
            epoch: self.epoch,
            first,
        };
        send_to(link, router, &start, &[]);
        let resent = self.write_unsent(link, peer);
        if resent > 0 {
            self.counters.resent.fetch_add(resent, Ordering::Relaxed);
            tracing::info!(peer = router, resent, first, "switch: resending");
        }
    }

    /// Writes what `peer`'s outbox has not sent in this session; returns how many.
    fn write_unsent(&self, link: &Outbound, peer: &mut Peer) -> u64 {
        let epoch = self.epoch;
        let to = peer.to_header.clone();
        let mut count = 0;
        link.send_many(|send| {
            for entry in peer.outbox.take_unsent() {
                if let Some(header) = item_header(epoch, entry) {
                    send(&[&to, &header, &entry.body]);
                    count += 1;
                }
            }
        });
        count
    }

    /// Drains one peer's queue into its outbox.
    async fn pump(self: Arc<Self>, router: Arc<str>, mut inbox: Inbox) {
        let mut batch = Vec::new();
        while let Some(first) = inbox.recv().await {
            self.pumping.fetch_add(1, Ordering::SeqCst);
            batch.push(first);
            while batch.len() < 256 {
                match inbox.try_recv() {
                    Some(delivery) => {
                        self.pumping.fetch_add(1, Ordering::SeqCst);
                        batch.push(delivery)
                    }
                    None => break,
                }
            }
            let taken = batch.len();
            let items: Vec<_> = batch
                .drain(..)
                .filter_map(|delivery| self.outgoing(&router, delivery))
                .collect();
            self.append(&router, items).await;
            self.pumping.fetch_sub(taken, Ordering::SeqCst);
        }
    }

    /// The stream item for one delivery to another router.
    fn outgoing(&self, router: &Arc<str>, delivery: Delivery) -> Option<(Item, Arc<[u8]>)> {
        let info = self.registry.by_name(delivery.event_name)?;
        let refuse = |why: String, reply: Option<AnswerSender>| {
            tracing::error!(
                event = info.name,
                peer = &**router,
                "switch: not sent: {why}"
            );
            self.counters.refused.fetch_add(1, Ordering::Relaxed);
            if let Some(reply) = reply {
                reply.send(Err(Failure::internal(why)));
            }
            None
        };
        let body: Arc<[u8]> = match (info.encode)(&*delivery.event) {
            Ok(body) => Arc::from(body),
            Err(error) => {
                let why = format!("cannot encode `{}`: {error}", info.name);
                return refuse(why, delivery.reply);
            }
        };
        // Headers take a few dozen bytes; an event that cannot fit a frame would be refused
        // by the switch again at every resend, and block its stream.
        if body.len() + FRAME_HEADROOM > self.settings.max_frame {
            let why = format!(
                "`{}` is {} bytes encoded, over the switch's frame limit of {} bytes",
                info.name,
                body.len(),
                self.settings.max_frame
            );
            return refuse(why, delivery.reply);
        }
        let item = match delivery.reply {
            Some(reply) => {
                let id = self.next_request.fetch_add(1, Ordering::Relaxed);
                self.lock().asked.insert(
                    id,
                    Asked {
                        reply,
                        info,
                        peer: router.clone(),
                    },
                );
                Item::Request {
                    id,
                    event: info.name.to_owned(),
                }
            }
            None => Item::Notify {
                event: info.name.to_owned(),
            },
        };
        Some((item, body))
    }

    /// Appends items to the stream to `router`, waiting while its window is full. A window
    /// that stays full for the session timeout ends the session with that router: what it
    /// held is reported lost.
    async fn append(&self, router: &Arc<str>, items: Vec<(Item, Arc<[u8]>)>) {
        if items.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + self.settings.session_timeout;
        loop {
            let room = self.room.notified();
            {
                let mut state = self.lock();
                let link = state.link.clone();
                let Some(peer) = state.peers.get_mut(router) else {
                    return;
                };
                if peer.outbox.len() < self.settings.window {
                    let count = items.len() as u64;
                    for (item, body) in items {
                        let entry = peer.outbox.push(item, body);
                        if let Some(spool) = &self.spool {
                            spool.put(router, entry);
                        }
                    }
                    if let Some(spool) = &self.spool {
                        spool.commit();
                    }
                    self.counters.sent.fetch_add(count, Ordering::Relaxed);
                    if let Some(link) = link {
                        self.write_unsent(&link, peer);
                    }
                    return;
                }
            }
            if tokio::time::timeout_at(deadline, room).await.is_err() {
                let mut state = self.lock();
                // The waiting items are numbered too, so that the reported gap counts them.
                let dropped = state.peers.get_mut(router).and_then(|peer| {
                    for (item, body) in items {
                        peer.outbox.push(item, body);
                    }
                    peer.outbox.drop_all()
                });
                self.report_loss(
                    &mut state,
                    router,
                    dropped,
                    "its window stayed full for the session timeout",
                );
                self.fail_asked(&mut state, router);
                return;
            }
        }
    }

    fn report_loss(&self, state: &mut State, router: &str, dropped: Option<Dropped>, why: &str) {
        let Some(dropped) = dropped else { return };
        let count = dropped.count();
        self.counters.lost.fetch_add(count, Ordering::Relaxed);
        tracing::error!(
            peer = router,
            count,
            first = dropped.first,
            last = dropped.last,
            "switch: events for this router were dropped: {why}"
        );
        if let Some(spool) = &self.spool {
            spool.remove(router, dropped.last);
        }
        state.gaps.push(Gap {
            origin: self.id.clone(),
            destination: router.to_owned(),
            first: dropped.first,
            last: dropped.last,
            count,
        });
        self.room.notify_waiters();
    }

    fn fail_asked(&self, state: &mut State, router: &str) {
        state.asked.retain(|_, asked| {
            if &*asked.peer != router {
                return true;
            }
            // The sender is gone with the removed entry; answering is best effort.
            let reply = std::mem::replace(&mut asked.reply, crate::answer::channel().0);
            reply.send(Err(unreachable(router)));
            false
        });
    }

    /// Timers: routers gone for longer than the session timeout, streams whose
    /// acknowledgements are late, requests whose requester gave up.
    async fn tick(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(TICK);
        let mut rounds = 0u64;
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.wait_for(|stop| *stop) => return,
            }
            rounds += 1;
            let mut state = self.lock();
            let link = state.link.clone();
            let expired: Vec<Arc<str>> = state
                .peers
                .iter()
                .filter(|(_, peer)| {
                    peer.absent_since
                        .is_some_and(|since| since.elapsed() > self.settings.session_timeout)
                })
                .map(|(router, _)| router.clone())
                .collect();
            for router in expired {
                self.expire(&mut state, &router);
            }
            if let Some(link) = &link {
                for (router, peer) in state.peers.iter_mut() {
                    if peer.present && peer.outbox.stalled(RESEND_AFTER) {
                        let to = peer.to_header.clone();
                        if let Some(entry) = peer.outbox.probe() {
                            write_entry(link, &to, self.epoch, entry);
                            self.counters.resent.fetch_add(1, Ordering::Relaxed);
                            tracing::debug!(
                                peer = &**router,
                                seq = entry.seq,
                                "switch: acknowledgements are late: sending the first again"
                            );
                        }
                    }
                }
            }
            if rounds % 50 == 0 {
                state.asked.retain(|_, asked| !asked.reply.is_closed());
            }
        }
    }

    /// Forgets a router gone for longer than the session timeout: what it was owed is
    /// reported lost, and events stop going to it.
    fn expire(&self, state: &mut State, router: &Arc<str>) {
        let Some(peer) = state.peers.get_mut(router) else {
            return;
        };
        peer.absent_since = None;
        let dropped = peer.outbox.drop_all();
        let subscriber = peer.subscriber;
        peer.demands.clear();
        self.router().unsubscribe(subscriber);
        self.report_loss(
            state,
            router,
            dropped,
            "it was gone for longer than the session timeout",
        );
        self.fail_asked(state, router);
        tracing::warn!(peer = &**router, "switch: the router's session expired");
        self.peers_changed.send_modify(|version| *version += 1);
    }

    /// Announces this router's demands whenever local subscriptions change.
    async fn announce(self: Arc<Self>, mut stop: watch::Receiver<bool>) {
        let mut changes = self.router().watch_local_changes();
        loop {
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return },
                _ = stop.wait_for(|stop| *stop) => return,
            }
            let demands = self.local_demands();
            let mut state = self.lock();
            if state.announced == demands {
                continue;
            }
            if let Some(link) = &state.link {
                if let Ok(bytes) = wire::encode(&Up::Demands(demands.clone())) {
                    link.send(&[&bytes]);
                }
            }
            state.announced = demands;
        }
    }

    /// Waits until some other router demands `event`.
    pub(crate) async fn wait_for_demand(&self, event: &str) {
        let mut changes = self.peers_changed.subscribe();
        loop {
            if self
                .lock()
                .peers
                .values()
                .any(|peer| peer.present && peer.demands.iter().any(|demand| demand == event))
            {
                return;
            }
            if changes.changed().await.is_err() {
                return;
            }
        }
    }

    /// What the connector knows and has counted.
    pub(crate) fn report(&self) -> SwitchReport {
        let state = self.lock();
        let counters = &self.counters;
        let mut peers: Vec<PeerReport> = state
            .peers
            .iter()
            .map(|(router, peer)| PeerReport {
                router: router.to_string(),
                present: peer.present,
                demands: peer.demands.clone(),
                unacknowledged: peer.outbox.len(),
                unacknowledged_bytes: peer.outbox.bytes(),
                next_seq: peer.outbox.next_seq(),
                received_seq: state.received.get(&**router).map(|mark| mark.seq),
            })
            .collect();
        peers.sort_by(|a, b| a.router.cmp(&b.router));
        SwitchReport {
            router: self.id.clone(),
            epoch: self.epoch,
            switch: self.describe.clone(),
            connected: state.link.is_some(),
            peers,
            sent: counters.sent.load(Ordering::Relaxed),
            received: counters.received.load(Ordering::Relaxed),
            duplicates: counters.duplicates.load(Ordering::Relaxed),
            out_of_order: counters.out_of_order.load(Ordering::Relaxed),
            resent: counters.resent.load(Ordering::Relaxed),
            lost: counters.lost.load(Ordering::Relaxed),
            refused: counters.refused.load(Ordering::Relaxed),
            gaps: state.gaps.clone(),
        }
    }

    /// Whether every stream has been acknowledged (for a clean shutdown).
    pub(crate) fn drained(&self) -> bool {
        self.pumping.load(Ordering::SeqCst) == 0
            && self
                .lock()
                .peers
                .values()
                .all(|peer| !peer.present || (peer.outbox.len() == 0 && peer.mailbox.depth() == 0))
    }

    /// What other routers are still owed: each router, and how many items (queued and
    /// unacknowledged).
    pub(crate) fn owed(&self) -> Vec<(String, usize)> {
        self.lock()
            .peers
            .iter()
            .map(|(router, peer)| (router.to_string(), peer.outbox.len() + peer.mailbox.depth()))
            .filter(|(_, owed)| *owed > 0)
            .collect()
    }

    /// Whether a spool keeps what is owed across a restart.
    pub(crate) fn spooled(&self) -> bool {
        self.spool.is_some()
    }
}

/// The header of one stream item.
fn item_header(epoch: u64, entry: &outbox::Entry) -> Option<Vec<u8>> {
    let header = PeerHeader::Item {
        epoch,
        seq: entry.seq,
        item: entry.item.clone(),
    };
    wire::encode(&header).ok()
}

/// Writes one stream item to the link.
fn write_entry(link: &Outbound, to: &[u8], epoch: u64, entry: &outbox::Entry) {
    if let Some(header) = item_header(epoch, entry) {
        link.send(&[to, &header, &entry.body]);
    }
}

fn unreachable(router: &str) -> Failure {
    Failure::unavailable(format!(
        "router `{router}` did not take the request within the switch session timeout"
    ))
}

/// Sends a message to another router through the switch.
fn send_to(link: &Outbound, to: &str, header: &PeerHeader, body: &[u8]) {
    let (Ok(up), Ok(header)) = (
        wire::encode(&Up::To { to: to.to_owned() }),
        wire::encode(header),
    ) else {
        return;
    };
    link.send(&[&up, &header, body]);
}

/// Why a session with the switch ended.
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("the switch was silent for longer than the idle timeout")]
    Silent,
    #[error(transparent)]
    Frame(#[from] super::frame::FrameError),
    #[error("the switch sent a message this router cannot read: {0}")]
    Malformed(#[from] wire::WireError),
}

/// Reconnection delays: from 50 ms, doubling up to 500 ms, each with random jitter so that
/// routers cut off together do not reconnect in lockstep.
struct Backoff {
    next: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);
    const MAX: Duration = Duration::from_millis(500);
    const REFUSED: Duration = Duration::from_secs(10);

    fn new() -> Self {
        Self { next: Self::FIRST }
    }

    fn reset(&mut self) {
        self.next = Self::FIRST;
    }

    /// The switch refused this router (a wrong secret): the next try waits longer.
    fn refused(&mut self) {
        self.next = Self::REFUSED;
    }

    fn next(&mut self) -> Duration {
        let delay = self.next;
        self.next = (self.next * 2).clamp(Self::FIRST, Self::MAX);
        let jitter = super::handshake::random_u64().unwrap_or(0) % 1000;
        // Between half and all of the delay.
        delay / 2 + delay * jitter as u32 / 2000
    }
}
