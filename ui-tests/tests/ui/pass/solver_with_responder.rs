use edri::prelude::*;

#[event(request)]
pub struct Slow {
    #[response]
    pub value: u32,
}

#[derive(Default)]
pub struct Later;

#[manager]
impl Later {
    // Answers later, from a spawned task, instead of returning the response.
    #[solve(req)]
    async fn slow(&mut self, _event: Slow, ctx: &Context, reply: Responder<Slow>) {
        let _ = ctx.name();
        tokio::spawn(async move { reply.send(SlowResponse { value: 7 }) });
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Later).start().await.unwrap();
    assert_eq!(edri.ask(Slow {}).await.unwrap().value, 7);
    edri.shutdown().await.unwrap();
}
