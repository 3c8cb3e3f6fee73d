//! `cargo bench`: runs every system through the same three workloads and prints three tables:
//! time per operation (each system also as a multiple of the tokio floor), heap allocations
//! per operation (every system runs on a counting global allocator), and the ask workload with
//! requester and solver on one thread, edri against the floor run the same way.
//!
//! `cargo bench -- edri tokio` runs only the named systems; the diagnostic variants of the tokio
//! floor (`diag-timer`, `diag-select`, `diag-erased`, see `src/tokio_impl.rs`) run only when
//! named (`cargo bench -- tokio diag`). Sizes and repetitions: `BENCH_ONE_WAY`, `BENCH_FAN_OUT`,
//! `BENCH_ASKS`, `BENCH_REPETITIONS`, `BENCH_SCALE` (see `Plan::from_env`).

use std::time::Instant;

use edri_benches::alloc_count::Counting;
use edri_benches::{actix_impl, edri_impl, kameo_impl, ractor_impl, tokio_impl};
use edri_benches::{run_ask_on_current_thread, run_on_tokio, Figures, Plan, Stat, RECEIVERS};

/// Every system's allocations are counted (see `src/alloc_count.rs`): the system allocator
/// (glibc) by default, mimalloc with `--features mimalloc`, each wrapped in the same counter.
#[cfg(not(feature = "mimalloc"))]
#[global_allocator]
static ALLOCATOR: Counting<std::alloc::System> = Counting(std::alloc::System);

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: Counting<mimalloc::MiMalloc> = Counting(mimalloc::MiMalloc);

/// One row of the main table: the workload, edri's absolute target from the design's part C in
/// ns/op, and the core-rework issue's target for edri as a multiple of the tokio floor measured
/// in the same run (the multiple carries over to a machine of another speed; the absolute
/// figure does not: see docs/performance.md).
struct Target {
    workload: &'static str,
    absolute_ns: f64,
    floor_ratio: f64,
}

const TARGETS: [Target; 3] = [
    Target {
        workload: "one-way notification, round-robin over 100 receivers, per message",
        absolute_ns: 150.0,
        floor_ratio: 2.5,
    },
    Target {
        workload: "fan-out 1 -> 100, per delivery",
        absolute_ns: 130.0,
        floor_ratio: 1.5,
    },
    Target {
        workload: "request round trip (`ask`)",
        absolute_ns: 450.0,
        floor_ratio: 1.5,
    },
];

/// edri's heap allocations per one-way delivery, for events up to 32 bytes (the core-rework
/// issue: small events should travel inline, without an allocation each).
const ONE_WAY_ALLOCS_TARGET: f64 = 0.1;

/// The ask target of the same-thread table: the ask target of the main table, applied to the
/// one-thread floor.
const ONE_THREAD_ASK_RATIO_TARGET: f64 = 1.5;

type Runner = Box<dyn Fn(Plan) -> Figures>;

/// Whether a system runs every workload on two workers (a column of the main table) or only
/// the ask workload with requester and solver on one thread (a row of the same-thread table).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    TwoWorkers,
    OneThreadAsk,
}

const TOKIO_ONE_THREAD: &str = "tokio floor (1 thread)";
const EDRI_ONE_THREAD: &str = "edri (1 thread)";

fn systems() -> Vec<(&'static str, Kind, Runner)> {
    use Kind::*;
    vec![
        (
            "tokio",
            TwoWorkers,
            Box::new(|plan| run_on_tokio(tokio_impl::build, tokio_impl::teardown, plan)),
        ),
        (
            "edri",
            TwoWorkers,
            Box::new(|plan| run_on_tokio(edri_impl::build, edri_impl::teardown, plan)),
        ),
        (
            "kameo",
            TwoWorkers,
            Box::new(|plan| run_on_tokio(kameo_impl::build, kameo_impl::teardown, plan)),
        ),
        ("actix", TwoWorkers, Box::new(actix_impl::run)),
        (
            "ractor",
            TwoWorkers,
            Box::new(|plan| run_on_tokio(ractor_impl::build, ractor_impl::teardown, plan)),
        ),
        (
            TOKIO_ONE_THREAD,
            OneThreadAsk,
            Box::new(|plan| {
                run_ask_on_current_thread(tokio_impl::build, tokio_impl::teardown, plan)
            }),
        ),
        (
            EDRI_ONE_THREAD,
            OneThreadAsk,
            Box::new(|plan| run_ask_on_current_thread(edri_impl::build, edri_impl::teardown, plan)),
        ),
        (
            "diag-timer",
            TwoWorkers,
            Box::new(|plan| {
                run_on_tokio(tokio_impl::build_with_timeout, tokio_impl::teardown, plan)
            }),
        ),
        (
            "diag-select",
            TwoWorkers,
            Box::new(|plan| {
                run_on_tokio(tokio_impl::build_with_select, tokio_impl::teardown, plan)
            }),
        ),
        (
            "diag-erased",
            TwoWorkers,
            Box::new(|plan| run_on_tokio(tokio_impl::build_erased, tokio_impl::teardown, plan)),
        ),
    ]
}

struct Contender {
    name: &'static str,
    kind: Kind,
    runner: Runner,
    figures: Figures,
}

/// The three workloads' time and allocation statistics of a system, in table-row order.
fn times(figures: &Figures) -> [&Stat; 3] {
    [&figures.one_way, &figures.fan_out, &figures.ask]
}

fn allocations(figures: &Figures) -> [&Stat; 3] {
    [
        &figures.one_way_allocs,
        &figures.fan_out_allocs,
        &figures.ask_allocs,
    ]
}

fn verdict(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "yes",
        Some(false) => "**no**",
        None => "not run",
    }
}

fn main() {
    // `cargo bench` passes `--bench`; any other argument names systems to run.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| {
        if args.is_empty() {
            !name.starts_with("diag")
        } else {
            args.iter().any(|a| name.contains(a.as_str()))
        }
    };
    let plan = Plan::from_env();
    let mut systems: Vec<Contender> = systems()
        .into_iter()
        .filter(|(name, _, _)| wanted(name))
        .map(|(name, kind, runner)| Contender {
            name,
            kind,
            runner,
            figures: Figures::default(),
        })
        .collect();
    if cfg!(feature = "mimalloc") {
        eprintln!("allocator: mimalloc (feature `mimalloc`), allocations counted");
    } else {
        eprintln!("allocator: the system's (glibc), allocations counted");
    }
    eprintln!(
        "plan: per repetition and system, {} one-way messages round-robin over {RECEIVERS} receivers, \
         {} fan-out notifications x {RECEIVERS} receivers, {} sequential asks, each after a warm-up pass \
         at a fifth of the size; {} repetitions, systems interleaved; 2 worker threads, except the \
         `(1 thread)` systems: asks only, on a current-thread runtime",
        plan.one_way, plan.fan_out, plan.asks, plan.repetitions
    );

    let delivery_size = std::mem::size_of::<edri::__private::Delivery>();
    let event_size = std::mem::size_of::<edri_impl::T00>();
    eprintln!(
        "edri's queue slot (Delivery): {delivery_size} bytes; the floor's: {} bytes; \
         the one-way event (T00): {event_size} bytes",
        std::mem::size_of::<u64>()
    );

    let started = Instant::now();
    for repetition in 1..=plan.repetitions {
        for system in &mut systems {
            let sample = (system.runner)(plan);
            match system.kind {
                Kind::TwoWorkers => eprintln!(
                    "repetition {repetition}/{}: {:>22}: one-way {:7.1} ns {:5.2} allocs  \
                     fan-out {:7.1} ns {:5.3} allocs  ask {:7.1} ns {:5.2} allocs",
                    plan.repetitions,
                    system.name,
                    sample.one_way.median(),
                    sample.one_way_allocs.median(),
                    sample.fan_out.median(),
                    sample.fan_out_allocs.median(),
                    sample.ask.median(),
                    sample.ask_allocs.median(),
                ),
                Kind::OneThreadAsk => eprintln!(
                    "repetition {repetition}/{}: {:>22}: ask {:7.1} ns {:5.2} allocs",
                    plan.repetitions,
                    system.name,
                    sample.ask.median(),
                    sample.ask_allocs.median(),
                ),
            }
            system.figures.extend(sample);
        }
    }
    eprintln!("measured in {:.0} s", started.elapsed().as_secs_f64());

    let two_workers: Vec<&Contender> = systems
        .iter()
        .filter(|s| s.kind == Kind::TwoWorkers)
        .collect();
    let find = |name: &str| systems.iter().find(|s| s.name == name);
    let tokio = find("tokio");
    let edri = find("edri");

    if !two_workers.is_empty() {
        print_times(&two_workers, tokio, edri, plan);
        print_allocations(&two_workers, edri, event_size, delivery_size);
    }
    print_one_thread(find(TOKIO_ONE_THREAD), find(EDRI_ONE_THREAD), plan);
}

/// Time per operation of every two-worker system, each with its multiple of the tokio floor,
/// and edri against its absolute and relative targets.
fn print_times(
    systems: &[&Contender],
    tokio: Option<&Contender>,
    edri: Option<&Contender>,
    plan: Plan,
) {
    println!();
    println!(
        "{} one-way messages, {} fan-out notifications, {} asks per repetition. Median of {} \
         repetitions, ns per operation (lowest..highest repetition below each median), and in \
         parentheses the multiple of the tokio floor's median in the same run.",
        plan.one_way, plan.fan_out, plan.asks, plan.repetitions
    );
    println!();
    print!("| workload |");
    for system in systems {
        print!(" {} |", system.name);
    }
    println!(" edri target | met | edri / tokio | rework target | met |");
    print!("|---|");
    for _ in systems {
        print!("---:|");
    }
    println!("---:|---|---:|---:|---|");
    for (row, target) in TARGETS.iter().enumerate() {
        let floor = tokio.map(|t| times(&t.figures)[row].median());
        print!("| {} |", target.workload);
        for system in systems {
            let stat = times(&system.figures)[row];
            let ratio = floor.map_or(String::new(), |f| format!(" ({:.2}x)", stat.median() / f));
            print!(
                " **{:.0}**{ratio}<br>{:.0}..{:.0} |",
                stat.median(),
                stat.min(),
                stat.max()
            );
        }
        let edri = edri.map(|e| times(&e.figures)[row].median());
        let ratio = edri.zip(floor).map(|(edri, floor)| edri / floor);
        println!(
            " <= {:.0} | {} | {} | <= {:.2} | {} |",
            target.absolute_ns,
            verdict(edri.map(|e| e <= target.absolute_ns)),
            ratio.map_or("-".to_string(), |r| format!("{r:.2}")),
            target.floor_ratio,
            verdict(ratio.map(|r| r <= target.floor_ratio)),
        );
    }
}

/// Heap allocations per operation during the measured passes, from the counting allocator.
fn print_allocations(
    systems: &[&Contender],
    edri: Option<&Contender>,
    event_size: usize,
    delivery_size: usize,
) {
    println!();
    println!(
        "Heap allocations per operation during the measured pass (alloc + alloc_zeroed + realloc \
         calls of every thread / operations), median of the repetitions. The one-way event \
         (`T00 {{ n: u64 }}`) is {event_size} bytes (size_of); edri's queue slot (`Delivery`) \
         {delivery_size} bytes."
    );
    println!();
    print!("| workload |");
    for system in systems {
        print!(" {} |", system.name);
    }
    println!(" edri target | met |");
    print!("|---|");
    for _ in systems {
        print!("---:|");
    }
    println!("---:|---|");
    let units = [
        "per one-way message",
        "per fan-out delivery",
        "per ask round trip",
    ];
    for (row, unit) in units.iter().enumerate() {
        print!("| {unit} |");
        for system in systems {
            print!(" {:.3} |", allocations(&system.figures)[row].median());
        }
        if row == 0 {
            // The target is for events up to 32 bytes; say so if the event ever grows.
            let applies = event_size <= 32;
            let edri = edri.map(|e| allocations(&e.figures)[0].median());
            println!(
                " <= {ONE_WAY_ALLOCS_TARGET} (events <= 32 bytes{}) | {} |",
                if applies { "" } else { "; this one is larger" },
                verdict(edri.map(|e| e <= ONE_WAY_ALLOCS_TARGET)),
            );
        } else {
            println!(" | |");
        }
    }
}

/// The same-thread ask: edri against the tokio floor, both on a current-thread runtime.
fn print_one_thread(tokio: Option<&Contender>, edri: Option<&Contender>, plan: Plan) {
    if tokio.is_none() && edri.is_none() {
        return;
    }
    println!();
    println!(
        "Ask with requester and solver on one thread (current-thread runtime), {} round trips, \
         median of {} repetitions (lowest..highest):",
        plan.asks, plan.repetitions
    );
    println!();
    println!(
        "| system | ns per round trip | allocations per round trip | / tokio floor (1 thread) | target | met |"
    );
    println!("|---|---:|---:|---:|---:|---|");
    let floor = tokio.map(|t| t.figures.ask.median());
    for system in [tokio, edri].into_iter().flatten() {
        let ask = &system.figures.ask;
        let ratio = floor.map(|f| ask.median() / f);
        let is_edri = system.name == EDRI_ONE_THREAD;
        println!(
            "| {} | **{:.0}** ({:.0}..{:.0}) | {:.2} | {} | {} | {} |",
            system.name,
            ask.median(),
            ask.min(),
            ask.max(),
            system.figures.ask_allocs.median(),
            ratio.map_or("-".to_string(), |r| format!("{r:.2}")),
            if is_edri {
                format!("<= {ONE_THREAD_ASK_RATIO_TARGET:.2}")
            } else {
                String::new()
            },
            if is_edri {
                verdict(ratio.map(|r| r <= ONE_THREAD_ASK_RATIO_TARGET))
            } else {
                ""
            },
        );
    }
}
