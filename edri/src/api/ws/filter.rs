//! The filters of `register`: `{"token": "a", "count": {"gte": 2, "lt": 10}}`.
//!
//! Each key names a field of the notification (as declared or in camelCase); each value is
//! either a plain value (equality) or an object of operators `eq ne in gt gte lt lte`. Every
//! condition must hold. Operands are checked against the field's type when the filter is
//! registered, so a mistake is an error frame at once rather than a filter that never matches.

use std::cmp::Ordering;

use serde_json::{Map, Number, Value};

use crate::api::params::{optional_inner, Shape};
use crate::api::reply::{camel_case, ApiError};
use crate::api::rest::json_kind;
use crate::event::FieldInfo;
use crate::EventInfo;

/// The operators a filter object may use, for error messages.
const OPERATORS: &str = "eq, ne, in, gt, gte, lt, lte";

/// The conditions of one `register`, all of which must hold; no condition matches everything.
#[derive(Debug)]
pub(super) struct Filter {
    conditions: Vec<Condition>,
}

#[derive(Debug)]
struct Condition {
    /// The field as the notification serializes it (its declared name).
    field: &'static str,
    test: Test,
}

#[derive(Debug)]
enum Test {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    /// `gt gte lt lte`: the field compared with the operand must give one of these orderings.
    Order(Value, &'static [Ordering]),
}

impl Filter {
    /// Reads a `paramSet`; `None` (or `null`) matches every notification of the event.
    pub(super) fn compile(
        info: &'static EventInfo,
        param_set: Option<Value>,
    ) -> Result<Filter, ApiError> {
        let object = match param_set {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(object)) => object,
            Some(other) => {
                return Err(ApiError::bad_request(format!(
                    "`paramSet` must be an object of field filters, not {}",
                    json_kind(&other)
                )))
            }
        };
        let mut conditions = Vec::with_capacity(object.len());
        for (key, spec) in object {
            let field = field(info, &key)?;
            match spec {
                Value::Object(operators) => {
                    if operators.is_empty() {
                        return Err(ApiError::bad_request(format!(
                            "filter `{key}`: no operator; give a value, or an object of {OPERATORS}"
                        )));
                    }
                    for (operator, operand) in operators {
                        let test = test(field, &key, &operator, operand)?;
                        conditions.push(Condition {
                            field: field.name,
                            test,
                        });
                    }
                }
                value => conditions.push(Condition {
                    field: field.name,
                    test: Test::Eq(operand(field, &key, value)?),
                }),
            }
        }
        Ok(Filter { conditions })
    }

    /// Whether a notification, as serialized (declared field names), passes every condition.
    pub(super) fn matches(&self, event: &Value) -> bool {
        self.conditions.iter().all(|condition| {
            let value = event.get(condition.field).unwrap_or(&Value::Null);
            match &condition.test {
                Test::Eq(operand) => same(value, operand),
                Test::Ne(operand) => !same(value, operand),
                Test::In(operands) => operands.iter().any(|operand| same(value, operand)),
                Test::Order(operand, wanted) => {
                    compare(value, operand).is_some_and(|ordering| wanted.contains(&ordering))
                }
            }
        })
    }
}

/// The field `key` names, as declared or in camelCase.
fn field(info: &'static EventInfo, key: &str) -> Result<&'static FieldInfo, ApiError> {
    info.fields
        .iter()
        .find(|field| field.name == key)
        .or_else(|| {
            info.fields
                .iter()
                .find(|field| camel_case(field.name) == key)
        })
        .ok_or_else(|| {
            let known: Vec<String> = info
                .fields
                .iter()
                .map(|field| format!("`{}`", camel_case(field.name)))
                .collect();
            let expected = if known.is_empty() {
                format!("`{}` has no fields", info.name)
            } else {
                format!("`{}` has {}", info.name, known.join(", "))
            };
            ApiError::bad_request(format!("filter on unknown field `{key}`; {expected}"))
        })
}

/// One operator of a filter object.
fn test(field: &FieldInfo, key: &str, operator: &str, value: Value) -> Result<Test, ApiError> {
    let wanted: &'static [Ordering] = match operator {
        "eq" => return Ok(Test::Eq(operand(field, key, value)?)),
        "ne" => return Ok(Test::Ne(operand(field, key, value)?)),
        "in" => {
            let Value::Array(items) = value else {
                return Err(ApiError::bad_request(format!(
                    "filter `{key}`: `in` takes an array, not {}",
                    json_kind(&value)
                )));
            };
            let items = items
                .into_iter()
                .map(|item| operand(field, key, item))
                .collect::<Result<_, _>>()?;
            return Ok(Test::In(items));
        }
        "gt" => &[Ordering::Greater],
        "gte" => &[Ordering::Greater, Ordering::Equal],
        "lt" => &[Ordering::Less],
        "lte" => &[Ordering::Less, Ordering::Equal],
        other => {
            return Err(ApiError::bad_request(format!(
                "filter `{key}`: unknown operator `{other}`; expected {OPERATORS}"
            )))
        }
    };
    let value = operand(field, key, value)?;
    if !matches!(value, Value::Number(_) | Value::String(_)) {
        return Err(ApiError::bad_request(format!(
            "filter `{key}`: `{operator}` compares numbers or text, not {}",
            json_kind(&value)
        )));
    }
    Ok(Test::Order(value, wanted))
}

/// An operand, checked against the field's type; text is read as a number or a boolean where
/// the field is one, as in REST parameters.
fn operand(field: &FieldInfo, key: &str, value: Value) -> Result<Value, ApiError> {
    let optional = optional_inner(field.ty).is_some();
    let shape = Shape::of(field.ty);
    let wrong = |expected: &str, value: &Value| {
        ApiError::bad_request(format!(
            "filter `{key}`: the field is {expected}, so {value} cannot match it"
        ))
    };
    match (&value, shape) {
        (Value::Null, _) if optional => Ok(value),
        (_, Shape::List | Shape::Other) => Ok(value),
        (Value::Number(n), Shape::Integer) if n.is_i64() || n.is_u64() => Ok(value),
        (Value::String(text), Shape::Integer) => {
            let text = text.trim();
            text.parse::<i64>()
                .map(Number::from)
                .or_else(|_| text.parse::<u64>().map(Number::from))
                .map(Value::Number)
                .map_err(|_| wrong("a whole number", &value))
        }
        (_, Shape::Integer) => Err(wrong("a whole number", &value)),
        (Value::Number(_), Shape::Float) => Ok(value),
        (Value::String(text), Shape::Float) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| wrong("a number", &value)),
        (_, Shape::Float) => Err(wrong("a number", &value)),
        (Value::Bool(_), Shape::Bool) => Ok(value),
        (Value::String(text), Shape::Bool) => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("true or false", &value)),
        },
        (_, Shape::Bool) => Err(wrong("true or false", &value)),
        (Value::String(_), Shape::Text) => Ok(value),
        (_, Shape::Text) => Err(wrong("text", &value)),
    }
}

/// Equality, with `2` and `2.0` equal.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => compare(a, b) == Some(Ordering::Equal),
        _ => a == b,
    }
}

/// The order of two numbers or two texts; anything else (null, mixed kinds) has none, so an
/// ordering filter never matches it.
fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::Number(a), Value::Number(b)) => match (whole(a), whole(b)) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
        },
        (Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// A whole number, exactly: `i64` and `u64` both fit in `i128`.
fn whole(n: &Number) -> Option<i128> {
    n.as_i64()
        .map(i128::from)
        .or_else(|| n.as_u64().map(i128::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(name: &'static str, ty: &'static str) -> FieldInfo {
        FieldInfo { name, ty, doc: "" }
    }

    #[test]
    fn operands_follow_the_field_type() {
        let count = field("count", "i64");
        assert_eq!(operand(&count, "count", json!("7")).unwrap(), json!(7));
        let error = operand(&count, "count", json!(1.5)).unwrap_err();
        assert!(error.reasons[0].contains("whole number"), "{error:?}");
        let text = field("token", "String");
        assert!(operand(&text, "token", json!(5)).is_err());
        let maybe = field("tag", "Option<String>");
        assert_eq!(operand(&maybe, "tag", Value::Null).unwrap(), Value::Null);
        let ratio = field("ratio", "f64");
        assert_eq!(operand(&ratio, "ratio", json!("0.5")).unwrap(), json!(0.5));
    }

    #[test]
    fn numbers_compare_across_representations() {
        assert!(same(&json!(2), &json!(2.0)));
        assert!(same(&json!(u64::MAX), &json!(u64::MAX)));
        assert_eq!(compare(&json!(-1), &json!(u64::MAX)), Some(Ordering::Less));
        assert_eq!(compare(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(compare(&Value::Null, &json!(1)), None);
    }

    #[test]
    fn operators_build_their_tests() {
        let count = field("count", "u32");
        assert!(matches!(
            test(&count, "count", "in", json!([1, "2"])).unwrap(),
            Test::In(items) if items == vec![json!(1), json!(2)]
        ));
        let error = test(&count, "count", "in", json!(1)).unwrap_err();
        assert!(
            error.reasons[0].contains("`in` takes an array"),
            "{error:?}"
        );
        let error = test(&count, "count", "like", json!(1)).unwrap_err();
        assert!(
            error.reasons[0].contains("unknown operator `like`"),
            "{error:?}"
        );
        let flag = field("flag", "bool");
        let error = test(&flag, "flag", "gt", json!(true)).unwrap_err();
        assert!(
            error.reasons[0].contains("compares numbers or text"),
            "{error:?}"
        );
    }
}
