//! Reports out: [`CsvWriter`] and [`JsonLinesWriter`] write rows with one column per field of
//! the query's SELECT list, in its order, read by path from each row (no row is decoded
//! whole). The header comes from the query, so a report without rows still has one.

use std::io::{self, Write};

use super::gaql::select_fields;
use super::row::{Column, Row};
use crate::{CustomerId, Error};

/// The columns of `query`: its SELECT list, each checked against the API's schema.
pub(super) fn columns_of(query: &str) -> Result<Vec<Column>, Error> {
    select_fields(query)?
        .iter()
        .map(|field| Column::new(field))
        .collect()
}

/// Writes rows as CSV: a header of the selected fields, then one record per row; integers
/// exact (micros stay micros), enums by name, absent fields empty, messages and lists as JSON.
/// Quoting is the `csv` crate's (RFC 4180).
///
/// ```
/// use google_ads::search::{CsvWriter, Row};
/// use google_ads::latest::{resources::Campaign, services::GoogleAdsRow};
///
/// let mut csv = CsvWriter::new(Vec::new(), "SELECT campaign.id, campaign.name FROM campaign")?;
/// csv.write_row(&Row::from(&GoogleAdsRow {
///     campaign: Some(Box::new(Campaign { id: Some(1), name: Some("a, b".into()), ..Default::default() })),
///     ..Default::default()
/// }))?;
/// let text = String::from_utf8(csv.finish()?).unwrap();
/// assert_eq!(text, "campaign.id,campaign.name\n1,\"a, b\"\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct CsvWriter<W: Write> {
    out: csv::Writer<W>,
    columns: Vec<Column>,
    header_written: bool,
    cell: Vec<u8>,
    /// A first column `customer_id` holding this id on every row.
    customer_id: Option<CustomerId>,
}

impl<W: Write> CsvWriter<W> {
    /// A writer of `query`'s columns to `out` (buffered inside). Nothing is written until the
    /// first row or [`finish`](Self::finish).
    pub fn new(out: W, query: &str) -> Result<Self, Error> {
        Ok(Self {
            out: csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(out),
            columns: columns_of(query)?,
            header_written: false,
            cell: Vec::new(),
            customer_id: None,
        })
    }

    /// A first column, `customer_id`, holding `id` on every row: for one report over many
    /// accounts whose query does not select `customer.id`.
    pub fn with_customer_id_column(mut self, id: CustomerId) -> Self {
        self.customer_id = Some(id);
        self
    }

    /// No header line: for rows appended to a file that has one.
    pub fn without_header(mut self) -> Self {
        self.header_written = true;
        self
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Writes one row.
    pub fn write_row(&mut self, row: &Row) -> io::Result<()> {
        self.header()?;
        if let Some(id) = self.customer_id {
            self.out.write_field(id.to_string())?;
        }
        for column in &self.columns {
            self.cell.clear();
            row.read(column).write_text(&mut self.cell);
            self.out.write_field(&self.cell)?;
        }
        self.out.write_record(None::<&[u8]>)?;
        Ok(())
    }

    /// Writes the header if no row did, flushes, and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        self.header()?;
        self.out
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))
    }

    fn header(&mut self) -> io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            write_header(&mut self.out, &self.columns, self.customer_id.is_some())?;
        }
        Ok(())
    }
}

impl CsvWriter<Vec<u8>> {
    /// The header line of `query`'s CSV alone, as a writer writes it: for a file whose records
    /// come from writers made [`without_header`](Self::without_header).
    pub(crate) fn header_line(query: &str, customer_id_column: bool) -> Result<Vec<u8>, Error> {
        let mut writer = Self::new(Vec::new(), query)?;
        let shaped = write_header(&mut writer.out, &writer.columns, customer_id_column)
            .and_then(|()| writer.out.into_inner().map_err(|e| e.into_error()));
        shaped.map_err(|e| Error::stopped(format!("the CSV header: {e}"), false))
    }
}

/// The header record: `customer_id` first when asked for, then each column's path.
fn write_header<W: Write>(
    out: &mut csv::Writer<W>,
    columns: &[Column],
    customer_id_column: bool,
) -> io::Result<()> {
    let leading = customer_id_column.then_some("customer_id");
    out.write_record(leading.into_iter().chain(columns.iter().map(Column::path)))?;
    Ok(())
}

/// Writes rows as JSON lines: one object per row, keyed by the selected fields in the query's
/// order (`{"campaign.id":1,"metrics.cost_micros":1230000}`). Integers are written exactly as
/// JSON numbers (micros stay exact), enums by name, absent fields as `null`.
pub struct JsonLinesWriter<W: Write> {
    out: io::BufWriter<W>,
    columns: Vec<Column>,
    /// Each column's `"path":`, escaped once.
    keys: Vec<Vec<u8>>,
    line: Vec<u8>,
    /// `"customer_id":"1234567890",` to start every line with, when asked for.
    customer_id: Vec<u8>,
}

impl<W: Write> JsonLinesWriter<W> {
    /// A writer of `query`'s columns to `out` (buffered inside).
    pub fn new(out: W, query: &str) -> Result<Self, Error> {
        let columns = columns_of(query)?;
        let keys = columns
            .iter()
            .map(|column| {
                let mut key = Vec::new();
                super::value::Value::String(column.path()).write_json(&mut key);
                key.push(b':');
                key
            })
            .collect();
        Ok(Self {
            out: io::BufWriter::new(out),
            columns,
            keys,
            line: Vec::new(),
            customer_id: Vec::new(),
        })
    }

    /// A first key, `customer_id`, holding `id` (as a string of 10 digits) on every line: for
    /// one report over many accounts whose query does not select `customer.id`.
    pub fn with_customer_id_column(mut self, id: CustomerId) -> Self {
        self.customer_id = format!("\"customer_id\":\"{id}\",").into_bytes();
        self
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// Writes one row as one line.
    pub fn write_row(&mut self, row: &Row) -> io::Result<()> {
        self.line.clear();
        self.line.push(b'{');
        self.line.extend_from_slice(&self.customer_id);
        for (i, (column, key)) in self.columns.iter().zip(&self.keys).enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            self.line.extend_from_slice(key);
            row.read(column).write_json(&mut self.line);
        }
        self.line.extend_from_slice(b"}\n");
        self.out.write_all(&self.line)
    }

    /// Flushes and hands back the output.
    pub fn finish(self) -> io::Result<W> {
        self.out.into_inner().map_err(|e| e.into_error())
    }
}
