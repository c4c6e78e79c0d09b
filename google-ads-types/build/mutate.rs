//! Mutate tables: every member of `MutateOperation` (its operation message, verbs, resource,
//! resource-name type and result member, matched by field name, never by tag: the two oneofs
//! do not share tag numbers), and the string fields of every message an operation can carry
//! (with their `google.api.resource_reference` annotation), for the temp-name validator.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use heck::{ToSnakeCase, ToUpperCamelCase};
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, Value};

use crate::resource_names::resource_patterns;
use crate::{BuildResult, module_path, table};

/// prost-build's identifier rules (its `ident.rs`), so the tables name what prost wrote.
fn sanitize(ident: String) -> String {
    match ident.as_str() {
        "as" | "break" | "const" | "continue" | "else" | "enum" | "false" | "fn" | "for" | "if"
        | "impl" | "in" | "let" | "loop" | "match" | "mod" | "move" | "mut" | "pub" | "ref"
        | "return" | "static" | "struct" | "trait" | "true" | "type" | "unsafe" | "use"
        | "where" | "while" | "dyn" | "abstract" | "become" | "box" | "do" | "final" | "macro"
        | "override" | "priv" | "typeof" | "unsized" | "virtual" | "yield" | "async" | "await"
        | "try" | "gen" => format!("r#{ident}"),
        "_" | "super" | "self" | "Self" | "extern" | "crate" => format!("{ident}_"),
        s if s.starts_with(|c: char| c.is_numeric()) => format!("_{ident}"),
        _ => ident,
    }
}

pub(crate) fn rust_snake(name: &str) -> String {
    sanitize(name.to_snake_case())
}

pub(crate) fn rust_camel(name: &str) -> String {
    sanitize(name.to_upper_camel_case())
}

/// The module path of the items nested in `message` (`resources::campaign`).
fn nested_module(message: &MessageDescriptor) -> Vec<String> {
    let mut path = match message.parent_message() {
        Some(parent) => nested_module(&parent),
        None => module_path(message.package_name()),
    };
    path.push(rust_snake(message.name()));
    path
}

/// A message's Rust path from the generated module root.
pub(crate) fn message_path(message: &MessageDescriptor) -> String {
    let mut path = match message.parent_message() {
        Some(parent) => nested_module(&parent),
        None => module_path(message.package_name()),
    };
    path.push(rust_camel(message.name()));
    path.join("::")
}

/// The `google.api.resource_reference` type of a field ("" when it has none).
fn reference_type(pool: &DescriptorPool, field: &FieldDescriptor) -> String {
    let Some(extension) = pool.get_extension_by_name("google.api.resource_reference") else {
        return String::new();
    };
    let options = field.options();
    if !options.has_extension(&extension) {
        return String::new();
    }
    let value = options.get_extension(&extension);
    let Value::Message(reference) = value.as_ref() else {
        return String::new();
    };
    ["type", "child_type"]
        .iter()
        .find_map(|key| match reference.get_field_by_name(key).as_deref() {
            Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

fn is_ads_message(message: &MessageDescriptor) -> bool {
    message.package_name().starts_with("google.ads.googleads.")
}

/// The messages reachable from `roots` (Google Ads packages only) that hold a string
/// somewhere below them: the only ones the validator needs to walk.
fn messages_with_strings(roots: &[MessageDescriptor]) -> BTreeMap<String, MessageDescriptor> {
    let mut reachable: BTreeMap<String, MessageDescriptor> = BTreeMap::new();
    let mut stack: Vec<MessageDescriptor> = roots.to_vec();
    while let Some(message) = stack.pop() {
        if !is_ads_message(&message) || reachable.contains_key(message.full_name()) {
            continue;
        }
        for field in message.fields() {
            if let Kind::Message(child) = field.kind()
                && !field.is_map()
            {
                stack.push(child);
            }
        }
        reachable.insert(message.full_name().to_owned(), message);
    }
    // Keep those with a string field, then their ancestors, until nothing changes.
    let mut keep: BTreeSet<String> = reachable
        .values()
        .filter(|m| {
            m.fields()
                .any(|f| matches!(f.kind(), Kind::String) && !f.is_map())
        })
        .map(|m| m.full_name().to_owned())
        .collect();
    loop {
        let more: Vec<String> = reachable
            .values()
            .filter(|m| !keep.contains(m.full_name()))
            .filter(|m| {
                m.fields().any(|f| {
                    !f.is_map()
                        && matches!(f.kind(), Kind::Message(c) if keep.contains(c.full_name()))
                })
            })
            .map(|m| m.full_name().to_owned())
            .collect();
        if more.is_empty() {
            break;
        }
        keep.extend(more);
    }
    reachable.retain(|name, _| keep.contains(name));
    reachable
}

/// `mutate_member_table!` and `string_field_table!`.
pub(crate) fn mutate_tables_rs(pool: &DescriptorPool, version: &str) -> BuildResult<String> {
    let services = format!("google.ads.googleads.{version}.services");
    let operation = pool
        .get_message_by_name(&format!("{services}.MutateOperation"))
        .ok_or("no MutateOperation")?;
    let response = pool
        .get_message_by_name(&format!("{services}.MutateOperationResponse"))
        .ok_or("no MutateOperationResponse")?;
    let operation_oneof = operation
        .oneofs()
        .find(|o| o.name() == "operation")
        .ok_or("MutateOperation has no oneof `operation`")?;
    let patterns = resource_patterns(pool)?;
    // Resource type -> the struct of its first pattern.
    let mut name_structs: BTreeMap<String, String> = BTreeMap::new();
    for (name, pattern) in &patterns {
        let entry = name_structs.entry(pattern.resource_type.clone());
        entry.or_insert_with(|| name.clone());
    }
    let resource_ext = pool
        .get_extension_by_name("google.api.resource")
        .ok_or("no google.api.resource extension")?;

    let mut members = String::new();
    let mut roots = Vec::new();
    for (index, field) in operation_oneof.fields().enumerate() {
        let Kind::Message(op) = field.kind() else {
            return Err(format!("MutateOperation.{} is not a message", field.name()).into());
        };
        let stem = field.name().strip_suffix("_operation").ok_or_else(|| {
            format!(
                "MutateOperation.{} does not end in _operation",
                field.name()
            )
        })?;
        // By name: the response oneof's tags differ from the operation oneof's.
        let result_field = response
            .get_field_by_name(&format!("{stem}_result"))
            .ok_or_else(|| format!("no MutateOperationResponse.{stem}_result"))?;
        let Kind::Message(result) = result_field.kind() else {
            return Err(format!("{stem}_result is not a message").into());
        };
        let named = if result.get_field_by_name("resource_name").is_some() {
            "named"
        } else {
            "unnamed"
        };
        let inner = op.oneofs().find(|o| o.name() == "operation");
        let resource =
            ["create", "update"]
                .iter()
                .find_map(|verb| match op.get_field_by_name(verb)?.kind() {
                    Kind::Message(m) => Some(m),
                    _ => None,
                });
        match (inner, resource) {
            (Some(inner), Some(resource)) => {
                let options = resource.options();
                let resource_type = match options.get_extension(&resource_ext).as_ref() {
                    Value::Message(d) => match d.get_field_by_name("type").as_deref() {
                        Some(Value::String(s)) => s.clone(),
                        _ => String::new(),
                    },
                    _ => String::new(),
                };
                let name_struct = name_structs.get(&resource_type).ok_or_else(|| {
                    format!(
                        "{} (created by {}) has no resource pattern",
                        resource.full_name(),
                        field.name()
                    )
                })?;
                let verbs: Vec<&str> = ["create", "update", "remove"]
                    .into_iter()
                    .filter(|v| inner.fields().any(|f| f.name() == *v))
                    .collect();
                let mask = if op.get_field_by_name("update_mask").is_some() {
                    "mask"
                } else {
                    "nomask"
                };
                let result_resource = result
                    .fields()
                    .find(|f| matches!(f.kind(), Kind::Message(m) if m == resource))
                    .map_or_else(|| "_".to_owned(), |f| rust_snake(f.name()));
                writeln!(
                    members,
                    "            {variant} {field:?} {index} ({op_path}) {result_variant} ({result_path}) {named} resource {{ [{oneof_path}] ({resource_path}) {name_struct} {resource_type:?} {message:?} [{verbs}] {mask} {result_resource} }}",
                    variant = rust_camel(field.name()),
                    field = field.name(),
                    op_path = message_path(&op),
                    oneof_path = format_args!(
                        "{}::{}",
                        nested_module(&op).join("::"),
                        rust_camel(inner.name())
                    ),
                    resource_path = message_path(&resource),
                    message = resource.full_name(),
                    result_variant = rust_camel(result_field.name()),
                    result_path = message_path(&result),
                    verbs = verbs.join(" "),
                )?;
                roots.push(resource);
            }
            _ => {
                writeln!(
                    members,
                    "            {variant} {field:?} {index} ({op_path}) {result_variant} ({result_path}) {named} action {{ }}",
                    variant = rust_camel(field.name()),
                    field = field.name(),
                    op_path = message_path(&op),
                    result_variant = rust_camel(result_field.name()),
                    result_path = message_path(&result),
                )?;
                roots.push(op);
            }
        }
    }
    let mut out = table(
        "mutate_member_table",
        "Every MutateOperation member: variant, field, index, operation message, result variant and \
         message, whether the result has a resource name, then `resource { oneof, resource, \
         name struct, resource type, message name, verbs, update mask or not, the result's \
         resource field }` or `action { }`.",
        &members,
    );

    let mut rows = String::new();
    let walked = messages_with_strings(&roots);
    let keep_message = |field: &FieldDescriptor| match field.kind() {
        Kind::Message(child) => walked.contains_key(child.full_name()),
        _ => false,
    };
    for message in walked.values() {
        writeln!(rows, "            ({}) [", message_path(message))?;
        for field in message.fields() {
            if field.is_map() || field.containing_oneof().is_some_and(|o| !o.is_synthetic()) {
                continue;
            }
            let kind = match field.kind() {
                Kind::String if field.is_list() => "list",
                Kind::String if field.supports_presence() => "opt",
                Kind::String => "plain",
                Kind::Message(_) if !keep_message(&field) => continue,
                Kind::Message(_) if field.is_list() => "msgs",
                Kind::Message(_) => "msg",
                _ => continue,
            };
            writeln!(
                rows,
                "                {kind} {ident} {name:?} {reference:?};",
                ident = rust_snake(field.name()),
                name = field.name(),
                reference = reference_type(pool, &field),
            )?;
        }
        rows.push_str("            ] [\n");
        for oneof in message.oneofs().filter(|o| !o.is_synthetic()) {
            let variants: Vec<String> = oneof
                .fields()
                .filter_map(|field| {
                    let kind = match field.kind() {
                        Kind::String => "str",
                        Kind::Message(_) if keep_message(&field) => "msg",
                        _ => return None,
                    };
                    Some(format!(
                        "{kind} {variant} {name:?} {reference:?};",
                        variant = rust_camel(field.name()),
                        name = field.name(),
                        reference = reference_type(pool, &field),
                    ))
                })
                .collect();
            if variants.is_empty() {
                continue;
            }
            writeln!(
                rows,
                "                {ident} [{path}] {{ {variants} }}",
                ident = rust_snake(oneof.name()),
                path = format_args!(
                    "{}::{}",
                    nested_module(message).join("::"),
                    rust_camel(oneof.name())
                ),
                variants = variants.join(" "),
            )?;
        }
        rows.push_str("            ];\n");
    }
    out.push_str(&table(
        "string_field_table",
        "Every message an operation can carry that holds strings: its string fields (plain, \
         opt, list) and message fields (msg, msgs) with proto name and reference annotation, \
         then its oneofs with their string and message members.",
        &rows,
    ));
    Ok(out)
}
