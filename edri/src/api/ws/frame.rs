//! The frames a client sends, read into commands, and the frames the server answers with.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::ws::Utf8Bytes;
use axum::http::StatusCode;
use serde_json::{Map, Value};

use crate::api::params::Params;
use crate::api::reply::{camel_case, ApiError};
use crate::api::rest::json_kind;
use crate::{Error, EventInfo, EventKind};

/// The broker's own commands; no `ws` event may take these names.
pub(super) const REGISTER: &str = "register";
pub(super) const UNREGISTER: &str = "unregister";

/// The events a client may name, by wire name.
pub(super) struct Commands {
    by_name: HashMap<&'static str, Exposed>,
}

enum Exposed {
    Ready(&'static EventInfo),
    /// Exposed, but unusable over WebSocket: why.
    Refused(String),
}

impl Commands {
    /// Every `ws` event (which includes every `rest` one). An event named like one of the
    /// broker's commands is a startup error; an event with a field named `command` (which the
    /// frame's own `command` key hides) is refused over WebSocket with a warning, since `rest`
    /// exposes an event here without being asked.
    pub(super) fn new(events: &[&'static EventInfo]) -> Result<Self, Error> {
        let mut by_name = HashMap::new();
        for &info in events.iter().filter(|info| info.ws) {
            if info.name == REGISTER || info.name == UNREGISTER {
                return Err(Error::ApiRoute(format!(
                    "the WebSocket command `{}` is the API's own, so the event `{}` ({}) cannot \
                     take that name; give it another with `name = \"...\"`",
                    info.name, info.type_name, info.location
                )));
            }
            let exposed = match info
                .fields
                .iter()
                .find(|field| camel_case(field.name) == "command")
            {
                Some(field) => {
                    let reason = format!(
                        "`{}` cannot be used over WebSocket: its field `{}` has the name of the \
                         frame's `command` key",
                        info.name, field.name
                    );
                    tracing::warn!(event = info.name, location = info.location, "{reason}");
                    Exposed::Refused(reason)
                }
                None => Exposed::Ready(info),
            };
            by_name.insert(info.name, exposed);
        }
        Ok(Self { by_name })
    }

    /// The event named `name`: `None` when no `ws` event has that name, an error (why) when
    /// it cannot be used over WebSocket.
    fn get(&self, name: &str) -> Option<Result<&'static EventInfo, String>> {
        self.by_name.get(name).map(|exposed| match exposed {
            Exposed::Ready(info) => Ok(*info),
            Exposed::Refused(reason) => Err(reason.clone()),
        })
    }
}

/// A frame read into what it asks for.
pub(super) enum Parsed {
    /// An event to dispatch; the answer echoes `echo`.
    Call {
        info: &'static EventInfo,
        event: Arc<dyn Any + Send + Sync>,
        echo: Map<String, Value>,
    },
    /// The filter is compiled by the connection, which knows how much the client may still
    /// register (see [`super::filter::Budget`]).
    Register {
        info: &'static EventInfo,
        param_set: Option<Value>,
        echo: Map<String, Value>,
    },
    Unregister {
        info: &'static EventInfo,
        echo: Map<String, Value>,
    },
}

/// A frame that cannot be carried out, as the error frame that answers it:
/// `{"command": .., "id"?, "status": "FAILED", "reasons": [{"message", "status_code"}]}`.
#[derive(Debug)]
pub(super) struct BadFrame(Utf8Bytes);

impl BadFrame {
    pub(super) fn new(command: Value, id: Option<Value>, error: ApiError) -> Self {
        let mut frame = Map::new();
        frame.insert("command".to_owned(), command);
        if let Some(id) = id {
            frame.insert("id".to_owned(), id);
        }
        frame.insert("status".to_owned(), Value::from("FAILED"));
        let reasons = match error.body() {
            Value::Object(mut body) => body.remove("reasons").unwrap_or_default(),
            _ => Value::Array(Vec::new()),
        };
        frame.insert("reasons".to_owned(), reasons);
        Self(Utf8Bytes::from(Value::Object(frame).to_string()))
    }

    /// A frame that has no usable `command`, hence no `id` we can trust either.
    fn anonymous(reason: String) -> Self {
        Self::new(Value::Null, None, ApiError::bad_request(reason))
    }

    pub(super) fn text(self) -> Utf8Bytes {
        self.0
    }
}

/// The client's frame with `response` added: the answer to a command.
pub(super) fn answer(mut echo: Map<String, Value>, response: Value) -> Utf8Bytes {
    echo.insert("response".to_owned(), response);
    Utf8Bytes::from(Value::Object(echo).to_string())
}

/// Reads a text frame.
pub(super) fn parse(text: &str, commands: &Commands) -> Result<Parsed, BadFrame> {
    // serde_json stops at 128 levels of nesting: a deep frame is an error, not a deep stack.
    let value: Value = serde_json::from_str(text)
        .map_err(|error| BadFrame::anonymous(format!("malformed JSON: {error}")))?;
    let object = match value {
        Value::Object(object) => object,
        other => {
            return Err(BadFrame::anonymous(format!(
                "a frame must be a JSON object with a `command`, not {}",
                json_kind(&other)
            )))
        }
    };
    let id = object.get("id").cloned();
    let command = match object.get("command") {
        Some(Value::String(command)) => command.clone(),
        Some(other) => {
            return Err(BadFrame::new(
                Value::Null,
                id,
                ApiError::bad_request(format!("`command` must be text, not {}", json_kind(other))),
            ))
        }
        None => {
            return Err(BadFrame::new(
                Value::Null,
                id,
                ApiError::bad_request("the frame has no `command`"),
            ))
        }
    };
    let fail = |error: ApiError| BadFrame::new(Value::from(command.as_str()), id.clone(), error);
    match command.as_str() {
        REGISTER => register(object, commands).map_err(fail),
        UNREGISTER => unregister(object, commands).map_err(fail),
        name => {
            let info = match commands.get(name) {
                Some(Ok(info)) => info,
                Some(Err(reason)) => return Err(fail(ApiError::bad_request(reason))),
                None => {
                    return Err(fail(ApiError::bad_request(format!(
                        "unknown command `{name}`"
                    ))))
                }
            };
            call(info, object).map_err(fail)
        }
    }
}

/// An event: every key but `command` (and `id`, unless the event has such a field) is a
/// parameter.
fn call(info: &'static EventInfo, object: Map<String, Value>) -> Result<Parsed, ApiError> {
    let id_is_a_field = info.fields.iter().any(|field| field.name == "id");
    let parameters: Map<String, Value> = object
        .iter()
        .filter(|(key, _)| *key != "command" && (id_is_a_field || *key != "id"))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    let mut params = Params::new(info);
    params.add_json(parameters)?;
    Ok(Parsed::Call {
        info,
        event: params.decode()?,
        echo: object,
    })
}

/// `{"command": "register", "event": "relay", "paramSet": {...}}`.
fn register(mut object: Map<String, Value>, commands: &Commands) -> Result<Parsed, ApiError> {
    let info = notification(&object, commands, REGISTER)?;
    only_keys(&object, REGISTER, &["paramSet", "param_set"])?;
    // Taken out (not copied) of the answer's echo: the client knows what it asked for.
    let camel = object.remove("paramSet");
    let snake = object.remove("param_set");
    let param_set = camel.or(snake);
    Ok(Parsed::Register {
        info,
        param_set,
        echo: object,
    })
}

/// `{"command": "unregister", "event": "relay"}`: every filter of the client for the event.
fn unregister(object: Map<String, Value>, commands: &Commands) -> Result<Parsed, ApiError> {
    let info = notification(&object, commands, UNREGISTER)?;
    only_keys(&object, UNREGISTER, &[])?;
    Ok(Parsed::Unregister { info, echo: object })
}

/// The notification a `register` or `unregister` names in `event`.
fn notification(
    object: &Map<String, Value>,
    commands: &Commands,
    command: &str,
) -> Result<&'static EventInfo, ApiError> {
    let name = match object.get("event") {
        Some(Value::String(name)) => name,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`event` must be the name of a notification, not {}",
                json_kind(other)
            )))
        }
        None => {
            return Err(ApiError::bad_request(format!(
                "`{command}` needs `event`: the name of a notification"
            )))
        }
    };
    let info = match commands.get(name) {
        Some(Ok(info)) => info,
        Some(Err(reason)) => return Err(ApiError::bad_request(reason)),
        None => return Err(ApiError::bad_request(format!("unknown event `{name}`"))),
    };
    if info.kind != EventKind::Notification {
        return Err(ApiError::bad_request(format!(
            "`{name}` is a request, and only notifications are pushed; send it as a command"
        )));
    }
    Ok(info)
}

/// Refuses keys a broker command does not take.
fn only_keys(object: &Map<String, Value>, command: &str, extra: &[&str]) -> Result<(), ApiError> {
    let known = |key: &str| ["command", "id", "event"].contains(&key) || extra.contains(&key);
    match object.keys().find(|key| !known(key)) {
        Some(key) => {
            let takes = match extra.first() {
                Some(_) => "`event`, `paramSet` and `id`",
                None => "`event` and `id`",
            };
            Err(ApiError::bad_request(format!(
                "unknown key `{key}`: `{command}` takes {takes}"
            )))
        }
        None => Ok(()),
    }
}

/// The error frame of an `unregister` for an event the client did not register for.
pub(super) fn not_registered(echo: &Map<String, Value>, name: &str) -> BadFrame {
    BadFrame::new(
        Value::from(UNREGISTER),
        echo.get("id").cloned(),
        ApiError::new(
            StatusCode::NOT_FOUND,
            format!("this client is not registered for `{name}`"),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::ws::tests::info;
    use crate::event::{FieldInfo, FieldShape};

    fn error_of(frame: BadFrame) -> Value {
        serde_json::from_str(&frame.text()).unwrap()
    }

    #[test]
    fn an_event_with_a_command_field_is_refused_over_websocket() {
        const FIELDS: &[FieldInfo] = &[FieldInfo {
            name: "command",
            ty: "String",
            shape: FieldShape::String,
            optional: false,
            doc: "",
        }];
        let commands = Commands::new(&[info("exec", None, FIELDS)]).unwrap();
        let Err(bad) = parse(r#"{"command": "exec", "id": 1}"#, &commands) else {
            panic!("`exec` was accepted");
        };
        let frame = error_of(bad);
        assert_eq!(frame["command"], "exec");
        assert_eq!(frame["id"], 1);
        let message = frame["reasons"][0]["message"].as_str().unwrap();
        assert!(message.contains("field `command`"), "{frame}");
    }

    #[test]
    fn a_malformed_frame_has_a_null_command_and_no_id() {
        let commands = Commands::new(&[]).unwrap();
        let Err(bad) = parse("{\"id\": 1", &commands) else {
            panic!("malformed JSON was accepted");
        };
        let frame = error_of(bad);
        assert_eq!(frame["command"], Value::Null);
        assert!(frame.get("id").is_none(), "{frame}");
        assert_eq!(frame["status"], "FAILED");
        assert_eq!(frame["reasons"][0]["status_code"], 400);
    }
}
