//! `#[manager(...)]`: parse the impl block and its `#[solve]` functions -> model -> validate ->
//! expand into an `edri::Manager` implementation.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitInt, LitStr, ReturnType, Type};

use crate::diagnostics::{skip_value, span_range, Errors};
use crate::solve::{self, Direction, Mode};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Queue {
    Fifo,
    Priority,
}

struct Args {
    queue: Queue,
    capacity: Option<usize>,
    max_workers: Option<usize>,
    name: Option<String>,
}

fn parse_args(args: TokenStream, errors: &mut Errors) -> Args {
    let mut parsed = Args {
        queue: Queue::Fifo,
        capacity: None,
        max_workers: None,
        name: None,
    };
    let parser = syn::meta::parser(|meta| {
        let path = &meta.path;
        if path.is_ident("queue") {
            let queue: LitStr = meta.value()?.parse()?;
            parsed.queue = match queue.value().as_str() {
                "fifo" => Queue::Fifo,
                "priority" => Queue::Priority,
                other => {
                    errors.add(
                        queue.span(),
                        format!("unknown queue `{other}`; expected \"fifo\" or \"priority\""),
                    );
                    parsed.queue
                }
            };
        } else if path.is_ident("capacity") || path.is_ident("max_workers") {
            let value: LitInt = meta.value()?.parse()?;
            let number = value.base10_parse::<usize>()?;
            if number == 0 {
                errors.add(
                    value.span(),
                    format!("`{}` must be at least 1", path.to_token_stream()),
                );
                return Ok(());
            }
            if path.is_ident("capacity") {
                parsed.capacity = Some(number);
            } else {
                parsed.max_workers = Some(number);
            }
        } else if path.is_ident("name") {
            let name: LitStr = meta.value()?.parse()?;
            if name.value().trim().is_empty() {
                errors.add(name.span(), "a manager name cannot be empty");
            } else {
                parsed.name = Some(name.value());
            }
        } else {
            // Reported and skipped: the other arguments (the queue above all) still count.
            errors.push(meta.error(format!(
                "unknown #[manager] argument `{}`; expected `queue = \"fifo\" | \"priority\"`, `capacity = N`, \
                 `max_workers = N` or `name = \"...\"`",
                path.to_token_stream().to_string().replace(' ', "")
            )));
            skip_value(&meta)?;
        }
        Ok(())
    });
    if let Err(error) = syn::parse::Parser::parse2(parser, args) {
        errors.push(error);
    }
    parsed
}

/// What a solver parameter is, in the order the user wrote them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Param {
    Event,
    Answer,
    Context,
    Responder,
    Worker,
}

struct Solver {
    function: syn::Ident,
    direction: Direction,
    priority: i32,
    event: Type,
    params: Vec<Param>,
    is_async: bool,
    mode: Mode,
    /// Nanoseconds, for thread and process solvers.
    timeout: Option<u64>,
    /// The first and last token of the return type (the name when there is none), so errors
    /// about it cover it whole.
    returns: (Span, Span),
    index: u16,
}

struct Hook {
    function: syn::Ident,
    takes_context: bool,
}

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut item: ItemImpl = match syn::parse2(input.clone()) {
        Ok(item) => item,
        Err(_) => {
            let error = syn::Error::new(
                Span::call_site(),
                "#[manager] goes on an impl block: `#[manager] impl MyManager { ... }`",
            )
            .to_compile_error();
            return quote!(#error #input);
        }
    };
    let mut errors = Errors::default();
    let args = parse_args(args, &mut errors);
    if let Some((_, path, _)) = &item.trait_ {
        errors.add_spanned(path, "#[manager] goes on an inherent impl block (`impl MyManager { ... }`), not on a trait impl");
    }
    if !item.generics.params.is_empty() {
        errors.add_spanned(
            &item.generics,
            "#[manager] does not support generic impl blocks",
        );
    }

    let mut solvers: Vec<Solver> = Vec::new();
    let mut after_start = None;
    let mut before_stop = None;
    for impl_item in &mut item.items {
        let ImplItem::Fn(function) = impl_item else {
            continue;
        };
        let (solve_attrs, others): (Vec<_>, Vec<_>) = std::mem::take(&mut function.attrs)
            .into_iter()
            .partition(|attr| {
                attr.path()
                    .segments
                    .last()
                    .is_some_and(|segment| segment.ident == "solve")
            });
        function.attrs = others;
        if let Some(extra) = solve_attrs.get(1) {
            errors.add_spanned(extra, "a function has one #[solve] attribute");
        }
        match solve_attrs.first() {
            Some(attr) => {
                let Some(solve_args) = solve::parse(attr, &mut errors) else {
                    continue;
                };
                let index = solvers
                    .iter()
                    .filter(|s| s.direction == solve_args.direction)
                    .count() as u16;
                if let Some(solver) =
                    build_solver(function, solve_args, args.queue, index, &mut errors)
                {
                    if is_new(&solvers, &solver, &mut errors) {
                        solvers.push(solver);
                    }
                }
            }
            None if function.sig.ident == "after_start" => {
                after_start = build_hook(function, &mut errors)
            }
            None if function.sig.ident == "before_stop" => {
                before_stop = build_hook(function, &mut errors)
            }
            None => {}
        }
    }

    // The `Manager` implementation is emitted even beside errors, with the solvers that are
    // right, so a mistake in one solver does not also make the type "not an edri manager".
    let implementation = (item.trait_.is_none() && item.generics.params.is_empty())
        .then(|| expand_manager(&item.self_ty, &args, &solvers, after_start, before_stop));
    let errors = errors.to_compile_errors();
    quote! {
        #item
        #implementation
        #errors
    }
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == name),
        _ => false,
    }
}

fn build_solver(
    function: &ImplItemFn,
    args: solve::SolveArgs,
    queue: Queue,
    index: u16,
    errors: &mut Errors,
) -> Option<Solver> {
    if args.mode.0 != Mode::Function {
        return build_worker_solver(function, args, queue, index, errors);
    }
    let sig = &function.sig;
    let mut ok = true;
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
    ok &= check_priority(&args, queue, errors);

    let mut event = None;
    let mut responder = None;
    let mut params = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        let ty = &*typed.ty;
        let param = match ty {
            Type::Reference(reference) if last_segment_is(&reference.elem, "Context") => {
                Param::Context
            }
            _ if last_segment_is(ty, "Responder") => {
                if args.direction == Direction::Res {
                    errors.add_spanned(ty, "a #[solve(res)] solver receives an answer; it has nothing to answer with a Responder");
                    ok = false;
                }
                responder = Some(ty);
                Param::Responder
            }
            _ if event.is_none() => {
                event = Some(ty.clone());
                Param::Event
            }
            _ if args.direction == Direction::Res && !params.contains(&Param::Answer) => {
                Param::Answer
            }
            _ => {
                errors.add_spanned(
                    typed,
                    "unexpected solver parameter: a solver takes the event, then optionally `ctx: &Context` and \
                     (for requests) `reply: Responder<Event>`",
                );
                ok = false;
                continue;
            }
        };
        if param != Param::Event && param != Param::Answer && params.contains(&param) {
            let what = if param == Param::Context {
                "`ctx: &Context`"
            } else {
                "`Responder`"
            };
            errors.add_spanned(
                typed,
                format!("a solver takes one {what}; this is a second one"),
            );
            ok = false;
        }
        params.push(param);
    }
    let Some(event) = event else {
        errors.add(
            sig.ident.span(),
            "a solver needs the event as its first parameter after `self`, as in `async fn greet(&mut self, event: Greet)`",
        );
        return None;
    };
    if let Some(answered) = responder.and_then(responder_event) {
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
    let returns = match &sig.output {
        ReturnType::Default => (sig.ident.span(), sig.ident.span()),
        ReturnType::Type(_, ty) => span_range(ty),
    };
    ok.then(|| Solver {
        function: sig.ident.clone(),
        direction: args.direction,
        priority: args.priority.map_or(0, |(priority, _)| priority),
        event,
        params,
        is_async: sig.asyncness.is_some(),
        mode: Mode::Function,
        timeout: None,
        returns,
        index,
    })
}

fn check_priority(args: &solve::SolveArgs, queue: Queue, errors: &mut Errors) -> bool {
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

/// A `mode = "thread"` or `mode = "process"` solver: a plain `fn` without `self`, taking the
/// event by value and optionally `worker: &mut Worker`.
fn build_worker_solver(
    function: &ImplItemFn,
    args: solve::SolveArgs,
    queue: Queue,
    index: u16,
    errors: &mut Errors,
) -> Option<Solver> {
    let sig = &function.sig;
    let (mode, mode_span) = args.mode;
    let name = mode.as_str();
    let (place, to) = if mode == Mode::Thread {
        ("on an OS thread", "to an OS thread")
    } else {
        ("in a child process", "to a child process")
    };
    if args.direction == Direction::Res {
        // Its parameters are those of a function solver (`self`, the answer): checking them
        // against a worker solver's would only repeat this one mistake.
        errors.add(
            mode_span,
            "#[solve(res)] handles an answer inside its manager: it runs as mode = \"function\"",
        );
        return None;
    }
    let mut ok = check_priority(&args, queue, errors);
    if let Some(asyncness) = sig.asyncness {
        errors.add(
            asyncness.span,
            format!("a {name} solver is a plain `fn`: it runs {place}, outside the async runtime"),
        );
        ok = false;
    }
    let mut event = None;
    let mut params = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else { continue };
        let ty = &*typed.ty;
        let param = match ty {
            Type::Reference(reference) if last_segment_is(&reference.elem, "Worker") => {
                Param::Worker
            }
            Type::Reference(reference) if last_segment_is(&reference.elem, "Context") => {
                errors.add_spanned(
                    typed,
                    format!("a {name} solver talks to the system through `worker: &mut Worker`; it has no `ctx`"),
                );
                ok = false;
                continue;
            }
            _ if last_segment_is(ty, "Responder") => {
                errors.add_spanned(
                    typed,
                    format!(
                        "a {name} solver answers by returning the response; it has no `Responder`"
                    ),
                );
                ok = false;
                continue;
            }
            Type::Reference(_) if event.is_none() => {
                errors.add_spanned(
                    ty,
                    format!("a {name} solver owns its event, which moves {to}: take it by value (`event: MyEvent`), not by reference"),
                );
                event = Some(ty.clone());
                ok = false;
                Param::Event
            }
            _ if event.is_none() => {
                event = Some(ty.clone());
                Param::Event
            }
            _ => {
                errors.add_spanned(
                    typed,
                    format!("unexpected parameter: a {name} solver takes the event, then optionally `worker: &mut Worker`"),
                );
                ok = false;
                continue;
            }
        };
        if param == Param::Worker && params.contains(&Param::Worker) {
            errors.add_spanned(
                typed,
                "a solver takes one `worker: &mut Worker`; this is a second one",
            );
            ok = false;
        }
        params.push(param);
    }
    // Reported after the parameters are read, to show the signature with the user's event.
    if let Some(receiver) = sig.receiver() {
        let event = event.as_ref().map_or_else(
            || "MyEvent".to_owned(),
            |event| type_key(event).replace(' ', ""),
        );
        errors.add_spanned(
            receiver,
            format!(
                "a {name} solver runs {place}, away from its manager, so it takes no `self`: \
                 write `fn {}(event: {event}, worker: &mut Worker)`",
                sig.ident
            ),
        );
        ok = false;
    }
    let Some(event) = event else {
        errors.add(
            sig.ident.span(),
            format!(
                "a solver needs the event as its first parameter, as in `fn {}(event: MyEvent, worker: &mut Worker)`",
                sig.ident
            ),
        );
        return None;
    };
    let returns = match &sig.output {
        ReturnType::Default => (sig.ident.span(), sig.ident.span()),
        ReturnType::Type(_, ty) => span_range(ty),
    };
    ok.then(|| Solver {
        function: sig.ident.clone(),
        direction: args.direction,
        priority: args.priority.map_or(0, |(priority, _)| priority),
        event,
        params,
        is_async: false,
        mode,
        timeout: args.timeout.map(|(nanos, _)| nanos),
        returns,
        index,
    })
}

/// `path function(arguments)` ending at `last`, with `path` spanned by the caller at the first
/// token of the return type: rustc reports an unsatisfied bound of the call over that whole
/// range, not over the first token of the return type only.
fn finish_call(
    last: Span,
    path: TokenStream,
    function: &str,
    arguments: TokenStream,
) -> TokenStream {
    let function = syn::Ident::new(function, last);
    let call = quote_spanned!(last=> #function(#arguments));
    quote!(#path #call)
}

/// `E` in `Responder<E>`.
fn responder_event(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let syn::PathArguments::AngleBracketed(arguments) = &path.path.segments.last()?.arguments
    else {
        return None;
    };
    match arguments.args.first()? {
        syn::GenericArgument::Type(event) => Some(event),
        _ => None,
    }
}

fn type_key(ty: &Type) -> String {
    ty.to_token_stream().to_string()
}

/// Whether `solver` is the first of its event and direction; reports it when it is not.
fn is_new(solvers: &[Solver], solver: &Solver, errors: &mut Errors) -> bool {
    let key = type_key(&solver.event);
    if let Some(first) = solvers
        .iter()
        .find(|s| s.direction == solver.direction && type_key(&s.event) == key)
    {
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
        return false;
    }
    true
}

fn build_hook(function: &ImplItemFn, errors: &mut Errors) -> Option<Hook> {
    let sig = &function.sig;
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
    match sig.receiver() {
        Some(receiver) if receiver.reference.is_some() => {}
        _ => {
            errors.add(
                name.span(),
                format!("the lifecycle hook `{name}` borrows the manager: {usage}"),
            );
            return None;
        }
    }
    let is_context = |input: &FnArg| {
        matches!(input, FnArg::Typed(typed)
            if matches!(&*typed.ty, Type::Reference(r) if last_segment_is(&r.elem, "Context")))
    };
    let typed: Vec<&FnArg> = sig
        .inputs
        .iter()
        .filter(|input| matches!(input, FnArg::Typed(_)))
        .collect();
    let takes_context = typed.first().is_some_and(|input| is_context(input));
    let unexpected = &typed[usize::from(takes_context)..];
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

/// The name a process solver is found by in the child: the same executable, so the same
/// module path.
fn process_key(self_ty: &Type, function: &syn::Ident) -> TokenStream {
    let name = format!("::{}::{}", self_name(self_ty), function);
    quote!(::core::concat!(::core::module_path!(), #name))
}

fn self_name(self_ty: &Type) -> String {
    match self_ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(|| type_key(self_ty), |segment| segment.ident.to_string()),
        _ => type_key(self_ty),
    }
}

/// A statement that compiles only for the event types this solver accepts (any event for
/// `req`, requests for `res`). The generated code puts it, identical and spanned at the event
/// parameter, before every other use of the event type in each function body, so a wrong type
/// gives one error with edri's message: rustc drops the errors implied by one already reported at
/// the same span, and prints identical errors once.
fn event_check(solver: &Solver) -> TokenStream {
    let event = &solver.event;
    match solver.direction {
        Direction::Req => {
            quote_spanned!(event.span()=> ::edri::__private::assert_event::<#event>();)
        }
        Direction::Res => {
            quote_spanned!(event.span()=> let _ = ::edri::__private::take_answer::<#event>;)
        }
    }
}

/// A local trait that picks the first type of a pair, for `event_type`.
fn event_type_helper() -> TokenStream {
    quote! {
        trait __EdriEventType {
            type This;
        }
        impl<E, K> __EdriEventType for (E, K) {
            type This = E;
        }
    }
}

/// The event type `E` as the generic argument of a call whose bounds also tie it to the solver's
/// return type (`T: Returns<E::Kind>`), written `<(E, <E as Event>::Kind) as __EdriEventType>::This`
/// and spanned over `E`. With plain `E`, rustc reports a type that is not an event a second time,
/// at the call (spanned at the return type); through this projection, every unsatisfied
/// `E: Event` lands on `E`'s own span, where `event_check`, earlier in the same body, already
/// reported it, and rustc drops it there. (Found by trial on rustc 1.95; pinned by the
/// `*_solver_event_is_not_an_event` trybuild cases.)
fn event_type(event: &Type) -> TokenStream {
    let (first, last) = span_range(event);
    // Each type written here covers the event type whole, as `check`'s error does.
    let kind = {
        let open = quote_spanned!(first=> <);
        let rest = quote_spanned!(last=> as ::edri::Event>::Kind);
        quote!(#open #event #rest)
    };
    let mut pair = proc_macro2::Group::new(
        proc_macro2::Delimiter::Parenthesis,
        quote_spanned!(first=> #event, #kind),
    );
    pair.set_span(first);
    let open = quote_spanned!(first=> <);
    let rest = quote_spanned!(last=> as __EdriEventType>::This);
    quote!(#open #pair #rest)
}

fn expand_manager(
    self_ty: &Type,
    args: &Args,
    solvers: &[Solver],
    after_start: Option<Hook>,
    before_stop: Option<Hook>,
) -> TokenStream {
    let name = args.name.clone().unwrap_or_else(|| self_name(self_ty));
    let queue = match args.queue {
        Queue::Fifo => quote!(Fifo),
        Queue::Priority => quote!(Priority),
    };
    let option = |value: Option<usize>| match value {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let capacity = option(args.capacity);
    let max_workers = option(args.max_workers);

    let infos = solvers.iter().map(|solver| {
        let Solver { function, direction, priority, event, index, .. } = solver;
        let direction = match direction {
            Direction::Req => quote!(Req),
            Direction::Res => quote!(Res),
        };
        let event_type = type_key(event).replace(' ', "");
        let function_name = function.to_string();
        let location = quote_spanned!(function.span()=> ::core::concat!(::core::file!(), ":", ::core::line!()));
        let check = event_check(solver);
        let event_name = quote_spanned!(event.span()=> { #check <#event as ::edri::Event>::NAME });
        let process = match solver.mode {
            Mode::Process => {
                let key = process_key(self_ty, function);
                quote!(::core::option::Option::Some(#key))
            }
            _ => quote!(::core::option::Option::None),
        };
        quote! {
            ::edri::__private::SolverInfo {
                event: ::core::any::TypeId::of::<#event>,
                event_name: #event_name,
                event_type: #event_type,
                direction: ::edri::__private::Direction::#direction,
                index: #index,
                priority: #priority,
                function: #function_name,
                location: #location,
                process: #process,
            }
        }
    });

    // The generated locals are prefixed: an item in scope (a `const ctx`, a unit struct
    // `event`) would turn a plain name into a pattern, hygiene or not. `at` gives a local a user
    // span, for error messages; call-site and user spans resolve alike.
    let local = |name: &str| format_ident!("__edri_{}", name);
    let at = |name: &str, span: Span| format_ident!("__edri_{}", name, span = span);
    // The delivery is named at the event type for error messages, but with the call site's
    // hygiene: a type that came through a `macro_rules!` fragment must not hide the binding.
    let delivery_at =
        |span: Span| format_ident!("__edri_delivery", span = Span::call_site().located_at(span));
    let (delivery, reply, ctx, event_var, answer, event_name, worker_var) = (
        local("delivery"),
        local("reply"),
        local("ctx"),
        local("event"),
        local("answer"),
        local("event_name"),
        local("worker"),
    );
    let worker_arguments = |solver: &Solver| {
        let arguments = solver.params.iter().map(|param| match param {
            Param::Worker => worker_var.to_token_stream(),
            _ => event_var.to_token_stream(),
        });
        quote!(#(#arguments),*)
    };
    let timeout_of = |solver: &Solver| match solver.timeout {
        Some(nanos) => {
            quote!(::core::option::Option::Some(::core::time::Duration::from_nanos(#nanos)))
        }
        None => quote!(::core::option::Option::None),
    };

    let call = |solver: &Solver| {
        let function = &solver.function;
        let event = &solver.event;
        let arguments = solver.params.iter().map(|param| match param {
            Param::Event => event_var.to_token_stream(),
            Param::Answer => answer.to_token_stream(),
            Param::Context => ctx.to_token_stream(),
            Param::Worker => worker_var.to_token_stream(),
            Param::Responder => {
                let reply = at("reply", event.span());
                quote_spanned!(event.span()=> #reply.responder::<#event>())
            }
        });
        let awaiting = solver.is_async.then(|| quote!(.await));
        quote!(self.#function(#(#arguments),*) #awaiting)
    };

    let request_arms = solvers
        .iter()
        .filter(|s| s.direction == Direction::Req)
        .map(|solver| {
            let Solver {
                event,
                index,
                returns,
                ..
            } = solver;
            let call = call(solver);
            let check = event_check(solver);
            let returned = at("returned", returns.0);
            let taken = delivery_at(event.span());
            // Every use of the event type is spanned at it, after `check`: a type that is not an
            // event then gives one error (the others are implied by it), not one per use.
            let kind = quote_spanned!(event.span()=> <#event as ::edri::Event>::Kind);
            let function = &solver.function;
            let arguments = worker_arguments(solver);
            let timeout = timeout_of(solver);
            let finish = if solver.mode == Mode::Thread {
                // The solver's return type is checked by this call: spanned at it. Its event
                // type is written through `event_type`, so that a type that is not an event,
                // already reported by `check`, is not reported again by this call.
                let helper = event_type_helper();
                let event_type = event_type(event);
                let path = quote_spanned!(returns.0=> ::edri::__private::solve_in_thread::<#event_type, _, _>);
                let call = quote_spanned!(returns.1=> (
                    #ctx,
                    #reply,
                    #event_var,
                    #timeout,
                    move |#event_var: #event, #worker_var: &mut ::edri::Worker| Self::#function(#arguments),
                ));
                quote! {
                    #helper
                    #path #call
                }
            } else if solver.mode == Mode::Process {
                let key = process_key(self_ty, function);
                quote!(::edri::__private::solve_in_process::<#event>(#ctx, #reply, #event_var, #key, #timeout))
            } else if solver.params.contains(&Param::Responder) {
                let finish = finish_call(
                    returns.1,
                    quote_spanned!(returns.0=> ::edri::Finish::),
                    "outcome",
                    quote!(#returned, #name, #event_name),
                );
                quote!(let #returned = #call; #finish)
            } else {
                let reply = at("reply", returns.0);
                let finish = finish_call(
                    returns.1,
                    quote_spanned!(returns.0=> ::edri::__private::Returns::<#kind>::),
                    "finish",
                    quote!(#returned, #reply, #name, #event_name),
                );
                quote!(let #returned = #call; #finish)
            };
            let take =
                quote_spanned!(event.span()=> ::edri::__private::take_event::<#event>(#taken));
            quote! {
                #index => {
                    #check
                    let ::core::option::Option::Some(#event_var) = #take else {
                        return ::edri::__private::misrouted(#name, #event_name);
                    };
                    #finish
                }
            }
        });

    let answer_arms = solvers
        .iter()
        .filter(|s| s.direction == Direction::Res)
        .map(|solver| {
            let Solver {
                event,
                index,
                returns,
                ..
            } = solver;
            let call = call(solver);
            let check = event_check(solver);
            let returned = at("returned", returns.0);
            let taken = delivery_at(event.span());
            let take =
                quote_spanned!(event.span()=> ::edri::__private::take_answer::<#event>(#taken));
            let finish = finish_call(
                returns.1,
                quote_spanned!(returns.0=> ::edri::Finish::),
                "outcome",
                quote!(#returned, #name, #event_name),
            );
            quote! {
                #index => {
                    #check
                    let ::core::option::Option::Some((#event_var, #answer)) = #take else {
                        return ::edri::__private::misrouted(#name, #event_name);
                    };
                    let #returned = #call;
                    #finish
                }
            }
        });

    let hook = |hook: Option<Hook>, trait_fn: &str| {
        let hook = hook?;
        let trait_fn = syn::Ident::new(trait_fn, Span::call_site());
        let function = &hook.function;
        let call = if hook.takes_context {
            quote!(Self::#function(self, #ctx).await)
        } else {
            quote!(Self::#function(self).await)
        };
        Some(quote! {
            fn #trait_fn<'a>(
                &'a mut self,
                #ctx: &'a ::edri::Context,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send + 'a {
                async move { #call }
            }
        })
    };
    let after_start = hook(after_start, "after_start");
    let before_stop = hook(before_stop, "before_stop");
    let default_hooks = quote! {
        fn after_start<'a>(&'a mut self, _: &'a ::edri::Context) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send + 'a {
            async {}
        }
    };
    let after_start = after_start.unwrap_or(default_hooks.clone());
    let before_stop = before_stop.unwrap_or_else(|| {
        quote! {
            fn before_stop<'a>(&'a mut self, _: &'a ::edri::Context) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send + 'a {
                async {}
            }
        }
    });

    let process_solvers = solvers.iter().filter(|s| s.mode == Mode::Process).map(|solver| {
        let Solver { function, event, returns, .. } = solver;
        let key = process_key(self_ty, function);
        let arguments = worker_arguments(solver);
        let static_name = format_ident!(
            "__EDRI_PROCESS_SOLVER_{}_{}",
            self_name(self_ty).to_uppercase(),
            function.to_string().to_uppercase()
        );
        let bytes = local("bytes");
        // The solver's return type is checked by this call: spanned at it. Its event type goes
        // through `event_type`, after `check`: a parameter that is not an event gives one
        // error (identical to the one of the manager's dispatch, so printed once).
        let helper = event_type_helper();
        let check = event_check(solver);
        let event_type = event_type(event);
        let path = quote_spanned!(returns.0=> ::edri::__private::run_process_solver::<#event_type, _>);
        let call = quote_spanned!(returns.1=> (
            #bytes,
            #worker_var,
            |#event_var: #event, #worker_var: &mut ::edri::Worker| <#self_ty>::#function(#arguments),
        ));
        quote! {
            #[::edri::__private::linkme::distributed_slice(::edri::__private::PROCESS_SOLVERS)]
            #[linkme(crate = ::edri::__private::linkme)]
            #[doc(hidden)]
            #[allow(unused_variables)]
            static #static_name: ::edri::__private::ProcessSolver = ::edri::__private::ProcessSolver {
                key: #key,
                run: |#bytes, #worker_var| {
                    #helper
                    #check
                    #path #call
                },
            };
        }
    });

    quote! {
        #(#process_solvers)*

        #[allow(unused_variables, unreachable_code, clippy::let_unit_value, clippy::unit_arg)]
        impl ::edri::Manager for #self_ty {
            fn descriptor() -> &'static ::edri::__private::ManagerDescriptor {
                static DESCRIPTOR: ::edri::__private::ManagerDescriptor = ::edri::__private::ManagerDescriptor {
                    name: #name,
                    queue: ::edri::__private::QueueKind::#queue,
                    capacity: #capacity,
                    max_workers: #max_workers,
                    solvers: &[#(#infos),*],
                };
                &DESCRIPTOR
            }

            fn dispatch<'a>(
                &'a mut self,
                #delivery: ::edri::__private::Delivery,
                #reply: &'a mut ::edri::__private::ReplySlot,
                #ctx: &'a ::edri::Context,
            ) -> impl ::core::future::Future<Output = ::edri::__private::Outcome> + ::core::marker::Send + 'a {
                async move {
                    let #event_name = #delivery.event_name();
                    match #delivery.solver() {
                        #(#request_arms)*
                        _ => ::edri::__private::misrouted(#name, #event_name),
                    }
                }
            }

            fn dispatch_answer<'a>(
                &'a mut self,
                #delivery: ::edri::__private::AnswerDelivery,
                #ctx: &'a ::edri::Context,
            ) -> impl ::core::future::Future<Output = ::edri::__private::Outcome> + ::core::marker::Send + 'a {
                async move {
                    let #event_name = #delivery.event_name();
                    match #delivery.solver() {
                        #(#answer_arms)*
                        _ => ::edri::__private::misrouted(#name, #event_name),
                    }
                }
            }

            #after_start
            #before_stop
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::expand;

    fn expand_impl(args: proc_macro2::TokenStream, solver: proc_macro2::TokenStream) -> String {
        expand(
            args,
            quote! {
                impl Pinger {
                    #solver

                    #[solve(req)]
                    async fn fine(&mut self, event: Fine) {}
                }
            },
        )
        .to_string()
    }

    #[test]
    fn one_mistake_gives_one_error_and_keeps_the_manager() {
        for (args, solver) in [
            (
                quote!(),
                quote!(
                    #[solve]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "fiber")]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, retries = 3)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, priority = 1)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req)]
                    async fn a(self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req)]
                    async fn a(&mut self) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req)]
                    async fn a(&mut self, event: Fine) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(res)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    fn after_start(&mut self) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    async fn a(event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "process")]
                    fn a(event: &A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "process")]
                    fn a(event: A, ctx: &Context) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    fn a(event: A, reply: Responder<A>) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "thread")]
                    fn a(event: A, worker: &mut Worker, again: &mut Worker) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(res, mode = "process")]
                    fn a(event: A, answer: Result<(), Failure>) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, timeout = "30s")]
                    async fn a(&mut self, event: A) {}
                ),
            ),
            (
                quote!(),
                quote!(
                    #[solve(req, mode = "process", timeout = "soon")]
                    fn a(event: A) {}
                ),
            ),
            (
                quote!(workers = 4, queue = "priority"),
                quote!(
                    #[solve(req, priority = 1)]
                    async fn a(&mut self, event: A) {}
                ),
            ),
        ] {
            let expanded = expand_impl(args.clone(), solver.clone());
            assert_eq!(
                expanded.matches("compile_error").count(),
                1,
                "{args} {solver}"
            );
            assert!(
                expanded.contains("impl :: edri :: Manager for Pinger"),
                "{solver}"
            );
            assert!(!expanded.contains("# [solve"), "{solver}");
        }
    }

    #[test]
    fn a_trait_impl_gets_no_manager() {
        let expanded = expand(quote!(), quote!(impl Default for Pinger {})).to_string();
        assert_eq!(expanded.matches("compile_error").count(), 1);
        assert!(!expanded.contains("impl :: edri :: Manager"));
    }
}
