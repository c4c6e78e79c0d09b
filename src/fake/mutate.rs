//! The mutate engine shared by GoogleAdsService.Mutate, the per-resource Mutate* services and
//! batch jobs: temporary names, references, ids, validation, atomic or partial commits.

use std::collections::{HashMap, HashSet};

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value};

use super::failure::AdsError;
use super::reflect::{self, Resource, full};
use super::store::CustomerData;
use crate::latest::services;

pub(crate) type Path = Vec<(String, Option<i32>)>;

/// One operation to run: where it sits in the request, what it mutates, and the
/// `XxxOperation` message itself.
pub(crate) struct OpIn {
    pub path: Path,
    pub resource: Resource,
    pub op: DynamicMessage,
}

/// What a successful operation produced.
#[derive(Clone, Debug)]
pub(crate) struct OpOut {
    pub resource_name: String,
    pub resource: DynamicMessage,
}

pub(crate) type OpResult = Result<OpOut, Vec<AdsError>>;

#[derive(Clone)]
enum Temp {
    Created(String),
    Failed,
}

/// One request's (or one batch job's) mutation context: temporary ids live as long as it.
#[derive(Clone, Default)]
pub(crate) struct Mutation {
    temps: HashMap<i64, Temp>,
    touched: HashSet<String>,
}

/// The resource behind a `XxxOperation` message (its `create` or `update` field's type).
pub(crate) fn resource_of_operation(op: &prost_reflect::MessageDescriptor) -> Option<Resource> {
    let api = reflect::api();
    ["create", "update"]
        .iter()
        .find_map(|name| match op.get_field_by_name(name)?.kind() {
            Kind::Message(m) => api
                .by_type
                .get(api.type_of_message.get(m.full_name())?)
                .cloned(),
            _ => None,
        })
}

/// Runs `ops` against `data`. Atomic: all commit or none does. Partial: each operation
/// commits on its own. validate_only: nothing commits.
/// An operation that failed before it could run (no operation set, unsupported) is passed in
/// as its errors.
pub(crate) fn run(
    customer_id: &str,
    data: &mut CustomerData,
    ops: Vec<Result<OpIn, Vec<AdsError>>>,
    partial_failure: bool,
    validate_only: bool,
) -> Vec<OpResult> {
    let mut mutation = Mutation::default();
    let mut run_one = |data: &mut CustomerData, op: Result<OpIn, Vec<AdsError>>| {
        op.and_then(|op| mutation.execute(customer_id, data, &op))
    };
    if partial_failure && !validate_only {
        return ops.into_iter().map(|op| run_one(data, op)).collect();
    }
    let mut scratch = data.clone();
    let results: Vec<OpResult> = ops
        .into_iter()
        .map(|op| run_one(&mut scratch, op))
        .collect();
    if !validate_only && results.iter().all(Result::is_ok) {
        *data = scratch;
    }
    results
}

fn err(path: &Path, error: AdsError) -> Vec<AdsError> {
    vec![error.under(path)]
}

impl Mutation {
    /// Marks the temporary id of `name` (a create's own name) as failed: its users then fail
    /// with TEMP_ID_RESOURCE_HAD_ERRORS, as after a failed create.
    pub fn fail_temp(&mut self, name: &str) {
        if let Some(id) = name
            .rsplit(['/', '~'])
            .next()
            .and_then(|id| id.parse::<i64>().ok())
            .filter(|id| *id < 0)
        {
            self.temps.insert(id, Temp::Failed);
        }
    }

    /// Runs one operation: all its checks first, then its change, so a failed operation
    /// leaves `data` as it was.
    pub fn execute(&mut self, customer_id: &str, data: &mut CustomerData, op: &OpIn) -> OpResult {
        let Some((field, value)) = reflect::set_oneof_field(&op.op, "operation") else {
            return Err(err(
                &op.path,
                AdsError::new(
                    "request_error",
                    "OPERATION_REQUIRED",
                    "The mutate operation must set create, update or remove.",
                ),
            ));
        };
        let mut path = op.path.clone();
        path.push((field.name().to_owned(), None));
        match (field.name(), value) {
            ("create", Value::Message(resource)) => {
                self.create(customer_id, data, op, &path, resource)
            }
            ("update", Value::Message(resource)) => {
                self.update(customer_id, data, op, &path, resource)
            }
            ("remove", Value::String(name)) => self.remove(customer_id, data, op, &path, &name),
            (other, _) => Err(err(
                &path,
                AdsError::new(
                    "mutate_error",
                    "MUTATE_NOT_ALLOWED",
                    format!("The fake server does not support '{other}' operations."),
                ),
            )),
        }
    }

    fn create(
        &mut self,
        customer_id: &str,
        data: &mut CustomerData,
        op: &OpIn,
        path: &Path,
        mut res: DynamicMessage,
    ) -> OpResult {
        let mut errors = Vec::new();
        let given_name = string(&res, "resource_name");
        let mut temp_id = None;
        if !given_name.is_empty() {
            match parse_name(&op.resource, &given_name) {
                Some(parts) if parts[0] != customer_id => errors.push(
                    AdsError::new(
                        "request_error",
                        "RESOURCE_NAME_MALFORMED",
                        "The resource name's customer id differs from the request's.",
                    )
                    .at("resource_name")
                    .trigger(given_name.clone()),
                ),
                Some(parts) => match parts.last().and_then(|id| id.parse::<i64>().ok()) {
                    Some(id) if id < 0 && self.temps.contains_key(&id) => errors.push(
                        AdsError::new(
                            "new_resource_creation_error",
                            "DUPLICATE_TEMP_IDS",
                            "Multiple operations use the same temporary id.",
                        )
                        .at("resource_name")
                        .trigger(given_name.clone()),
                    ),
                    Some(id) if id < 0 => temp_id = Some(id),
                    _ => errors.push(
                        AdsError::new(
                            "new_resource_creation_error",
                            "CANNOT_SET_ID_FOR_CREATE",
                            "Do not set the id field while creating new resources.",
                        )
                        .at("resource_name")
                        .trigger(given_name.clone()),
                    ),
                },
                None => errors.push(
                    AdsError::new(
                        "request_error",
                        "RESOURCE_NAME_MALFORMED",
                        "The resource name is malformed.",
                    )
                    .at("resource_name")
                    .trigger(given_name.clone()),
                ),
            }
        }
        // A temporary id is claimed even when the operation fails, so its children fail with
        // TEMP_ID_RESOURCE_HAD_ERRORS rather than as unknown names.
        if let Some(id) = temp_id {
            self.temps.insert(id, Temp::Failed);
        }
        errors.extend(self.resolve_references(customer_id, data, &op.resource, &mut res));
        errors.extend(validate(data, &op.resource, &res, None));
        if !errors.is_empty() {
            return Err(errors.into_iter().map(|e| e.under(path)).collect());
        }
        let name = match allocate_name(customer_id, data, &op.resource, &mut res) {
            Ok(name) => name,
            Err(e) => return Err(err(path, e)),
        };
        res.set_field_by_name("resource_name", Value::String(name.clone()));
        if let Some(id) = temp_id {
            self.temps.insert(id, Temp::Created(name.clone()));
        }
        self.touched.insert(name.clone());
        data.insert(name.clone(), res.clone());
        Ok(OpOut {
            resource_name: name,
            resource: res,
        })
    }

    fn update(
        &mut self,
        customer_id: &str,
        data: &mut CustomerData,
        op: &OpIn,
        path: &Path,
        mut update: DynamicMessage,
    ) -> OpResult {
        let given = string(&update, "resource_name");
        if given.is_empty() {
            return Err(err(
                path,
                AdsError::new(
                    "request_error",
                    "RESOURCE_NAME_MISSING",
                    "Resource name is missing.",
                )
                .at("resource_name"),
            ));
        }
        let name = self
            .resolve(customer_id, data, &op.resource, &given)
            .map_err(|e| err(path, e.at("resource_name")))?;
        if !self.touched.insert(name.clone()) {
            return Err(err(path, multiple_mutates(&name)));
        }
        let mask = op.op.get_field_by_name("update_mask").and_then(|m| {
            m.as_message()
                .and_then(|m| m.get_field_by_name("paths"))
                .map(|p| p.into_owned())
        });
        let paths: Vec<String> = match mask {
            Some(Value::List(list)) => list
                .iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect(),
            _ => Vec::new(),
        };
        let mut update_path = op.path.clone();
        update_path.push(("update_mask".into(), None));
        if paths.is_empty() {
            return Err(err(
                &update_path,
                AdsError::new(
                    "field_mask_error",
                    "FIELD_MASK_MISSING",
                    "The field mask must be set for an update.",
                ),
            ));
        }
        let mut errors: Vec<AdsError> = self
            .resolve_references(customer_id, data, &op.resource, &mut update)
            .into_iter()
            .map(|e| e.under(path))
            .collect();
        let Some(mut merged) = data.get(&name).cloned() else {
            return Err(err(path, multiple_mutates(&name)));
        };
        for mask_path in &paths {
            if !copy_path(&update, &mut merged, mask_path) {
                errors.push(
                    AdsError::new(
                        "field_mask_error",
                        "FIELD_NOT_FOUND",
                        "The field mask names a field that does not exist.",
                    )
                    .under(&update_path)
                    .trigger(mask_path.clone()),
                );
            }
        }
        errors.extend(
            validate(data, &op.resource, &merged, Some(&name))
                .into_iter()
                .map(|e| e.under(path)),
        );
        if !errors.is_empty() {
            return Err(errors);
        }
        data.insert(name.clone(), merged.clone());
        Ok(OpOut {
            resource_name: name,
            resource: merged,
        })
    }

    fn remove(
        &mut self,
        customer_id: &str,
        data: &mut CustomerData,
        op: &OpIn,
        path: &Path,
        given: &str,
    ) -> OpResult {
        let name = self
            .resolve(customer_id, data, &op.resource, given)
            .map_err(|e| err(path, e))?;
        if !self.touched.insert(name.clone()) {
            return Err(err(path, multiple_mutates(&name)));
        }
        let Some(mut stored) = data.get(&name).cloned() else {
            return Err(err(path, multiple_mutates(&name)));
        };
        let descriptor = stored.descriptor();
        match reflect::enum_number(&descriptor, "status", "REMOVED") {
            // Like the real API, removing most resources marks them REMOVED.
            Some(removed) => {
                stored.set_field_by_name("status", Value::EnumNumber(removed));
                data.insert(name.clone(), stored.clone());
            }
            None => {
                data.remove(&name);
            }
        }
        Ok(OpOut {
            resource_name: name,
            resource: stored,
        })
    }

    /// Maps a name (temporary or not) to an existing resource of `resource`'s type.
    fn resolve(
        &self,
        customer_id: &str,
        data: &CustomerData,
        resource: &Resource,
        given: &str,
    ) -> Result<String, AdsError> {
        let Some(parts) = parse_name(resource, given) else {
            return Err(AdsError::new(
                "request_error",
                "RESOURCE_NAME_MALFORMED",
                "The resource name is malformed.",
            )
            .trigger(given));
        };
        if parts[0] != customer_id {
            return Err(AdsError::new(
                "request_error",
                "RESOURCE_NAME_MALFORMED",
                "The resource name's customer id differs from the request's.",
            )
            .trigger(given));
        }
        let name = match parts.last().and_then(|id| id.parse::<i64>().ok()) {
            Some(id) if id < 0 => match self.temps.get(&id) {
                Some(Temp::Created(real)) => real.clone(),
                Some(Temp::Failed) => {
                    return Err(AdsError::new(
                        "new_resource_creation_error",
                        "TEMP_ID_RESOURCE_HAD_ERRORS",
                        "The operation that creates this temporary resource failed.",
                    )
                    .trigger(given));
                }
                None => {
                    return Err(AdsError::new(
                        "mutate_error",
                        "RESOURCE_NOT_FOUND",
                        "The temporary resource name is not created by an earlier operation of this request.",
                    )
                    .trigger(given));
                }
            },
            _ => given.to_owned(),
        };
        match data.get(&name) {
            Some(found) if found.descriptor() == resource.message => Ok(name),
            _ => Err(AdsError::new(
                "mutate_error",
                "RESOURCE_NOT_FOUND",
                "The requested resource was not found.",
            )
            .trigger(given)),
        }
    }

    /// Replaces temporary names in reference fields by real ones, checking each exists.
    fn resolve_references(
        &self,
        customer_id: &str,
        data: &CustomerData,
        resource: &Resource,
        res: &mut DynamicMessage,
    ) -> Vec<AdsError> {
        let api = reflect::api();
        let mut errors = Vec::new();
        for (field, target_type) in &resource.references {
            let given = match res.get_field(field).as_str() {
                Some(s) if !s.is_empty() => s.to_owned(),
                _ => continue,
            };
            let Some(target) = api.by_type.get(target_type) else {
                continue;
            };
            match self.resolve(customer_id, data, target, &given) {
                Ok(real) => res.set_field(field, Value::String(real)),
                Err(e) => errors.push(e.at(field.name())),
            }
        }
        errors
    }
}

fn multiple_mutates(name: &str) -> AdsError {
    AdsError::new(
        "mutate_error",
        "ID_EXISTS_IN_MULTIPLE_MUTATES",
        "The same resource is mutated by more than one operation.",
    )
    .trigger(name)
}

fn string(message: &DynamicMessage, field: &str) -> String {
    message
        .get_field_by_name(field)
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The pattern variables of `name`, or None when it does not fit the pattern.
pub(crate) fn parse_name(resource: &Resource, name: &str) -> Option<Vec<String>> {
    let pattern: Vec<&str> = resource.pattern.split('/').collect();
    let segments: Vec<&str> = name.split('/').collect();
    if pattern.len() != segments.len() {
        return None;
    }
    let mut parts = Vec::new();
    for (p, s) in pattern.iter().zip(&segments) {
        if p.starts_with('{') {
            let pieces: Vec<&str> = s.split('~').collect();
            if pieces.len() != p.split('~').count() || pieces.iter().any(|x| x.is_empty()) {
                return None;
            }
            parts.extend(pieces.into_iter().map(str::to_owned));
        } else if p != s {
            return None;
        }
    }
    Some(parts)
}

/// Gives a new resource its name: the customer, parent ids from its references, a new id.
fn allocate_name(
    customer_id: &str,
    data: &mut CustomerData,
    resource: &Resource,
    res: &mut DynamicMessage,
) -> Result<String, AdsError> {
    let api = reflect::api();
    let mut values: HashMap<&str, String> = HashMap::new();
    values.insert("customer_id", customer_id.to_owned());
    let last = resource.vars.last().map(String::as_str).unwrap_or_default();
    for var in &resource.vars[1..resource.vars.len().saturating_sub(1)] {
        // A parent id comes from the reference whose target's own id has that variable name.
        let from_reference = resource.references.iter().find_map(|(field, target_type)| {
            let target = api.by_type.get(target_type)?;
            if target.vars.last() != Some(var) {
                return None;
            }
            let name = res.get_field(field).as_str()?.to_owned();
            parse_name(target, &name)?.pop()
        });
        let value = from_reference.ok_or_else(|| {
            AdsError::new(
                "field_error",
                "REQUIRED",
                format!("The parent needed for '{var}' is missing."),
            )
        })?;
        values.insert(var, value);
    }
    let id = data.allocate_id();
    values.insert(last, id.to_string());
    let descriptor = res.descriptor();
    for id_field in ["id", last] {
        if let Some(f) = descriptor.get_field_by_name(id_field)
            && matches!(f.kind(), Kind::Int64)
        {
            res.set_field(&f, Value::I64(id));
        }
    }
    let mut name = String::new();
    let mut rest = resource.pattern.as_str();
    while let Some(open) = rest.find('{') {
        name.push_str(&rest[..open]);
        let close = rest[open..].find('}').map_or(rest.len(), |c| open + c);
        name.push_str(
            values
                .get(&rest[open + 1..close])
                .map(String::as_str)
                .unwrap_or_default(),
        );
        rest = rest.get(close + 1..).unwrap_or_default();
    }
    name.push_str(rest);
    Ok(name)
}

/// Copies one field-mask path from `from` to `to`; false when the path names no field.
fn copy_path(from: &DynamicMessage, to: &mut DynamicMessage, path: &str) -> bool {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let Some(field) = from.descriptor().get_field_by_name(head) else {
        return false;
    };
    match rest {
        None => {
            if from.has_field(&field) {
                to.set_field(&field, from.get_field(&field).into_owned());
            } else {
                to.clear_field(&field);
            }
            true
        }
        Some(rest) => {
            // The API refuses a path through a repeated field: a list is replaced whole.
            let Kind::Message(child) = field.kind() else {
                return false;
            };
            if field.is_list() || field.is_map() {
                return false;
            }
            let from_child = match from.get_field(&field).as_message() {
                Some(m) => m.clone(),
                None => DynamicMessage::new(child.clone()),
            };
            let mut to_child = match to.get_field(&field).as_message() {
                Some(m) => m.clone(),
                None => DynamicMessage::new(child),
            };
            let ok = copy_path(&from_child, &mut to_child, rest);
            to.set_field(&field, Value::Message(to_child));
            ok
        }
    }
}

/// Per-resource rules: required fields, unique names, amounts; plus enum values everywhere.
/// `existing` is the resource's own name on update (it may keep its own name).
fn validate(
    data: &CustomerData,
    resource: &Resource,
    res: &DynamicMessage,
    existing: Option<&str>,
) -> Vec<AdsError> {
    let mut errors = Vec::new();
    check_enums(res, &mut Vec::new(), &mut errors);
    let message = resource.message.name();
    let required: &[&str] = match message {
        "CampaignBudget" => &["amount_micros"],
        "Campaign" => &["name", "advertising_channel_type", "campaign_budget"],
        "AdGroup" => &["name", "campaign"],
        "AdGroupAd" => &["ad_group", "ad"],
        "AdGroupCriterion" => &["ad_group"],
        "CampaignCriterion" => &["campaign"],
        "Label" => &["name"],
        _ => &[],
    };
    for field in required {
        if !is_set(res, field) {
            errors.push(
                AdsError::new(
                    "field_error",
                    "REQUIRED",
                    "The required field was not present.",
                )
                .at(field),
            );
        }
    }
    let duplicate = |code_field, code_name, message, scope: Option<&str>| -> Option<AdsError> {
        let name = string(res, "name");
        if name.is_empty() {
            return None;
        }
        let clash = data
            .named(resource.message.full_name(), &name)
            .any(|other| {
                Some(string(other, "resource_name").as_str()) != existing
                    && string(other, "name") == name
                    && !is_removed(other)
                    && scope.is_none_or(|s| string(other, s) == string(res, s))
            });
        clash.then(|| {
            AdsError::new(code_field, code_name, message)
                .at("name")
                .trigger(name)
        })
    };
    errors.extend(match message {
        "CampaignBudget" => duplicate(
            "campaign_budget_error",
            "DUPLICATE_NAME",
            "Budget name is already in use.",
            None,
        ),
        "Campaign" => duplicate(
            "campaign_error",
            "DUPLICATE_CAMPAIGN_NAME",
            "Campaign name is already in use.",
            None,
        ),
        "AdGroup" => duplicate(
            "ad_group_error",
            "DUPLICATE_ADGROUP_NAME",
            "AdGroup with the same name already exists for the campaign.",
            Some("campaign"),
        ),
        "Label" => duplicate(
            "label_error",
            "DUPLICATE_NAME",
            "Label name is already in use.",
            None,
        ),
        _ => None,
    });
    if message == "CampaignBudget"
        && let Some(amount) = res
            .get_field_by_name("amount_micros")
            .and_then(|v| v.as_i64())
    {
        if amount < 0 {
            errors.push(
                AdsError::new(
                    "campaign_budget_error",
                    "NEGATIVE_MONEY_AMOUNT",
                    "Amount must not be negative.",
                )
                .at("amount_micros"),
            );
        } else if amount % 10_000 != 0 {
            errors.push(
                AdsError::new(
                    "campaign_budget_error",
                    "NON_MULTIPLE_OF_MINIMUM_CURRENCY_UNIT",
                    "Amount must be a multiple of the currency's minimum unit.",
                )
                .at("amount_micros")
                .trigger(amount.to_string()),
            );
        }
    }
    errors
}

fn is_set(res: &DynamicMessage, field: &str) -> bool {
    let Some(f) = res.descriptor().get_field_by_name(field) else {
        return false;
    };
    if !res.has_field(&f) {
        return false;
    }
    match res.get_field(&f).as_ref() {
        Value::String(s) => !s.is_empty(),
        Value::EnumNumber(n) => *n != 0,
        _ => true,
    }
}

fn is_removed(res: &DynamicMessage) -> bool {
    let descriptor = res.descriptor();
    match (
        reflect::enum_number(&descriptor, "status", "REMOVED"),
        res.get_field_by_name("status"),
    ) {
        (Some(removed), Some(v)) => v.as_enum_number() == Some(removed),
        _ => false,
    }
}

/// Every set enum value must be a defined one other than UNKNOWN (an output-only value).
fn check_enums(message: &DynamicMessage, path: &mut Vec<String>, errors: &mut Vec<AdsError>) {
    for (field, value) in message.fields() {
        path.push(field.name().to_owned());
        let values: Vec<&Value> = match value {
            Value::List(list) => list.iter().collect(),
            other => vec![other],
        };
        for value in values {
            match (field.kind(), value) {
                (Kind::Enum(e), Value::EnumNumber(n)) => {
                    let known = e.get_value(*n);
                    if known.is_none() || known.is_some_and(|v| v.name() == "UNKNOWN") {
                        let mut error = AdsError::new(
                            "request_error",
                            "INVALID_ENUM_VALUE",
                            "Enum value is not permitted.",
                        )
                        .trigger(n.to_string());
                        error.path = path.iter().map(|p| (p.clone(), None)).collect();
                        errors.push(error);
                    }
                }
                (_, Value::Message(child)) => check_enums(child, path, errors),
                _ => {}
            }
        }
        path.pop();
    }
}

/// A `MutateXResult`: the name, and the resource itself when asked for; empty on failure.
pub(crate) fn result_of(
    result_message: &MessageDescriptor,
    result: &OpResult,
    mutable: bool,
) -> DynamicMessage {
    let mut message = DynamicMessage::new(result_message.clone());
    if let Ok(out) = result {
        message.set_field_by_name("resource_name", Value::String(out.resource_name.clone()));
        if mutable
            && let Some(field) = result_message
                .fields()
                .find(|f| matches!(f.kind(), prost_reflect::Kind::Message(m) if m == out.resource.descriptor()))
        {
            message.set_field(&field, Value::Message(out.resource.clone()));
        }
    }
    message
}

/// `campaign_operation` -> the `MutateOperationResponse` field `campaign_result`: by name,
/// since the two oneofs do not share tag numbers.
pub(crate) fn result_field_for(operation_field: &str) -> Option<prost_reflect::FieldDescriptor> {
    let response = reflect::message(&full("services.MutateOperationResponse"));
    let stem = operation_field.strip_suffix("_operation")?;
    response.get_field_by_name(&format!("{stem}_result"))
}

/// GoogleAdsService.Mutate's (or a batch job's) operations with their oneof field names;
/// error paths count from `first_index` (a batch job's chunks index into the whole job).
pub(crate) fn mutate_ops(
    operations: &[services::MutateOperation],
    first_index: usize,
) -> Vec<(String, Result<OpIn, Vec<AdsError>>)> {
    let descriptor = reflect::message(&full("services.MutateOperation"));
    operations
        .iter()
        .enumerate()
        .map(|(i, op)| {
            let mut path = vec![(
                "mutate_operations".to_owned(),
                Some((first_index + i) as i32),
            )];
            let dynamic = reflect::to_dynamic(op, descriptor.clone());
            match reflect::set_oneof_field(&dynamic, "operation") {
                Some((field, Value::Message(inner))) => {
                    path.push((field.name().to_owned(), None));
                    let op_in = match resource_of_operation(&inner.descriptor()) {
                        Some(resource) if result_field_for(field.name()).is_some() => Ok(OpIn {
                            path,
                            resource,
                            op: inner,
                        }),
                        _ => Err(vec![unsupported(&inner.descriptor()).under(&path)]),
                    };
                    (field.name().to_owned(), op_in)
                }
                _ => (
                    String::new(),
                    Err(vec![
                        AdsError::new(
                            "request_error",
                            "OPERATION_REQUIRED",
                            "The mutate operation sets no operation.",
                        )
                        .under(&path),
                    ]),
                ),
            }
        })
        .collect()
}

/// `MutateOperationResponse`s aligned with the operations; a failed one is left empty.
pub(crate) fn mutate_responses(
    fields: &[String],
    results: &[OpResult],
    mutable: bool,
) -> Vec<services::MutateOperationResponse> {
    fields
        .iter()
        .zip(results)
        .map(|(field, result)| {
            let Some(result_field) = result_field_for(field).filter(|_| result.is_ok()) else {
                return services::MutateOperationResponse::default();
            };
            let prost_reflect::Kind::Message(result_message) = result_field.kind() else {
                return services::MutateOperationResponse::default();
            };
            let mut response = DynamicMessage::new(result_field.parent_message().clone());
            response.set_field(
                &result_field,
                Value::Message(result_of(&result_message, result, mutable)),
            );
            reflect::to_typed(&response)
        })
        .collect()
}

pub(crate) fn unsupported(op: &MessageDescriptor) -> AdsError {
    AdsError::new(
        "mutate_error",
        "MUTATE_NOT_ALLOWED",
        format!("The fake server does not model {}.", op.name()),
    )
}
