//! Every check of `#[manager]`: the raw parts from `parse` become the typed `Manager`, and
//! each mistake is reported with its span. A solver or hook with a mistake is left out, so
//! one mistake gives one error and the rest of the manager still works.
//!
//! Function, thread and process solvers go through one check, [`solver`]; what the modes
//! allow differently is said by [`Rules`].

use quote::quote;
use syn::{ItemImpl, Signature};

use super::model::{type_key, Args, Hook, Manager, Param, Queue, Solver};
use super::parse::{self, Function, Role, Written};
use crate::diagnostics::Errors;
use crate::solve::{Direction, Mode, SolveArgs};

/// Checks the impl block and builds the manager from its functions. `None` when the block
/// cannot be a manager at all (a trait impl, generics); the errors say why.
pub(super) fn manager(
    item: &ItemImpl,
    args: Args,
    functions: Vec<Function>,
    errors: &mut Errors,
) -> Option<Manager> {
    let mut usable = true;
    if let Some((_, path, _)) = &item.trait_ {
        errors.add_spanned(
            path,
            "#[manager] goes on an inherent impl block (`impl MyManager { ... }`), not on a trait impl",
        );
        usable = false;
    }
    if !item.generics.params.is_empty() {
        errors.add_spanned(
            &item.generics,
            "#[manager] does not support generic impl blocks",
        );
        usable = false;
    }
    let mut solvers: Vec<Solver> = Vec::new();
    let (mut after_start, mut before_stop) = (None, None);
    for Function { sig, role } in functions {
        match role {
            Role::Solver(solve_args) => {
                let index = solvers
                    .iter()
                    .filter(|s| s.direction == solve_args.direction)
                    .count() as u16;
                if let Some(solver) = solver(&sig, solve_args, args.queue, index, errors) {
                    if is_new(&solvers, &solver, errors) {
                        solvers.push(solver);
                    }
                }
            }
            Role::Hook if sig.ident == "after_start" => after_start = hook(&sig, errors),
            Role::Hook => before_stop = hook(&sig, errors),
        }
    }
    // The `Manager` implementation is emitted even beside errors, with the solvers that are
    // right, so a mistake in one solver does not also make the type "not an edri manager".
    usable.then(|| Manager {
        self_ty: (*item.self_ty).clone(),
        args,
        solvers,
        after_start,
        before_stop,
    })
}

/// What a solver of one mode may be, and how the messages name it.
struct Rules {
    mode: Mode,
    /// "thread" or "process" (or "function").
    name: &'static str,
    /// Where it runs: "on an OS thread", "in a child process".
    place: &'static str,
    /// Where its event moves to: "to an OS thread", "to a child process".
    to: &'static str,
}

impl Rules {
    fn of(mode: Mode) -> Rules {
        let (place, to) = match mode {
            Mode::Function => ("in its manager's task", "to its manager"),
            Mode::Thread => ("on an OS thread", "to an OS thread"),
            Mode::Process => ("in a child process", "to a child process"),
        };
        Rules {
            mode,
            name: mode.as_str(),
            place,
            to,
        }
    }

    /// Whether the solver runs inside its manager: a method taking `&mut self`, which may be
    /// `async`, take `ctx` and a `Responder`, and solve answers. Thread and process solvers
    /// are plain functions, with a `Worker` instead.
    fn in_manager(&self) -> bool {
        self.mode == Mode::Function
    }

    /// The message for a parameter that has no place in the signature.
    fn unexpected(&self) -> String {
        if self.in_manager() {
            "unexpected solver parameter: a solver takes the event, then optionally `ctx: &Context` and \
             (for requests) `reply: Responder<Event>`"
                .to_owned()
        } else {
            format!(
                "unexpected parameter: a {} solver takes the event, then optionally `worker: &mut Worker`",
                self.name
            )
        }
    }

    /// The message for a signature without the event.
    fn no_event(&self, sig: &Signature) -> String {
        if self.in_manager() {
            "a solver needs the event as its first parameter after `self`, as in \
             `async fn greet(&mut self, event: Greet)`"
                .to_owned()
        } else {
            format!(
                "a solver needs the event as its first parameter, as in `fn {}(event: MyEvent, worker: &mut Worker)`",
                sig.ident
            )
        }
    }
}

/// Checks one `#[solve]` function of any mode and builds its solver; `None` after a mistake.
fn solver(
    sig: &Signature,
    args: SolveArgs,
    queue: Queue,
    index: u16,
    errors: &mut Errors,
) -> Option<Solver> {
    let (mode, mode_span) = args.mode;
    let rules = Rules::of(mode);
    let name = rules.name;
    if !rules.in_manager() && args.direction == Direction::Res {
        // Its parameters are those of a function solver (`self`, the answer): checking them
        // against a worker solver's would only repeat this one mistake.
        errors.add(
            mode_span,
            "#[solve(res)] handles an answer inside its manager: it runs as mode = \"function\"",
        );
        return None;
    }
    let mut ok = true;
    if rules.in_manager() {
        if let Some((_, span)) = args.timeout {
            errors.add(
                span,
                "`timeout` applies to thread and process solvers; a function solver runs inside its manager",
            );
            ok = false;
        }
        match sig.receiver() {
            Some(receiver) if receiver.reference.is_none() => {
                errors.add(
                    receiver.self_token.span,
                    "a function solver borrows its manager: take `&mut self` (or `&self`), not `self`",
                );
                ok = false;
            }
            Some(_) => {}
            None => {
                errors.add(
                    sig.ident.span(),
                    "a function solver is a method of the manager: its first parameter is `&mut self`",
                );
                ok = false;
            }
        }
    }
    ok &= check_priority(&args, queue, errors);
    if let (false, Some(asyncness)) = (rules.in_manager(), sig.asyncness) {
        errors.add(
            asyncness.span,
            format!(
                "a {name} solver is a plain `fn`: it runs {}, outside the async runtime",
                rules.place
            ),
        );
        ok = false;
    }

    let mut event = None;
    let mut responder = None;
    let mut params = Vec::new();
    for (typed, written) in parse::params(sig) {
        let ty = &*typed.ty;
        let param = match (written, rules.in_manager()) {
            (Written::Context, true) => Param::Context,
            (Written::Context, false) => {
                errors.add_spanned(
                    typed,
                    format!("a {name} solver talks to the system through `worker: &mut Worker`; it has no `ctx`"),
                );
                ok = false;
                continue;
            }
            (Written::Responder, true) => {
                if args.direction == Direction::Res {
                    errors.add_spanned(ty, "a #[solve(res)] solver receives an answer; it has nothing to answer with a Responder");
                    ok = false;
                }
                responder = Some(ty);
                Param::Responder
            }
            (Written::Responder, false) => {
                errors.add_spanned(
                    typed,
                    format!(
                        "a {name} solver answers by returning the response; it has no `Responder`"
                    ),
                );
                ok = false;
                continue;
            }
            (Written::Worker, false) => Param::Worker,
            _ if event.is_none() => {
                if written == Written::Borrowed && !rules.in_manager() {
                    errors.add_spanned(
                        ty,
                        format!(
                            "a {name} solver owns its event, which moves {}: take it by value (`event: MyEvent`), not by reference",
                            rules.to
                        ),
                    );
                    ok = false;
                }
                event = Some(ty.clone());
                Param::Event
            }
            _ if args.direction == Direction::Res && !params.contains(&Param::Answer) => {
                Param::Answer
            }
            _ => {
                errors.add_spanned(typed, rules.unexpected());
                ok = false;
                continue;
            }
        };
        if matches!(param, Param::Context | Param::Responder | Param::Worker)
            && params.contains(&param)
        {
            errors.add_spanned(
                typed,
                format!(
                    "a solver takes one {}; this is a second one",
                    param.written()
                ),
            );
            ok = false;
        }
        params.push(param);
    }
    // Reported after the parameters are read, to show the signature with the user's event.
    if let (false, Some(receiver)) = (rules.in_manager(), sig.receiver()) {
        let event = event.as_ref().map_or_else(
            || "MyEvent".to_owned(),
            |event| type_key(event).replace(' ', ""),
        );
        errors.add_spanned(
            receiver,
            format!(
                "a {name} solver runs {}, away from its manager, so it takes no `self`: \
                 write `fn {}(event: {event}, worker: &mut Worker)`",
                rules.place, sig.ident
            ),
        );
        ok = false;
    }
    let Some(event) = event else {
        errors.add(sig.ident.span(), rules.no_event(sig));
        return None;
    };
    if let Some(answered) = responder.and_then(parse::responder_event) {
        if type_key(answered) != type_key(&event) {
            errors.add_spanned(
                answered,
                format!(
                    "a solver answers the event it solves: write `Responder<{}>`",
                    type_key(&event).replace(' ', "")
                ),
            );
            ok = false;
        }
    }
    if args.direction == Direction::Res && !params.contains(&Param::Answer) {
        errors.add(
            sig.ident.span(),
            "a #[solve(res)] solver takes the request and its answer: \
             `async fn done(&mut self, event: MyRequest, answer: Result<MyResponse, Failure>)`",
        );
        ok = false;
    }
    ok.then(|| Solver {
        function: sig.ident.clone(),
        direction: args.direction,
        priority: args.priority.map_or(0, |(priority, _)| priority),
        event,
        params,
        is_async: sig.asyncness.is_some(),
        mode,
        timeout: args.timeout.map(|(nanos, _)| nanos),
        returns: parse::returns(sig),
        index,
    })
}

/// `priority` belongs to priority queues.
fn check_priority(args: &SolveArgs, queue: Queue, errors: &mut Errors) -> bool {
    match args.priority {
        Some((_, span)) if queue == Queue::Fifo => {
            errors.add(
                span,
                "`priority` needs a priority queue: write #[manager(queue = \"priority\")] on the impl block",
            );
            false
        }
        _ => true,
    }
}

/// Whether `solver` is the first of its event and direction; reports it when it is not.
fn is_new(solvers: &[Solver], solver: &Solver, errors: &mut Errors) -> bool {
    let key = type_key(&solver.event);
    let Some(first) = solvers
        .iter()
        .find(|s| s.direction == solver.direction && type_key(&s.event) == key)
    else {
        return true;
    };
    let direction = match solver.direction {
        Direction::Req => "req",
        Direction::Res => "res",
    };
    errors.add_spanned(
        &solver.event,
        format!(
            "`{}` already has a #[solve({direction})] solver in this manager: `{}`; one manager solves an event once per direction",
            key.replace(' ', ""),
            first.function
        ),
    );
    false
}

/// Checks a lifecycle hook: `async fn name(&mut self)`, optionally with `ctx: &Context`.
fn hook(sig: &Signature, errors: &mut Errors) -> Option<Hook> {
    let name = &sig.ident;
    let usage = format!(
        "write it as `async fn {name}(&mut self, ctx: &Context)` (the `ctx` parameter is optional)"
    );
    if sig.asyncness.is_none() {
        errors.add(
            name.span(),
            format!("the lifecycle hook `{name}` must be async: {usage}"),
        );
        return None;
    }
    if sig
        .receiver()
        .is_none_or(|receiver| receiver.reference.is_none())
    {
        errors.add(
            name.span(),
            format!("the lifecycle hook `{name}` borrows the manager: {usage}"),
        );
        return None;
    }
    let typed: Vec<_> = parse::params(sig).collect();
    let takes_context = typed
        .first()
        .is_some_and(|(_, written)| *written == Written::Context);
    let unexpected: Vec<_> = typed[usize::from(takes_context)..]
        .iter()
        .map(|(typed, _)| typed)
        .collect();
    if !unexpected.is_empty() {
        // Point at the parameters that do not belong, from the first to the last.
        errors.add_spanned(
            quote!(#(#unexpected)*),
            format!("unexpected parameters on `{name}`: {usage}"),
        );
        return None;
    }
    Some(Hook {
        function: name.clone(),
        takes_context,
    })
}
