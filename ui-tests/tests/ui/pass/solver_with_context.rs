use edri::prelude::*;

#[event(notification)]
pub struct FileUploaded {
    pub name: String,
}

#[event(notification)]
pub struct Relay {
    pub token: String,
}

#[derive(Default)]
pub struct Uploads;

#[manager]
impl Uploads {
    #[solve(req)]
    async fn uploaded(&mut self, event: FileUploaded, ctx: &Context) {
        ctx.notify(Relay { token: event.name }).await;
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Uploads).start().await.unwrap();
    let mut relays = edri.subscribe::<Relay>();
    edri.notify(FileUploaded { name: "a.txt".into() }).await.unwrap();
    assert_eq!(relays.recv().await.unwrap().token, "a.txt");
    edri.shutdown().await.unwrap();
}
