use edri::prelude::*;

#[event(request)]
pub struct Version {
    #[response]
    pub version: String,
}

pub struct Info {
    version: &'static str,
}

#[manager]
impl Info {
    // A solver that only reads the manager may take `&self`.
    #[solve(req)]
    async fn version(&self, _event: Version) -> VersionResponse {
        VersionResponse {
            version: self.version.to_owned(),
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Info { version: "1.2.3" }).start().await.unwrap();
    assert_eq!(edri.ask(Version {}).await.unwrap().version, "1.2.3");
    edri.shutdown().await.unwrap();
}
