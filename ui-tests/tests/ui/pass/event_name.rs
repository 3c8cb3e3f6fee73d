use edri::prelude::*;

#[event(notification, name = "files.uploaded")]
pub struct FileUploaded {
    pub name: String,
}

#[event(request, name = "greet-v2")]
pub struct Greet {
    pub name: String,
}

fn main() {
    assert_eq!(<FileUploaded as edri::Event>::NAME, "files.uploaded");
    assert_eq!(<Greet as edri::Event>::NAME, "greet-v2");
}
