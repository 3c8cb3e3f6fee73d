//! An event's parameters: collected from the query, the path and the body, keys matched to
//! fields (camelCase accepted), and text coerced to each field's type, as its
//! [`FieldShape`] says.

use serde_json::{Map, Number, Value};

use super::reply::{camel_case, ApiError};
use crate::event::{FieldInfo, FieldShape};
use crate::EventInfo;

/// `first_number` -> `firstNumber`, and `items[0].unit_price` -> `items[0].unitPrice`.
fn camel_path(path: &str) -> String {
    path.split('.')
        .map(camel_case)
        .collect::<Vec<_>>()
        .join(".")
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
            let value = coerce(field.name, &field.shape, Value::String(text))?;
            if field.shape.item().is_some() {
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
            let value = coerce(field.name, &field.shape, value)?;
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

/// Turns text into the shape of the field `name` where the text says so; anything else is left
/// for serde to accept or name in its error.
fn coerce(name: &str, shape: &FieldShape, value: Value) -> Result<Value, ApiError> {
    let text = match value {
        Value::String(text) => text,
        // The items of a JSON array take the item shape too, as in `["1", 2]` for `Vec<u32>`.
        Value::Array(items) => match shape.item() {
            Some(item) => {
                return items
                    .into_iter()
                    .map(|value| coerce(name, item, value))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array)
            }
            None => return Ok(Value::Array(items)),
        },
        value => return Ok(value),
    };
    let invalid = |expected: &str| {
        ApiError::bad_request(format!(
            "parameter `{}`: `{text}` is not {expected}",
            camel_case(name)
        ))
    };
    if shape.is_option() && text.is_empty() {
        return Ok(Value::Null);
    }
    Ok(match shape.without_option() {
        FieldShape::Integer { .. } => {
            let trimmed = text.trim();
            if let Ok(n) = trimmed.parse::<i64>() {
                Value::Number(n.into())
            } else if let Ok(n) = trimmed.parse::<u64>() {
                Value::Number(n.into())
            } else {
                return Err(invalid("a whole number"));
            }
        }
        FieldShape::Float => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| invalid("a number"))?,
        FieldShape::Bool => match text.trim() {
            "true" | "1" | "yes" | "on" => Value::Bool(true),
            "false" | "0" | "no" | "off" => Value::Bool(false),
            _ => return Err(invalid("true or false")),
        },
        // A list given as one text: `a,b` or a JSON array; each item takes the item shape.
        FieldShape::List(_) | FieldShape::Set(_) => {
            let items: Vec<Value> = match serde_json::from_str::<Value>(&text) {
                Ok(Value::Array(items)) => items,
                _ if text.is_empty() => Vec::new(),
                _ => text
                    .split(',')
                    .map(|item| Value::String(item.to_owned()))
                    .collect(),
            };
            return coerce(name, shape, Value::Array(items));
        }
        FieldShape::String => Value::String(text),
        // JSON written as text (a struct in a query parameter), else the text itself.
        FieldShape::Unit | FieldShape::Map(_) | FieldShape::Other | FieldShape::Option(_) => {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const U32: FieldShape = FieldShape::Integer {
        signed: false,
        bits: 32,
    };

    #[test]
    fn text_is_coerced_to_the_field_shape() {
        assert_eq!(
            coerce("count", &U32, Value::String("7".into())).unwrap(),
            Value::from(7)
        );
        let error = coerce("count", &U32, Value::String("seven".into())).unwrap_err();
        assert!(error.reasons[0].contains("`count`"), "{error:?}");
        let flag = FieldShape::Option(&FieldShape::Bool);
        assert_eq!(
            coerce("flag", &flag, Value::String(String::new())).unwrap(),
            Value::Null
        );
        assert_eq!(
            coerce("flag", &flag, Value::String("on".into())).unwrap(),
            Value::Bool(true)
        );
        assert_eq!(
            coerce("ratio", &FieldShape::Float, Value::String("0.5".into())).unwrap(),
            Value::from(0.5)
        );
        assert_eq!(
            coerce("name", &FieldShape::String, Value::String("7".into())).unwrap(),
            Value::from("7")
        );
    }

    #[test]
    fn list_items_take_the_item_shape() {
        let list = FieldShape::Option(&FieldShape::List(&U32));
        assert_eq!(
            coerce("ids", &list, Value::String("1,2".into())).unwrap(),
            serde_json::json!([1, 2])
        );
        assert_eq!(
            coerce("ids", &list, serde_json::json!(["3", 4])).unwrap(),
            serde_json::json!([3, 4])
        );
        let set = FieldShape::Set(&FieldShape::String);
        assert_eq!(
            coerce("tags", &set, Value::String("[\"a\",\"b\"]".into())).unwrap(),
            serde_json::json!(["a", "b"])
        );
        // Any other array is left for serde.
        assert_eq!(
            coerce("pair", &FieldShape::Other, serde_json::json!(["1"])).unwrap(),
            serde_json::json!(["1"])
        );
    }

    #[test]
    fn json_text_fills_other_shapes() {
        assert_eq!(
            coerce(
                "point",
                &FieldShape::Other,
                Value::String("{\"x\":1}".into())
            )
            .unwrap(),
            serde_json::json!({"x": 1})
        );
        assert_eq!(
            coerce("note", &FieldShape::Other, Value::String("plain".into())).unwrap(),
            Value::from("plain")
        );
    }
}
