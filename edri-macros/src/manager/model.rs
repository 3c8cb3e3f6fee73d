//! The typed description of a manager: its arguments, its solvers and its hooks, as
//! `validate` builds them and `expand` turns them into code.

use proc_macro2::Span;
use quote::ToTokens;
use syn::Type;

use crate::solve::{Direction, Mode};

/// `queue = "fifo" | "priority"`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Queue {
    Fifo,
    Priority,
}

/// The arguments of `#[manager(...)]`.
pub(super) struct Args {
    pub(super) queue: Queue,
    pub(super) capacity: Option<usize>,
    pub(super) max_workers: Option<usize>,
    pub(super) name: Option<String>,
}

/// A manager whose parts have been checked; the solvers and hooks with a mistake are left
/// out (and reported), so the others still make a `Manager` implementation.
pub(super) struct Manager {
    pub(super) self_ty: Type,
    pub(super) args: Args,
    pub(super) solvers: Vec<Solver>,
    pub(super) after_start: Option<Hook>,
    pub(super) before_stop: Option<Hook>,
}

impl Manager {
    /// The name in logs and stats: `name = "..."`, else the type's name.
    pub(super) fn name(&self) -> String {
        self.args
            .name
            .clone()
            .unwrap_or_else(|| self_name(&self.self_ty))
    }
}

/// What a solver parameter is, in the order the user wrote them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Param {
    Event,
    Answer,
    Context,
    Responder,
    Worker,
}

impl Param {
    /// How the parameter is written, for messages.
    pub(super) fn written(self) -> &'static str {
        match self {
            Param::Event => "event",
            Param::Answer => "answer",
            Param::Context => "`ctx: &Context`",
            Param::Responder => "`Responder`",
            Param::Worker => "`worker: &mut Worker`",
        }
    }
}

/// One `#[solve]` function, whatever its mode.
pub(super) struct Solver {
    pub(super) function: syn::Ident,
    pub(super) direction: Direction,
    pub(super) priority: i32,
    pub(super) event: Type,
    pub(super) params: Vec<Param>,
    pub(super) is_async: bool,
    pub(super) mode: Mode,
    /// Nanoseconds, for thread and process solvers.
    pub(super) timeout: Option<u64>,
    /// The first and last token of the return type (the name when there is none), so errors
    /// about it cover it whole.
    pub(super) returns: (Span, Span),
    /// Its place in the manager's table of its direction.
    pub(super) index: u16,
}

impl Solver {
    /// How its dispatch ends.
    pub(super) fn completion(&self) -> Completion {
        match self.mode {
            Mode::Thread => Completion::Thread,
            Mode::Process => Completion::Process,
            Mode::Function
                if self.direction == Direction::Res || self.params.contains(&Param::Responder) =>
            {
                Completion::Outcome
            }
            Mode::Function => Completion::Answer,
        }
    }
}

/// How the dispatch of a solver ends.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Completion {
    /// A function solver whose return value answers its request (or ends a notification).
    Answer,
    /// A function solver that answers nothing: a `#[solve(res)]` or one taking a `Responder`;
    /// its return value is only an outcome.
    Outcome,
    /// Handed to a thread of the manager's pool.
    Thread,
    /// Handed to a child process.
    Process,
}

/// A lifecycle hook: `after_start` or `before_stop`.
pub(super) struct Hook {
    pub(super) function: syn::Ident,
    pub(super) takes_context: bool,
}

/// Whether the last segment of a path type is `name`.
pub(super) fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .is_some_and(|segment| segment.ident == name),
        _ => false,
    }
}

/// A type as tokens, the key two solvers of one event share.
pub(super) fn type_key(ty: &Type) -> String {
    ty.to_token_stream().to_string()
}

/// The name of the manager's type, without its path.
pub(super) fn self_name(self_ty: &Type) -> String {
    match self_ty {
        Type::Path(path) => path
            .path
            .segments
            .last()
            .map_or_else(|| type_key(self_ty), |segment| segment.ident.to_string()),
        _ => type_key(self_ty),
    }
}
