use edri::prelude::*;

/// Announces that a file was uploaded. No response is expected.
#[event(notification)]
pub struct FileUploaded {
    pub name: String,
    pub size: u64,
}

#[derive(Default)]
pub struct Archive {
    total: u64,
}

#[manager]
impl Archive {
    #[solve(req)]
    async fn uploaded(&mut self, event: FileUploaded) {
        self.total += event.size;
    }
}

fn main() {
    let _ = Edri::new().manager(Archive::default());
    assert_eq!(<FileUploaded as edri::Event>::NAME, "file-uploaded");
    assert_eq!(<FileUploaded as edri::Event>::KIND, edri::EventKind::Notification);
    assert!(!<FileUploaded as edri::Event>::SHARED);
}
