//! Each hop gets a debug-level span naming the event and the manager; routing logs nothing at
//! info level per event.

use std::sync::{Arc, Mutex};

use edri::prelude::*;
use tracing::field::{Field, Visit};
use tracing::span::Attributes;
use tracing::{Event, Id, Level, Subscriber};
use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
use tracing_subscriber::Layer;

#[event(request)]
pub struct Traced {}

#[event(notification)]
pub struct TracedNote {}

#[derive(Default)]
pub struct Observed;

#[manager]
impl Observed {
    #[solve(req)]
    async fn traced(&mut self, _event: Traced) {}

    #[solve(req)]
    async fn note(&mut self, _event: TracedNote) {}
}

#[derive(Clone, Default)]
struct Recorder {
    spans: Arc<Mutex<Vec<(Level, String, String)>>>,
    events: Arc<Mutex<Vec<(Level, String)>>>,
}

#[derive(Default)]
struct Fields(String);

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.push_str(&format!("{}={:?} ", field.name(), value));
    }
}

impl<S: Subscriber> Layer<S> for Recorder {
    fn on_new_span(&self, attrs: &Attributes<'_>, _id: &Id, _ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        let meta = attrs.metadata();
        self.spans
            .lock()
            .unwrap()
            .push((*meta.level(), meta.name().to_owned(), fields.0));
    }

    fn on_event(&self, event: &Event<'_>, _ctx: LayerContext<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.events
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields.0));
    }
}

/// Runs `test` on a current-thread runtime with a [`Recorder`] as the tracing subscriber;
/// returns what it recorded.
fn recorded<F: std::future::Future<Output = ()>>(test: impl FnOnce(Recorder) -> F) -> Recorder {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let _guard = tracing::subscriber::set_default(subscriber);
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(test(recorder.clone()));
    recorder
}

#[test]
fn every_hop_has_a_debug_span_and_nothing_is_logged_at_info_per_event() {
    let recorder = recorded(|recorder| async move {
        let edri = Edri::new().manager(Observed).start().await.unwrap();
        let events_before = recorder.events.lock().unwrap().len();
        for _ in 0..10 {
            edri.ask(Traced {}).await.unwrap();
            edri.notify(TracedNote {}).await.unwrap();
        }
        edri.ask(Traced {}).await.unwrap();
        let per_event: Vec<_> = recorder.events.lock().unwrap()[events_before..]
            .iter()
            .filter(|(level, _)| *level <= Level::INFO)
            .cloned()
            .collect();
        assert!(
            per_event.is_empty(),
            "info-level logs per event: {per_event:?}"
        );
        edri.shutdown().await.unwrap();
    });

    let spans = recorder.spans.lock().unwrap();
    let solve_spans: Vec<_> = spans
        .iter()
        .filter(|(_, name, _)| name == "solve")
        .collect();
    assert_eq!(solve_spans.len(), 21, "{spans:?}");
    assert!(solve_spans
        .iter()
        .all(|(level, _, _)| *level == Level::DEBUG));
    assert!(solve_spans
        .iter()
        .any(|(_, _, fields)| fields.contains("event=\"traced\"")
            && fields.contains("manager=\"Observed\"")));
    assert!(solve_spans
        .iter()
        .any(|(_, _, fields)| fields.contains("event=\"traced-note\"")));
}

/// Nobody subscribes to it.
#[event(notification)]
pub struct Unheard {
    pub n: u32,
}

/// A flood of notifications nobody hears overflows the cache of kept ones: the drops are
/// logged as one summary with a count, not one warning each.
#[test]
fn dropped_notifications_are_logged_as_a_summary() {
    let started = std::time::Instant::now();
    let recorder = recorded(|_| async {
        let edri = Edri::new()
            .manager(Observed)
            .cache_size(10)
            .start()
            .await
            .unwrap();
        for n in 0..5_000 {
            edri.notify(Unheard { n }).await.unwrap();
        }
        edri.shutdown().await.unwrap();
    });
    let events = recorder.events.lock().unwrap();
    let warnings: Vec<_> = events
        .iter()
        .filter(|(level, fields)| {
            *level == Level::WARN && fields.contains("without subscriber dropped")
        })
        .collect();
    // 4 990 drops: the first is logged at once, the rest counted into at most one line per
    // 10 s period (the bound holds however slow the machine is).
    let periods = started.elapsed().as_secs() / 10;
    assert!(
        !warnings.is_empty() && warnings.len() as u64 <= 1 + periods,
        "{} warnings in {} periods: {warnings:?}",
        warnings.len(),
        periods
    );
    assert!(warnings[0].1.contains("dropped=1 total=1"), "{warnings:?}");
}
