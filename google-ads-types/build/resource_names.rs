//! Resource-name patterns: one row per `google.api.resource` pattern.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prost_reflect::{DescriptorPool, Value};

use crate::{BuildResult, table};

/// One `google.api.resource` pattern, split into its literal and variable parts.
pub(crate) struct Pattern {
    pub resource_type: String,
    pub pattern: String,
    /// Variables in order, e.g. `customer_id`, `ad_group_id`, `ad_id`.
    pub vars: Vec<String>,
}

pub(crate) fn resource_patterns(pool: &DescriptorPool) -> BuildResult<BTreeMap<String, Pattern>> {
    let resource_ext = pool
        .get_extension_by_name("google.api.resource")
        .ok_or("google.api.resource extension not found in the protos")?;
    let mut patterns = BTreeMap::new();
    for message in pool.all_messages() {
        let options = message.options();
        if !options.has_extension(&resource_ext) {
            continue;
        }
        let descriptor = options.get_extension(&resource_ext);
        let Value::Message(descriptor) = descriptor.as_ref() else {
            continue;
        };
        let resource_type = match descriptor.get_field_by_name("type").as_deref() {
            Some(Value::String(s)) => s.clone(),
            _ => {
                return Err(
                    format!("{} has a resource without a type", message.full_name()).into(),
                );
            }
        };
        let Some(Value::List(list)) = descriptor.get_field_by_name("pattern").as_deref().cloned()
        else {
            continue;
        };
        let list: Vec<String> = list
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        for (i, pattern) in list.iter().enumerate() {
            let vars = pattern_vars(pattern)
                .map_err(|e| format!("{}: pattern {pattern:?}: {e}", message.full_name()))?;
            // A resource with several patterns gets a struct for each, numbered after the first.
            let name = if i == 0 {
                format!("{}Name", message.name())
            } else {
                format!("{}Name{}", message.name(), i + 1)
            };
            let pattern = Pattern {
                resource_type: resource_type.clone(),
                pattern: pattern.clone(),
                vars,
            };
            if patterns.insert(name.clone(), pattern).is_some() {
                return Err(format!("two resources would both be named {name}").into());
            }
        }
    }
    Ok(patterns)
}

/// The variables of a pattern; each segment must be a literal or `{a}~{b}~...`.
fn pattern_vars(pattern: &str) -> Result<Vec<String>, String> {
    let mut vars = Vec::new();
    for segment in pattern.split('/') {
        if !segment.contains('{') {
            continue;
        }
        for part in segment.split('~') {
            let var = part
                .strip_prefix('{')
                .and_then(|p| p.strip_suffix('}'))
                .filter(|v| {
                    !v.is_empty()
                        && v.chars()
                            .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                })
                .ok_or_else(|| {
                    format!("segment {segment:?} is neither a literal nor {{a}}~{{b}}")
                })?;
            vars.push(var.to_owned());
        }
    }
    Ok(vars)
}

fn rust_field(var: &str) -> String {
    match var {
        "type" | "match" | "ref" | "self" | "mod" | "use" | "fn" | "impl" => format!("r#{var}"),
        _ => var.to_owned(),
    }
}

/// `resource_names! { CampaignName = "type", "pattern", [customer_id, campaign_id], [...]; }`:
/// the data of every pattern; the macro (google-ads `src/resource_name.rs`) writes the structs.
pub(crate) fn resource_names_rs(pool: &DescriptorPool) -> BuildResult<String> {
    let patterns = resource_patterns(pool)?;
    let mut out = String::new();
    for (name, p) in &patterns {
        let fields: Vec<String> = p.vars.iter().map(|v| rust_field(v)).collect();
        writeln!(
            out,
            "            {name} = {rt:?}, {pat:?}, [{fields}], {vars:?};",
            rt = p.resource_type,
            pat = p.pattern,
            fields = fields.join(", "),
            vars = p.vars,
        )?;
    }
    Ok(table(
        "resource_name_table",
        "Every resource-name pattern: struct name = type, pattern, fields, variables.",
        &out,
    ))
}
