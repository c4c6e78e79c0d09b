//! The members of `MutateOperation`, written by `mutate_members!` from the generated table
//! (google-ads-types/build/mutate.rs reads them from the protos and matches each operation to
//! its result by field name, never by tag): the typed verbs each resource really has
//! ([`Create`], [`Update`], [`Remove`]), `From<XxxOperation> for MutateOperation`, and what the
//! engine reads of any operation ([`OperationInfo`]) and result.

use prost_types::FieldMask;

use super::strings::Strings;
use crate::generated::google;
use crate::latest::services::{MutateOperation, MutateOperationResponse, mutate_operation};
use crate::resource_name::ResourceName;

/// A resource that a `MutateOperation` member creates, updates or removes (`Campaign`,
/// `AdGroup`...). Its verbs are the traits [`Create`], [`Update`] and [`Remove`]: a resource
/// has those its operation message has (`Customer` is update-only, for instance).
pub trait MutateResource:
    prost::Message + Default + Clone + Send + Sync + Strings + 'static
{
    /// Its resource-name type (`CampaignName`).
    type Name: ResourceName;
    /// Its operation message (`CampaignOperation`), with every extra field the operation has
    /// (`update_mask`, `policy_validation_parameter`, `exempt_policy_violation_keys`...).
    type Operation: prost::Message + Default + Clone + Into<MutateOperation>;
    /// The `MutateOperation` member, e.g. `campaign_operation`.
    const OPERATION_FIELD: &'static str;
    /// The resource type, e.g. `googleads.googleapis.com/Campaign`.
    const RESOURCE_TYPE: &'static str;
    /// The full proto name of the message, e.g. `google.ads.googleads.v26.resources.Campaign`.
    const MESSAGE: &'static str;

    /// Its `resource_name` field.
    fn resource_name(&self) -> &str;

    /// Sets its `resource_name` field.
    fn set_resource_name(&mut self, name: String);

    /// The resource in a result of this member, when it was asked for
    /// (`ResponseContentType::MutableResource`).
    fn from_result(result: &MutateOperationResponse) -> Option<&Self>;
}

/// A resource whose operation has `create`.
pub trait Create: MutateResource {
    /// The operation creating `self`.
    fn create_operation(self) -> Self::Operation;

    /// The `MutateOperation` creating `self`, built in one inlined step: a resource can be
    /// over a kilobyte (a `Campaign` is 1.6), and going through the typed operation moved it
    /// twice more.
    #[doc(hidden)]
    fn create_mutate_operation(self) -> MutateOperation {
        self.create_operation().into()
    }
}

/// A resource whose operation has `update`.
pub trait Update: MutateResource {
    /// The operation updating the fields `mask` names to their values in `self`.
    fn update_operation(self, mask: FieldMask) -> Self::Operation;
}

/// A resource whose operation has `remove`.
pub trait Remove: MutateResource {
    /// The operation removing the resource named `name`.
    fn remove_operation(name: &Self::Name) -> Self::Operation;
}

/// A resource-name type whose resource can be removed: lets `Operations::remove(&name)`
/// find the operation from the name alone.
pub trait RemovableName: ResourceName {
    /// The resource the name names.
    type Resource: Remove<Name = Self>;
}

/// What an operation does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verb {
    Create,
    Update,
    Remove,
    /// An action (BookCampaigns, QuoteCampaigns).
    Action,
    /// No operation set.
    Empty,
}

impl Verb {
    /// The verb's field in the operation message, for paths.
    pub fn field(self) -> &'static str {
        match self {
            Verb::Create => "create",
            Verb::Update => "update",
            Verb::Remove => "remove",
            Verb::Action | Verb::Empty => "",
        }
    }
}

/// What the engine reads of one `MutateOperation`.
pub(crate) struct OperationInfo<'a> {
    /// The member, e.g. `campaign_operation` ("" when none is set).
    pub member: &'static str,
    /// Its index in the table of members: the operation's resource type, for grouping.
    pub kind: u16,
    pub verb: Verb,
    /// The resource type created, updated or removed ("" for actions).
    pub resource_type: &'static str,
    /// The name of the resource the operation writes: created, updated or removed.
    pub own_name: Option<&'a str>,
    /// The resource (create, update) or the action, to walk its strings.
    pub body: Option<&'a dyn Strings>,
    /// An update's mask.
    pub update_mask: Option<&'a FieldMask>,
}

impl OperationInfo<'_> {
    fn empty() -> Self {
        OperationInfo {
            member: "",
            kind: u16::MAX,
            verb: Verb::Empty,
            resource_type: "",
            own_name: None,
            body: None,
            update_mask: None,
        }
    }
}

/// The operation message of one member, read as [`OperationInfo`].
trait Member {
    fn info(&self, kind: u16) -> OperationInfo<'_>;
}

macro_rules! member_result_name {
    (named $result:ident) => {
        Some($result.resource_name.as_str())
    };
    (unnamed $result:ident) => {{
        let _ = $result;
        None
    }};
}

macro_rules! member_result_resource {
    (_, $result:ident) => {{
        let _ = $result;
        None
    }};
    ($field:ident, $result:ident) => {
        $result.$field.as_ref()
    };
}

/// A path written as a bracketed group, `[a::b::C]`, as a type.
macro_rules! member_path {
    ([$($part:ident)::+]) => {
        $($part)::+
    };
}

macro_rules! member_verb {
    (create ($resource:ty) ($op:ty) [$($oneof:ident)::+] $mask:ident) => {
        impl Create for $resource {
            fn create_operation(self) -> $op {
                <$op>::from_verb($($oneof)::+::Create(self))
            }

            #[inline]
            fn create_mutate_operation(self) -> MutateOperation {
                MutateOperation::from(<$op>::from_verb($($oneof)::+::Create(self)))
            }
        }
    };
    (update ($resource:ty) ($op:ty) [$($oneof:ident)::+] mask) => {
        impl Update for $resource {
            fn update_operation(self, mask: FieldMask) -> $op {
                let mut op = <$op>::from_verb($($oneof)::+::Update(self));
                op.update_mask = Some(mask);
                op
            }
        }
    };
    (update ($resource:ty) ($op:ty) [$($oneof:ident)::+] nomask) => {
        impl Update for $resource {
            fn update_operation(self, _mask: FieldMask) -> $op {
                <$op>::from_verb($($oneof)::+::Update(self))
            }
        }
    };
    (remove ($resource:ty) ($op:ty) [$($oneof:ident)::+] $mask:ident) => {
        impl RemovableName for <$resource as MutateResource>::Name {
            type Resource = $resource;
        }

        impl Remove for $resource {
            fn remove_operation(name: &Self::Name) -> $op {
                <$op>::from_verb($($oneof)::+::Remove(name.to_string()))
            }
        }
    };
}

/// The member-specific part of a row: a resource's traits, or an action's walk.
macro_rules! member_kind {
    (resource { $oneof:tt ($resource:ty) $name:ident $rtype:literal $message:literal
        [$($verb:ident)*] $mask:ident $result_resource:tt }
        $variant:ident $field:literal ($op:ty) $result_variant:ident) => {
        impl MutateResource for $resource {
            type Name = crate::resource_names::$name;
            type Operation = $op;
            const OPERATION_FIELD: &'static str = $field;
            const RESOURCE_TYPE: &'static str = $rtype;
            const MESSAGE: &'static str = $message;
            fn resource_name(&self) -> &str {
                &self.resource_name
            }
            fn set_resource_name(&mut self, name: String) {
                self.resource_name = name;
            }
            fn from_result(result: &MutateOperationResponse) -> Option<&Self> {
                use crate::latest::services::mutate_operation_response::Response;
                match &result.response {
                    Some(Response::$result_variant(result)) => {
                        member_result_resource!($result_resource, result)
                    }
                    _ => None,
                }
            }
        }

        impl $op {
            // Some operations have no field but the verb.
            #[allow(clippy::needless_update)]
            #[inline]
            fn from_verb(verb: member_path!($oneof)) -> Self {
                Self {
                    operation: Some(verb),
                    ..Default::default()
                }
            }
        }

        $(member_verb!($verb ($resource) ($op) $oneof $mask);)*

        impl Member for $op {
            fn info(&self, kind: u16) -> OperationInfo<'_> {
                type Verbs = member_path!($oneof);
                #[allow(unused_mut)]
                let mut info = OperationInfo {
                    member: $field,
                    kind,
                    verb: Verb::Empty,
                    resource_type: $rtype,
                    own_name: None,
                    body: None,
                    update_mask: None,
                };
                $(member_info!($verb Verbs, self, info, $mask);)*
                info
            }
        }
    };
    (action { } $variant:ident $field:literal ($op:ty) $result_variant:ident) => {
        impl Member for $op {
            fn info(&self, kind: u16) -> OperationInfo<'_> {
                OperationInfo {
                    member: $field,
                    kind,
                    verb: Verb::Action,
                    resource_type: "",
                    own_name: None,
                    body: Some(self),
                    update_mask: None,
                }
            }
        }
    };
}

/// Reads one verb of an operation into its info.
macro_rules! member_info {
    (create $verbs:ident, $op:expr, $info:ident, $mask:ident) => {
        if let Some($verbs::Create(resource)) = &$op.operation {
            $info.verb = Verb::Create;
            $info.own_name = Some(resource.resource_name.as_str()).filter(|name| !name.is_empty());
            $info.body = Some(resource);
        }
    };
    (update $verbs:ident, $op:expr, $info:ident, $mask:ident) => {
        if let Some($verbs::Update(resource)) = &$op.operation {
            $info.verb = Verb::Update;
            $info.own_name = Some(resource.resource_name.as_str());
            $info.body = Some(resource);
            $info.update_mask = member_update_mask!($mask $op);
        }
    };
    (remove $verbs:ident, $op:expr, $info:ident, $mask:ident) => {
        if let Some($verbs::Remove(name)) = &$op.operation {
            $info.verb = Verb::Remove;
            $info.own_name = Some(name.as_str());
        }
    };
}

macro_rules! member_update_mask {
    (mask $op:expr) => {
        $op.update_mask.as_ref()
    };
    (nomask $op:expr) => {
        None
    };
}

/// Everything of the member table: per-member impls, then the dispatch over all members.
macro_rules! mutate_members {
    ($($variant:ident $field:literal $index:literal ($op:ty) $result_variant:ident ($result:ty)
        $named:ident $kind:ident { $($rest:tt)* })*) => {
        $(
            member_kind!($kind { $($rest)* } $variant $field ($op) $result_variant);

            impl From<$op> for MutateOperation {
                #[inline]
                fn from(operation: $op) -> Self {
                    MutateOperation {
                        operation: Some(mutate_operation::Operation::$variant(Box::new(operation))),
                    }
                }
            }
        )*

        /// The members' field names, in table order: a member's index is its `kind`.
        #[allow(dead_code)] // read by the batch driver
        pub(crate) static MEMBERS: &[&str] = &[$($field),*];

        /// What the engine reads of `operation`.
        pub(crate) fn info(operation: &MutateOperation) -> OperationInfo<'_> {
            match &operation.operation {
                $(Some(mutate_operation::Operation::$variant(op)) => op.info($index),)*
                None => OperationInfo::empty(),
            }
        }

        /// The resource name in a result, for the members whose results have one.
        pub(crate) fn result_resource_name(result: &MutateOperationResponse) -> Option<&str> {
            use crate::latest::services::mutate_operation_response::Response;
            match &result.response {
                $(Some(Response::$result_variant(result)) => member_result_name!($named result),)*
                None => None,
            }
        }
    };
}

crate::generated::mutate_member_table!(mutate_members);

/// One operation in a line, for logs and examples: `campaign_operation.create
/// customers/1234567890/campaigns/-2`.
pub fn describe(operation: &MutateOperation) -> String {
    let info = info(operation);
    let verb = info.verb.field();
    let mut line = match (info.member, verb) {
        ("", _) => "(no operation)".to_owned(),
        (member, "") => member.to_owned(),
        (member, verb) => format!("{member}.{verb}"),
    };
    if let Some(name) = info.own_name {
        line.push(' ');
        line.push_str(name);
    }
    line
}
