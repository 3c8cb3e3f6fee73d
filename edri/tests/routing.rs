//! A5 routing semantics: fan-out, answers to the requester only, unavailable, timeout, gather,
//! `ctx.send` answers arriving at `#[solve(res)]`, streams and managers joining while running.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use edri::prelude::*;
use futures_util::StreamExt;
use tokio::sync::mpsc;

#[event(notification)]
pub struct Uploaded {
    pub name: String,
}

#[event(request)]
pub struct Double {
    pub value: u64,
    #[response]
    pub doubled: u64,
}

#[event(request)]
pub struct Whoami {
    #[response]
    pub manager: String,
}

#[event(request)]
pub struct Nobody {}

#[event(request)]
pub struct Never {}

#[event(request)]
pub struct Forgotten {}

/// Records what it receives, under its own name.
pub struct Recorder {
    name: &'static str,
    seen: mpsc::UnboundedSender<(String, String)>,
}

macro_rules! recorder {
    ($type:ident, $name:literal) => {
        pub struct $type(Recorder);

        #[manager]
        impl $type {
            #[solve(req)]
            async fn uploaded(&mut self, event: Uploaded) {
                let _ = self.0.seen.send((self.0.name.to_owned(), event.name));
            }

            #[solve(req)]
            async fn whoami(&mut self, _event: Whoami) -> WhoamiResponse {
                WhoamiResponse {
                    manager: self.0.name.to_owned(),
                }
            }
        }

        impl $type {
            fn new(seen: &mpsc::UnboundedSender<(String, String)>) -> Self {
                Self(Recorder {
                    name: $name,
                    seen: seen.clone(),
                })
            }
        }
    };
}

recorder!(First, "first");
recorder!(Second, "second");
recorder!(Third, "third");

#[tokio::test]
async fn a_notification_reaches_every_subscribed_manager() {
    let (seen, mut received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(First::new(&seen))
        .manager(Second::new(&seen))
        .manager(Third::new(&seen))
        .start()
        .await
        .unwrap();

    edri.notify(Uploaded {
        name: "a.txt".into(),
    })
    .await
    .unwrap();

    let mut got = Vec::new();
    for _ in 0..3 {
        got.push(received.recv().await.unwrap());
    }
    got.sort();
    assert_eq!(
        got,
        [("first", "a.txt"), ("second", "a.txt"), ("third", "a.txt")]
            .map(|(m, n)| (m.to_owned(), n.to_owned()))
    );
    assert_eq!(edri.subscribers::<Uploaded>(), ["First", "Second", "Third"]);
    edri.shutdown().await.unwrap();
    // Each got it once: nothing more arrives after shutdown.
    assert!(received.try_recv().is_err());
}

#[tokio::test]
async fn gather_collects_every_solvers_answer_and_ask_takes_one() {
    let (seen, _received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(First::new(&seen))
        .manager(Second::new(&seen))
        .start()
        .await
        .unwrap();

    let mut names: Vec<String> = edri
        .gather(Whoami {}, Duration::from_secs(5))
        .await
        .unwrap()
        .into_iter()
        .map(|answer| answer.unwrap().manager)
        .collect();
    names.sort();
    assert_eq!(names, ["first", "second"]);

    let one = edri.ask(Whoami {}).await.unwrap().manager;
    assert!(one == "first" || one == "second", "{one}");
    edri.shutdown().await.unwrap();
}

#[derive(Default)]
pub struct Doubler;

#[manager]
impl Doubler {
    #[solve(req)]
    async fn double(&mut self, event: Double) -> DoubleResponse {
        // Let other requests interleave, so crossed answers would show.
        tokio::task::yield_now().await;
        DoubleResponse {
            doubled: event.value * 2,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requesters_each_get_their_own_answer() {
    let edri = Edri::new().manager(Doubler).start().await.unwrap();
    let requesters: Vec<_> = (0..2u64)
        .map(|requester| {
            let edri = edri.clone();
            tokio::spawn(async move {
                for i in 0..500u64 {
                    let value = requester * 1_000_000 + i;
                    let answer = edri.ask(Double { value }).await.unwrap();
                    assert_eq!(answer.doubled, value * 2);
                }
            })
        })
        .collect();
    for requester in requesters {
        requester.await.unwrap();
    }
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_request_nobody_solves_fails_at_once_with_unavailable() {
    let edri = Edri::new().manager(Doubler).start().await.unwrap();
    // Far longer than the test may take: an Unavailable must not wait for the timeout.
    let failure = edri
        .ask_timeout(Nobody {}, Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Unavailable);
    assert_eq!(failure.message(), "no manager solves `nobody`");
    edri.shutdown().await.unwrap();
}

/// Keeps every request it gets without answering.
#[derive(Default)]
pub struct BlackHole {
    parked: Vec<Responder<Never>>,
}

#[manager]
impl BlackHole {
    #[solve(req)]
    async fn never(&mut self, _event: Never, reply: Responder<Never>) {
        self.parked.push(reply);
    }

    #[solve(req)]
    async fn forgotten(&mut self, _event: Forgotten, reply: Responder<Forgotten>) {
        drop(reply);
    }
}

#[tokio::test(start_paused = true)]
async fn an_unanswered_request_times_out() {
    let edri = Edri::new()
        .manager(BlackHole::default())
        .request_timeout(Duration::from_secs(30))
        .start()
        .await
        .unwrap();
    let failure = edri.ask(Never {}).await.unwrap_err();
    assert_eq!(failure.status(), Status::Timeout);
    assert!(failure.message().contains("never"), "{failure}");

    let failure = edri
        .ask_timeout(Never {}, Duration::from_millis(10))
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Timeout);
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_dropped_responder_fails_the_request_instead_of_leaving_it_waiting() {
    let edri = Edri::new()
        .manager(BlackHole::default())
        .start()
        .await
        .unwrap();
    let failure = edri
        .ask_timeout(Forgotten {}, Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Internal);
    assert!(
        failure.message().contains("dropped its Responder"),
        "{failure}"
    );
    edri.shutdown().await.unwrap();
}

/// Sends requests with `ctx.send` and records the answers its `#[solve(res)]` gets.
pub struct Asker {
    answers: mpsc::UnboundedSender<(u64, Result<u64, Status>)>,
}

#[event(notification)]
pub struct Go {
    pub value: u64,
}

#[event(notification)]
pub struct GoNobody {}

#[manager]
impl Asker {
    #[solve(req)]
    async fn go(&mut self, event: Go, ctx: &Context) {
        ctx.send(Double { value: event.value }).await;
    }

    #[solve(req)]
    async fn go_nobody(&mut self, _event: GoNobody, ctx: &Context) {
        ctx.send(Nobody {}).await;
    }

    #[solve(res)]
    async fn doubled(&mut self, event: Double, answer: Result<DoubleResponse, Failure>) {
        let _ = self.answers.send((
            event.value,
            answer.map(|a| a.doubled).map_err(|f| f.status()),
        ));
    }

    #[solve(res)]
    async fn nobody(&mut self, _event: Nobody, answer: Result<(), Failure>) {
        let _ = self
            .answers
            .send((0, answer.map(|()| 0).map_err(|f| f.status())));
    }
}

#[tokio::test]
async fn ctx_send_delivers_the_answer_and_the_request_to_solve_res() {
    let (answers, mut received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(Asker { answers })
        .manager(Doubler)
        .start()
        .await
        .unwrap();

    edri.notify(Go { value: 21 }).await.unwrap();
    assert_eq!(received.recv().await.unwrap(), (21, Ok(42)));

    edri.notify(GoNobody {}).await.unwrap();
    assert_eq!(
        received.recv().await.unwrap(),
        (0, Err(Status::Unavailable))
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_subscription_streams_notifications_until_dropped() {
    let (seen, _received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(First::new(&seen))
        .start()
        .await
        .unwrap();
    let mut uploads = edri.subscribe::<Uploaded>();
    edri.notify(Uploaded { name: "one".into() }).await.unwrap();
    edri.notify(Uploaded { name: "two".into() }).await.unwrap();
    assert_eq!(uploads.next().await.unwrap().name, "one");
    assert_eq!(uploads.recv().await.unwrap().name, "two");
    assert_eq!(edri.subscribers::<Uploaded>().len(), 2);
    drop(uploads);
    assert_eq!(edri.subscribers::<Uploaded>(), ["First"]);
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn managers_can_join_a_running_system() {
    let edri = Edri::new().start().await.unwrap();
    assert_eq!(
        edri.ask(Double { value: 1 }).await.unwrap_err().status(),
        Status::Unavailable
    );
    edri.add_manager(Doubler).await.unwrap();
    assert_eq!(edri.ask(Double { value: 1 }).await.unwrap().doubled, 2);

    // A second instance of the type joins under a numbered name and gets every event too.
    edri.add_manager(Doubler).await.unwrap();
    assert_eq!(edri.subscribers::<Double>(), ["Doubler", "Doubler-2"]);
    let answers = edri
        .gather(Double { value: 2 }, std::time::Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(answers.len(), 2);
    assert!(answers
        .iter()
        .all(|answer| answer.as_ref().unwrap().doubled == 4));
    let health = edri.health().await;
    for name in ["Doubler", "Doubler-2"] {
        assert!(
            health
                .components
                .iter()
                .any(|component| component.name == name),
            "{name} is missing from health"
        );
    }

    // A chosen name is meant to be that one: taking it twice is an error.
    edri.add_named_manager("twin", Doubler).await.unwrap();
    let error = edri.add_named_manager("twin", Doubler).await.unwrap_err();
    assert!(
        matches!(error, edri::Error::DuplicateManager(ref name) if name == "twin"),
        "{error}"
    );
    edri.shutdown().await.unwrap();
}

/// Hooks record when they run.
pub struct Hooked {
    log: Arc<Mutex<Vec<&'static str>>>,
}

#[event(notification)]
pub struct Poke {}

#[manager(name = "hooked")]
impl Hooked {
    async fn after_start(&mut self, ctx: &Context) {
        assert_eq!(ctx.name(), "hooked");
        self.log.lock().unwrap().push("after_start");
    }

    async fn before_stop(&mut self) {
        self.log.lock().unwrap().push("before_stop");
    }

    #[solve(req)]
    fn poke(&mut self, _event: Poke) {
        self.log.lock().unwrap().push("poke");
    }
}

#[tokio::test]
async fn lifecycle_hooks_run_around_the_events() {
    let log = Arc::new(Mutex::new(Vec::new()));
    let edri = Edri::new()
        .manager(Hooked { log: log.clone() })
        .start()
        .await
        .unwrap();
    edri.notify(Poke {}).await.unwrap();
    edri.shutdown().await.unwrap();
    assert_eq!(*log.lock().unwrap(), ["after_start", "poke", "before_stop"]);
    let stats = edri.stats();
    assert!(
        stats.is_empty(),
        "managers are gone after shutdown: {stats:?}"
    );
}

#[tokio::test]
async fn a_handle_refuses_events_after_shutdown() {
    let edri = Edri::new().manager(Doubler).start().await.unwrap();
    edri.shutdown().await.unwrap();
    assert!(matches!(
        edri.notify(Poke {}).await,
        Err(edri::Error::ShuttingDown)
    ));
    assert_eq!(
        edri.ask(Double { value: 1 }).await.unwrap_err().status(),
        Status::Unavailable
    );
    // A second shutdown is harmless.
    edri.shutdown().await.unwrap();
}

#[event(request)]
pub struct Numbered {
    pub n: u32,
}

#[event(notification)]
pub struct SendBoth {}

/// Answers `Numbered { n: 2 }` at once and `Numbered { n: 1 }` right after it.
#[derive(Default)]
pub struct Reorderer {
    held: Option<Responder<Numbered>>,
}

#[manager]
impl Reorderer {
    #[solve(req)]
    async fn numbered(&mut self, event: Numbered, reply: Responder<Numbered>) {
        match self.held.take() {
            None => self.held = Some(reply),
            Some(first) => {
                assert_eq!(event.n, 2);
                reply.send(());
                first.send(());
            }
        }
    }
}

pub struct InOrder {
    seen: mpsc::UnboundedSender<u32>,
}

#[manager]
impl InOrder {
    #[solve(req)]
    async fn send_both(&mut self, _event: SendBoth, ctx: &Context) {
        ctx.send(Numbered { n: 1 }).await;
        ctx.send(Numbered { n: 2 }).await;
    }

    #[solve(res)]
    async fn numbered(&mut self, event: Numbered, answer: Result<(), Failure>) {
        answer.unwrap();
        let _ = self.seen.send(event.n);
    }
}

#[tokio::test]
async fn answers_reach_solve_res_in_the_order_they_were_given() {
    let (seen, mut received) = mpsc::unbounded_channel();
    let edri = Edri::new()
        .manager(Reorderer::default())
        .manager(InOrder { seen })
        .start()
        .await
        .unwrap();
    edri.notify(SendBoth {}).await.unwrap();
    assert_eq!(
        [
            received.recv().await.unwrap(),
            received.recv().await.unwrap()
        ],
        [2, 1]
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn one_manager_type_runs_as_several_named_instances() {
    let edri = Edri::new()
        .named_manager("double-a", Doubler)
        .named_manager("double-b", Doubler)
        .start()
        .await
        .unwrap();
    assert_eq!(edri.subscribers::<Double>(), ["double-a", "double-b"]);
    let answers = edri
        .gather(Double { value: 4 }, Duration::from_secs(5))
        .await
        .unwrap();
    assert_eq!(
        answers
            .into_iter()
            .map(|a| a.unwrap().doubled)
            .collect::<Vec<_>>(),
        [8, 8]
    );
    edri.shutdown().await.unwrap();
}

#[event(request)]
pub struct AskMyself {}

#[event(request)]
pub struct OnlyMine {}

#[derive(Default)]
pub struct SelfAsker;

#[manager]
impl SelfAsker {
    #[solve(req)]
    async fn ask_myself(&mut self, _event: AskMyself, ctx: &Context) -> Result<(), Failure> {
        ctx.ask(OnlyMine {}).await
    }

    #[solve(req)]
    async fn only_mine(&mut self, _event: OnlyMine) {}
}

#[tokio::test]
async fn a_manager_asking_itself_from_a_solver_fails_at_once_instead_of_waiting_for_the_timeout() {
    let edri = Edri::new().manager(SelfAsker).start().await.unwrap();
    let failure = edri
        .ask_timeout(AskMyself {}, Duration::from_secs(3600))
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::Unavailable, "{failure}");
    assert!(failure.message().contains("only it solves"), "{failure}");
    // Asked from outside, the same request is fine.
    edri.ask(OnlyMine {}).await.unwrap();
    edri.shutdown().await.unwrap();
}

/// What `EarlyAsker` got: the stored value, or the failure's status.
type StoreAnswer = Result<Option<edri::Value>, Status>;

/// Asks the store (listed after it, and slow to start: it opens a file) from its `after_start`.
pub struct EarlyAsker {
    answer: Arc<Mutex<Option<StoreAnswer>>>,
    done: Arc<tokio::sync::Notify>,
}

#[manager]
impl EarlyAsker {
    async fn after_start(&mut self, ctx: &Context) {
        let answer = ctx.ask(edri::store::Get::new("greeting")).await;
        *self.answer.lock().unwrap() = Some(
            answer
                .map(|answer| answer.value)
                .map_err(|failure| failure.status()),
        );
        self.done.notify_one();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_start_reaches_managers_listed_after_its_own() {
    let path = std::env::temp_dir().join(format!("edri-routing-{}.redb", std::process::id()));
    let answer = Arc::new(Mutex::new(None));
    let done = Arc::new(tokio::sync::Notify::new());
    let edri = Edri::new()
        .manager(EarlyAsker {
            answer: answer.clone(),
            done: done.clone(),
        })
        .start_store_at(&path)
        .start()
        .await
        .unwrap();
    done.notified().await;
    assert_eq!(*answer.lock().unwrap(), Some(Ok(None)));
    edri.shutdown().await.unwrap();
    let _ = std::fs::remove_file(&path);
}
