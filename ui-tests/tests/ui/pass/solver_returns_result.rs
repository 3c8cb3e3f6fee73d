use edri::prelude::*;

#[event(request)]
pub struct Divide {
    pub a: i64,
    pub b: i64,
    #[response]
    pub quotient: i64,
}

#[event(notification)]
pub struct Cleanup {}

#[derive(Default)]
pub struct Calculator;

#[manager]
impl Calculator {
    #[solve(req)]
    async fn divide(&mut self, event: Divide) -> Result<DivideResponse, Failure> {
        if event.b == 0 {
            return Err(Failure::new(Status::BadRequest, "division by zero"));
        }
        Ok(DivideResponse {
            quotient: event.a / event.b,
        })
    }

    // A notification solver may return `Result<(), Failure>` to count a failure.
    #[solve(req)]
    async fn cleanup(&mut self, _event: Cleanup) -> Result<(), Failure> {
        Ok(())
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let edri = Edri::new().manager(Calculator).start().await.unwrap();
    let answer = edri.ask(Divide { a: 7, b: 2 }).await.unwrap();
    assert_eq!(answer.quotient, 3);
    let failure = edri.ask(Divide { a: 1, b: 0 }).await.unwrap_err();
    assert_eq!(failure.status(), Status::BadRequest);
    edri.shutdown().await.unwrap();
}
