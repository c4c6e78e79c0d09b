//! References without a `google.api.resource_reference` annotation: the string fields named
//! like a resource (`AdImageAsset.asset`, `UserListInfo.user_list`...), found by walking the
//! descriptors from every resource an operation creates. Each one, holding a temporary name
//! that no operation creates, is caught by the check, at its own field path.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use google_ads::latest::services::MutateOperation;
use google_ads::mutate::Operations;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, FieldDescriptor, Kind, Value};

use super::CID;

fn snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

fn annotated(pool: &DescriptorPool, field: &FieldDescriptor) -> bool {
    let extension = pool
        .get_extension_by_name("google.api.resource_reference")
        .unwrap();
    field.options().has_extension(&extension)
}

/// Sets `value` at the end of `path` (descending through messages, one element in lists).
fn set_path(message: &mut DynamicMessage, path: &[FieldDescriptor], value: &str) {
    let field = &path[0];
    let set = if path.len() == 1 {
        Value::String(value.to_owned())
    } else {
        let Kind::Message(child) = field.kind() else {
            unreachable!("only messages lead further")
        };
        let mut child = DynamicMessage::new(child);
        set_path(&mut child, &path[1..], value);
        Value::Message(child)
    };
    let set = if field.is_list() {
        Value::List(vec![set])
    } else {
        set
    };
    message.set_field(field, set);
}

#[test]
fn unannotated_references_holding_an_uncreated_temporary_name_are_caught() {
    let pool = DescriptorPool::decode(google_ads::FILE_DESCRIPTOR_SET).unwrap();
    let version = google_ads::API_VERSION;
    let operation = pool
        .get_message_by_name(&format!(
            "google.ads.googleads.{version}.services.MutateOperation"
        ))
        .unwrap();
    // Resource types by snake name, with a temporary name of each.
    let mut resources: BTreeMap<String, String> = BTreeMap::new();
    for info in google_ads::resource_names::ALL {
        let name = info.resource_type.rsplit('/').next().unwrap();
        let parts: Vec<String> = info
            .variables
            .iter()
            .enumerate()
            .map(|(i, _)| match i {
                0 => CID.to_owned(),
                i if i + 1 == info.variables.len() => "-77".to_owned(),
                _ => "5".to_owned(),
            })
            .collect();
        if info.pattern.starts_with("customers/")
            && let Ok(temp) = (info.build)(parts)
        {
            resources.entry(snake(name)).or_insert(temp);
        }
    }
    // Every (message, field) named like a resource, without annotation, reachable from what
    // an operation creates, with the path to it from the MutateOperation.
    let mut found: BTreeMap<(String, String), Vec<FieldDescriptor>> = BTreeMap::new();
    for member in operation.fields() {
        let Kind::Message(op) = member.kind() else {
            continue;
        };
        let Some(create) = op.get_field_by_name("create") else {
            continue;
        };
        let mut queue: VecDeque<Vec<FieldDescriptor>> = VecDeque::from([vec![member, create]]);
        let mut seen = BTreeSet::new();
        while let Some(path) = queue.pop_front() {
            let Kind::Message(message) = path.last().unwrap().kind() else {
                continue;
            };
            if !message.package_name().starts_with("google.ads.")
                || !seen.insert(message.full_name().to_owned())
            {
                continue;
            }
            for field in message.fields() {
                if field.is_map() {
                    continue;
                }
                match field.kind() {
                    Kind::String
                        if resources.contains_key(field.name()) && !annotated(&pool, &field) =>
                    {
                        let mut to = path.clone();
                        to.push(field.clone());
                        found
                            .entry((message.name().to_owned(), field.name().to_owned()))
                            .or_insert(to);
                    }
                    Kind::Message(_) if path.len() < 8 => {
                        let mut to = path.clone();
                        to.push(field.clone());
                        queue.push_back(to);
                    }
                    _ => {}
                }
            }
        }
    }
    let listed: Vec<String> = found.keys().map(|(m, f)| format!("{m}.{f}")).collect();
    eprintln!(
        "{} unannotated reference-like fields: {}",
        listed.len(),
        listed.join(", ")
    );
    for expected in ["AdImageAsset.asset", "UserListInfo.user_list"] {
        assert!(
            listed.iter().any(|l| l == expected),
            "{expected} not found in {listed:?}"
        );
    }
    for ((message, field), path) in &found {
        let temp = &resources[field.as_str()];
        let mut dynamic = DynamicMessage::new(operation.clone());
        set_path(&mut dynamic, path, temp);
        let typed = MutateOperation::decode(dynamic.encode_to_vec().as_slice()).unwrap();
        let mut operations = Operations::new(CID).unwrap();
        operations.push(typed);
        let error = operations.validate().unwrap_err();
        let expected_tail: Vec<&str> = path[2..].iter().map(|f| f.name()).collect();
        let caught = error.violations().iter().any(|v| {
            v.rule().contains("is never created") && {
                let plain: String = v
                    .field()
                    .split('.')
                    .map(|part| part.split('[').next().unwrap())
                    .collect::<Vec<_>>()
                    .join(".");
                plain.ends_with(&expected_tail.join("."))
            }
        });
        assert!(caught, "{message}.{field} via {expected_tail:?}: {error}");
    }
}
