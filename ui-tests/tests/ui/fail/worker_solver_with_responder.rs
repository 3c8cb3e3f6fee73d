use edri::prelude::*;

#[event(request)]
pub struct Render {
    pub page: String,
}

#[derive(Default)]
pub struct Renderer;

#[manager]
impl Renderer {
    #[solve(req, mode = "process")]
    fn render(_event: Render, reply: Responder<Render>) {
        reply.send(());
    }
}

fn main() {
    let _ = Edri::new().manager(Renderer);
}
