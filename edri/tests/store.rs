//! The key-value store: every event, `data` echo, typed helpers, watches, TTL on the paused
//! clock, atomicity under concurrent requesters, persistence across restarts, workers using the
//! store, and the bad inputs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use edri::prelude::*;
use edri::store::{
    Changed, CompareAndSet, Delete, Flush, Get, Increment, Set, SetIfAbsent, Unwatch, Watch,
};
use edri::{Handle, Subscription, Value};
use serde::{Deserialize, Serialize};

async fn memory_store() -> Handle {
    Edri::new().start_store().start().await.unwrap()
}

async fn get(edri: &Handle, key: &str) -> Option<Value> {
    edri.ask(Get::new(key)).await.unwrap().value
}

/// A directory under the system's temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(test: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let name = format!(
            "edri-store-{test}-{}-{}-{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    fn file(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Profile {
    name: String,
    tags: Vec<String>,
    age: u32,
}

fn profile() -> Profile {
    Profile {
        name: "Ada".into(),
        tags: vec!["admin".into(), "ops".into()],
        age: 36,
    }
}

// ---- each event ----------------------------------------------------------------------------

#[tokio::test]
async fn set_then_get_answers_the_value_and_set_replaces_it() {
    let edri = memory_store().await;
    edri.ask(Set::new("greeting", "hello")).await.unwrap();
    assert_eq!(get(&edri, "greeting").await, Some(Value::from("hello")));
    edri.ask(Set::new("greeting", 42)).await.unwrap();
    assert_eq!(get(&edri, "greeting").await, Some(Value::Int(42)));
    let answer = edri.ask(Get::new("greeting")).await.unwrap();
    assert_eq!(answer.key, "greeting");
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn get_of_a_missing_key_answers_none_with_ok_status() {
    let edri = memory_store().await;
    let answer = edri.ask(Get::new("nothing-here")).await;
    let answer = answer.expect("a missing key is not a failure");
    assert_eq!(answer.value, None);
    assert_eq!(answer.decode::<String>(), Ok(None));
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn get_echoes_nested_data_untouched() {
    let edri = memory_store().await;
    let mut inner = BTreeMap::new();
    inner.insert("page".to_owned(), Value::Int(3));
    inner.insert(
        "path".to_owned(),
        Value::from(vec![Value::from("a"), Value::Null, Value::Float(2.5)]),
    );
    let data = Value::Object(BTreeMap::from([
        ("resume".to_owned(), Value::Object(inner)),
        ("ok".to_owned(), Value::Bool(true)),
    ]));
    edri.ask(Set::new("k", 1)).await.unwrap();
    let present = edri.ask(Get::new("k").data(data.clone())).await.unwrap();
    assert_eq!(present.data, data);
    let missing = edri
        .ask(Get::new("missing").data(data.clone()))
        .await
        .unwrap();
    assert_eq!(missing.data, data, "echoed for a missing key too");
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn typed_values_round_trip_and_a_wrong_type_is_unprocessable_naming_key_and_type() {
    let edri = memory_store().await;
    edri.ask(Set::from_serde("profile", &profile()).unwrap())
        .await
        .unwrap();
    let answer = edri.ask(Get::new("profile")).await.unwrap();
    assert_eq!(answer.decode::<Profile>().unwrap(), Some(profile()));

    let failure = answer.decode::<Vec<u32>>().unwrap_err();
    assert_eq!(failure.status(), Status::Unprocessable);
    assert!(failure.message().contains("`profile`"), "{failure}");
    assert!(failure.message().contains("Vec<u32>"), "{failure}");
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn delete_answers_whether_the_key_existed() {
    let edri = memory_store().await;
    edri.ask(Set::new("k", "v")).await.unwrap();
    assert!(edri.ask(Delete::new("k")).await.unwrap().existed);
    assert_eq!(get(&edri, "k").await, None);
    assert!(!edri.ask(Delete::new("k")).await.unwrap().existed);
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn increment_counts_from_zero_and_answers_the_new_value() {
    let edri = memory_store().await;
    assert_eq!(edri.ask(Increment::new("n", 5)).await.unwrap().value, 5);
    assert_eq!(edri.ask(Increment::new("n", -7)).await.unwrap().value, -2);
    assert_eq!(get(&edri, "n").await, Some(Value::Int(-2)));
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn increment_of_a_non_integer_or_past_i64_is_unprocessable() {
    let edri = memory_store().await;
    edri.ask(Set::new("name", "Ada")).await.unwrap();
    let failure = edri.ask(Increment::new("name", 1)).await.unwrap_err();
    assert_eq!(failure.status(), Status::Unprocessable);
    assert!(failure.message().contains("`name`"), "{failure}");
    assert!(failure.message().contains("string"), "{failure}");
    assert_eq!(
        get(&edri, "name").await,
        Some(Value::from("Ada")),
        "unchanged"
    );

    edri.ask(Set::new("ratio", 0.5)).await.unwrap();
    let failure = edri.ask(Increment::new("ratio", 1)).await.unwrap_err();
    assert!(failure.message().contains("float"), "{failure}");

    edri.ask(Set::new("big", i64::MAX)).await.unwrap();
    let failure = edri.ask(Increment::new("big", 1)).await.unwrap_err();
    assert_eq!(failure.status(), Status::Unprocessable);
    assert!(failure.message().contains("overflows"), "{failure}");
    assert_eq!(get(&edri, "big").await, Some(Value::Int(i64::MAX)));
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn compare_and_set_swaps_only_when_the_key_holds_the_expected_value() {
    let edri = memory_store().await;
    let swap = |expected: Option<Value>, value: &str| CompareAndSet::new("k", expected, value);

    assert!(
        edri.ask(swap(None, "first")).await.unwrap().swapped,
        "None matches a missing key"
    );
    assert!(!edri.ask(swap(None, "again")).await.unwrap().swapped);
    assert!(
        !edri
            .ask(swap(Some("wrong".into()), "x"))
            .await
            .unwrap()
            .swapped
    );
    assert_eq!(get(&edri, "k").await, Some(Value::from("first")));
    assert!(
        edri.ask(swap(Some("first".into()), "second"))
            .await
            .unwrap()
            .swapped
    );
    assert_eq!(get(&edri, "k").await, Some(Value::from("second")));
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn set_if_absent_acquires_only_an_absent_key() {
    let edri = memory_store().await;
    assert!(
        edri.ask(SetIfAbsent::new("lock", "me"))
            .await
            .unwrap()
            .acquired
    );
    assert!(
        !edri
            .ask(SetIfAbsent::new("lock", "you"))
            .await
            .unwrap()
            .acquired
    );
    assert_eq!(get(&edri, "lock").await, Some(Value::from("me")));
    assert!(edri.ask(Delete::new("lock")).await.unwrap().existed);
    assert!(
        edri.ask(SetIfAbsent::from_serde("lock", &profile()).unwrap())
            .await
            .unwrap()
            .acquired,
        "released by Delete"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn flush_answers_in_memory_too() {
    let edri = memory_store().await;
    edri.ask(Flush {}).await.unwrap();
    edri.shutdown().await.unwrap();
}

/// Waits for the next `Changed` and checks it is about `k`, with `value`.
async fn expect_k(changes: &mut Subscription<Changed>, value: Option<Value>) {
    let changed = changes.recv().await.unwrap();
    assert_eq!((changed.key.as_str(), changed.value), ("k", value));
}

// ---- watch ------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn watch_announces_every_change_of_a_watched_key_and_nothing_else() {
    let edri = memory_store().await;
    let mut changes = edri.subscribe::<Changed>();
    edri.ask(Set::new("k", "before")).await.unwrap();
    let watch = edri.ask(Watch::new("k")).await.unwrap();
    assert_eq!(
        watch.value,
        Some(Value::from("before")),
        "starts from the current value"
    );

    // Each change of an unwatched key comes first: had it been announced, the next
    // notification would be about it instead of `k`.
    edri.ask(Set::new("other", 1)).await.unwrap();
    edri.ask(Set::new("k", 10)).await.unwrap();
    expect_k(&mut changes, Some(Value::Int(10))).await;

    edri.ask(Increment::new("other", 1)).await.unwrap();
    edri.ask(Increment::new("k", 5)).await.unwrap();
    expect_k(&mut changes, Some(Value::Int(15))).await;

    assert!(
        !edri
            .ask(CompareAndSet::new("k", Some(0.into()), 1))
            .await
            .unwrap()
            .swapped
    );
    edri.ask(CompareAndSet::new("k", Some(15.into()), 16))
        .await
        .unwrap();
    expect_k(&mut changes, Some(Value::Int(16))).await;

    edri.ask(Delete::new("other")).await.unwrap();
    edri.ask(Delete::new("k")).await.unwrap();
    expect_k(&mut changes, None).await;
    edri.ask(Delete::new("k")).await.unwrap(); // nothing to delete: no change

    let before = tokio::time::Instant::now();
    edri.ask(SetIfAbsent::new("k", "mine").ttl(Duration::from_secs(10)))
        .await
        .unwrap();
    expect_k(&mut changes, Some(Value::from("mine"))).await;

    // Expiry is announced when it happens, though nobody reads the key.
    edri.ask(Set::new("other", 2).ttl(Duration::from_secs(5)))
        .await
        .unwrap();
    expect_k(&mut changes, None).await;
    let elapsed = before.elapsed();
    assert!(
        elapsed >= Duration::from_secs(10) && elapsed < Duration::from_millis(10_010),
        "announced at its deadline, not at the unwatched key's: {elapsed:?}"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn watches_are_counted_and_unwatching_an_unwatched_key_is_not_found() {
    let edri = memory_store().await;
    let mut changes = edri.subscribe::<Changed>();
    edri.ask(Watch::new("k")).await.unwrap();
    edri.ask(Watch::new("k")).await.unwrap();
    edri.ask(Unwatch::new("k")).await.unwrap();
    edri.ask(Set::new("k", 1)).await.unwrap();
    assert_eq!(
        changes.recv().await.unwrap().value,
        Some(Value::Int(1)),
        "still watched"
    );

    edri.ask(Unwatch::new("k")).await.unwrap();
    edri.ask(Set::new("k", 2)).await.unwrap();
    edri.ask(Watch::new("marker")).await.unwrap();
    edri.ask(Set::new("marker", 0)).await.unwrap();
    assert_eq!(
        changes.recv().await.unwrap().key,
        "marker",
        "`k` is no longer watched"
    );

    let failure = edri.ask(Unwatch::new("k")).await.unwrap_err();
    assert_eq!(failure.status(), Status::NotFound);
    assert!(failure.message().contains("`k`"), "{failure}");
    edri.shutdown().await.unwrap();
}

// ---- TTL --------------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_key_is_there_until_its_ttl_and_gone_after() {
    let edri = memory_store().await;
    edri.ask(Set::new("session", "abc").ttl(Duration::from_secs(60)))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_millis(59_999)).await;
    assert_eq!(get(&edri, "session").await, Some(Value::from("abc")));
    tokio::time::advance(Duration::from_millis(2)).await;
    assert_eq!(get(&edri, "session").await, None);
    assert!(
        !edri.ask(Delete::new("session")).await.unwrap().existed,
        "an expired key did not exist"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn set_without_ttl_clears_an_earlier_expiry() {
    let edri = memory_store().await;
    edri.ask(Set::new("k", 1).ttl(Duration::from_secs(1)))
        .await
        .unwrap();
    edri.ask(Set::new("k", 2)).await.unwrap();
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(get(&edri, "k").await, Some(Value::Int(2)));
    edri.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn increment_keeps_the_expiry_and_counts_an_expired_key_as_zero() {
    let edri = memory_store().await;
    edri.ask(Set::new("n", 10).ttl(Duration::from_secs(10)))
        .await
        .unwrap();
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(edri.ask(Increment::new("n", 1)).await.unwrap().value, 11);
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(get(&edri, "n").await, None, "expired at the first deadline");
    assert_eq!(edri.ask(Increment::new("n", 1)).await.unwrap().value, 1);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(
        get(&edri, "n").await,
        Some(Value::Int(1)),
        "a new key has no expiry"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn set_if_absent_acquires_an_expired_lock_and_a_swap_clears_the_expiry() {
    let edri = memory_store().await;
    let lock = || SetIfAbsent::new("lock", "worker-1").ttl(Duration::from_secs(30));
    assert!(edri.ask(lock()).await.unwrap().acquired);
    tokio::time::advance(Duration::from_secs(29)).await;
    assert!(!edri.ask(lock()).await.unwrap().acquired);
    tokio::time::advance(Duration::from_secs(1)).await;
    assert!(
        edri.ask(lock()).await.unwrap().acquired,
        "an expired key is absent"
    );

    let swap = CompareAndSet::new("lock", Some("worker-1".into()), "worker-2");
    assert!(edri.ask(swap).await.unwrap().swapped);
    tokio::time::advance(Duration::from_secs(3600)).await;
    assert_eq!(get(&edri, "lock").await, Some(Value::from("worker-2")));
    edri.shutdown().await.unwrap();
}

// ---- atomicity ----------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_concurrent_increments_each_get_a_distinct_answer() {
    let edri = memory_store().await;
    let requesters: Vec<_> = (0..100)
        .map(|_| {
            let edri = edri.clone();
            tokio::spawn(async move { edri.ask(Increment::new("hits", 1)).await.unwrap().value })
        })
        .collect();
    let mut answers = Vec::new();
    for requester in requesters {
        answers.push(requester.await.unwrap());
    }
    answers.sort_unstable();
    assert_eq!(answers, (1..=100).collect::<Vec<i64>>());
    assert_eq!(get(&edri, "hits").await, Some(Value::Int(100)));
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_a_hundred_concurrent_set_if_absent_exactly_one_acquires() {
    let edri = memory_store().await;
    let requesters: Vec<_> = (0..100)
        .map(|n| {
            let edri = edri.clone();
            tokio::spawn(async move {
                let acquired = edri
                    .ask(SetIfAbsent::new("leader", n))
                    .await
                    .unwrap()
                    .acquired;
                (n, acquired)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for requester in requesters {
        let (n, acquired) = requester.await.unwrap();
        if acquired {
            winners.push(n);
        }
    }
    assert_eq!(winners.len(), 1, "{winners:?}");
    assert_eq!(get(&edri, "leader").await, Some(Value::Int(winners[0])));
    edri.shutdown().await.unwrap();
}

// ---- bad input ----------------------------------------------------------------------------------

#[tokio::test]
async fn an_empty_key_or_a_zero_ttl_is_a_bad_request() {
    let edri = memory_store().await;
    for failure in [
        edri.ask(Set::new("", 1)).await.unwrap_err(),
        edri.ask(Get::new("")).await.unwrap_err(),
        edri.ask(Increment::new("", 1)).await.unwrap_err(),
    ] {
        assert_eq!(failure.status(), Status::BadRequest);
        assert!(failure.message().contains("empty"), "{failure}");
    }
    let failure = edri
        .ask(Set::new("k", 1).ttl(Duration::ZERO))
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::BadRequest);
    assert!(failure.message().contains("`k`"), "{failure}");
    let failure = edri
        .ask(SetIfAbsent::new("k", 1).ttl(Duration::MAX))
        .await
        .unwrap_err();
    assert_eq!(failure.status(), Status::BadRequest);
    assert_eq!(get(&edri, "k").await, None, "nothing was stored");
    edri.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_path_inside_a_missing_directory_fails_start_naming_it() {
    let dir = TempDir::new("missing-dir");
    let path = dir.file("no/such/dir/store.redb");
    let error = Edri::new().start_store_at(&path).start().await.unwrap_err();
    assert!(matches!(error, edri::Error::Store(_)), "{error:?}");
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn a_file_of_garbage_fails_start_naming_it_and_is_left_alone() {
    let dir = TempDir::new("garbage");
    let path = dir.file("store.redb");
    let garbage: Vec<u8> = (0..8192u32).map(|n| (n * 7 + 13) as u8).collect();
    std::fs::write(&path, &garbage).unwrap();
    let error = Edri::new().start_store_at(&path).start().await.unwrap_err();
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), garbage, "not overwritten");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_database_file_fails_start_naming_it() {
    let dir = TempDir::new("damaged");
    let path = dir.file("store.redb");
    let edri = persisted(&path).await;
    for n in 0..100 {
        edri.ask(Set::new(format!("key-{n}"), "v".repeat(100)))
            .await
            .unwrap();
    }
    edri.shutdown().await.unwrap();
    // Half the file lost, as after a bad copy.
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let error = Edri::new().start_store_at(&path).start().await.unwrap_err();
    let message = error.to_string();
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains("corrupt"), "{message}");
}

#[tokio::test]
async fn a_file_another_store_has_open_fails_start_naming_it() {
    let dir = TempDir::new("twice");
    let path = dir.file("store.redb");
    let first = Edri::new().start_store_at(&path).start().await.unwrap();
    let error = Edri::new().start_store_at(&path).start().await.unwrap_err();
    assert!(
        error.to_string().contains(&path.display().to_string()),
        "{error}"
    );
    first.shutdown().await.unwrap();
}

// ---- persistence --------------------------------------------------------------------------------

async fn persisted(path: &Path) -> Handle {
    Edri::new().start_store_at(path).start().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn values_survive_a_restart() {
    let dir = TempDir::new("restart");
    let path = dir.file("store.redb");

    let edri = persisted(&path).await;
    edri.ask(Set::new("plain", "kept")).await.unwrap();
    edri.ask(Set::new("timed", 7).ttl(Duration::from_secs(3600)))
        .await
        .unwrap();
    edri.ask(Set::from_serde("profile", &profile()).unwrap())
        .await
        .unwrap();
    edri.ask(Set::new("deleted", 1)).await.unwrap();
    edri.ask(Delete::new("deleted")).await.unwrap();
    for _ in 0..3 {
        edri.ask(Increment::new("counter", 2)).await.unwrap();
    }
    edri.shutdown().await.unwrap();

    let edri = persisted(&path).await;
    assert_eq!(get(&edri, "plain").await, Some(Value::from("kept")));
    assert_eq!(get(&edri, "timed").await, Some(Value::Int(7)));
    let profile_back = edri.ask(Get::new("profile")).await.unwrap();
    assert_eq!(profile_back.decode::<Profile>().unwrap(), Some(profile()));
    assert_eq!(get(&edri, "deleted").await, None);
    assert_eq!(
        edri.ask(Increment::new("counter", 1)).await.unwrap().value,
        7
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_answers_once_the_changes_before_it_are_in_the_file() {
    let dir = TempDir::new("flush");
    let path = dir.file("store.redb");
    let edri = persisted(&path).await;
    let before = std::fs::metadata(&path).unwrap().len();
    edri.ask(Set::new("big", "x".repeat(1 << 20)))
        .await
        .unwrap();
    edri.ask(Flush {}).await.unwrap();
    let after = std::fs::metadata(&path).unwrap().len();
    assert!(
        after >= before + (1 << 20),
        "{before} -> {after} bytes: the value is in the file"
    );
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_key_stays_gone_after_a_restart() {
    let dir = TempDir::new("expiry");
    let path = dir.file("store.redb");
    let ttl = Duration::from_millis(300);

    let edri = persisted(&path).await;
    let deadline = SystemTime::now() + ttl;
    edri.ask(Set::new("short", "soon gone").ttl(ttl))
        .await
        .unwrap();
    edri.ask(Set::new("long", "stays").ttl(Duration::from_secs(3600)))
        .await
        .unwrap();
    edri.shutdown().await.unwrap();

    // Here the wall clock is what is under test: the file holds wall-clock expiry times, so
    // the restart must happen once that time has really passed.
    while SystemTime::now() <= deadline + Duration::from_millis(5) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let edri = persisted(&path).await;
    assert_eq!(get(&edri, "short").await, None);
    assert!(
        edri.ask(SetIfAbsent::new("short", "again"))
            .await
            .unwrap()
            .acquired
    );
    assert_eq!(get(&edri, "long").await, Some(Value::from("stays")));
    edri.shutdown().await.unwrap();
}

// ---- workers ------------------------------------------------------------------------------------

#[event(request)]
pub struct Remember {
    pub key: String,
    pub text: String,
    #[response]
    pub recalled: Option<String>,
    #[response]
    pub pid: u32,
}

fn remember(event: Remember, worker: &mut Worker) -> Result<RememberResponse, Failure> {
    worker.ask(Set::new(event.key.clone(), event.text))?;
    let answer = worker.ask(Get::new(event.key))?;
    Ok(RememberResponse {
        recalled: answer.decode::<String>()?,
        pid: std::process::id(),
    })
}

#[derive(Default)]
pub struct ThreadUser;

#[manager]
impl ThreadUser {
    #[solve(req, mode = "thread")]
    fn remember(event: Remember, worker: &mut Worker) -> Result<RememberResponse, Failure> {
        remember(event, worker)
    }
}

#[derive(Default)]
pub struct ProcessUser;

#[manager]
impl ProcessUser {
    #[solve(req, mode = "process")]
    fn remember(event: Remember, worker: &mut Worker) -> Result<RememberResponse, Failure> {
        remember(event, worker)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thread_worker_sets_and_gets_through_worker_ask() {
    let edri = Edri::new()
        .start_store()
        .manager(ThreadUser)
        .start()
        .await
        .unwrap();
    let answer = edri
        .ask(Remember {
            key: "note".into(),
            text: "from a thread".into(),
        })
        .await
        .unwrap();
    assert_eq!(answer.recalled.as_deref(), Some("from a thread"));
    assert_eq!(get(&edri, "note").await, Some(Value::from("from a thread")));
    edri.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_worker_sets_and_gets_through_worker_ask() {
    let edri = Edri::new()
        .start_store()
        .manager(ProcessUser)
        .start()
        .await
        .unwrap();
    let answer = edri
        .ask(Remember {
            key: "note".into(),
            text: "from a process".into(),
        })
        .await
        .unwrap();
    assert_ne!(answer.pid, std::process::id(), "ran in a child process");
    assert_eq!(answer.recalled.as_deref(), Some("from a process"));
    assert_eq!(
        get(&edri, "note").await,
        Some(Value::from("from a process"))
    );
    edri.shutdown().await.unwrap();
}
