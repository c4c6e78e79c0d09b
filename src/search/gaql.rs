//! The two things the client needs to know of GAQL text: how to put a user's value in a query
//! as a string literal ([`quote`]), and which fields a query selects ([`select_fields`]), so a
//! report has its columns before (or without) any row. No query builder: queries stay text.

use crate::Error;

/// `value` as a GAQL string literal (`'...'`), so no value can change the query around it:
/// backslashes and both quote characters are escaped with a backslash; any other character,
/// unicode included, stands for itself. A value with a line break is refused (the API has no
/// way to write one in a string and answers PROHIBITED_NEWLINE_IN_STRING).
///
/// ```
/// use google_ads::search::quote;
/// let query = format!(
///     "SELECT campaign.id FROM campaign WHERE campaign.name = {}",
///     quote("O'Brien \\ co")?
/// );
/// assert_eq!(query, r"SELECT campaign.id FROM campaign WHERE campaign.name = 'O\'Brien \\ co'");
/// assert!(quote("two\nlines").is_err());
/// # Ok::<(), google_ads::Error>(())
/// ```
pub fn quote(value: &str) -> Result<String, Error> {
    if value.contains(['\n', '\r']) {
        return Err(Error::invalid(
            "value",
            "a GAQL string cannot hold a line break (the API refuses PROHIBITED_NEWLINE_IN_STRING)",
        ));
    }
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if matches!(c, '\\' | '\'' | '"') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    Ok(out)
}

/// The fields of a query's SELECT clause, in order (`SELECT campaign.id, metrics.clicks FROM
/// campaign` gives `campaign.id` and `metrics.clicks`): a report's columns. An error says
/// what is wrong with the clause.
///
/// ```
/// use google_ads::search::select_fields;
/// let fields = select_fields("select campaign.id,metrics.clicks\nFROM campaign")?;
/// assert_eq!(fields, ["campaign.id", "metrics.clicks"]);
/// # Ok::<(), google_ads::Error>(())
/// ```
pub fn select_fields(query: &str) -> Result<Vec<String>, Error> {
    let invalid = |rule: String| Error::invalid("query", rule);
    let query = query.trim_start();
    let rest = match query.get(..6) {
        Some(word) if word.eq_ignore_ascii_case("select") => &query[6..],
        _ => return Err(invalid("must start with SELECT".into())),
    };
    if !rest.starts_with(char::is_whitespace) {
        return Err(invalid("must start with SELECT".into()));
    }
    // The clause ends at the first word FROM (field names are lower case, dotted, and never
    // a bare `from`).
    let end = find_from(rest).ok_or_else(|| invalid("has no FROM after its SELECT list".into()))?;
    let fields: Vec<String> = rest[..end]
        .split(',')
        .map(|field| field.trim().to_owned())
        .collect();
    for field in &fields {
        let mut chars = field.chars();
        let well_formed = chars.next().is_some_and(|c| c.is_ascii_lowercase())
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_');
        if !well_formed {
            return Err(invalid(format!(
                "SELECT list item {field:?} is not a field name (such as campaign.id)"
            )));
        }
    }
    Ok(fields)
}

/// Where the first word `FROM` (any case) starts in `text`.
fn find_from(text: &str) -> Option<usize> {
    let separator = |c: char| c.is_whitespace() || c == ',';
    let mut word = None;
    let ends = text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')));
    for (at, c) in ends {
        if !separator(c) {
            word.get_or_insert(at);
        } else if let Some(start) = word.take()
            && text[start..at].eq_ignore_ascii_case("from")
        {
            return Some(start);
        }
    }
    None
}
