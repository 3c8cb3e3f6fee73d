//! `#[manager(...)]`: parse the impl block and its `#[solve]` functions -> model -> validate ->
//! expand into an `edri::Manager` implementation.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{FnArg, ImplItem, ImplItemFn, ItemImpl, LitInt, LitStr, ReturnType, Type};

use crate::diagnostics::Errors;
use crate::solve::{self, Direction};

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
                    return Err(syn::Error::new(
                        queue.span(),
                        format!("unknown queue `{other}`; expected \"fifo\" or \"priority\""),
                    ))
                }
            };
        } else if path.is_ident("capacity") || path.is_ident("max_workers") {
            let value: LitInt = meta.value()?.parse()?;
            let number = value.base10_parse::<usize>()?;
            if number == 0 {
                return Err(syn::Error::new(value.span(), "must be at least 1"));
            }
            if path.is_ident("capacity") {
                parsed.capacity = Some(number);
            } else {
                parsed.max_workers = Some(number);
            }
        } else if path.is_ident("name") {
            let name: LitStr = meta.value()?.parse()?;
            if name.value().trim().is_empty() {
                return Err(syn::Error::new(
                    name.span(),
                    "a manager name cannot be empty",
                ));
            }
            parsed.name = Some(name.value());
        } else {
            return Err(meta.error(format!(
                "unknown #[manager] argument `{}`; expected `queue = \"fifo\" | \"priority\"`, `capacity = N`, \
                 `max_workers = N` or `name = \"...\"`",
                path.to_token_stream()
            )));
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
}

struct Solver {
    function: syn::Ident,
    direction: Direction,
    priority: i32,
    event: Type,
    params: Vec<Param>,
    is_async: bool,
    returns: Span,
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
        errors.add(path.span(), "#[manager] goes on an inherent impl block (`impl MyManager { ... }`), not on a trait impl");
    }
    if !item.generics.params.is_empty() {
        errors.add(
            item.generics.span(),
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
            errors.add(extra.span(), "a function has one #[solve] attribute");
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
                    check_duplicate(&solvers, &solver, &mut errors);
                    solvers.push(solver);
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

    if let Err(error) = errors.into_result() {
        let error = error.to_compile_error();
        return quote!(#item #error);
    }
    let implementation = expand_manager(&item.self_ty, &args, &solvers, after_start, before_stop);
    quote! {
        #item
        #implementation
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
    let sig = &function.sig;
    let mut ok = true;
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
    if let Some((_, span)) = args.priority {
        if queue == Queue::Fifo {
            errors.add(
                span,
                "`priority` needs a priority queue: write #[manager(queue = \"priority\")] on the impl block",
            );
            ok = false;
        }
    }

    let mut event = None;
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
                    errors.add(ty.span(), "a #[solve(res)] solver receives an answer; it has nothing to answer with a Responder");
                    ok = false;
                }
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
                errors.add(
                    ty.span(),
                    "unexpected solver parameter: a solver takes the event, then optionally `ctx: &Context` and \
                     (for requests) `reply: Responder<Event>`",
                );
                ok = false;
                continue;
            }
        };
        if param != Param::Event && param != Param::Answer && params.contains(&param) {
            errors.add(ty.span(), "this parameter appears twice");
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
    if args.direction == Direction::Res && !params.contains(&Param::Answer) {
        errors.add(
            sig.ident.span(),
            "a #[solve(res)] solver takes the request and its answer: \
             `async fn done(&mut self, event: MyRequest, answer: Result<MyResponse, Failure>)`",
        );
        ok = false;
    }
    let returns = match &sig.output {
        ReturnType::Default => sig.ident.span(),
        ReturnType::Type(_, ty) => ty.span(),
    };
    ok.then(|| Solver {
        function: sig.ident.clone(),
        direction: args.direction,
        priority: args.priority.map_or(0, |(priority, _)| priority),
        event,
        params,
        is_async: sig.asyncness.is_some(),
        returns,
        index,
    })
}

fn type_key(ty: &Type) -> String {
    ty.to_token_stream().to_string()
}

fn check_duplicate(solvers: &[Solver], solver: &Solver, errors: &mut Errors) {
    let key = type_key(&solver.event);
    if let Some(first) = solvers
        .iter()
        .find(|s| s.direction == solver.direction && type_key(&s.event) == key)
    {
        let direction = match solver.direction {
            Direction::Req => "req",
            Direction::Res => "res",
        };
        errors.add(
            solver.event.span(),
            format!(
                "`{}` already has a #[solve({direction})] solver in this manager: `{}`; one manager solves an event once per direction",
                key.replace(' ', ""),
                first.function
            ),
        );
    }
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
    let typed: Vec<_> = sig
        .inputs
        .iter()
        .filter(|input| matches!(input, FnArg::Typed(_)))
        .collect();
    let takes_context = match typed.as_slice() {
        [] => false,
        [FnArg::Typed(typed)] if matches!(&*typed.ty, Type::Reference(r) if last_segment_is(&r.elem, "Context")) => {
            true
        }
        _ => {
            errors.add(
                sig.inputs.span(),
                format!("unexpected parameters on `{name}`: {usage}"),
            );
            return None;
        }
    };
    Some(Hook {
        function: name.clone(),
        takes_context,
    })
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
        let event_name = quote_spanned!(event.span()=> <#event as ::edri::Event>::NAME);
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
            }
        }
    });

    let call = |solver: &Solver| {
        let function = &solver.function;
        let event = &solver.event;
        let arguments = solver.params.iter().map(|param| match param {
            Param::Event => quote!(event),
            Param::Answer => quote!(answer),
            Param::Context => quote!(ctx),
            Param::Responder => quote_spanned!(event.span()=> reply.responder::<#event>()),
        });
        let awaiting = solver.is_async.then(|| quote!(.await));
        quote!(self.#function(#(#arguments),*) #awaiting)
    };

    let request_arms = solvers.iter().filter(|s| s.direction == Direction::Req).map(|solver| {
        let Solver { event, index, returns, .. } = solver;
        let call = call(solver);
        let finish = if solver.params.contains(&Param::Responder) {
            quote_spanned!(*returns=> ::edri::Finish::outcome(returned, #name, <#event as ::edri::Event>::NAME))
        } else {
            quote_spanned!(*returns=> ::edri::__private::finish::<#event, _>(returned, reply, #name))
        };
        let take = quote_spanned!(event.span()=> ::edri::__private::take_event::<#event>(delivery));
        quote! {
            #index => {
                let ::core::option::Option::Some(event) = #take else {
                    return ::edri::__private::misrouted(#name, event_name);
                };
                let returned = #call;
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
            let take =
                quote_spanned!(event.span()=> ::edri::__private::take_answer::<#event>(delivery));
            let finish =
                quote_spanned!(*returns=> ::edri::Finish::outcome(returned, #name, event_name));
            quote! {
                #index => {
                    let ::core::option::Option::Some((event, answer)) = #take else {
                        return ::edri::__private::misrouted(#name, event_name);
                    };
                    let returned = #call;
                    #finish
                }
            }
        });

    let hook = |hook: Option<Hook>, trait_fn: &str| {
        let hook = hook?;
        let trait_fn = syn::Ident::new(trait_fn, Span::call_site());
        let function = &hook.function;
        let call = if hook.takes_context {
            quote!(Self::#function(self, ctx).await)
        } else {
            quote!(Self::#function(self).await)
        };
        Some(quote! {
            fn #trait_fn<'a>(
                &'a mut self,
                ctx: &'a ::edri::Context,
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

    quote! {
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
                delivery: ::edri::__private::Delivery,
                reply: &'a mut ::edri::__private::ReplySlot,
                ctx: &'a ::edri::Context,
            ) -> impl ::core::future::Future<Output = ::edri::__private::Outcome> + ::core::marker::Send + 'a {
                async move {
                    let event_name = delivery.event_name();
                    match delivery.solver() {
                        #(#request_arms)*
                        _ => ::edri::__private::misrouted(#name, event_name),
                    }
                }
            }

            fn dispatch_answer<'a>(
                &'a mut self,
                delivery: ::edri::__private::AnswerDelivery,
                ctx: &'a ::edri::Context,
            ) -> impl ::core::future::Future<Output = ::edri::__private::Outcome> + ::core::marker::Send + 'a {
                async move {
                    let event_name = delivery.event_name();
                    match delivery.solver() {
                        #(#answer_arms)*
                        _ => ::edri::__private::misrouted(#name, event_name),
                    }
                }
            }

            #after_start
            #before_stop
        }
    }
}
