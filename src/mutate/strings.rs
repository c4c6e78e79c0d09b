//! Every string an operation carries, with its field path: what the temp-name validator and
//! the grouping read. Written by `visit_strings!` from the generated table of every message an
//! operation can hold that has a string somewhere below it (plain, optional, repeated, nested,
//! oneof members), so walking an operation touches no reflection and encodes nothing.

use std::fmt;

use crate::generated::google;

/// A field path being walked: `campaign_operation.create.final_urls[2]`.
#[derive(Clone, Debug, Default)]
pub struct FieldPath(Vec<(&'static str, Option<usize>)>);

impl FieldPath {
    pub fn push(&mut self, name: &'static str, index: Option<usize>) {
        self.0.push((name, index));
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// Whether the path is the one field `name` of the walked message itself.
    pub fn is(&self, name: &str) -> bool {
        matches!(self.0.as_slice(), [(n, None)] if *n == name)
    }
}

impl fmt::Display for FieldPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (name, index)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(".")?;
            }
            f.write_str(name)?;
            if let Some(index) = index {
                write!(f, "[{index}]")?;
            }
        }
        Ok(())
    }
}

/// Called with each string: its path, its value (borrowed from the message walked), and its
/// `google.api.resource_reference` type ("" when the field has no annotation).
pub type Visit<'a, 'v> = dyn FnMut(&FieldPath, &'a str, &'static str) + 'v;

/// A message whose strings can be walked. Public only as a supertrait of
/// [`super::MutateResource`] (this module is private: the trait is sealed).
pub trait Strings {
    fn strings<'a>(&'a self, path: &mut FieldPath, f: &mut Visit<'a, '_>);
}

macro_rules! visit_field {
    (plain $value:expr, $name:literal, $reference:literal, $path:ident, $f:ident) => {{
        $path.push($name, None);
        $f($path, &$value, $reference);
        $path.pop();
    }};
    (opt $value:expr, $name:literal, $reference:literal, $path:ident, $f:ident) => {
        if let Some(value) = &$value {
            $path.push($name, None);
            $f($path, value, $reference);
            $path.pop();
        }
    };
    (list $value:expr, $name:literal, $reference:literal, $path:ident, $f:ident) => {
        for (i, value) in $value.iter().enumerate() {
            $path.push($name, Some(i));
            $f($path, value, $reference);
            $path.pop();
        }
    };
    (msg $value:expr, $name:literal, $reference:literal, $path:ident, $f:ident) => {
        if let Some(value) = &$value {
            $path.push($name, None);
            value.strings($path, $f);
            $path.pop();
        }
    };
    (msgs $value:expr, $name:literal, $reference:literal, $path:ident, $f:ident) => {
        for (i, value) in $value.iter().enumerate() {
            $path.push($name, Some(i));
            value.strings($path, $f);
            $path.pop();
        }
    };
}

macro_rules! visit_oneof {
    ($value:expr, [$($oneof:ident)::+], $path:ident, $f:ident,
     $($kind:ident $variant:ident $name:literal $reference:literal;)*) => {
        if let Some(value) = &$value {
            type Oneof = $($oneof)::+;
            #[allow(unreachable_patterns)]
            match value {
                $(Oneof::$variant(value) => visit_variant!($kind value, $name, $reference, $path, $f),)*
                _ => {}
            }
        }
    };
}

macro_rules! visit_variant {
    (str $value:ident, $name:literal, $reference:literal, $path:ident, $f:ident) => {{
        $path.push($name, None);
        $f($path, $value, $reference);
        $path.pop();
    }};
    (msg $value:ident, $name:literal, $reference:literal, $path:ident, $f:ident) => {{
        $path.push($name, None);
        $value.strings($path, $f);
        $path.pop();
    }};
}

/// `Strings` for every message of the generated `string_field_table`.
macro_rules! visit_strings {
    ($(($($message:ident)::+) [
        $($kind:ident $field:ident $name:literal $reference:literal;)*
    ] [
        $($oneof_field:ident [$($oneof:ident)::+] { $($variants:tt)* })*
    ];)*) => {
        $(
            impl Strings for $($message)::+ {
                #[allow(unused_variables)]
                fn strings<'a>(&'a self, path: &mut FieldPath, f: &mut Visit<'a, '_>) {
                    $(visit_field!($kind self.$field, $name, $reference, path, f);)*
                    $(visit_oneof!(self.$oneof_field, [$($oneof)::+], path, f, $($variants)*);)*
                }
            }
        )*
    };
}

crate::generated::string_field_table!(visit_strings);
