//! The [`Event`] traits and the registry of declared events.
//!
//! `#[event(...)]` implements these traits and registers the type; users do not implement them
//! by hand.

use std::any::{type_name, Any, TypeId};
use std::collections::HashMap;
use std::fmt::{self, Debug};
use std::sync::{Arc, OnceLock};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Failure};

/// What kind of event a type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// Announces that something happened; nobody answers.
    Notification,
    /// Asks for something; each solver answers with a `Result<Response, Failure>`.
    Request,
}

/// A message that managers exchange through the router.
///
/// Implemented by `#[event(...)]`, which also derives `Clone`, `Debug`, `Serialize` and
/// `Deserialize` and registers the type under its wire name.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an edri event",
    label = "not an #[event] type",
    note = "declare it with `#[event(notification)]` or `#[event(request)]`"
)]
pub trait Event: Clone + Debug + Send + Sync + Serialize + DeserializeOwned + 'static {
    /// The wire name: kebab-case of the type name unless `name = "..."` says otherwise.
    const NAME: &'static str;
    /// Notification or request.
    const KIND: EventKind;
    /// Whether the event may cross the switch to other routers.
    const SHARED: bool;
    /// What a `#[solve(req)]` solver of this event may return: [`NotificationKind`] or
    /// [`RequestKind`].
    #[doc(hidden)]
    type Kind: KindCodec + 'static;
}

/// Encodes and decodes the answers of one kind of event at a process boundary.
#[doc(hidden)]
pub trait KindCodec {
    fn decode_answer(bytes: &[u8]) -> Result<Box<dyn Any + Send>, Failure>;
    fn encode_answer(answer: Box<dyn Any + Send>) -> Result<Vec<u8>, Failure>;
    /// The answer as JSON, for the API; `null` for a notification or a `()` response.
    fn encode_answer_json(answer: Box<dyn Any + Send>) -> Result<serde_json::Value, Failure>;
}

impl KindCodec for NotificationKind {
    fn decode_answer(_bytes: &[u8]) -> Result<Box<dyn Any + Send>, Failure> {
        Ok(Box::new(()))
    }

    fn encode_answer(_answer: Box<dyn Any + Send>) -> Result<Vec<u8>, Failure> {
        Ok(Vec::new())
    }

    fn encode_answer_json(_answer: Box<dyn Any + Send>) -> Result<serde_json::Value, Failure> {
        Ok(serde_json::Value::Null)
    }
}

impl<R: Serialize + DeserializeOwned + Send + 'static> KindCodec for RequestKind<R> {
    fn decode_answer(bytes: &[u8]) -> Result<Box<dyn Any + Send>, Failure> {
        crate::wire::decode::<R>(bytes)
            .map(|response| Box::new(response) as Box<dyn Any + Send>)
            .map_err(|error| {
                Failure::internal(format!(
                    "cannot decode the response `{}`: {error}",
                    type_name::<R>()
                ))
            })
    }

    fn encode_answer(answer: Box<dyn Any + Send>) -> Result<Vec<u8>, Failure> {
        let response = answer
            .downcast::<R>()
            .map_err(|_| Failure::internal(format!("an answer is not a `{}`", type_name::<R>())))?;
        crate::wire::encode(&*response).map_err(|error| {
            Failure::internal(format!(
                "cannot encode the response `{}`: {error}",
                type_name::<R>()
            ))
        })
    }

    fn encode_answer_json(answer: Box<dyn Any + Send>) -> Result<serde_json::Value, Failure> {
        let response = answer
            .downcast::<R>()
            .map_err(|_| Failure::internal(format!("an answer is not a `{}`", type_name::<R>())))?;
        serde_json::to_value(&*response).map_err(|error| {
            Failure::internal(format!(
                "cannot write the response `{}` as JSON: {error}",
                type_name::<R>()
            ))
        })
    }
}

/// Decodes an event by type, erased: the registry's decoder for events arriving by name.
#[doc(hidden)]
pub fn decode_event<E: Event>(
    bytes: &[u8],
) -> Result<Arc<dyn Any + Send + Sync>, crate::wire::WireError> {
    crate::wire::decode::<E>(bytes).map(|event| Arc::new(event) as Arc<dyn Any + Send + Sync>)
}

/// Encodes an event by type, erased: the registry's encoder for events leaving by name.
#[doc(hidden)]
pub fn encode_event<E: Event>(
    event: &(dyn Any + Send + Sync),
) -> Result<Vec<u8>, crate::wire::WireError> {
    let event = event.downcast_ref::<E>().ok_or_else(crate::wire::refused)?;
    crate::wire::encode(event)
}

/// Encodes an answer to an event of type `E`, erased.
#[doc(hidden)]
pub fn encode_answer<E: Event>(answer: Box<dyn Any + Send>) -> Result<Vec<u8>, Failure> {
    <E::Kind as KindCodec>::encode_answer(answer)
}

/// Decodes an answer to an event of type `E` that crossed a boundary, erased.
#[doc(hidden)]
pub fn decode_answer<E: Event>(bytes: &[u8]) -> Result<Box<dyn Any + Send>, Failure> {
    <E::Kind as KindCodec>::decode_answer(bytes)
}

/// Decodes an event from JSON (the API's parameters), erased. The error names the field at
/// fault when serde knows it.
#[doc(hidden)]
pub fn decode_json<E: Event>(
    value: serde_json::Value,
) -> Result<Arc<dyn Any + Send + Sync>, JsonError> {
    serde_path_to_error::deserialize::<_, E>(value)
        .map(|event| Arc::new(event) as Arc<dyn Any + Send + Sync>)
        .map_err(|error| {
            let path = error.path().to_string();
            JsonError {
                field: (path != ".").then_some(path),
                message: error.into_inner().to_string(),
            }
        })
}

/// Encodes an event as JSON (for WebSocket pushes), erased.
#[doc(hidden)]
pub fn encode_json<E: Event>(event: &(dyn Any + Send + Sync)) -> Result<serde_json::Value, String> {
    let event = event
        .downcast_ref::<E>()
        .ok_or_else(|| format!("an event is not a `{}`", type_name::<E>()))?;
    serde_json::to_value(event).map_err(|error| error.to_string())
}

/// Encodes an answer to an event of type `E` as JSON, erased.
#[doc(hidden)]
pub fn encode_answer_json<E: Event>(
    answer: Box<dyn Any + Send>,
) -> Result<serde_json::Value, Failure> {
    <E::Kind as KindCodec>::encode_answer_json(answer)
}

/// Why JSON did not decode into an event.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}{message}", field.as_ref().map(|field| format!("field `{field}`: ")).unwrap_or_default())]
pub struct JsonError {
    /// The field at fault (a dotted path for nested fields), when serde knows it.
    pub field: Option<String>,
    /// serde's reason, as in "missing field `name`" or "invalid type: string, expected u32".
    pub message: String,
}

/// One field of an event or of its generated response, as declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldInfo {
    /// The field's name.
    pub name: &'static str,
    /// Its type as written, without spaces, as in `Option<u32>`; for display only: what the
    /// type is made of is in [`shape`](Self::shape).
    pub ty: &'static str,
    /// What its values look like in JSON, read by `#[event]` from the type.
    pub shape: FieldShape,
    /// Whether a caller may leave it out: an `Option`, or a field with `#[serde(default)]`
    /// (on the field or on the struct).
    pub optional: bool,
    /// Its doc comment.
    pub doc: &'static str,
}

/// What the values of a field look like in JSON, read by `#[event]` from the field's type: the
/// API coerces text parameters, checks WebSocket filters and writes OpenAPI schemas from it.
///
/// Smart pointers (`Box`, `Arc`, `Rc`, `Cow`) and references take the shape of what they point
/// to, as serde writes them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldShape {
    /// Text: `String`, `str`, `char`, `PathBuf`.
    String,
    /// `bool`.
    Bool,
    /// A whole number.
    Integer {
        /// Whether it may be negative (`i32`) or not (`u32`).
        signed: bool,
        /// Its width: 8 to 128 (`usize` and `isize` are as wide as a pointer).
        bits: u8,
    },
    /// `f32` or `f64`.
    Float,
    /// `()`: JSON `null`.
    Unit,
    /// `Option<T>`: `T`, or `null` (and left out, unless a serde attribute says otherwise).
    Option(&'static FieldShape),
    /// A sequence: `Vec<T>`, `VecDeque<T>`, `LinkedList<T>`, `[T; N]`, `[T]`.
    List(&'static FieldShape),
    /// A set: `HashSet<T>`, `BTreeSet<T>`; a JSON array of distinct items.
    Set(&'static FieldShape),
    /// A map (`HashMap<K, V>`, `BTreeMap<K, V>`): a JSON object whose values have this shape.
    Map(&'static FieldShape),
    /// Anything else (a struct or an enum of the program, a tuple, `edri::Value`): any JSON
    /// value, as far as edri can tell.
    Other,
}

impl FieldShape {
    /// Whether it is an `Option`, which may be `null`.
    pub const fn is_option(&self) -> bool {
        matches!(self, FieldShape::Option(_))
    }

    /// The shape under any `Option`: `Integer` for `Option<u32>`, itself for the others.
    pub const fn without_option(&self) -> &FieldShape {
        let mut shape = self;
        while let FieldShape::Option(inner) = shape {
            shape = inner;
        }
        shape
    }

    /// The items of a list or a set (under any `Option`); `None` for the other shapes.
    pub const fn item(&self) -> Option<&'static FieldShape> {
        match self.without_option() {
            FieldShape::List(item) | FieldShape::Set(item) => Some(item),
            _ => None,
        }
    }
}

/// An HTTP method a REST route takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HttpMethod {
    /// `GET`: parameters in the path and the query.
    Get,
    /// `POST`: parameters in the path and the body.
    Post,
    /// `PUT`: parameters in the path and the body.
    Put,
    /// `PATCH`: parameters in the path and the body.
    Patch,
    /// `DELETE`: parameters in the path and the query.
    Delete,
}

impl HttpMethod {
    /// Every method, in the order edri lists them (the `Allow` header, the docs).
    pub const ALL: [HttpMethod; 5] = [
        HttpMethod::Get,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Patch,
        HttpMethod::Delete,
    ];

    /// The method's name, as in `GET`.
    pub const fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Delete => "DELETE",
        }
    }

    /// Whether a call carries its parameters in a body (POST, PUT, PATCH) rather than in the
    /// query (GET, DELETE).
    pub const fn takes_body(self) -> bool {
        matches!(self, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch)
    }
}

impl fmt::Display for HttpMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The REST route of an event, from `rest = "METHOD /path/{field}"`, checked by `#[event]`:
/// the method is one edri routes, the path starts with `/`, and each `{placeholder}` fills a
/// whole segment and names a request field.
///
/// It displays as its text, as in `GET /greet/{name}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RestRoute {
    /// The method.
    pub method: HttpMethod,
    /// The path, as in `/greet/{name}`.
    pub path: &'static str,
    /// The fields the path's placeholders name, in the order they appear.
    pub params: &'static [&'static str],
    /// The route as written, `METHOD /path`.
    pub text: &'static str,
}

impl RestRoute {
    /// The route as written, as in `GET /greet/{name}`.
    pub const fn as_str(&self) -> &'static str {
        self.text
    }
}

impl fmt::Display for RestRoute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.text)
    }
}

/// The [`Event::Kind`] of notifications.
#[doc(hidden)]
pub struct NotificationKind;

/// The [`Event::Kind`] of requests whose response is `R`.
#[doc(hidden)]
pub struct RequestKind<R>(std::marker::PhantomData<fn() -> R>);

/// An event that announces something; it has no answer.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a notification",
    label = "a request is asked (`ask`, `send`, `gather`), not notified",
    note = "notifications are declared with `#[event(notification)]`"
)]
pub trait Notification: Event {}

/// An event that asks for an answer.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a request, so it has no answer",
    label = "not an #[event(request)] type",
    note = "requests are declared with `#[event(request)]`; `#[solve(res)]`, `ask`, `send` and `gather` take requests only"
)]
pub trait Request: Event {
    /// What a successful answer carries: the generated `<Name>Response`, the type named by
    /// `response = Type`, or `()` for a request answered by its status alone.
    type Response: Debug + Send + WireResponse + 'static;
}

/// A response type that serde can write and read back, so answers can cross processes,
/// machines and the API.
#[diagnostic::on_unimplemented(
    message = "response type `{Self}` cannot be serialized",
    label = "answers cross processes, machines and the API",
    note = "derive `serde::Serialize` and `serde::Deserialize` for `{Self}` (with `#[serde(crate = \"edri::serde\")]` if you have no serde dependency of your own)"
)]
pub trait WireResponse: Serialize + DeserializeOwned {}

#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned> WireResponse for T {}

/// Decodes an event from the wire format into its shared, type-erased form.
pub type DecodeEvent = fn(&[u8]) -> Result<Arc<dyn Any + Send + Sync>, crate::wire::WireError>;

/// Decodes an answer that crossed a boundary into its type-erased form.
pub type DecodeAnswer = fn(&[u8]) -> Result<Box<dyn Any + Send>, Failure>;

/// The registration of one event type, submitted by `#[event]` (through `inventory`) and
/// listed by [`registered_events`].
///
/// Built by generated code with `EventInfo::new`, which fills in what the type itself tells
/// (name, kind, codecs); not meant to be built by hand.
#[derive(Debug)]
pub struct EventInfo {
    /// The wire name.
    pub name: &'static str,
    /// The Rust path of the type, as in `my_app::events::Greet`.
    pub type_name: &'static str,
    /// Notification or request.
    pub kind: EventKind,
    /// Whether it may cross the switch.
    pub shared: bool,
    /// The REST route, when the event is exposed over REST.
    pub rest: Option<RestRoute>,
    /// Whether the event is exposed over WebSocket.
    pub ws: bool,
    /// `file:line` of the declaration.
    pub location: &'static str,
    /// The type's `TypeId`, for in-process lookups (never sent over a wire).
    pub type_id: fn() -> TypeId,
    /// Decodes the event from the wire format, for events arriving by name.
    pub decode: DecodeEvent,
    /// Encodes the event in the wire format, for events leaving by name (the switch).
    pub encode: fn(&(dyn Any + Send + Sync)) -> Result<Vec<u8>, crate::wire::WireError>,
    /// Encodes an answer to the event (empty for notifications).
    pub encode_answer: fn(Box<dyn Any + Send>) -> Result<Vec<u8>, Failure>,
    /// Decodes an answer to the event that crossed a boundary.
    pub decode_answer: DecodeAnswer,
    /// The type's doc comment.
    pub doc: &'static str,
    /// The request fields (all fields of a notification).
    pub fields: &'static [FieldInfo],
    /// The response type as written: `()`, `<Name>Response`, or the `response = Type`; empty
    /// for a notification.
    pub response_type: &'static str,
    /// The fields of a generated `<Name>Response`; empty otherwise.
    pub response_fields: &'static [FieldInfo],
    /// Decodes the event from JSON.
    pub decode_json: fn(serde_json::Value) -> Result<Arc<dyn Any + Send + Sync>, JsonError>,
    /// Encodes the event as JSON.
    pub encode_json: fn(&(dyn Any + Send + Sync)) -> Result<serde_json::Value, String>,
    /// Encodes an answer to the event as JSON (`null` for notifications and `()` responses).
    pub encode_answer_json: fn(Box<dyn Any + Send>) -> Result<serde_json::Value, Failure>,
}

impl EventInfo {
    /// The registration of `E`, declared at `location` (`file:line`) under the Rust path
    /// `type_name`: name, kind, flag and codecs come from `E`; the rest is empty until the
    /// `with_*` calls below add it. A request answered by its status alone has the response
    /// type `()`.
    #[doc(hidden)]
    pub const fn new<E: Event>(type_name: &'static str, location: &'static str) -> Self {
        EventInfo {
            name: E::NAME,
            type_name,
            kind: E::KIND,
            shared: E::SHARED,
            rest: None,
            ws: false,
            location,
            type_id: TypeId::of::<E>,
            decode: decode_event::<E>,
            encode: encode_event::<E>,
            encode_answer: encode_answer::<E>,
            decode_answer: decode_answer::<E>,
            doc: "",
            fields: &[],
            response_type: match E::KIND {
                EventKind::Request => "()",
                EventKind::Notification => "",
            },
            response_fields: &[],
            decode_json: decode_json::<E>,
            encode_json: encode_json::<E>,
            encode_answer_json: encode_answer_json::<E>,
        }
    }

    /// Exposes the event on a REST route (and so over WebSocket too).
    #[doc(hidden)]
    pub const fn with_rest(mut self, route: RestRoute) -> Self {
        self.rest = Some(route);
        self.ws = true;
        self
    }

    /// Exposes the event over WebSocket.
    #[doc(hidden)]
    pub const fn with_ws(mut self) -> Self {
        self.ws = true;
        self
    }

    /// The type's doc comment.
    #[doc(hidden)]
    pub const fn with_doc(mut self, doc: &'static str) -> Self {
        self.doc = doc;
        self
    }

    /// The request fields (all the fields of a notification).
    #[doc(hidden)]
    pub const fn with_fields(mut self, fields: &'static [FieldInfo]) -> Self {
        self.fields = fields;
        self
    }

    /// The response type as written, and the fields of a generated `<Name>Response`.
    #[doc(hidden)]
    pub const fn with_response(
        mut self,
        response_type: &'static str,
        response_fields: &'static [FieldInfo],
    ) -> Self {
        self.response_type = response_type;
        self.response_fields = response_fields;
        self
    }
}

inventory::collect!(EventInfo);

/// The checked registry: every declared event by wire name and by type.
pub(crate) struct Registry {
    by_type: HashMap<TypeId, &'static EventInfo>,
    by_name: HashMap<&'static str, &'static EventInfo>,
}

impl Registry {
    /// The registry, checked once per process; the same error is returned on every start.
    pub(crate) fn get() -> Result<&'static Registry, Error> {
        static REGISTRY: OnceLock<Result<Registry, RegistryError>> = OnceLock::new();
        match REGISTRY.get_or_init(Registry::build) {
            Ok(registry) => Ok(registry),
            Err(error) => Err(error.to_error()),
        }
    }

    fn build() -> Result<Registry, RegistryError> {
        let mut by_name: HashMap<&'static str, &'static EventInfo> = HashMap::new();
        let mut by_type = HashMap::new();
        for info in inventory::iter::<EventInfo> {
            if let Some(first) = by_name.insert(info.name, info) {
                // Report the pair in a stable order, whatever order the linker chose.
                let (first, second) =
                    if (first.location, first.type_name) <= (info.location, info.type_name) {
                        (first, info)
                    } else {
                        (info, first)
                    };
                return Err(RegistryError::Duplicate(first, second));
            }
            by_type.insert((info.type_id)(), info);
        }
        if by_type.is_empty() {
            return Err(RegistryError::Empty);
        }
        Ok(Registry { by_type, by_name })
    }

    /// The registration of an event type, if it was registered.
    pub(crate) fn info(&self, type_id: TypeId) -> Option<&'static EventInfo> {
        self.by_type.get(&type_id).copied()
    }

    /// The registration of an event by wire name.
    pub(crate) fn by_name(&self, name: &str) -> Option<&'static EventInfo> {
        self.by_name.get(name).copied()
    }

    /// Every registered event.
    pub(crate) fn events(&self) -> impl Iterator<Item = &'static EventInfo> + '_ {
        self.by_type.values().copied()
    }
}

enum RegistryError {
    Duplicate(&'static EventInfo, &'static EventInfo),
    Empty,
}

impl RegistryError {
    fn to_error(&self) -> Error {
        match self {
            RegistryError::Duplicate(first, second) => Error::DuplicateEventName {
                name: first.name,
                first: first.type_name,
                first_location: first.location,
                second: second.type_name,
                second_location: second.location,
            },
            RegistryError::Empty => Error::NothingRegistered,
        }
    }
}

/// Every event registered in this program, for tools such as the API broker and docs pages.
///
/// Fails like [`Edri::start`](crate::Edri::start) when two events share a name.
pub fn registered_events() -> Result<Vec<&'static EventInfo>, Error> {
    let mut events: Vec<_> = Registry::get()?.events().collect();
    events.sort_by_key(|info| info.name);
    Ok(events)
}
