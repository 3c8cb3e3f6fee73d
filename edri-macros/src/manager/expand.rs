//! From the checked `Manager` to tokens: the `edri::Manager` implementation (descriptor,
//! dispatch tables, hooks) and the registration of each process solver.
//!
//! Every solver, whatever its mode and direction, is dispatched by one arm built by
//! [`Expander::arm`]; how the arm ends is the solver's [`Completion`]. Thread and process
//! solvers run their function through one closure, built by [`Expander::on_worker`].
//!
//! The generated code is declarations plus calls into `::edri::__private`. Spans matter: each
//! call whose bounds check the user's types is spanned at what the user wrote, so a mistake
//! gets edri's message at the offending token (see `event_check` and `event_type`).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, Type};

use super::model::{self_name, type_key, Completion, Hook, Manager, Param, Queue, Solver};
use crate::diagnostics::span_range;
use crate::solve::{Direction, Mode};

/// The whole expansion of a manager.
pub(super) fn manager(manager: &Manager) -> TokenStream {
    let expander = Expander::new(manager);
    let process_solvers = manager
        .solvers
        .iter()
        .filter(|solver| solver.mode == Mode::Process)
        .map(|solver| expander.process_registration(solver));
    let implementation = expander.implementation();
    quote! {
        #(#process_solvers)*
        #implementation
    }
}

/// The generated locals, prefixed: an item in scope (a `const ctx`, a unit struct `event`)
/// would turn a plain name into a pattern, hygiene or not.
struct Locals {
    delivery: Ident,
    reply: Ident,
    ctx: Ident,
    event: Ident,
    answer: Ident,
    event_name: Ident,
    worker: Ident,
}

struct Expander<'a> {
    manager: &'a Manager,
    /// The manager's name, in its descriptor and logs.
    name: String,
    locals: Locals,
}

/// A local at the call site.
fn local(name: &str) -> Ident {
    format_ident!("__edri_{}", name)
}

/// A local with a user's span, for error messages; call-site and user spans resolve alike.
fn local_at(name: &str, span: Span) -> Ident {
    format_ident!("__edri_{}", name, span = span)
}

impl<'a> Expander<'a> {
    fn new(manager: &'a Manager) -> Self {
        Self {
            manager,
            name: manager.name(),
            locals: Locals {
                delivery: local("delivery"),
                reply: local("reply"),
                ctx: local("ctx"),
                event: local("event"),
                answer: local("answer"),
                event_name: local("event_name"),
                worker: local("worker"),
            },
        }
    }

    /// `impl ::edri::Manager for T`.
    fn implementation(&self) -> TokenStream {
        let Manager { self_ty, args, .. } = self.manager;
        let Locals {
            delivery,
            reply,
            ctx,
            event_name,
            ..
        } = &self.locals;
        let name = &self.name;
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
        let solvers = &self.manager.solvers;
        let infos = solvers.iter().map(|solver| self.solver_info(solver));
        let arms = |direction| {
            solvers
                .iter()
                .filter(move |solver| solver.direction == direction)
                .map(|solver| self.arm(solver))
        };
        let (request_arms, answer_arms) = (arms(Direction::Req), arms(Direction::Res));
        let after_start = self.hook(self.manager.after_start.as_ref(), "after_start");
        let before_stop = self.hook(self.manager.before_stop.as_ref(), "before_stop");
        quote! {
            #[allow(unused_variables, unreachable_code, clippy::let_unit_value, clippy::unit_arg)]
            impl ::edri::Manager for #self_ty {
                fn descriptor() -> &'static ::edri::__private::ManagerDescriptor {
                    static DESCRIPTOR: ::edri::__private::ManagerDescriptor = ::edri::__private::ManagerDescriptor {
                        name: #name,
                        queue: ::edri::QueueKind::#queue,
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

    /// The `SolverInfo` of a solver, in the manager's descriptor.
    fn solver_info(&self, solver: &Solver) -> TokenStream {
        let Solver {
            function,
            direction,
            priority,
            event,
            index,
            ..
        } = solver;
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
                let key = self.process_key(function);
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
    }

    /// The arm of the solver's dispatch table (`dispatch` for `req`, `dispatch_answer` for
    /// `res`): take the typed delivery, then complete it as the solver's mode says.
    fn arm(&self, solver: &Solver) -> TokenStream {
        let Solver { event, index, .. } = solver;
        let Locals {
            event: event_var,
            answer,
            event_name,
            ..
        } = &self.locals;
        let name = &self.name;
        let check = event_check(solver);
        // The delivery is named at the event type for error messages, but with the call site's
        // hygiene: a type that came through a `macro_rules!` fragment must not hide the binding.
        let taken = format_ident!(
            "__edri_delivery",
            span = Span::call_site().located_at(event.span())
        );
        let (take, taken_pattern) = match solver.direction {
            Direction::Req => (quote!(take_event), quote!(#event_var)),
            Direction::Res => (quote!(take_answer), quote!((#event_var, #answer))),
        };
        let take = quote_spanned!(event.span()=> ::edri::__private::#take::<#event>(#taken));
        let completion = self.completion(solver);
        quote! {
            #index => {
                #check
                let ::core::option::Option::Some(#taken_pattern) = #take else {
                    return ::edri::__private::misrouted(#name, #event_name);
                };
                #completion
            }
        }
    }

    /// The end of an arm, once the event (and the answer) is taken.
    fn completion(&self, solver: &Solver) -> TokenStream {
        let Solver { event, returns, .. } = solver;
        let Locals {
            reply,
            ctx,
            event: event_var,
            event_name,
            ..
        } = &self.locals;
        let name = &self.name;
        let returned = local_at("returned", returns.0);
        match solver.completion() {
            Completion::Answer => {
                let kind = quote_spanned!(event.span()=> <#event as ::edri::Event>::Kind);
                let reply = local_at("reply", returns.0);
                let finish = finish_call(
                    returns.1,
                    quote_spanned!(returns.0=> ::edri::__private::Returns::<#kind>::),
                    "finish",
                    quote!(#returned, #reply, #name, #event_name),
                );
                let call = self.call(solver);
                quote!(let #returned = #call; #finish)
            }
            Completion::Outcome => {
                let finish = finish_call(
                    returns.1,
                    quote_spanned!(returns.0=> ::edri::Finish::),
                    "outcome",
                    quote!(#returned, #name, #event_name),
                );
                let call = self.call(solver);
                quote!(let #returned = #call; #finish)
            }
            Completion::Thread => {
                let timeout = timeout(solver);
                self.on_worker(solver, quote!(#ctx, #reply, #event_var, #timeout,))
            }
            Completion::Process => {
                let key = self.process_key(&solver.function);
                let timeout = timeout(solver);
                quote!(::edri::__private::solve_in_process::<#event>(#ctx, #reply, #event_var, #key, #timeout))
            }
        }
    }

    /// The call of a function solver, with its parameters in the order it takes them.
    fn call(&self, solver: &Solver) -> TokenStream {
        let Solver {
            function, event, ..
        } = solver;
        let Locals {
            ctx,
            event: event_var,
            answer,
            worker,
            ..
        } = &self.locals;
        let arguments = solver.params.iter().map(|param| match param {
            Param::Event => event_var.to_token_stream(),
            Param::Answer => answer.to_token_stream(),
            Param::Context => ctx.to_token_stream(),
            Param::Worker => worker.to_token_stream(),
            Param::Responder => {
                let reply = local_at("reply", event.span());
                quote_spanned!(event.span()=> #reply.responder::<#event>())
            }
        });
        let awaiting = solver.is_async.then(|| quote!(.await));
        quote!(self.#function(#(#arguments),*) #awaiting)
    }

    /// Runs a thread or process solver's function on its worker:
    /// `runner::<E, _..>(leading.., |event: E, worker: &mut Worker| T::function(..))`, with the
    /// runner `solve_in_thread` (in the manager's dispatch) or `run_process_solver` (in the
    /// child). The solver's return type is checked by this call: spanned at it. Its event type
    /// goes through `event_type`, so that a type that is not an event, already reported by
    /// `event_check`, is not reported again by this call.
    fn on_worker(&self, solver: &Solver, leading: TokenStream) -> TokenStream {
        let Solver {
            function,
            event,
            returns,
            ..
        } = solver;
        let Locals {
            event: event_var,
            worker,
            ..
        } = &self.locals;
        let (runner, inferred, owner) = match solver.mode {
            Mode::Process => {
                let self_ty = &self.manager.self_ty;
                ("run_process_solver", 1, quote!(<#self_ty>))
            }
            _ => ("solve_in_thread", 2, quote!(Self)),
        };
        let runner = Ident::new(runner, returns.0);
        let inferred = (0..inferred).map(|_| quote_spanned!(returns.0=> _));
        let arguments = solver.params.iter().map(|param| match param {
            Param::Worker => worker,
            _ => event_var,
        });
        let helper = event_type_helper();
        let event_type = event_type(event);
        let path =
            quote_spanned!(returns.0=> ::edri::__private::#runner::<#event_type, #(#inferred),*>);
        let call = quote_spanned!(returns.1=> (
            #leading
            move |#event_var: #event, #worker: &mut ::edri::Worker| #owner::#function(#(#arguments),*),
        ));
        quote! {
            #helper
            #path #call
        }
    }

    /// The entry a child process finds a process solver by.
    fn process_registration(&self, solver: &Solver) -> TokenStream {
        let function = &solver.function;
        let key = self.process_key(function);
        let static_name = format_ident!(
            "__EDRI_PROCESS_SOLVER_{}_{}",
            self_name(&self.manager.self_ty).to_uppercase(),
            function.to_string().to_uppercase()
        );
        let (bytes, worker) = (local("bytes"), &self.locals.worker);
        // The check comes first, as in the dispatch: a parameter that is not an event gives one
        // error (identical to the one of the manager's dispatch, so printed once).
        let check = event_check(solver);
        let run = self.on_worker(solver, quote!(#bytes, #worker,));
        quote! {
            #[::edri::__private::linkme::distributed_slice(::edri::__private::PROCESS_SOLVERS)]
            #[linkme(crate = ::edri::__private::linkme)]
            #[doc(hidden)]
            #[allow(unused_variables)]
            static #static_name: ::edri::__private::ProcessSolver = ::edri::__private::ProcessSolver {
                key: #key,
                run: |#bytes, #worker| {
                    #check
                    #run
                },
            };
        }
    }

    /// The name a process solver is found by in the child: the same executable, so the same
    /// module path.
    fn process_key(&self, function: &Ident) -> TokenStream {
        let name = format!("::{}::{}", self_name(&self.manager.self_ty), function);
        quote!(::core::concat!(::core::module_path!(), #name))
    }

    /// A lifecycle hook of the `Manager` trait: the user's, or one that does nothing.
    fn hook(&self, hook: Option<&Hook>, trait_fn: &str) -> TokenStream {
        let trait_fn = Ident::new(trait_fn, Span::call_site());
        let ctx = &self.locals.ctx;
        let Some(hook) = hook else {
            return quote! {
                fn #trait_fn<'a>(&'a mut self, _: &'a ::edri::Context) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send + 'a {
                    async {}
                }
            };
        };
        let function = &hook.function;
        let call = if hook.takes_context {
            quote!(Self::#function(self, #ctx).await)
        } else {
            quote!(Self::#function(self).await)
        };
        quote! {
            fn #trait_fn<'a>(
                &'a mut self,
                #ctx: &'a ::edri::Context,
            ) -> impl ::core::future::Future<Output = ()> + ::core::marker::Send + 'a {
                async move { #call }
            }
        }
    }
}

/// `Some(Duration)` of a thread or process solver's timeout, or `None`.
fn timeout(solver: &Solver) -> TokenStream {
    match solver.timeout {
        Some(nanos) => {
            quote!(::core::option::Option::Some(::core::time::Duration::from_nanos(#nanos)))
        }
        None => quote!(::core::option::Option::None),
    }
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
    let function = Ident::new(function, last);
    let call = quote_spanned!(last=> #function(#arguments));
    quote!(#path #call)
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
