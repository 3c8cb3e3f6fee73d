//! The README's quick start, made to finish: start edri, ask once, print the answer, stop.
//!
//! Run it with `cargo run --example hello`.

use edri::prelude::*;

/// A request: the `#[response]` field moves into a generated `GreetResponse`.
#[event(request)]
pub struct Greet {
    pub name: String,
    #[response]
    pub message: String,
}

/// A manager: its `#[solve(req)]` functions subscribe it to their events.
#[derive(Default)]
pub struct Greeter {
    greeted: u64,
}

#[manager]
impl Greeter {
    #[solve(req)]
    async fn greet(&mut self, event: Greet) -> GreetResponse {
        self.greeted += 1;
        GreetResponse {
            message: format!("Hello, {}!", event.name),
        }
    }
}

#[tokio::main]
async fn main() -> edri::Result<()> {
    // `start()` returns once every manager has subscribed, so nothing sent after it is lost.
    let edri = Edri::new().manager(Greeter::default()).start().await?;
    let answer = edri
        .ask(Greet {
            name: "world".into(),
        })
        .await?;
    println!("{}", answer.message);
    edri.shutdown().await?;
    Ok(())
}
