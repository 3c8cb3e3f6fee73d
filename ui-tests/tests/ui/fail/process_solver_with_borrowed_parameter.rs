use edri::prelude::*;

#[event(request)]
pub struct Render {
    pub page: String,
    #[response]
    pub html: String,
}

#[derive(Default)]
pub struct Renderer;

#[manager]
impl Renderer {
    #[solve(req, mode = "process")]
    fn render(event: &Render) -> RenderResponse {
        RenderResponse {
            html: format!("<h1>{}</h1>", event.page),
        }
    }
}

fn main() {
    let _ = Edri::new().manager(Renderer);
}
