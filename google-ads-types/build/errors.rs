//! Error tables: error-code names, operation fields, responses with partial failures.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use prost_reflect::DescriptorPool;

use crate::{BuildResult, naive_snake_case, table, upper_camel};

/// What the error layer needs from the descriptors, so nothing is hand-listed:
/// - `error_code_parts`: every `ErrorCode` oneof member's field name and enum value name;
/// - `OPERATION_FIELDS`: the repeated operation fields of requests that take `partial_failure`,
///   whose index is the operation index of an error;
/// - a `MutateResponse` impl for every response with `partial_failure_error`.
pub(crate) fn error_tables_rs(pool: &DescriptorPool, version: &str) -> BuildResult<String> {
    let services = format!("google.ads.googleads.{version}.services");
    let mut out = table(
        "error_code_table",
        "Every ErrorCode oneof member: variant, field name, enum (module::Enum under `errors`).",
        &error_code_rows(pool, version)?,
    );

    let mut operation_fields = BTreeSet::new();
    let mut responses = Vec::new();
    for message in pool.all_messages().filter(|m| m.package_name() == services) {
        let has = |name: &str| message.get_field_by_name(name).is_some();
        if has("partial_failure") {
            for field in message.fields() {
                if field.is_list() && matches!(field.kind(), prost_reflect::Kind::Message(_)) {
                    operation_fields.insert(field.name().to_owned());
                }
            }
        }
        if let Some(error) = message.get_field_by_name("partial_failure_error") {
            let results: Vec<_> = message
                .fields()
                .filter(|f| f.is_list() && matches!(f.kind(), prost_reflect::Kind::Message(_)))
                .collect();
            let is_status = matches!(error.kind(), prost_reflect::Kind::Message(m) if m.full_name() == "google.rpc.Status");
            if let ([results], true, None) =
                (results.as_slice(), is_status, message.parent_message())
            {
                let prost_reflect::Kind::Message(result) = results.kind() else {
                    unreachable!("filtered on message kind")
                };
                if result.package_name() == services && result.parent_message().is_none() {
                    responses.push((
                        message.name().to_owned(),
                        results.name().to_owned(),
                        result.name().to_owned(),
                    ));
                }
            }
        }
    }
    out.push_str(&table(
        "operation_field_table",
        "Request fields holding operations: an error's first field-path element names one.",
        &format!(
            "            {:?}\n",
            operation_fields.iter().collect::<Vec<_>>()
        ),
    ));
    let mut rows = String::new();
    for (response, field, result) in responses {
        writeln!(rows, "            {response} {field} {result};")?;
    }
    out.push_str(&table(
        "mutate_response_table",
        "Responses with partial_failure_error: response, results field, result (under `services`).",
        &rows,
    ));
    Ok(out)
}

/// `error_code_table_vNN!`: one version's ErrorCode members, so an error code only an older
/// enabled version knows still has its name.
pub(crate) fn error_code_table_rs(pool: &DescriptorPool, version: &str) -> BuildResult<String> {
    Ok(table(
        &format!("error_code_table_{version}"),
        "One version's ErrorCode oneof members: variant, field name, enum (module::Enum under `errors`).",
        &error_code_rows(pool, version)?,
    ))
}

/// The rows of an error-code table: `Variant "field_name" module::Enum;`.
fn error_code_rows(pool: &DescriptorPool, version: &str) -> BuildResult<String> {
    let errors = format!("google.ads.googleads.{version}.errors");
    let code = pool
        .get_message_by_name(&format!("{errors}.ErrorCode"))
        .ok_or("no ErrorCode message")?;
    let mut codes = String::new();
    for field in code.fields() {
        let prost_reflect::Kind::Enum(en) = field.kind() else {
            continue;
        };
        let parent = en
            .parent_message()
            .ok_or_else(|| format!("{} is not nested in a message", en.full_name()))?;
        writeln!(
            codes,
            "            {variant} {name:?} {module}::{enum_name};",
            variant = upper_camel(field.name()),
            name = field.name(),
            module = naive_snake_case(parent.name()),
            enum_name = en.name(),
        )?;
    }
    Ok(codes)
}
