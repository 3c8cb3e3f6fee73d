//! An event type that reaches `#[manager]` through a `macro_rules!` fragment still works.
use edri::prelude::*;

#[event(request)]
pub struct Ping2 {}

macro_rules! manager_for {
    ($name:ident, $event:ty) => {
        #[derive(Default)]
        pub struct $name;

        #[manager]
        impl $name {
            #[solve(req)]
            async fn solve(&mut self, _event: $event) {}
        }
    };
}

manager_for!(Generated, Ping2);

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Generated).start().await.unwrap();
    edri.ask(Ping2 {}).await.unwrap();
    edri.shutdown().await.unwrap();
}
