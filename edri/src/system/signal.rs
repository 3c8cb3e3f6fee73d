//! [`StopSignal`]: SIGINT and SIGTERM, the way users expect a server to take them.

use crate::Result;

/// SIGINT (Ctrl-C) and SIGTERM, listened for from the moment it is created.
///
/// [`Edri::run`](crate::Edri::run) uses one; create your own when you drive the system with
/// [`Edri::start`](crate::Edri::start), and create it early: a signal that arrives before it
/// exists kills the process. The first signal asks for a clean stop; a second one, while the
/// stop is under way, ends the process at once (exit status 128 + the signal's number), as a
/// Ctrl-C pressed twice does elsewhere.
///
/// ```no_run
/// # async fn demo() -> edri::Result<()> {
/// let stop = edri::StopSignal::listen()?;
/// let edri = edri::Edri::new().start().await?;
/// stop.recv().await;
/// edri.shutdown().await
/// # }
/// ```
pub struct StopSignal {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignal {
    /// Starts listening. Needs a tokio runtime with I/O enabled.
    pub fn listen() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(Self {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    /// Waits for the first signal. From then on, the next one exits the process.
    pub async fn recv(mut self) {
        let signal = self.next().await;
        tracing::info!(signal, "stopping; a second signal ends the process at once");
        tokio::spawn(async move {
            let signal = self.next().await;
            eprintln!("edri: signal {signal} while stopping: exiting now");
            std::process::exit(128 + signal);
        });
    }

    /// The number of the next signal to arrive.
    async fn next(&mut self) -> i32 {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => libc::SIGINT,
                _ = self.terminate.recv() => libc::SIGTERM,
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            2
        }
    }
}
