use std::time::Duration;

use edri::prelude::*;
use serde::{Deserialize, Serialize};

/// A long-lived worker: echoes what it receives, with its prefix, until cancelled.
#[derive(Serialize, Deserialize)]
pub struct Echo {
    prefix: String,
}

#[event(notification)]
pub struct Say {
    pub text: String,
}

#[event(notification)]
pub struct Said {
    pub text: String,
    pub pid: u32,
}

#[event(notification)]
pub struct StartEcho {
    pub process: bool,
}

#[edri::work]
impl Work for Echo {
    fn run(&mut self, worker: &mut Worker) {
        while let Some(message) = worker.recv() {
            if let Ok(say) = message.get::<Say>() {
                worker
                    .send(Said {
                        text: format!("{}{}", self.prefix, say.text),
                        pid: std::process::id(),
                    })
                    .unwrap();
            }
        }
    }
}

#[derive(Default)]
pub struct Starter;

#[manager(max_workers = 1)]
impl Starter {
    #[solve(req)]
    async fn start_echo(&mut self, event: StartEcho, ctx: &Context) {
        let mode = if event.process {
            Mode::Process
        } else {
            Mode::Thread
        };
        let echo = ctx
            .start_worker(
                Echo {
                    prefix: format!("{mode}: "),
                },
                mode,
            )
            .await
            .unwrap();
        echo.send(Say {
            text: "hello".into(),
        })
        .await
        .unwrap();
        echo.cancel().await;
        echo.join().await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let edri = Edri::new().manager(Starter).start().await.unwrap();
    let mut said = edri.subscribe::<Said>();
    for (process, expected) in [(false, "thread: hello"), (true, "process: hello")] {
        edri.notify(StartEcho { process }).await.unwrap();
        let answer = tokio::time::timeout(Duration::from_secs(60), said.recv())
            .await
            .expect("the worker answered in time")
            .unwrap();
        assert_eq!(answer.text, expected);
        assert_eq!(
            answer.pid == std::process::id(),
            !process,
            "{expected}: runs in {}",
            if process {
                "a child process"
            } else {
                "this process"
            }
        );
    }
    edri.shutdown().await.unwrap();
}
