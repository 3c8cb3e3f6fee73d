//! What the user's `#[serde(...)]` attributes say, read as attributes with syn's meta parser.
//!
//! Only the arguments edri acts upon are kept; the others are skipped whatever their form
//! (`name`, `name = value`, `name(...)`). Malformed attributes are left for serde's derive to
//! report: reading them here never fails.

use syn::Attribute;

use crate::diagnostics::skip_value;

/// The serde arguments of one field that matter to edri.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SerdeField {
    /// `with = "..."`, `serialize_with = "..."` or `deserialize_with = "..."`: the user chose
    /// how the field crosses the wire.
    pub(crate) custom: bool,
    /// `default` or `default = "path"`: serde fills the field in when it is missing.
    pub(crate) default: bool,
    /// `skip`, or both `skip_serializing` and `skip_deserializing`: never on the wire.
    pub(crate) skip: bool,
}

/// The serde arguments of a struct that matter to edri.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct SerdeContainer {
    /// `default` or `default = "path"`: serde fills in every missing field.
    pub(crate) default: bool,
}

/// Reads the `#[serde(...)]` attributes of a field.
pub(crate) fn field(attrs: &[Attribute]) -> SerdeField {
    let mut field = SerdeField::default();
    let (mut skip_serializing, mut skip_deserializing) = (false, false);
    for_each_argument(attrs, |meta| {
        let path = &meta.path;
        if path.is_ident("with")
            || path.is_ident("serialize_with")
            || path.is_ident("deserialize_with")
        {
            field.custom = true;
        } else if path.is_ident("default") {
            field.default = true;
        } else if path.is_ident("skip") {
            field.skip = true;
        } else if path.is_ident("skip_serializing") {
            skip_serializing = true;
        } else if path.is_ident("skip_deserializing") {
            skip_deserializing = true;
        }
    });
    field.skip |= skip_serializing && skip_deserializing;
    field
}

/// Reads the `#[serde(...)]` attributes of a struct.
pub(crate) fn container(attrs: &[Attribute]) -> SerdeContainer {
    let mut container = SerdeContainer::default();
    for_each_argument(attrs, |meta| {
        if meta.path.is_ident("default") {
            container.default = true;
        }
    });
    container
}

/// Calls `each` with every argument of every `#[serde(...)]` attribute, its value skipped
/// afterwards whatever its form. Stops at the first malformed attribute, silently.
fn for_each_argument(attrs: &[Attribute], mut each: impl FnMut(&syn::meta::ParseNestedMeta)) {
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            each(&meta);
            skip_value(&meta)
        });
    }
}

#[cfg(test)]
mod tests {
    use syn::parse_quote;

    use super::*;

    fn field_of(attrs: Vec<Attribute>) -> SerdeField {
        field(&attrs)
    }

    #[test]
    fn a_field_without_serde_attributes_has_none() {
        assert_eq!(
            field_of(parse_quote!(#[doc = "with a default"] #[response])),
            SerdeField::default()
        );
    }

    #[test]
    fn codecs_chosen_by_the_user_are_read() {
        for attrs in [
            parse_quote!(#[serde(with = "my::codec")]),
            parse_quote!(#[serde(serialize_with = "a", deserialize_with = "b")]),
            parse_quote!(#[serde(rename = "x")] #[serde(deserialize_with = "b")]),
        ] {
            let read = field_of(attrs);
            assert!(read.custom && !read.default && !read.skip, "{read:?}");
        }
    }

    #[test]
    fn default_is_read_bare_or_with_a_path() {
        for attrs in [
            parse_quote!(#[serde(default)]),
            parse_quote!(#[serde(default = "my::default_port")]),
            parse_quote!(#[serde(alias = "p", default)]),
        ] {
            let read = field_of(attrs);
            assert!(read.default && !read.custom, "{read:?}");
        }
    }

    #[test]
    fn words_inside_values_are_not_arguments() {
        // Found by reading the attribute's text, each of these looked like `with` or `default`.
        for attrs in [
            parse_quote!(#[serde(rename = "with_default")]),
            parse_quote!(#[serde(alias = "default", skip_serializing_if = "Option::is_none")]),
            parse_quote!(#[serde(rename(serialize = "with", deserialize = "default"))]),
            parse_quote!(#[serde(bound(deserialize = "T: Default"))]),
        ] {
            assert_eq!(field_of(attrs), SerdeField::default());
        }
    }

    #[test]
    fn skip_needs_both_directions() {
        assert!(field_of(parse_quote!(#[serde(skip)])).skip);
        assert!(field_of(parse_quote!(#[serde(skip_serializing, skip_deserializing)])).skip);
        assert!(!field_of(parse_quote!(#[serde(skip_serializing)])).skip);
        assert!(!field_of(parse_quote!(#[serde(skip_deserializing)])).skip);
    }

    #[test]
    fn other_attributes_and_malformed_ones_are_left_alone() {
        let read = field_of(parse_quote!(#[serde(= "oops")] #[serde(default)]));
        assert!(read.default);
        assert_eq!(field_of(parse_quote!(#[serde])), SerdeField::default());
        assert_eq!(
            field_of(parse_quote!(#[other(default)])),
            SerdeField::default()
        );
    }

    #[test]
    fn a_container_default_is_read() {
        let attrs: Vec<Attribute> = parse_quote!(#[serde(rename_all = "camelCase", default)]);
        assert!(container(&attrs).default);
        let attrs: Vec<Attribute> = parse_quote!(#[serde(rename_all = "default")]);
        assert!(!container(&attrs).default);
    }
}
