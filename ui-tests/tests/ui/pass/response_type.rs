use edri::prelude::*;
use serde::{Deserialize, Serialize};

/// An existing type used as the response.
#[derive(Debug, Serialize, Deserialize)]
pub struct FileList {
    pub files: Vec<String>,
}

#[event(request, response = FileList)]
pub struct ListFiles {
    pub folder: String,
}

#[derive(Default)]
pub struct Files;

#[manager]
impl Files {
    #[solve(req)]
    async fn list(&mut self, event: ListFiles) -> FileList {
        FileList {
            files: vec![format!("{}/a.txt", event.folder)],
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Files).start().await.unwrap();
    let list: FileList = edri.ask(ListFiles { folder: "/tmp".into() }).await.unwrap();
    assert_eq!(list.files, ["/tmp/a.txt"]);
    edri.shutdown().await.unwrap();
}
