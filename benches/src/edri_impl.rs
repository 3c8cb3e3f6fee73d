//! edri: 100 managers, each the only subscriber of its own notification type (one-way) and all
//! subscribers of one shared notification type (fan-out), plus one manager solving a request.
//!
//! A notification goes to every subscriber of its type, so "to receiver k" is "event type k":
//! the macro below declares 100 event types and 100 manager types.

use std::sync::Arc;

use edri::prelude::*;

use crate::{Shared, Subject};

/// Delivered to every counter manager.
#[event(notification)]
pub struct Fan {
    pub n: u64,
}

/// Answered by [`Echoer`] with the same number.
#[event(request)]
pub struct Echo {
    pub n: u64,
    #[response]
    pub m: u64,
}

pub struct Echoer;

#[manager]
impl Echoer {
    #[solve(req)]
    async fn echo(&mut self, event: Echo) -> EchoResponse {
        EchoResponse { m: event.n }
    }
}

// `#[manager]` currently names its `delivery` variable with the event type's span, so an event
// type passed in as a `macro_rules!` fragment fails to resolve (`cannot find value delivery`).
// The alias `Ev`, written inside this macro, sidesteps it; see docs/performance.md.
macro_rules! counters {
    ($($event:ident $manager:ident $module:ident)*) => {
        $(
            /// Sent to one counter manager only.
            #[event(notification)]
            pub struct $event {
                pub n: u64,
            }

            pub use $module::$manager;

            mod $module {
                use super::*;

                type Ev = super::$event;

                pub struct $manager {
                    pub(super) seen: u64,
                    pub(super) shared: Arc<Shared>,
                }

                #[manager]
                impl $manager {
                    #[solve(req)]
                    async fn one(&mut self, event: Ev) {
                        std::hint::black_box(event.n);
                        self.shared.count(&mut self.seen);
                    }

                    #[solve(req)]
                    async fn fan(&mut self, event: Fan) {
                        std::hint::black_box(event.n);
                        self.shared.count(&mut self.seen);
                    }
                }
            }
        )*

        fn with_counters(mut edri: Edri, shared: &Arc<Shared>) -> Edri {
            $(
                edri = edri.manager($manager { seen: 0, shared: shared.clone() });
            )*
            edri
        }

        async fn round(handle: &Handle, n: u64) {
            $(
                handle.notify($event { n }).await.unwrap();
            )*
        }
    };
}

counters! {
    T00 C00 m00 T01 C01 m01 T02 C02 m02 T03 C03 m03 T04 C04 m04
    T05 C05 m05 T06 C06 m06 T07 C07 m07 T08 C08 m08 T09 C09 m09
    T10 C10 m10 T11 C11 m11 T12 C12 m12 T13 C13 m13 T14 C14 m14
    T15 C15 m15 T16 C16 m16 T17 C17 m17 T18 C18 m18 T19 C19 m19
    T20 C20 m20 T21 C21 m21 T22 C22 m22 T23 C23 m23 T24 C24 m24
    T25 C25 m25 T26 C26 m26 T27 C27 m27 T28 C28 m28 T29 C29 m29
    T30 C30 m30 T31 C31 m31 T32 C32 m32 T33 C33 m33 T34 C34 m34
    T35 C35 m35 T36 C36 m36 T37 C37 m37 T38 C38 m38 T39 C39 m39
    T40 C40 m40 T41 C41 m41 T42 C42 m42 T43 C43 m43 T44 C44 m44
    T45 C45 m45 T46 C46 m46 T47 C47 m47 T48 C48 m48 T49 C49 m49
    T50 C50 m50 T51 C51 m51 T52 C52 m52 T53 C53 m53 T54 C54 m54
    T55 C55 m55 T56 C56 m56 T57 C57 m57 T58 C58 m58 T59 C59 m59
    T60 C60 m60 T61 C61 m61 T62 C62 m62 T63 C63 m63 T64 C64 m64
    T65 C65 m65 T66 C66 m66 T67 C67 m67 T68 C68 m68 T69 C69 m69
    T70 C70 m70 T71 C71 m71 T72 C72 m72 T73 C73 m73 T74 C74 m74
    T75 C75 m75 T76 C76 m76 T77 C77 m77 T78 C78 m78 T79 C79 m79
    T80 C80 m80 T81 C81 m81 T82 C82 m82 T83 C83 m83 T84 C84 m84
    T85 C85 m85 T86 C86 m86 T87 C87 m87 T88 C88 m88 T89 C89 m89
    T90 C90 m90 T91 C91 m91 T92 C92 m92 T93 C93 m93 T94 C94 m94
    T95 C95 m95 T96 C96 m96 T97 C97 m97 T98 C98 m98 T99 C99 m99
}

pub struct EdriSubject(Handle);

pub async fn build(shared: Arc<Shared>) -> EdriSubject {
    let handle = with_counters(Edri::new().manager(Echoer), &shared)
        .queue_capacity(crate::CAPACITY)
        .start()
        .await
        .expect("edri starts");
    EdriSubject(handle)
}

pub async fn teardown(subject: EdriSubject) {
    subject.0.shutdown().await.expect("edri stops");
}

impl Subject for EdriSubject {
    async fn one_way_round(&self, n: u64) {
        round(&self.0, n).await;
    }

    async fn fan_out(&self, n: u64) {
        self.0.notify(Fan { n }).await.unwrap();
    }

    async fn ask(&self, n: u64) -> u64 {
        self.0.ask(Echo { n }).await.unwrap().m
    }
}
