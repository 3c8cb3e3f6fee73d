use edri::prelude::*;

#[event(request)]
pub struct Render {
    pub page: String,
}

#[derive(Default)]
pub struct Renderer;

#[manager]
impl Renderer {
    #[solve(req, mode = "process", timeout = "soon")]
    fn render(_event: Render) {}
}

fn main() {
    let _ = Edri::new().manager(Renderer);
}
