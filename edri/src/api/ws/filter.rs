//! The filters of `register`: `{"token": "a", "count": {"gte": 2, "lt": 10}}`.
//!
//! Each key names a field of the notification (as declared or in camelCase); each value is
//! either a plain value (equality) or an object of operators `eq ne in gt gte lt lte`. Every
//! condition must hold. Operands are checked against the field's type when the filter is
//! registered, so a mistake is an error frame at once rather than a filter that never matches.
//!
//! Every push tests every filter of its type, so what one client may register is bounded
//! ([`Budget`]), and `in` lists are hash sets of [`Key`]s: a push costs one lookup per list,
//! however long.

use std::cmp::Ordering;
use std::collections::HashSet;
use std::io;

use serde_json::{Map, Number, Value};

use crate::api::reply::{camel_case, ApiError};
use crate::api::rest::json_kind;
use crate::config::ApiLimits;
use crate::event::{FieldInfo, FieldShape};
use crate::EventInfo;

/// The operators a filter object may use, for error messages.
const OPERATORS: &str = "eq, ne, in, gt, gte, lt, lte";

/// The conditions of one `register`, all of which must hold; no condition matches everything.
#[derive(Debug)]
pub(super) struct Filter {
    conditions: Vec<Condition>,
    /// What it takes of its client's [`Budget`], given back when it is unregistered.
    cost: Cost,
}

#[derive(Debug)]
struct Condition {
    /// The field as the notification serializes it (its declared name).
    field: &'static str,
    test: Test,
}

#[derive(Debug)]
enum Test {
    Eq(Key),
    Ne(Key),
    In(HashSet<Key>),
    /// `gt gte lt lte`: the field compared with the operand must give one of these orderings.
    Order(Value, &'static [Ordering]),
}

/// A value reduced to what equality looks at, so that equal values hash alike: `2` and `2.0`
/// are one number, and whole numbers stay exact (`u64::MAX` is not `u64::MAX - 1`, as it
/// would be as an `f64`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Key {
    Null,
    Bool(bool),
    /// A whole number: any `i64` or `u64`, and a float without a fraction (so `2.0`, and
    /// `-0.0` as 0).
    Whole(i128),
    /// Any other number (one with a fraction, or whole beyond ±2^127), by its bits: serde_json
    /// has no NaN, and `-0.0` is whole, so equal numbers have equal bits.
    Float(u64),
    Text(String),
    /// An array or an object, by its JSON text (object keys are sorted, so it is canonical).
    Json(String),
}

impl Key {
    /// The key of a value: of an operand as the filter is compiled, of a field at each push.
    pub(super) fn of(value: &Value) -> Key {
        match value {
            Value::Null => Key::Null,
            Value::Bool(flag) => Key::Bool(*flag),
            Value::Number(number) => Key::number(number),
            Value::String(text) => Key::Text(text.clone()),
            Value::Array(_) | Value::Object(_) => Key::Json(value.to_string()),
        }
    }

    /// Numbers compare by value, whatever their JSON form.
    fn number(number: &Number) -> Key {
        if let Some(whole) = whole(number) {
            return Key::Whole(whole);
        }
        match number.as_f64() {
            // Within ±2^127 the cast is exact; beyond, it would saturate and make unequal
            // floats one key.
            Some(float) if float.fract() == 0.0 && float.abs() < I128_BOUND => {
                Key::Whole(float as i128)
            }
            Some(float) => Key::Float(float.to_bits()),
            // Only with serde_json's `arbitrary_precision`, which edri does not enable.
            None => Key::Json(number.to_string()),
        }
    }
}

/// 2^127: the floats below it in magnitude fit in an `i128`.
const I128_BOUND: f64 = 170_141_183_460_469_231_731_687_303_715_884_105_728.0;

/// What filters hold: conditions plus `in` items, and bytes of operands as JSON text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cost {
    items: usize,
    bytes: usize,
}

impl Cost {
    /// The two costs together.
    pub(super) fn plus(self, other: Cost) -> Cost {
        Cost {
            items: self.items + other.items,
            bytes: self.bytes + other.bytes,
        }
    }
}

/// What one client's filters may hold in all (across every event), and what they hold
/// already.
#[derive(Debug, Clone, Copy)]
pub(super) struct Budget {
    max: Cost,
    spent: Cost,
}

impl Budget {
    /// The limits of `EDRI_API_WS_MAX_FILTER_ITEMS` and `EDRI_API_WS_MAX_FILTER_BYTES`, with
    /// `spent` already registered.
    pub(super) fn new(limits: &ApiLimits, spent: Cost) -> Self {
        Self {
            max: Cost {
                items: limits.ws_max_filter_items,
                bytes: limits.ws_max_filter_bytes,
            },
            spent,
        }
    }

    /// The cost of a `paramSet` if it fits, counted on the JSON before anything is built.
    /// Items are counted first, as that only reads lengths: a huge `in` list is refused
    /// without being walked.
    fn admit(&self, object: &Map<String, Value>) -> Result<Cost, ApiError> {
        let items = count_items(object);
        fits(
            items,
            self.spent.items,
            self.max.items,
            "items (conditions and `in` items)",
            "EDRI_API_WS_MAX_FILTER_ITEMS",
        )?;
        let bytes = count_bytes(object);
        fits(
            bytes,
            self.spent.bytes,
            self.max.bytes,
            "bytes of operands",
            "EDRI_API_WS_MAX_FILTER_BYTES",
        )?;
        Ok(Cost { items, bytes })
    }
}

/// Whether `wanted` more of a quantity fits when `spent` of its `max` is taken already; the
/// error names the limit and its setting.
fn fits(
    wanted: usize,
    spent: usize,
    max: usize,
    what: &str,
    setting: &str,
) -> Result<(), ApiError> {
    if spent.saturating_add(wanted) <= max {
        return Ok(());
    }
    let message = if spent == 0 {
        format!(
            "filter too large: {wanted} {what}, over the limit of {max} per client \
             ({setting})"
        )
    } else {
        format!(
            "filter too large: {wanted} {what} on top of the {spent} this client has \
             registered, over the limit of {max} per client ({setting}); unregister some \
             first"
        )
    };
    Err(ApiError::bad_request(message))
}

/// Each condition counts 1, and each item of an `in` list 1 more.
fn count_items(object: &Map<String, Value>) -> usize {
    object
        .values()
        .map(|spec| match spec {
            Value::Object(operators) => operators
                .iter()
                .map(|(operator, operand)| match (operator.as_str(), operand) {
                    ("in", Value::Array(items)) => 1 + items.len(),
                    _ => 1,
                })
                .sum(),
            _ => 1,
        })
        .sum()
}

/// The length of every operand as JSON text (an `in` list counts as its array).
fn count_bytes(object: &Map<String, Value>) -> usize {
    // Saturating, since `json_len` answers `usize::MAX` for what it cannot measure.
    object
        .values()
        .map(|spec| match spec {
            Value::Object(operators) => operators
                .values()
                .map(json_len)
                .fold(0, usize::saturating_add),
            operand => json_len(operand),
        })
        .fold(0, usize::saturating_add)
}

/// The length of a value's JSON text, without building the text.
fn json_len(value: &Value) -> usize {
    /// Counts the bytes written to it.
    struct Counter(usize);
    impl io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => counter.0,
        // A `Value` always serializes and the counter never fails; were it to, the operand
        // counts as too large rather than free.
        Err(_) => usize::MAX,
    }
}

impl Filter {
    /// Reads a `paramSet` within the client's budget; `None` (or `null`) matches every
    /// notification of the event.
    pub(super) fn compile(
        info: &'static EventInfo,
        param_set: Option<Value>,
        budget: &Budget,
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
        let cost = budget.admit(&object)?;
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
                    test: Test::Eq(Key::of(&operand(field, &key, value)?)),
                }),
            }
        }
        Ok(Filter { conditions, cost })
    }

    /// What this filter takes of its client's budget.
    pub(super) fn cost(&self) -> Cost {
        self.cost
    }

    /// Whether a notification, as serialized (declared field names), passes every condition.
    pub(super) fn matches(&self, event: &Value) -> bool {
        self.conditions.iter().all(|condition| {
            let value = event.get(condition.field).unwrap_or(&Value::Null);
            match &condition.test {
                Test::Eq(operand) => Key::of(value) == *operand,
                Test::Ne(operand) => Key::of(value) != *operand,
                Test::In(operands) => operands.contains(&Key::of(value)),
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
        "eq" => return Ok(Test::Eq(Key::of(&operand(field, key, value)?))),
        "ne" => return Ok(Test::Ne(Key::of(&operand(field, key, value)?))),
        "in" => {
            let Value::Array(items) = value else {
                return Err(ApiError::bad_request(format!(
                    "filter `{key}`: `in` takes an array, not {}",
                    json_kind(&value)
                )));
            };
            let items = items
                .into_iter()
                .map(|item| operand(field, key, item).map(|item| Key::of(&item)))
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

/// An operand, checked against the field's shape; text is read as a number or a boolean where
/// the field is one, as in REST parameters.
fn operand(field: &FieldInfo, key: &str, value: Value) -> Result<Value, ApiError> {
    let optional = field.shape.is_option();
    let shape = *field.shape.without_option();
    let wrong = |expected: &str, value: &Value| {
        ApiError::bad_request(format!(
            "filter `{key}`: the field is {expected}, so {value} cannot match it"
        ))
    };
    match (&value, shape) {
        (Value::Null, _) if optional => Ok(value),
        (
            _,
            FieldShape::List(_)
            | FieldShape::Set(_)
            | FieldShape::Map(_)
            | FieldShape::Unit
            | FieldShape::Other
            | FieldShape::Option(_),
        ) => Ok(value),
        (Value::Number(n), FieldShape::Integer { .. }) if n.is_i64() || n.is_u64() => Ok(value),
        (Value::String(text), FieldShape::Integer { .. }) => {
            let text = text.trim();
            text.parse::<i64>()
                .map(Number::from)
                .or_else(|_| text.parse::<u64>().map(Number::from))
                .map(Value::Number)
                .map_err(|_| wrong("a whole number", &value))
        }
        (_, FieldShape::Integer { .. }) => Err(wrong("a whole number", &value)),
        (Value::Number(_), FieldShape::Float) => Ok(value),
        (Value::String(text), FieldShape::Float) => text
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map(Value::Number)
            .ok_or_else(|| wrong("a number", &value)),
        (_, FieldShape::Float) => Err(wrong("a number", &value)),
        (Value::Bool(_), FieldShape::Bool) => Ok(value),
        (Value::String(text), FieldShape::Bool) => match text.trim() {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(wrong("true or false", &value)),
        },
        (_, FieldShape::Bool) => Err(wrong("true or false", &value)),
        (Value::String(_), FieldShape::String) => Ok(value),
        (_, FieldShape::String) => Err(wrong("text", &value)),
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
    use crate::api::ws::tests::info;
    use serde_json::json;

    const fn field(name: &'static str, ty: &'static str, shape: FieldShape) -> FieldInfo {
        FieldInfo {
            name,
            ty,
            shape,
            optional: shape.is_option(),
            doc: "",
        }
    }

    const fn integer(signed: bool) -> FieldShape {
        FieldShape::Integer { signed, bits: 64 }
    }

    /// A notification with a field of each kind the tests filter on.
    fn sample() -> &'static EventInfo {
        const FIELDS: &[FieldInfo] = &[
            field("big", "u64", integer(false)),
            field("ratio", "f64", FieldShape::Float),
            field("token", "String", FieldShape::String),
        ];
        info("sample", None, FIELDS)
    }

    /// A budget of `items` and `bytes` of which nothing is spent.
    fn budget(items: usize, bytes: usize) -> Budget {
        Budget {
            max: Cost { items, bytes },
            spent: Cost::default(),
        }
    }

    fn compile(param_set: Value) -> Result<Filter, ApiError> {
        Filter::compile(sample(), Some(param_set), &budget(1000, 100_000))
    }

    #[test]
    fn operands_follow_the_field_type() {
        let count = field("count", "i64", integer(true));
        assert_eq!(operand(&count, "count", json!("7")).unwrap(), json!(7));
        let error = operand(&count, "count", json!(1.5)).unwrap_err();
        assert!(error.reasons[0].contains("whole number"), "{error:?}");
        let text = field("token", "String", FieldShape::String);
        assert!(operand(&text, "token", json!(5)).is_err());
        let maybe = field(
            "tag",
            "Option<String>",
            FieldShape::Option(&FieldShape::String),
        );
        assert_eq!(operand(&maybe, "tag", Value::Null).unwrap(), Value::Null);
        assert_eq!(operand(&maybe, "tag", json!("a")).unwrap(), json!("a"));
        assert!(operand(&maybe, "tag", json!(1)).is_err());
        let ratio = field("ratio", "f64", FieldShape::Float);
        assert_eq!(operand(&ratio, "ratio", json!("0.5")).unwrap(), json!(0.5));
    }

    #[test]
    fn numbers_order_across_representations() {
        assert_eq!(compare(&json!(2), &json!(2.0)), Some(Ordering::Equal));
        assert_eq!(compare(&json!(-1), &json!(u64::MAX)), Some(Ordering::Less));
        assert_eq!(
            compare(&json!(u64::MAX - 1), &json!(u64::MAX)),
            Some(Ordering::Less)
        );
        assert_eq!(compare(&json!("b"), &json!("a")), Some(Ordering::Greater));
        assert_eq!(compare(&Value::Null, &json!(1)), None);
    }

    #[test]
    fn equal_numbers_have_one_key_and_whole_numbers_stay_exact() {
        let key = |value: Value| Key::of(&value);
        assert_eq!(key(json!(2)), key(json!(2.0)));
        assert_eq!(key(json!(2)), Key::Whole(2));
        assert_eq!(key(json!(-3)), key(json!(-3.0)));
        assert_eq!(key(json!(0)), key(json!(-0.0)));
        assert_eq!(key(json!(0.5)), key(json!(0.5)));
        assert_ne!(key(json!(0.5)), key(json!(0.25)));
        assert_eq!(key(json!(u64::MAX)), Key::Whole(i128::from(u64::MAX)));
        assert_eq!(key(json!(i64::MIN)), Key::Whole(i128::from(i64::MIN)));
        // As floats these two are one number; as keys they stay apart.
        assert_ne!(key(json!(u64::MAX)), key(json!(u64::MAX - 1)));
        assert_ne!(key(json!(u64::MAX)), key(json!(u64::MAX as f64)));
        // Beyond i128, a whole float keeps its own bits rather than saturating.
        assert_ne!(key(json!(1e300)), key(json!(2e300)));
        assert_eq!(key(json!(1e300)), key(json!(1e300)));
    }

    #[test]
    fn keys_of_other_kinds_never_mix() {
        let key = |value: Value| Key::of(&value);
        assert_eq!(key(json!("2")), Key::Text("2".to_owned()));
        assert_ne!(key(json!("2")), key(json!(2)));
        assert_ne!(key(json!(true)), key(json!(1)));
        assert_ne!(key(json!(true)), key(json!(false)));
        assert_ne!(key(Value::Null), key(json!(0)));
        assert_ne!(key(Value::Null), key(json!("")));
        assert_eq!(key(json!([1, "a"])), Key::Json(r#"[1,"a"]"#.to_owned()));
        assert_ne!(key(json!([1, 2])), key(json!([2, 1])));
        // Object keys are sorted, so the text is the same whatever the order they came in.
        let ab: Value = serde_json::from_str(r#"{"a": 1, "b": 2}"#).unwrap();
        let ba: Value = serde_json::from_str(r#"{"b": 2, "a": 1}"#).unwrap();
        assert_eq!(key(ab), key(ba));
        assert_ne!(key(json!({"a": 1})), key(json!("{\"a\":1}")));
    }

    #[test]
    fn an_in_list_is_a_set_of_keys() {
        let filter = compile(json!({"ratio": {"in": [2, "0.5", 0.5]}})).unwrap();
        let [Condition {
            test: Test::In(set),
            ..
        }] = &filter.conditions[..]
        else {
            panic!("expected one `in` condition: {filter:?}");
        };
        // `"0.5"` is read as the number the field is, so it and `0.5` are one item.
        let expected = HashSet::from([Key::Whole(2), Key::Float(0.5f64.to_bits())]);
        assert_eq!(set, &expected);
        assert!(filter.matches(&json!({"ratio": 2.0})));
        assert!(filter.matches(&json!({"ratio": 0.5})));
        assert!(!filter.matches(&json!({"ratio": 2.5})));
        assert!(!filter.matches(&json!({"ratio": null})));

        let big = compile(json!({"big": {"in": [u64::MAX, "7"]}})).unwrap();
        assert!(big.matches(&json!({"big": u64::MAX})));
        assert!(big.matches(&json!({"big": 7})));
        assert!(!big.matches(&json!({"big": u64::MAX - 1})));
        assert!(!big.matches(&json!({"big": 8})));
    }

    #[test]
    fn eq_and_ne_use_the_same_keys_as_in() {
        let two = compile(json!({"ratio": 2})).unwrap();
        assert!(two.matches(&json!({"ratio": 2.0})));
        assert!(!two.matches(&json!({"ratio": 2.5})));
        let not_max = compile(json!({"big": {"ne": u64::MAX}})).unwrap();
        assert!(not_max.matches(&json!({"big": u64::MAX - 1})));
        assert!(!not_max.matches(&json!({"big": u64::MAX})));
    }

    #[test]
    fn operators_build_their_tests() {
        let count = field("count", "u32", integer(false));
        assert!(matches!(
            test(&count, "count", "in", json!([1, "2"])).unwrap(),
            Test::In(items) if items == HashSet::from([Key::Whole(1), Key::Whole(2)])
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
        let flag = field("flag", "bool", FieldShape::Bool);
        let error = test(&flag, "flag", "gt", json!(true)).unwrap_err();
        assert!(
            error.reasons[0].contains("compares numbers or text"),
            "{error:?}"
        );
    }

    #[test]
    fn a_filter_costs_its_conditions_in_items_and_its_operands_in_bytes() {
        // Two conditions, plus three `in` items.
        let param_set = json!({"token": "ab", "big": {"in": [1, 22, 333]}});
        let filter = compile(param_set).unwrap();
        assert_eq!(
            filter.cost(),
            Cost {
                items: 5,
                bytes: r#""ab""#.len() + "[1,22,333]".len()
            }
        );
        let everything = Filter::compile(sample(), None, &budget(1, 1)).unwrap();
        assert_eq!(everything.cost(), Cost::default());
    }

    #[test]
    fn a_filter_over_the_budget_is_refused_naming_the_limit() {
        let list: Vec<u64> = (0..10).collect();
        let param_set = json!({"big": {"in": list}});
        // 11 items: the condition and its ten.
        let error = Filter::compile(sample(), Some(param_set.clone()), &budget(10, 1000));
        let message = &error.unwrap_err().reasons[0];
        assert!(message.contains("11 items"), "{message}");
        assert!(message.contains("limit of 10 "), "{message}");
        assert!(
            message.contains("EDRI_API_WS_MAX_FILTER_ITEMS"),
            "{message}"
        );
        assert!(Filter::compile(sample(), Some(param_set), &budget(11, 1000)).is_ok());

        let param_set = json!({"token": "x".repeat(20)});
        let error = Filter::compile(sample(), Some(param_set.clone()), &budget(10, 21));
        let message = &error.unwrap_err().reasons[0];
        assert!(message.contains("22 bytes"), "{message}");
        assert!(message.contains("limit of 21 "), "{message}");
        assert!(
            message.contains("EDRI_API_WS_MAX_FILTER_BYTES"),
            "{message}"
        );
        assert!(Filter::compile(sample(), Some(param_set), &budget(10, 22)).is_ok());
    }

    #[test]
    fn what_the_client_holds_already_counts() {
        let spent = Budget {
            max: Cost {
                items: 10,
                bytes: 1000,
            },
            spent: Cost {
                items: 9,
                bytes: 10,
            },
        };
        assert!(Filter::compile(sample(), Some(json!({"big": 1})), &spent).is_ok());
        let error = Filter::compile(sample(), Some(json!({"big": 1, "token": "a"})), &spent);
        let message = &error.unwrap_err().reasons[0];
        assert!(
            message.contains("2 items (conditions and `in` items) on top of the 9"),
            "{message}"
        );
    }
}
