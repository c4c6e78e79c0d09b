//! A GAQL subset over the in-memory store: `SELECT fields FROM resource [WHERE cond AND ...]
//! [ORDER BY field [ASC|DESC], ...] [LIMIT n] [PARAMETERS ...]`, with conditions `= != < <= >
//! >= IN, NOT IN, LIKE, NOT LIKE, IS NULL, IS NOT NULL`. Fields of resources the FROM resource
//! references (e.g. `campaign.name` FROM ad_group) are joined through those references.

use std::cmp::Ordering;

use prost_reflect::{DynamicMessage, Kind, MessageDescriptor, ReflectMessage, Value};

use super::date;
use super::failure::AdsError;
use super::reflect::{self, full};
use super::store::CustomerData;

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Number(f64, String),
    Str(String),
    Punct(&'static str),
}

fn query_error(name: &'static str, message: &str) -> AdsError {
    AdsError::new("query_error", name, message)
}

fn tokenize(query: &str) -> Result<Vec<Token>, AdsError> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
            {
                i += 1;
            }
            tokens.push(Token::Word(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse()
                .map_err(|_| query_error("BAD_NUMBER", "Invalid number.").trigger(text.clone()))?;
            tokens.push(Token::Number(n, text));
        } else if c == '\'' || c == '"' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(query_error(
                            "STRING_NOT_TERMINATED",
                            "String literal is not terminated.",
                        ));
                    }
                    Some('\\') => {
                        s.extend(chars.get(i + 1));
                        i += 2;
                    }
                    Some(&q) if q == c => {
                        i += 1;
                        break;
                    }
                    Some('\n') => {
                        return Err(query_error(
                            "PROHIBITED_NEWLINE_IN_STRING",
                            "Newline in a string literal.",
                        ));
                    }
                    Some(&other) => {
                        s.push(other);
                        i += 1;
                    }
                }
            }
            tokens.push(Token::Str(s));
        } else {
            let two: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let punct = ["!=", "<=", ">=", "=", "<", ">", ",", "(", ")"]
                .into_iter()
                .find(|p| two.starts_with(p))
                .ok_or_else(|| {
                    query_error("BAD_SYMBOL", "Unexpected character in the query.")
                        .trigger(c.to_string())
                })?;
            i += punct.len();
            tokens.push(Token::Punct(punct));
        }
    }
    Ok(tokens)
}

#[derive(Clone, Debug)]
enum Literal {
    Number(f64),
    Text(String),
}

#[derive(Clone, Debug)]
enum Op {
    Cmp(&'static str, Literal),
    In(bool, Vec<Literal>),
    Like(bool, String),
    Null(bool),
    /// `DURING LAST_7_DAYS` and the other named ranges: first and last day, `YYYY-MM-DD`.
    During(String, String),
}

#[derive(Clone, Debug)]
struct Condition {
    field: String,
    op: Op,
}

/// A parsed query.
#[derive(Clone, Debug)]
pub(crate) struct Query {
    pub select: Vec<String>,
    pub from: String,
    conditions: Vec<Condition>,
    order: Vec<(String, bool)>,
    pub limit: Option<usize>,
}

struct Parser {
    tokens: Vec<Token>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn next(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.at).cloned();
        self.at += 1;
        t
    }

    fn keyword(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word)) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn field(&mut self) -> Result<String, AdsError> {
        match self.next() {
            Some(Token::Word(w)) if w.contains('.') => Ok(w),
            Some(Token::Word(w)) => Err(query_error(
                "UNRECOGNIZED_FIELD",
                "Expected a field name such as campaign.name.",
            )
            .trigger(w)),
            _ => Err(query_error(
                "UNEXPECTED_END_OF_QUERY",
                "Expected a field name.",
            )),
        }
    }

    fn literal(&mut self) -> Result<Literal, AdsError> {
        match self.next() {
            Some(Token::Number(n, _)) => Ok(Literal::Number(n)),
            Some(Token::Str(s)) => Ok(Literal::Text(s)),
            // Enum constants may go unquoted: campaign.status = ENABLED.
            Some(Token::Word(w)) => Ok(Literal::Text(w)),
            _ => Err(query_error("BAD_VALUE", "Expected a value.")),
        }
    }
}

pub(crate) fn parse(query: &str) -> Result<Query, AdsError> {
    let mut p = Parser {
        tokens: tokenize(query)?,
        at: 0,
    };
    if !p.keyword("SELECT") {
        return Err(query_error(
            "EXPECTED_SELECT",
            "The query must start with SELECT.",
        ));
    }
    let mut select = vec![p.field()?];
    while p.peek() == Some(&Token::Punct(",")) {
        p.at += 1;
        select.push(p.field()?);
    }
    if !p.keyword("FROM") {
        return Err(query_error(
            "EXPECTED_FROM",
            "Expected FROM after the selected fields.",
        ));
    }
    let from = match p.next() {
        Some(Token::Word(w)) if !w.contains('.') => w,
        _ => {
            return Err(query_error(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                "Expected a resource after FROM.",
            ));
        }
    };
    let mut conditions = Vec::new();
    if p.keyword("WHERE") {
        loop {
            let field = p.field()?;
            let op = if p.keyword("IN") {
                Op::In(true, list(&mut p)?)
            } else if p.keyword("NOT") {
                if p.keyword("IN") {
                    Op::In(false, list(&mut p)?)
                } else if p.keyword("LIKE") {
                    Op::Like(false, text(&mut p)?)
                } else {
                    return Err(query_error(
                        "BAD_OPERATOR",
                        "Expected IN or LIKE after NOT.",
                    ));
                }
            } else if p.keyword("LIKE") {
                Op::Like(true, text(&mut p)?)
            } else if p.keyword("DURING") {
                let range = match p.next() {
                    Some(Token::Word(range)) => range,
                    _ => {
                        return Err(query_error(
                            "INVALID_VALUE_WITH_DURING_OPERATOR",
                            "Expected a date range after DURING.",
                        ));
                    }
                };
                let (first, last) = date_range(&range, date::today()).ok_or_else(|| {
                    query_error(
                        "INVALID_VALUE_WITH_DURING_OPERATOR",
                        &format!("{range} is not a date range."),
                    )
                })?;
                Op::During(first, last)
            } else if p.keyword("IS") {
                let negated = p.keyword("NOT");
                if !p.keyword("NULL") {
                    return Err(query_error("BAD_OPERATOR", "Expected NULL after IS."));
                }
                Op::Null(!negated)
            } else {
                match p.next() {
                    Some(Token::Punct(op @ ("=" | "!=" | "<" | "<=" | ">" | ">="))) => {
                        Op::Cmp(op, p.literal()?)
                    }
                    _ => {
                        return Err(query_error(
                            "BAD_OPERATOR",
                            "Expected a comparison operator.",
                        ));
                    }
                }
            };
            conditions.push(Condition { field, op });
            if !p.keyword("AND") {
                break;
            }
        }
    }
    let mut order = Vec::new();
    if p.keyword("ORDER") {
        if !p.keyword("BY") {
            return Err(query_error("EXPECTED_BY", "Expected BY after ORDER."));
        }
        loop {
            let field = p.field()?;
            let descending = if p.keyword("DESC") {
                true
            } else {
                p.keyword("ASC");
                false
            };
            order.push((field, descending));
            if p.peek() != Some(&Token::Punct(",")) {
                break;
            }
            p.at += 1;
        }
    }
    let mut limit = None;
    if p.keyword("LIMIT") {
        match p.next() {
            Some(Token::Number(n, text)) if n >= 1.0 && !text.contains('.') => {
                limit = Some(n as usize)
            }
            _ => {
                return Err(query_error(
                    "BAD_LIMIT_VALUE",
                    "LIMIT must be a positive whole number.",
                ));
            }
        }
    }
    if p.keyword("PARAMETERS") {
        p.at = p.tokens.len();
    }
    if let Some(extra) = p.peek() {
        return Err(
            query_error("UNEXPECTED_INPUT", "Unexpected input after the query.")
                .trigger(format!("{extra:?}")),
        );
    }
    Ok(Query {
        select,
        from,
        conditions,
        order,
        limit,
    })
}

fn list(p: &mut Parser) -> Result<Vec<Literal>, AdsError> {
    if p.next() != Some(Token::Punct("(")) {
        return Err(query_error(
            "EXPECTED_LIST",
            "Expected a list in parentheses.",
        ));
    }
    let mut values = Vec::new();
    loop {
        values.push(p.literal()?);
        match p.next() {
            Some(Token::Punct(",")) => continue,
            Some(Token::Punct(")")) => break,
            _ => {
                return Err(query_error(
                    "EXPECTED_LIST",
                    "Expected ',' or ')' in the list.",
                ));
            }
        }
    }
    Ok(values)
}

fn text(p: &mut Parser) -> Result<String, AdsError> {
    match p.next() {
        Some(Token::Str(s)) => Ok(s),
        _ => Err(query_error(
            "INVALID_VALUE_WITH_LIKE_OPERATOR",
            "LIKE takes a quoted string.",
        )),
    }
}

/// Where a query's rows come from: the FROM resource's message and its `GoogleAdsRow` field.
pub(crate) struct Plan {
    pub query: Query,
    from_message: MessageDescriptor,
    row: MessageDescriptor,
}

/// Checks the query's resource and fields against the descriptors.
pub(crate) fn plan(query: Query) -> Result<Plan, AdsError> {
    let row = reflect::message(&full("services.GoogleAdsRow"));
    let from_field = row.get_field_by_name(&query.from).filter(|f| {
        matches!(f.kind(), Kind::Message(m) if reflect::api().type_of_message.contains_key(m.full_name()))
    });
    let Some(Kind::Message(from_message)) = from_field.map(|f| f.kind()) else {
        return Err(query_error(
            "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
            "The FROM clause names no resource.",
        )
        .trigger(query.from.clone()));
    };
    let fields = query
        .select
        .iter()
        .chain(query.conditions.iter().map(|c| &c.field))
        .chain(query.order.iter().map(|(f, _)| f));
    for field in fields {
        if resolve_path(&row, field).is_none() {
            return Err(
                query_error("UNRECOGNIZED_FIELD", "Unrecognized field in the query.")
                    .trigger(field.clone()),
            );
        }
    }
    Ok(Plan {
        query,
        from_message,
        row,
    })
}

/// The field descriptors along `path` from `message`, or None if a part is not a field.
fn resolve_path(
    message: &MessageDescriptor,
    path: &str,
) -> Option<Vec<prost_reflect::FieldDescriptor>> {
    let mut current = message.clone();
    let mut fields = Vec::new();
    for (i, part) in path.split('.').enumerate() {
        let field = current.get_field_by_name(part)?;
        if let Kind::Message(m) = field.kind() {
            current = m;
        } else if i + 1 != path.split('.').count() {
            return None;
        }
        fields.push(field);
    }
    Some(fields)
}

/// The rows of `plan` over `data` (then `extra`: generated full rows), filtered, sorted,
/// limited; with how many matched before the LIMIT (the API's `total_results_count`).
pub(crate) fn run(
    plan: &Plan,
    data: &CustomerData,
    extra: impl Iterator<Item = DynamicMessage>,
) -> (Vec<DynamicMessage>, usize) {
    let from_name = plan.from_message.full_name().to_owned();
    let mut rows: Vec<DynamicMessage> = data
        .of_type(&from_name)
        .cloned()
        .map(|resource| joined_row(plan, data, resource))
        .chain(extra)
        .filter(|row| plan.query.conditions.iter().all(|c| matches(row, c)))
        .collect();
    if !plan.query.order.is_empty() {
        rows.sort_by(|a, b| {
            for (field, descending) in &plan.query.order {
                let ord = compare_values(get(a, field).as_ref(), get(b, field).as_ref());
                let ord = if *descending { ord.reverse() } else { ord };
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
    }
    let matched = rows.len();
    if let Some(limit) = plan.query.limit {
        rows.truncate(limit);
    }
    let rows = rows.into_iter().map(|row| project(plan, &row)).collect();
    (rows, matched)
}

impl Plan {
    /// Whether rows pass through in their order (no WHERE, no ORDER BY): generated rows can
    /// then be served without the engine.
    pub(crate) fn passes_all_in_order(&self) -> bool {
        self.query.conditions.is_empty() && self.query.order.is_empty()
    }
}

/// A full row: the FROM resource, plus each resource it references (for joined fields).
fn joined_row(plan: &Plan, data: &CustomerData, resource: DynamicMessage) -> DynamicMessage {
    let api = reflect::api();
    let mut row = DynamicMessage::new(plan.row.clone());
    if let Some(kind) = api.type_of_message.get(plan.from_message.full_name())
        && let Some(meta) = api.by_type.get(kind)
    {
        for (field, _) in &meta.references {
            let Some(name) = resource.get_field(field).as_str().map(str::to_owned) else {
                continue;
            };
            if let Some(target) = data.get(&name)
                && let Some(row_field) = api.row_field.get(target.descriptor().full_name())
            {
                row.set_field_by_name(row_field, Value::Message(target.clone()));
            }
        }
    }
    row.set_field_by_name(&plan.query.from, Value::Message(resource));
    row
}

/// Keeps only the selected fields (and always the FROM resource's name, as the API does).
fn project(plan: &Plan, full_row: &DynamicMessage) -> DynamicMessage {
    let mut row = DynamicMessage::new(plan.row.clone());
    let name_path = format!("{}.resource_name", plan.query.from);
    for path in plan.query.select.iter().chain(std::iter::once(&name_path)) {
        if let Some(value) = get(full_row, path) {
            set(&mut row, path, value);
        }
    }
    row
}

fn get(message: &DynamicMessage, path: &str) -> Option<Value> {
    let (head, rest) = path
        .split_once('.')
        .map_or((path, None), |(h, r)| (h, Some(r)));
    let field = message.descriptor().get_field_by_name(head)?;
    if !message.has_field(&field) && rest.is_some() {
        return None;
    }
    let value = message.get_field(&field);
    match rest {
        None => message.has_field(&field).then(|| value.into_owned()),
        Some(rest) => get(value.as_message()?, rest),
    }
}

fn set(message: &mut DynamicMessage, path: &str, value: Value) {
    match path.split_once('.') {
        None => message.set_field_by_name(path, value),
        Some((head, rest)) => {
            let Some(field) = message.descriptor().get_field_by_name(head) else {
                return;
            };
            let Kind::Message(child_type) = field.kind() else {
                return;
            };
            let mut child = message
                .get_field(&field)
                .as_message()
                .cloned()
                .unwrap_or_else(|| DynamicMessage::new(child_type));
            set(&mut child, rest, value);
            message.set_field(&field, Value::Message(child));
        }
    }
}

/// A value as text for comparison with literals: enum values by name.
fn as_text(row: &DynamicMessage, field: &str, value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::EnumNumber(n) => enum_name(row, field, *n).unwrap_or_else(|| n.to_string()),
        Value::Bool(b) => b.to_string().to_uppercase(),
        other => number(other).map(|n| n.to_string()).unwrap_or_default(),
    }
}

fn enum_name(row: &DynamicMessage, field: &str, n: i32) -> Option<String> {
    let fields = resolve_path(&row.descriptor(), field)?;
    match fields.last()?.kind() {
        Kind::Enum(e) => e.get_value(n).map(|v| v.name().to_owned()),
        _ => None,
    }
}

fn number(value: &Value) -> Option<f64> {
    match value {
        Value::I32(n) | Value::EnumNumber(n) => Some(f64::from(*n)),
        Value::I64(n) => Some(*n as f64),
        Value::U32(n) => Some(f64::from(*n)),
        Value::U64(n) => Some(*n as f64),
        Value::F32(n) => Some(f64::from(*n)),
        Value::F64(n) => Some(*n),
        _ => None,
    }
}

fn literal_matches(
    row: &DynamicMessage,
    field: &str,
    value: &Value,
    literal: &Literal,
) -> Ordering {
    match (literal, number(value)) {
        (Literal::Number(n), Some(v)) if !matches!(value, Value::EnumNumber(_)) => {
            v.partial_cmp(n).unwrap_or(Ordering::Equal)
        }
        (Literal::Number(n), _) => as_text(row, field, value).cmp(&n.to_string()),
        (Literal::Text(t), _) => as_text(row, field, value).cmp(t),
    }
}

fn matches(row: &DynamicMessage, condition: &Condition) -> bool {
    let value = get(row, &condition.field);
    match (&condition.op, value) {
        (Op::Null(is_null), value) => value.is_none() == *is_null,
        (_, None) => false,
        (Op::Cmp(op, literal), Some(value)) => {
            let ord = literal_matches(row, &condition.field, &value, literal);
            match *op {
                "=" => ord == Ordering::Equal,
                "!=" => ord != Ordering::Equal,
                "<" => ord == Ordering::Less,
                "<=" => ord != Ordering::Greater,
                ">" => ord == Ordering::Greater,
                _ => ord != Ordering::Less,
            }
        }
        (Op::In(inside, list), Some(value)) => {
            list.iter()
                .any(|l| literal_matches(row, &condition.field, &value, l) == Ordering::Equal)
                == *inside
        }
        (Op::Like(like, pattern), Some(value)) => {
            like_match(pattern, &as_text(row, &condition.field, &value)) == *like
        }
        (Op::During(first, last), Some(value)) => {
            let date = as_text(row, &condition.field, &value);
            (first.as_str()..=last.as_str()).contains(&date.as_str())
        }
    }
}

/// The first and last day of a GAQL date range, `today` being a day number since 1970.
fn date_range(range: &str, today: i64) -> Option<(String, String)> {
    // 1970-01-01 was a Thursday: weekday 0 = Monday.
    let weekday = (today + 3).rem_euclid(7);
    let (first, last) = match range.to_ascii_uppercase().as_str() {
        "TODAY" => (today, today),
        "YESTERDAY" => (today - 1, today - 1),
        "LAST_7_DAYS" => (today - 7, today - 1),
        "LAST_14_DAYS" => (today - 14, today - 1),
        "LAST_30_DAYS" => (today - 30, today - 1),
        "THIS_WEEK_MON_TODAY" => (today - weekday, today),
        "THIS_WEEK_SUN_TODAY" => (today - (weekday + 1) % 7, today),
        "LAST_WEEK_MON_SUN" => (today - weekday - 7, today - weekday - 1),
        "LAST_WEEK_SUN_SAT" => {
            let sunday = today - (weekday + 1) % 7;
            (sunday - 7, sunday - 1)
        }
        "LAST_BUSINESS_WEEK" => (today - weekday - 7, today - weekday - 3),
        "THIS_MONTH" => {
            let (y, m, _) = date::civil(today);
            (date::days(y, m, 1), today)
        }
        "LAST_MONTH" => {
            let (y, m, _) = date::civil(today);
            let (y, m) = if m == 1 { (y - 1, 12) } else { (y, m - 1) };
            let first = date::days(y, m, 1);
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            (first, date::days(ny, nm, 1) - 1)
        }
        _ => return None,
    };
    let show = |d: i64| {
        let (y, m, day) = date::civil(d);
        format!("{y:04}-{m:02}-{day:02}")
    };
    Some((show(first), show(last)))
}

/// GAQL LIKE: `%` any run, `_` one character, `[x]` the character x literally.
fn like_match(pattern: &str, text: &str) -> bool {
    fn go(p: &[char], t: &[char]) -> bool {
        match p.first() {
            None => t.is_empty(),
            Some('%') => (0..=t.len()).any(|i| go(&p[1..], &t[i..])),
            Some('_') => !t.is_empty() && go(&p[1..], &t[1..]),
            Some('[') if p.len() >= 3 && p[2] == ']' => {
                t.first() == Some(&p[1]) && go(&p[3..], &t[1..])
            }
            Some(c) => t.first() == Some(c) && go(&p[1..], &t[1..]),
        }
    }
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    go(&p, &t)
}

fn compare_values(a: Option<&Value>, b: Option<&Value>) -> Ordering {
    match (a, b) {
        (None, None) => Ordering::Equal,
        (None, Some(_)) => Ordering::Less,
        (Some(_), None) => Ordering::Greater,
        (Some(a), Some(b)) => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => a
                .as_str()
                .unwrap_or_default()
                .cmp(b.as_str().unwrap_or_default()),
        },
    }
}
