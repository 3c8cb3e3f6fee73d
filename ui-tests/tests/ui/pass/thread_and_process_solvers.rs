use std::time::Duration;

use edri::prelude::*;

#[event(request)]
pub struct Checksum {
    pub data: Vec<u8>,
    #[response]
    pub sum: u64,
    #[response]
    pub pid: u32,
}

#[event(request)]
pub struct Render {
    pub page: String,
    #[response]
    pub html: String,
    #[response]
    pub pid: u32,
}

#[event(request)]
pub struct Count {
    pub text: String,
    #[response]
    pub words: usize,
}

#[event(notification)]
pub struct Rendered {
    pub page: String,
    pub pid: u32,
}

#[event(request)]
pub struct Shout {
    pub text: String,
    #[response]
    pub loud: String,
}

/// A function solver, asked by the workers.
#[derive(Default)]
pub struct Shouter;

#[manager]
impl Shouter {
    #[solve(req)]
    async fn shout(&mut self, event: Shout) -> ShoutResponse {
        ShoutResponse {
            loud: event.text.to_uppercase(),
        }
    }
}

#[derive(Default)]
pub struct Workshop;

#[manager(max_workers = 2)]
impl Workshop {
    // On an OS thread, without `worker`.
    #[solve(req, mode = "thread")]
    fn checksum(event: Checksum) -> ChecksumResponse {
        ChecksumResponse {
            sum: event.data.iter().map(|&b| u64::from(b)).sum(),
            pid: std::process::id(),
        }
    }

    // On an OS thread, with `worker`, returning a `Result`.
    #[solve(req, mode = "thread", timeout = "10s")]
    fn count(event: Count, worker: &mut Worker) -> Result<CountResponse, Failure> {
        let loud = worker.ask(Shout { text: event.text })?.loud;
        Ok(CountResponse {
            words: loud.split_whitespace().count(),
        })
    }

    // In a child process, with `worker` and a timeout.
    #[solve(req, mode = "process", timeout = "30s")]
    fn render(event: Render, worker: &mut Worker) -> RenderResponse {
        let title = worker
            .ask(Shout {
                text: event.page.clone(),
            })
            .unwrap()
            .loud;
        worker
            .send(Rendered {
                page: event.page,
                pid: std::process::id(),
            })
            .unwrap();
        RenderResponse {
            html: format!("<h1>{title}</h1>"),
            pid: std::process::id(),
        }
    }

    // In a child process, without `worker`: a notification.
    #[solve(req, mode = "process")]
    fn log(_event: Rendered) {}
}

#[tokio::main]
async fn main() {
    let edri = Edri::new()
        .manager(Workshop)
        .manager(Shouter)
        .start()
        .await
        .unwrap();
    let mut rendered = edri.subscribe::<Rendered>();

    let checksum = edri
        .ask(Checksum {
            data: vec![1, 2, 3],
        })
        .await
        .unwrap();
    assert_eq!(checksum.sum, 6);
    assert_eq!(
        checksum.pid,
        std::process::id(),
        "a thread solver runs in this process"
    );

    let count = edri
        .ask(Count {
            text: "one two three".into(),
        })
        .await
        .unwrap();
    assert_eq!(count.words, 3);

    let render = edri
        .ask_timeout(
            Render {
                page: "home".into(),
            },
            Duration::from_secs(60),
        )
        .await
        .unwrap();
    assert_eq!(render.html, "<h1>HOME</h1>");
    assert_ne!(
        render.pid,
        std::process::id(),
        "a process solver runs in a child process"
    );

    let sent = rendered.recv().await.unwrap();
    assert_eq!(sent.page, "home");
    assert_eq!(
        sent.pid, render.pid,
        "the child's `worker.send` reached this process"
    );

    edri.shutdown().await.unwrap();
}
