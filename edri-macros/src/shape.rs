//! The shape of a field's values in JSON, read from the field's type as written: what the
//! runtime's `FieldShape` records, so the API never parses type names at run time.
//!
//! A type is known by the last segment of its path (`std::vec::Vec<u8>` is a `Vec`), as serde
//! writes the standard types; a type of the program that shares a standard name is taken for
//! it, which only changes how the API reads text parameters and documents the field.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{GenericArgument, PathArguments, Type};

/// The shape of a field type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Shape {
    String,
    Bool,
    /// A whole number; `bits` is `None` for `usize` and `isize`, whose width is the target's.
    Integer {
        signed: bool,
        bits: Option<u8>,
    },
    Float,
    Unit,
    Option(Box<Shape>),
    List(Box<Shape>),
    Set(Box<Shape>),
    Map(Box<Shape>),
    Other,
}

impl Shape {
    /// The shape of `ty`.
    pub(crate) fn of(ty: &Type) -> Shape {
        match ty {
            Type::Path(path) if path.qself.is_none() => {
                let Some(last) = path.path.segments.last() else {
                    return Shape::Other;
                };
                let arguments: Vec<&Type> = match &last.arguments {
                    PathArguments::AngleBracketed(arguments) => arguments
                        .args
                        .iter()
                        .filter_map(|argument| match argument {
                            GenericArgument::Type(ty) => Some(ty),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                Shape::named(&last.ident.to_string(), &arguments)
            }
            Type::Reference(reference) => Shape::of(&reference.elem),
            Type::Paren(paren) => Shape::of(&paren.elem),
            // A type that came through a `macro_rules!` fragment.
            Type::Group(group) => Shape::of(&group.elem),
            Type::Array(array) => Shape::List(Box::new(Shape::of(&array.elem))),
            Type::Slice(slice) => Shape::List(Box::new(Shape::of(&slice.elem))),
            Type::Tuple(tuple) if tuple.elems.is_empty() => Shape::Unit,
            _ => Shape::Other,
        }
    }

    /// The shape of a type named `name` with the type arguments `arguments`.
    fn named(name: &str, arguments: &[&Type]) -> Shape {
        let integer = |signed: bool, bits: Option<u8>| Shape::Integer { signed, bits };
        let boxed = |index: usize| {
            Box::new(
                arguments
                    .get(index)
                    .map_or(Shape::Other, |ty| Shape::of(ty)),
            )
        };
        match (name, arguments.len()) {
            ("u8", 0) => integer(false, Some(8)),
            ("u16", 0) => integer(false, Some(16)),
            ("u32", 0) => integer(false, Some(32)),
            ("u64", 0) => integer(false, Some(64)),
            ("u128", 0) => integer(false, Some(128)),
            ("usize", 0) => integer(false, None),
            ("i8", 0) => integer(true, Some(8)),
            ("i16", 0) => integer(true, Some(16)),
            ("i32", 0) => integer(true, Some(32)),
            ("i64", 0) => integer(true, Some(64)),
            ("i128", 0) => integer(true, Some(128)),
            ("isize", 0) => integer(true, None),
            ("f32" | "f64", 0) => Shape::Float,
            ("bool", 0) => Shape::Bool,
            ("String" | "str" | "char" | "PathBuf" | "Path", 0) => Shape::String,
            ("Option", 1) => Shape::Option(boxed(0)),
            ("Vec" | "VecDeque" | "LinkedList", 1) => Shape::List(boxed(0)),
            ("HashSet" | "BTreeSet", 1..=2) => Shape::Set(boxed(0)),
            ("HashMap" | "BTreeMap", 2..=3) => Shape::Map(boxed(1)),
            // Written as what they point to (a `Cow<'a, str>` has one type argument).
            ("Box" | "Arc" | "Rc" | "Cow", 1) => *boxed(0),
            _ => Shape::Other,
        }
    }

    /// The `::edri::FieldShape` value, a constant expression.
    pub(crate) fn to_value(&self) -> TokenStream {
        let shape = quote!(::edri::FieldShape);
        match self {
            Shape::String => quote!(#shape::String),
            Shape::Bool => quote!(#shape::Bool),
            Shape::Integer { signed, bits } => {
                let bits = match bits {
                    Some(bits) => quote!(#bits),
                    None => quote!(::core::primitive::usize::BITS as u8),
                };
                quote!(#shape::Integer { signed: #signed, bits: #bits })
            }
            Shape::Float => quote!(#shape::Float),
            Shape::Unit => quote!(#shape::Unit),
            Shape::Option(inner) => wrap(quote!(Option), inner),
            Shape::List(item) => wrap(quote!(List), item),
            Shape::Set(item) => wrap(quote!(Set), item),
            Shape::Map(value) => wrap(quote!(Map), value),
            Shape::Other => quote!(#shape::Other),
        }
    }

    /// Whether it is an `Option`.
    pub(crate) fn is_option(&self) -> bool {
        matches!(self, Shape::Option(_))
    }
}

/// `FieldShape::Variant(&inner)`.
fn wrap(variant: TokenStream, inner: &Shape) -> TokenStream {
    let inner = inner.to_value();
    quote!(::edri::FieldShape::#variant(&#inner))
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::Shape;

    fn shape(ty: syn::Type) -> Shape {
        Shape::of(&ty)
    }

    fn boxed(shape: Shape) -> Box<Shape> {
        Box::new(shape)
    }

    #[test]
    fn numbers_know_their_sign_and_width() {
        let u32 = Shape::Integer {
            signed: false,
            bits: Some(32),
        };
        assert_eq!(shape(parse_quote!(u32)), u32);
        assert_eq!(shape(parse_quote!(::core::primitive::u32)), u32);
        assert_eq!(
            shape(parse_quote!(i128)),
            Shape::Integer {
                signed: true,
                bits: Some(128)
            }
        );
        assert_eq!(
            shape(parse_quote!(usize)),
            Shape::Integer {
                signed: false,
                bits: None
            }
        );
        assert_eq!(shape(parse_quote!(f64)), Shape::Float);
        assert_eq!(shape(parse_quote!(bool)), Shape::Bool);
    }

    #[test]
    fn text_is_a_string_however_it_is_held() {
        for ty in [
            parse_quote!(String),
            parse_quote!(std::string::String),
            parse_quote!(&'static str),
            parse_quote!(char),
            parse_quote!(std::path::PathBuf),
            parse_quote!(Box<str>),
            parse_quote!(Cow<'static, str>),
            parse_quote!(std::sync::Arc<String>),
        ] {
            assert_eq!(shape(ty), Shape::String);
        }
    }

    #[test]
    fn containers_carry_the_shape_of_their_items() {
        assert_eq!(
            shape(parse_quote!(Option<Vec<String>>)),
            Shape::Option(boxed(Shape::List(boxed(Shape::String))))
        );
        assert_eq!(
            shape(parse_quote!(std::option::Option<bool>)),
            Shape::Option(boxed(Shape::Bool))
        );
        assert_eq!(
            shape(parse_quote!([u8; 4])),
            Shape::List(boxed(Shape::Integer {
                signed: false,
                bits: Some(8)
            }))
        );
        assert_eq!(
            shape(parse_quote!(&'static [f32])),
            Shape::List(boxed(Shape::Float))
        );
        assert_eq!(
            shape(parse_quote!(std::collections::BTreeSet<String>)),
            Shape::Set(boxed(Shape::String))
        );
        assert_eq!(
            shape(parse_quote!(HashMap<String, Vec<bool>>)),
            Shape::Map(boxed(Shape::List(boxed(Shape::Bool))))
        );
        assert_eq!(
            shape(parse_quote!(HashMap<String, i64, MyHasher>)),
            Shape::Map(boxed(Shape::Integer {
                signed: true,
                bits: Some(64)
            }))
        );
    }

    #[test]
    fn other_types_are_any_json() {
        assert_eq!(shape(parse_quote!(())), Shape::Unit);
        assert_eq!(shape(parse_quote!(edri::Value)), Shape::Other);
        assert_eq!(shape(parse_quote!(MyStruct)), Shape::Other);
        assert_eq!(shape(parse_quote!((u32, String))), Shape::Other);
        assert_eq!(shape(parse_quote!(<T as Trait>::Assoc)), Shape::Other);
        // A standard name with other arguments than the standard type's is not taken for it.
        assert_eq!(shape(parse_quote!(Option<A, B>)), Shape::Other);
        assert_eq!(shape(parse_quote!(u32<A>)), Shape::Other);
    }

    #[test]
    fn a_type_from_a_macro_fragment_is_seen_through() {
        let group = syn::Type::Group(syn::TypeGroup {
            group_token: Default::default(),
            elem: Box::new(parse_quote!(Option<u8>)),
        });
        assert!(Shape::of(&group).is_option());
    }

    #[test]
    fn the_value_is_a_constant_of_edri() {
        let value = shape(parse_quote!(Option<usize>)).to_value().to_string();
        assert_eq!(
            value.replace(' ', ""),
            "::edri::FieldShape::Option(&::edri::FieldShape::Integer{signed:false,bits:::core::primitive::usize::BITSasu8})"
        );
    }
}
