//! What the system keeps of each running manager, how a manager is launched, and the periodic
//! health checks.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::context::{Context, ContextParts, HealthSources};
use crate::event::Registry;
use crate::events::router::HealthCheck;
use crate::health::{HealthBook, Limits, Target};
use crate::mailbox::{mailbox, Mailbox};
use crate::manager::{self, Direction, Manager, Wiring, BUILT_IN_HEALTH};
use crate::router::{Entry, Route, Router};
use crate::stats::Counters;
use crate::worker::Workers;
use crate::{Error, Result};

/// Sends every manager a health check each period and logs status changes, until the system
/// is gone or shut down.
pub(super) async fn check_health_periodically(system: std::sync::Weak<System>) {
    let Some(period) = system
        .upgrade()
        .map(|system| system.router.config.health_period)
    else {
        return;
    };
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let Some(system) = system.upgrade() else {
            return;
        };
        let targets = system.health_targets();
        system.health.report(&targets, system.health_limits());
        // The answers are recorded as they come, by tasks `check` spawns.
        system.health.check(&targets, true);
    }
}

/// One running manager, as the system sees it.
pub(super) struct Running {
    pub(super) name: Arc<str>,
    pub(super) counters: Arc<Counters>,
    pub(super) workers: Arc<Workers>,
    pub(super) mailbox: Mailbox,
    pub(super) capacity: usize,
    /// Its `HealthCheck` solver and that solver's priority.
    pub(super) health_solver: (u16, i32),
    pub(super) solvers: &'static [crate::manager::SolverInfo],
    pub(super) stop: watch::Sender<bool>,
    pub(super) task: JoinHandle<()>,
}

pub(crate) struct System {
    pub(super) router: Arc<Router>,
    /// The way into the router of code outside the managers: every [`Handle`](crate::Handle).
    pub(super) entry: Entry,
    pub(super) managers: Mutex<Vec<Running>>,
    pub(super) closed: AtomicBool,
    pub(super) health: HealthBook,
    pub(super) health_task: Mutex<Option<JoinHandle<()>>>,
    /// Turns true once every manager given to the builder has subscribed: their loops (and
    /// `after_start` hooks) wait for it, so a hook can reach managers listed after its own.
    pub(super) started: watch::Sender<bool>,
    pub(super) api: Mutex<Option<crate::api::ApiServer>>,
    /// The connection to the switch, when the router joined one.
    pub(super) switch: Mutex<Option<crate::switch::Joined>>,
}

impl System {
    pub(super) fn lock_api(&self) -> MutexGuard<'_, Option<crate::api::ApiServer>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.api.lock().unwrap_or_else(|poison| poison.into_inner())
    }

    pub(super) fn lock_switch(&self) -> MutexGuard<'_, Option<crate::switch::Joined>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.switch
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The switch connector, when the router joined a switch.
    pub(super) fn connector(&self) -> Option<Arc<crate::switch::Connector>> {
        self.lock_switch()
            .as_ref()
            .map(|joined| joined.connector.clone())
    }

    pub(super) fn health_targets(&self) -> Vec<Target> {
        self.lock_managers()
            .iter()
            .map(|running| Target {
                name: running.name.clone(),
                mailbox: running.mailbox.clone(),
                solver: running.health_solver.0,
                priority: running.health_solver.1,
                capacity: running.capacity,
            })
            .collect()
    }

    pub(super) fn health_limits(&self) -> Limits {
        Limits {
            period: self.router.config.health_period,
            failure_limit: self.router.config.health_failure_limit,
        }
    }

    pub(super) fn lock_managers(&self) -> MutexGuard<'_, Vec<Running>> {
        // Nothing panics while the lock is held, so a poisoned lock still holds valid data.
        self.managers
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// Checks a manager against the registry, subscribes it and spawns its loop.
    pub(crate) fn launch<M: Manager>(&self, manager: M, name: Option<String>) -> Result<()> {
        let descriptor = M::descriptor();
        let chosen = name.is_some();
        let name: Arc<str> = Arc::from(name.as_deref().unwrap_or(descriptor.name));
        let registry = Registry::get()?;
        let mut seen: HashMap<(TypeId, Direction), &'static str> = HashMap::new();
        for solver in descriptor.solvers {
            let type_id = (solver.event)();
            if registry.info(type_id).is_none() {
                return Err(Error::UnregisteredEvent {
                    manager: name.to_string(),
                    event: solver.event_type,
                    location: solver.location,
                });
            }
            if let Some(key) = solver.process {
                if !crate::worker::PROCESS_SOLVERS
                    .iter()
                    .any(|entry| entry.key == key)
                {
                    return Err(Error::ProcessSolverMissing {
                        manager: name.to_string(),
                        solver: key,
                        location: solver.location,
                    });
                }
            }
            if let Some(first) = seen.insert((type_id, solver.direction), solver.location) {
                return Err(Error::DuplicateSolver {
                    manager: name.to_string(),
                    event: solver.event_name,
                    direction: match solver.direction {
                        Direction::Req => "req",
                        Direction::Res => "res",
                    },
                    first,
                    second: solver.location,
                });
            }
        }

        let mut managers = self.lock_managers();
        let taken = |name: &str| managers.iter().any(|running| &*running.name == name);
        let name: Arc<str> = if !taken(&name) {
            name
        } else if chosen {
            // A name given with `named_manager` is meant to be that one.
            return Err(Error::DuplicateManager(name.to_string()));
        } else {
            // Another instance of the same type: `Counter`, then `Counter-2`, `Counter-3`...
            let free = (2..)
                .map(|n| format!("{name}-{n}"))
                .find(|numbered| !taken(numbered))
                .unwrap_or_default();
            Arc::from(free)
        };
        let capacity = descriptor
            .capacity
            .unwrap_or(self.router.config.queue_capacity);
        let (mailbox, inbox) = mailbox(descriptor.queue, capacity);
        let subscriber = self.router.new_subscriber();
        let (answers_sender, answers) = mpsc::unbounded_channel();
        let mut routes = Vec::new();
        let mut answer_solvers = Vec::new();
        for solver in descriptor.solvers {
            match solver.direction {
                Direction::Req => routes.push((
                    (solver.event)(),
                    Route {
                        mailbox: mailbox.clone(),
                        solver: solver.index,
                        priority: solver.priority,
                        subscriber,
                        name: name.clone(),
                        remote: false,
                    },
                )),
                Direction::Res => answer_solvers.push(((solver.event)(), solver.index)),
            }
        }
        // Every manager answers HealthCheck: through its own solver, or the runtime's probe,
        // ahead of everything else in a priority queue.
        let health_type = TypeId::of::<HealthCheck>();
        let health_solver = match routes.iter().find(|(type_id, _)| *type_id == health_type) {
            Some((_, route)) => (route.solver, route.priority),
            None => {
                routes.push((
                    health_type,
                    Route {
                        mailbox: mailbox.clone(),
                        solver: BUILT_IN_HEALTH,
                        priority: i32::MIN,
                        subscriber,
                        name: name.clone(),
                        remote: false,
                    },
                ));
                (BUILT_IN_HEALTH, i32::MIN)
            }
        };
        let request_solvers = descriptor
            .solvers
            .iter()
            .filter(|solver| solver.direction == Direction::Req)
            .count();
        let counters = Arc::new(Counters::new(request_solvers));
        let entry = Entry::new(&self.router, &name);
        let workers = Workers::new(
            name.clone(),
            entry.clone(),
            counters.clone(),
            descriptor.max_workers,
        );
        let ctx = Context::new(ContextParts {
            entry,
            workers: workers.clone(),
            subscriber,
            name: name.clone(),
            answers: answers_sender,
            answer_solvers,
            health: HealthSources {
                counters: counters.clone(),
                mailbox: mailbox.clone(),
                capacity,
                last: Mutex::new([0; 3]),
            },
        });
        let replay = self.router.subscribe(routes);
        let (stop, stop_receiver) = watch::channel(false);
        let wiring = Wiring {
            inbox,
            answers,
            replay,
            stop: stop_receiver,
            started: self.started.subscribe(),
            counters: counters.clone(),
            ctx,
        };
        let task = tokio::spawn(manager::run(manager, wiring));
        tracing::debug!(manager = &*name, "started");
        self.health.register(name.clone());
        managers.push(Running {
            name,
            counters,
            workers,
            mailbox,
            capacity,
            health_solver,
            solvers: descriptor.solvers,
            stop,
            task,
        });
        Ok(())
    }
}
