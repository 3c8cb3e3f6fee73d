//! `cargo bench`: runs every system through the same three workloads and prints one table.
//!
//! `cargo bench -- edri tokio` runs only the named systems; the diagnostic variants of the tokio
//! floor (`diag-timer`, `diag-select`, `diag-erased`, see `src/tokio_impl.rs`) run only when
//! named (`cargo bench -- tokio diag`). Sizes and repetitions: `BENCH_ONE_WAY`, `BENCH_FAN_OUT`,
//! `BENCH_ASKS`, `BENCH_REPETITIONS`, `BENCH_SCALE` (see `Plan::from_env`).

use std::time::Instant;

use edri_benches::{actix_impl, edri_impl, kameo_impl, ractor_impl, run_on_tokio, tokio_impl};
use edri_benches::{Figures, Plan, RECEIVERS};

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// edri's targets from the design's part C, in ns/op, with the plain-tokio figure the design
/// quotes beside each: target / that figure is the target as a multiple of the floor, which
/// carries over to a machine of another speed.
const TARGETS: [(&str, f64, f64); 3] = [
    ("one-way notification, 1M over 100 receivers", 150.0, 51.0),
    ("fan-out 1 -> 100, per delivery", 130.0, 64.0),
    ("request round trip (`ask`)", 450.0, 339.0),
];

type Runner = Box<dyn Fn(Plan) -> Figures>;

fn systems() -> Vec<(&'static str, Runner)> {
    vec![
        (
            "tokio",
            Box::new(|plan| run_on_tokio(tokio_impl::build, tokio_impl::teardown, plan)),
        ),
        (
            "edri",
            Box::new(|plan| run_on_tokio(edri_impl::build, edri_impl::teardown, plan)),
        ),
        (
            "kameo",
            Box::new(|plan| run_on_tokio(kameo_impl::build, kameo_impl::teardown, plan)),
        ),
        ("actix", Box::new(actix_impl::run)),
        (
            "ractor",
            Box::new(|plan| run_on_tokio(ractor_impl::build, ractor_impl::teardown, plan)),
        ),
        (
            "diag-timer",
            Box::new(|plan| {
                run_on_tokio(tokio_impl::build_with_timeout, tokio_impl::teardown, plan)
            }),
        ),
        (
            "diag-select",
            Box::new(|plan| {
                run_on_tokio(tokio_impl::build_with_select, tokio_impl::teardown, plan)
            }),
        ),
        (
            "diag-erased",
            Box::new(|plan| run_on_tokio(tokio_impl::build_erased, tokio_impl::teardown, plan)),
        ),
    ]
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
    let mut systems: Vec<(&str, Runner, Figures)> = systems()
        .into_iter()
        .filter(|(name, _)| wanted(name))
        .map(|(name, runner)| (name, runner, Figures::default()))
        .collect();
    if cfg!(feature = "mimalloc") {
        eprintln!("allocator: mimalloc (feature `mimalloc`)");
    }
    eprintln!(
        "plan: per repetition and system, {} one-way messages round-robin over {RECEIVERS} receivers, \
         {} fan-out notifications x {RECEIVERS} receivers, {} sequential asks, each after a warm-up pass \
         at a fifth of the size; {} repetitions, systems interleaved; 2 worker threads",
        plan.one_way, plan.fan_out, plan.asks, plan.repetitions
    );

    eprintln!(
        "edri's queue slot (Delivery): {} bytes; the floor's: {} bytes",
        std::mem::size_of::<edri::__private::Delivery>(),
        std::mem::size_of::<u64>()
    );

    let started = Instant::now();
    for repetition in 1..=plan.repetitions {
        for (name, runner, figures) in &mut systems {
            let sample = runner(plan);
            eprintln!(
                "repetition {repetition}/{}: {name:>11}: one-way {:7.1} ns  fan-out {:7.1} ns  ask {:7.1} ns",
                plan.repetitions,
                sample.one_way.median(),
                sample.fan_out.median(),
                sample.ask.median(),
            );
            figures.extend(sample);
        }
    }
    eprintln!("measured in {:.0} s", started.elapsed().as_secs_f64());

    println!();
    println!(
        "Median of {} repetitions, ns per operation (lowest..highest repetition below each median).",
        plan.repetitions
    );
    println!();
    print!("| workload |");
    for (name, _, _) in &systems {
        print!(" {name} |");
    }
    println!(" edri target | met | edri / tokio | target / design's tokio | met |");
    print!("|---|");
    for _ in &systems {
        print!("---:|");
    }
    println!("---:|---|---:|---:|---|");
    let verdict = |value: Option<f64>, limit: f64| match value {
        Some(value) if value <= limit => "yes",
        Some(_) => "**no**",
        None => "not run",
    };
    for (row, (workload, target, design_floor)) in TARGETS.iter().enumerate() {
        print!("| {workload} |");
        let median = |name: &str| {
            systems
                .iter()
                .find(|(n, _, _)| *n == name)
                .map(|(_, _, figures)| match row {
                    0 => figures.one_way.median(),
                    1 => figures.fan_out.median(),
                    _ => figures.ask.median(),
                })
        };
        for (_, _, figures) in &systems {
            let stat = match row {
                0 => &figures.one_way,
                1 => &figures.fan_out,
                _ => &figures.ask,
            };
            print!(
                " **{:.0}**<br>{:.0}..{:.0} |",
                stat.median(),
                stat.min(),
                stat.max()
            );
        }
        let edri = median("edri");
        let ratio = edri.zip(median("tokio")).map(|(edri, tokio)| edri / tokio);
        let ratio_target = target / design_floor;
        println!(
            " <= {target:.0} | {} | {} | <= {ratio_target:.2} | {} |",
            verdict(edri, *target),
            ratio.map_or("-".to_string(), |r| format!("{r:.2}")),
            verdict(ratio, ratio_target),
        );
    }
}
