//! The key-value store at work in a small web site: sessions, page-view counters and a lock.
//!
//! Run it with `cargo run --example store`. It prints what happens and exits with code 0 in well
//! under a second. What it shows:
//! 1. `Set` and `Get`: a manager (`Pages`) reads a session with `ctx.send(store::Get)` and gets
//!    the answer in its `#[solve(res)]` solver, with the page it was serving carried in `data`;
//! 2. `Increment` from several concurrent tasks: no increment is lost, every answer is distinct;
//! 3. `SetIfAbsent` as a lock: of several contenders exactly one acquires it;
//! 4. a TTL, watched: `Watch` announces the session's creation and, 200 ms later, its expiry
//!    (`Changed` notifications: the example waits for the event, it does not sleep);
//! 5. persistence: `start_store_at(file)`, shut down, start again: the values are still there.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use edri::prelude::*;
use edri::store;
use edri::Value;

// ---------------------------------------------------------------------------------------------
// Events
// ---------------------------------------------------------------------------------------------

/// A visitor with a session cookie asks for a page.
#[event(notification)]
pub struct Visit {
    pub session: String,
    pub page: String,
}

/// Sent by `Pages` once it has served a page, to whom it served it.
#[event(notification)]
pub struct Served {
    pub page: String,
    pub user: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// The manager
// ---------------------------------------------------------------------------------------------

/// Serves pages. It keeps no state: the sessions are in the store, and the page being served
/// travels with the store request (`data`) and comes back with its answer.
#[derive(Default)]
pub struct Pages;

#[manager]
impl Pages {
    #[solve(req)]
    async fn visit(&mut self, event: Visit, ctx: &Context) {
        let read = store::Get::new(format!("session:{}", event.session)).data(event.page);
        // `send` returns at once: the answer arrives at `session_read`, and meanwhile this
        // manager serves other visits.
        ctx.send(read).await;
    }

    /// The answer to the `Get` sent by `visit`. It announces the visit as served whatever
    /// happened, so nobody waits for ever on a failed read.
    #[solve(res)]
    async fn session_read(
        &mut self,
        event: store::Get,
        answer: Result<store::GetResponse, Failure>,
        ctx: &Context,
    ) {
        let served = answer
            .and_then(|answer| serve(&answer))
            .unwrap_or_else(|failure| {
                println!("  [pages] cannot read {}: {failure}", event.key);
                Served {
                    page: event.data.as_str().unwrap_or("?").to_owned(),
                    user: None,
                }
            });
        ctx.notify(served).await;
    }
}

/// Serves the page carried in the answer's `data` to the session's user.
fn serve(answer: &store::GetResponse) -> Result<Served, Failure> {
    let user: Option<String> = answer.decode()?;
    let page = answer.data.as_str().unwrap_or("?").to_owned();
    println!(
        "  [pages] the store answered {} = {}, with data {}: serving {page} to {}",
        answer.key,
        shown(&answer.value),
        answer.data,
        user.as_deref().unwrap_or("an anonymous visitor"),
    );
    Ok(Served { page, user })
}

// ---------------------------------------------------------------------------------------------
// The program
// ---------------------------------------------------------------------------------------------

/// A value as compact JSON, or `none` for a missing key.
fn shown(value: &Option<Value>) -> String {
    value
        .as_ref()
        .map_or_else(|| "none".to_owned(), Value::to_string)
}

/// Returns edri's errors and failures, a task that panicked, or a file that cannot be removed.
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("edri store example: sessions, counters and a lock\n");
    let edri = Edri::new().start_store().manager(Pages).start().await?;

    println!("1. Set and Get, the answer handled in a manager's #[solve(res)]");
    edri.ask(store::Set::new("session:s-1", "Ada")).await?;
    println!("[main] Set session:s-1 = \"Ada\"");
    let mut served = edri.subscribe::<Served>();
    for session in ["s-1", "s-2"] {
        edri.notify(Visit {
            session: session.into(),
            page: "/pricing".into(),
        })
        .await?;
        if let Some(served) = served.recv().await {
            let user = served.user.as_deref().unwrap_or("nobody");
            println!("[main] served {} to {user}", served.page);
        }
    }
    drop(served);
    println!();

    println!("2. Increment from concurrent tasks");
    const TASKS: i64 = 8;
    const EACH: i64 = 25;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let edri = edri.clone();
        tasks.spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..EACH {
                answers.push(
                    edri.ask(store::Increment::new("views:/home", 1))
                        .await?
                        .value,
                );
            }
            Ok::<_, Failure>(answers)
        });
    }
    let mut answers = BTreeSet::new();
    while let Some(task) = tasks.join_next().await {
        answers.extend(task??);
    }
    let views = edri.ask(store::Get::new("views:/home")).await?;
    let total = views.decode::<i64>()?.unwrap_or(0);
    println!(
        "[main] {TASKS} tasks x {EACH} increments: views:/home = {total}, {} distinct answers \
         (none lost, none seen twice)",
        answers.len()
    );
    println!();

    println!("3. SetIfAbsent as a lock");
    let mut contenders = tokio::task::JoinSet::new();
    for worker in 1..=5 {
        let edri = edri.clone();
        contenders.spawn(async move {
            let name = format!("worker-{worker}");
            let lock = store::SetIfAbsent::new("lock:nightly-report", name.as_str())
                .ttl(Duration::from_secs(30));
            let acquired = edri.ask(lock).await?.acquired;
            Ok::<_, Failure>((name, acquired))
        });
    }
    let mut winners = Vec::new();
    while let Some(task) = contenders.join_next().await {
        let (name, acquired) = task??;
        if acquired {
            winners.push(name);
        }
    }
    let holder = edri.ask(store::Get::new("lock:nightly-report")).await?;
    println!(
        "[main] {} of 5 workers acquired lock:nightly-report; the store says its holder is {}",
        winners.len(),
        shown(&holder.value)
    );
    let released = edri.ask(store::Delete::new("lock:nightly-report")).await?;
    let again = store::SetIfAbsent::new("lock:nightly-report", "worker-6");
    println!(
        "[main] the holder released it (existed: {}); worker-6 acquires it now: {}",
        released.existed,
        edri.ask(again).await?.acquired
    );
    println!();

    println!("4. A session with a 200 ms TTL, watched");
    let mut changes = edri.subscribe::<store::Changed>();
    let before = edri.ask(store::Watch::new("session:guest")).await?;
    println!(
        "[main] Watch session:guest: it holds {} now",
        shown(&before.value)
    );
    let created = Instant::now();
    let guest = store::Set::new("session:guest", "guest-42").ttl(Duration::from_millis(200));
    edri.ask(guest).await?;
    // The store announces the Set, then the expiry when its time comes, even if nobody reads
    // the key: both are events to wait for.
    while let Some(change) = changes.recv().await {
        match change.value {
            Some(value) => println!("[main] Changed: {} = {value}", change.key),
            None => {
                let after = created.elapsed().as_millis();
                println!("[main] Changed: {} expired after {after} ms", change.key);
                break;
            }
        }
    }
    drop(changes);
    let read = edri.ask(store::Get::new("session:guest")).await?;
    println!("[main] Get session:guest: {}", shown(&read.value));
    edri.ask(store::Unwatch::new("session:guest")).await?;
    edri.shutdown().await?;
    println!();

    println!("5. A persisted store survives a restart");
    let path = std::env::temp_dir().join(format!("edri-example-store-{}.redb", std::process::id()));
    let edri = Edri::new().start_store_at(&path).start().await?;
    edri.ask(store::Set::new("views:/home", total)).await?;
    edri.ask(store::Set::new("site:name", "edri.example"))
        .await?;
    println!("[main] wrote views:/home = {total} to {}", path.display());
    // Shutdown commits every pending change and closes the file.
    edri.shutdown().await?;
    println!("[main] shut down; starting again on the same file");

    let edri = Edri::new().start_store_at(&path).start().await?;
    let views = edri.ask(store::Get::new("views:/home")).await?;
    let site = edri.ask(store::Get::new("site:name")).await?;
    println!(
        "[main] after the restart: views:/home = {}, site:name = {}",
        shown(&views.value),
        shown(&site.value)
    );
    edri.shutdown().await?;
    std::fs::remove_file(&path)?;
    println!("[main] removed {}", path.display());
    Ok(())
}
