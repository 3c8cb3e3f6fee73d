use std::sync::atomic::{AtomicU32, Ordering};

use edri::prelude::*;

static STARTED: AtomicU32 = AtomicU32::new(0);
static STOPPED: AtomicU32 = AtomicU32::new(0);

#[derive(Default)]
pub struct WithContext;

#[manager]
impl WithContext {
    async fn after_start(&mut self, ctx: &Context) {
        assert_eq!(ctx.name(), "WithContext");
        STARTED.fetch_add(1, Ordering::SeqCst);
    }

    async fn before_stop(&mut self, _ctx: &Context) {
        STOPPED.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Default)]
pub struct WithoutContext;

#[manager]
impl WithoutContext {
    async fn after_start(&mut self) {
        STARTED.fetch_add(1, Ordering::SeqCst);
    }

    async fn before_stop(&self) {
        STOPPED.fetch_add(1, Ordering::SeqCst);
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new()
        .manager(WithContext)
        .manager(WithoutContext)
        .start()
        .await
        .unwrap();
    edri.shutdown().await.unwrap();
    assert_eq!(STARTED.load(Ordering::SeqCst), 2);
    assert_eq!(STOPPED.load(Ordering::SeqCst), 2);
}
