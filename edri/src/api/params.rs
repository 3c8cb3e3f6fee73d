//! An event's parameters: collected from the query, the path and the body, keys matched to
//! fields (camelCase accepted), and text coerced to each field's type.

use serde_json::{Map, Number, Value};

use super::reply::{camel_case, ApiError};
use crate::event::FieldInfo;
use crate::EventInfo;

/// The shape a field's type asks for, read from the type as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    Integer,
    Float,
    Bool,
    Text,
    List,
    /// Anything else: a struct, a map, a `Value`.
    Other,
}

impl Shape {
    /// The shape of a field type such as `Option<u32>`.
    pub(crate) fn of(ty: &str) -> Self {
        let ty = optional_inner(ty).unwrap_or(ty);
        let base = ty.rsplit("::").next().unwrap_or(ty);
        match base {
            "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
            | "i128" | "isize" => Shape::Integer,
            "f32" | "f64" => Shape::Float,
            "bool" => Shape::Bool,
            "String" | "str" | "&str" | "&'staticstr" | "char" | "PathBuf" => Shape::Text,
            _ if ["Vec<", "VecDeque<", "HashSet<", "BTreeSet<", "["]
                .iter()
                .any(|prefix| ty.starts_with(prefix)) =>
            {
                Shape::List
            }
            _ => Shape::Other,
        }
    }
}

/// `Option<T>` -> `T`.
pub(crate) fn optional_inner(ty: &str) -> Option<&str> {
    let inner = ty
        .strip_prefix("Option<")
        .or_else(|| ty.strip_prefix("std::option::Option<"))
        .or_else(|| ty.strip_prefix("core::option::Option<"))?;
    inner.strip_suffix('>')
}

/// `first_number` -> `firstNumber`, and `items[0].unit_price` -> `items[0].unitPrice`.
fn camel_path(path: &str) -> String {
    path.split('.')
        .map(camel_case)
        .collect::<Vec<_>>()
        .join(".")
}

/// `Vec<T>` (or another list) -> `T`.
fn list_item(ty: &str) -> Option<&str> {
    let ty = optional_inner(ty).unwrap_or(ty);
    let (_, inner) = ty.split_once('<')?;
    inner.strip_suffix('>')
}

/// The parameters of one call, gathered in order: later sources override earlier ones.
pub(crate) struct Params {
    info: &'static EventInfo,
    map: Map<String, Value>,
}

impl Params {
    pub(crate) fn new(info: &'static EventInfo) -> Self {
        Self {
            info,
            map: Map::new(),
        }
    }

    /// Adds text parameters (query, path, form): repeated keys make a list for list fields.
    pub(crate) fn add_text(
        &mut self,
        pairs: impl IntoIterator<Item = (String, String)>,
    ) -> Result<(), ApiError> {
        let mut lists: Map<String, Value> = Map::new();
        for (key, text) in pairs {
            let field = self.field(&key)?;
            let value = coerce(field, Value::String(text))?;
            if Shape::of(field.ty) == Shape::List {
                match lists
                    .entry(field.name)
                    .or_insert_with(|| Value::Array(Vec::new()))
                {
                    Value::Array(items) => match value {
                        Value::Array(more) => items.extend(more),
                        value => items.push(value),
                    },
                    // Only arrays are ever inserted above.
                    _ => unreachable!("list parameters are collected in arrays"),
                }
            } else {
                self.map.insert(field.name.to_owned(), value);
            }
        }
        self.map.extend(lists);
        Ok(())
    }

    /// Adds the members of a JSON object (a JSON body, a WebSocket frame).
    pub(crate) fn add_json(&mut self, object: Map<String, Value>) -> Result<(), ApiError> {
        for (key, value) in object {
            let field = self.field(&key)?;
            let value = coerce(field, value)?;
            self.map.insert(field.name.to_owned(), value);
        }
        Ok(())
    }

    /// The event, decoded; a missing or ill-typed field is a 400 naming it.
    pub(crate) fn decode(
        self,
    ) -> Result<std::sync::Arc<dyn std::any::Any + Send + Sync>, ApiError> {
        (self.info.decode_json)(Value::Object(self.map)).map_err(|error| {
            // The API speaks camelCase, so its messages name fields that way too.
            let reason = match &error.field {
                Some(field) => format!("parameter `{}`: {}", camel_path(field), error.message),
                None => match error
                    .message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.strip_suffix('`'))
                {
                    Some(field) => format!("missing parameter `{}`", camel_case(field)),
                    None => error.message.clone(),
                },
            };
            ApiError::bad_request(reason)
        })
    }

    /// The field `key` names, as written or in camelCase.
    fn field(&self, key: &str) -> Result<&'static FieldInfo, ApiError> {
        let fields = self.info.fields;
        fields
            .iter()
            .find(|field| field.name == key)
            .or_else(|| fields.iter().find(|field| camel_case(field.name) == key))
            .ok_or_else(|| {
                let known: Vec<String> = fields
                    .iter()
                    .map(|field| format!("`{}`", camel_case(field.name)))
                    .collect();
                let expected = if known.is_empty() {
                    format!("`{}` takes no parameters", self.info.name)
                } else {
                    format!("expected {}", known.join(", "))
                };
                ApiError::bad_request(format!("unknown parameter `{key}`; {expected}"))
            })
    }
}

/// Turns text into the field's type where the text says so; anything else is left for serde
/// to accept or name in its error.
fn coerce(field: &FieldInfo, value: Value) -> Result<Value, ApiError> {
    let text = match value {
        Value::String(text) => text,
        // The items of a JSON array take the item type too, as in `["1", 2]` for `Vec<u32>`.
        Value::Array(items) if Shape::of(field.ty) == Shape::List => {
            let item = FieldInfo {
                name: field.name,
                ty: list_item(field.ty).unwrap_or("String"),
                doc: "",
            };
            return items
                .into_iter()
                .map(|value| coerce(&item, value))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array);
        }
        value => return Ok(value),
    };
    let invalid = |expected: &str| {
        ApiError::bad_request(format!(
            "parameter `{}`: `{text}` is not {expected}",
            camel_case(field.name)
        ))
    };
    let optional = optional_inner(field.ty).is_some();
    if optional && text.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match Shape::of(field.ty) {
        Shape::Integer => {
            let trimmed = text.trim();
            if let Ok(n) = trimmed.parse::<i64>() {
                Value::Number(n.into())
            } else if let Ok(n) = trimmed.parse::<u64>() {
                Value::Number(n.into())
            } else {
                return Err(invalid("a whole number"));
            }
        }
        Shape::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| invalid("a number"))?,
        Shape::Bool => match text.trim() {
            "true" | "1" | "yes" | "on" => Value::Bool(true),
            "false" | "0" | "no" | "off" => Value::Bool(false),
            _ => return Err(invalid("true or false")),
        },
        // A list given as one text: `a,b` or a JSON array; each item takes the item type.
        Shape::List => {
            let items: Vec<Value> = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(items)) => items,
                _ if text.is_empty() => Vec::new(),
                _ => text
                    .split(',')
                    .map(|item| Value::String(item.to_owned()))
                    .collect(),
            };
            return coerce(field, Value::Array(items));
        }
        Shape::Text => Value::String(text),
        // JSON written as text (a struct in a query parameter), else the text itself.
        Shape::Other => serde_json::from_str(&text).unwrap_or(Value::String(text)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_come_from_the_type_as_written() {
        assert_eq!(Shape::of("u32"), Shape::Integer);
        assert_eq!(Shape::of("Option<i64>"), Shape::Integer);
        assert_eq!(Shape::of("f64"), Shape::Float);
        assert_eq!(Shape::of("std::string::String"), Shape::Text);
        assert_eq!(Shape::of("Vec<String>"), Shape::List);
        assert_eq!(Shape::of("edri::Value"), Shape::Other);
    }

    #[test]
    fn text_is_coerced_to_the_field_type() {
        let count = FieldInfo {
            name: "count",
            ty: "u32",
            doc: "",
        };
        assert_eq!(
            coerce(&count, Value::String("7".into())).unwrap(),
            Value::from(7)
        );
        let error = coerce(&count, Value::String("seven".into())).unwrap_err();
        assert!(error.reasons[0].contains("`count`"), "{error:?}");
        let flag = FieldInfo {
            name: "flag",
            ty: "Option<bool>",
            doc: "",
        };
        assert_eq!(
            coerce(&flag, Value::String(String::new())).unwrap(),
            Value::Null
        );
    }
}
