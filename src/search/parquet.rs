//! Reports out as Parquet: [`ParquetWriter`], one typed column per selected field, the types
//! read from the field's descriptor.

use std::io::{self, Write};
use std::sync::Arc;

use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    ListBuilder, StringBuilder, StringDictionaryBuilder, UInt64Builder, make_builder,
};
use arrow_array::types::Int32Type;
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use super::row::{Column, Row};
use super::value::{EnumValue, Kind, Value};
use crate::{CustomerId, Error};

/// Rows gathered into one Arrow batch before it is encoded.
const ROWS_PER_BATCH: usize = 8192;
/// Rows per row group: a row group is held encoded in memory until it is full, so this bounds
/// the writer's memory on a long report.
const ROWS_PER_GROUP: usize = 128 * 1024;

/// The fields that hold a date as `yyyy-MM-dd` (so say their descriptions in the API's
/// `segments.proto`), written as Parquet dates.
const DATE_FIELDS: &[&str] = &[
    "segments.date",
    "segments.week",
    "segments.month",
    "segments.quarter",
];

/// A column's type in the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Type {
    /// Every signed protobuf integer.
    Int64,
    /// Every unsigned one.
    UInt64,
    /// `double` and `float`.
    Float64,
    Bool,
    Utf8,
    Binary,
    /// An enum by its name, dictionary-encoded (few names, many rows).
    Enum,
    /// A [`DATE_FIELDS`] field.
    Date,
    /// A message, as the JSON the CSV writer writes.
    Json,
}

impl Type {
    fn of(column: &Column) -> Self {
        if DATE_FIELDS.contains(&column.path()) {
            return Type::Date;
        }
        match column.kind() {
            Kind::Int | Kind::Sint | Kind::Sfixed32 | Kind::Sfixed64 => Type::Int64,
            Kind::Uint | Kind::Fixed32 | Kind::Fixed64 => Type::UInt64,
            Kind::Float | Kind::Double => Type::Float64,
            Kind::Bool => Type::Bool,
            Kind::String => Type::Utf8,
            Kind::Bytes => Type::Binary,
            Kind::Enum(_) => Type::Enum,
            Kind::Message(..) => Type::Json,
        }
    }

    fn data_type(self) -> DataType {
        match self {
            Type::Int64 => DataType::Int64,
            Type::UInt64 => DataType::UInt64,
            Type::Float64 => DataType::Float64,
            Type::Bool => DataType::Boolean,
            Type::Utf8 | Type::Json => DataType::Utf8,
            Type::Binary => DataType::Binary,
            Type::Enum => DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            Type::Date => DataType::Date32,
        }
    }
}

/// Writes rows as one Parquet file: one column per field of the query's SELECT list, in its
/// order, named by its path, typed from the API's schema: integers as `int64` (`uint64` for
/// the unsigned ones; micros stay exact), `double`, `boolean`, strings as UTF-8, enums by
/// name (dictionary-encoded), `segments.date`, `.week`, `.month` and `.quarter` as dates,
/// messages as their JSON text, repeated fields as lists of those. Every column is nullable:
/// a field the row does not carry is null. Snappy-compressed.
///
/// Rows are gathered 8,192 at a time into an Arrow batch, and row groups hold at most 131,072
/// rows, so memory stays bounded however long the report. The file is whole only after
/// [`finish`](Self::finish) (Parquet's footer comes last).
///
/// ```
/// use google_ads::search::{ParquetWriter, Row};
/// use google_ads::latest::{resources::Campaign, services::GoogleAdsRow};
///
/// let mut parquet = ParquetWriter::new(Vec::new(), "SELECT campaign.id, campaign.status FROM campaign")?;
/// parquet.write_row(&Row::from(&GoogleAdsRow {
///     campaign: Some(Box::new(Campaign { id: Some(1), status: 2, ..Default::default() })),
///     ..Default::default()
/// }))?;
/// let bytes = parquet.finish()?;
/// assert_eq!(&bytes[..4], b"PAR1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParquetWriter<W: Write + Send> {
    /// The output, until the first batch opens the file.
    out: Option<W>,
    /// The file and its schema, once the first batch has opened it.
    file: Option<(ArrowWriter<W>, SchemaRef)>,
    columns: Vec<(Column, Type)>,
    builders: Vec<Box<dyn ArrayBuilder>>,
    /// The `customer_id` column, when asked for.
    customer_id: Option<(i64, Int64Builder)>,
    pending: usize,
    text: Vec<u8>,
}

impl<W: Write + Send> ParquetWriter<W> {
    /// A writer of `query`'s columns to `out`. Nothing is written until the first 8,192 rows
    /// or [`finish`](Self::finish).
    pub fn new(out: W, query: &str) -> Result<Self, Error> {
        let columns: Vec<(Column, Type)> = super::write::columns_of(query)?
            .into_iter()
            .map(|column| {
                let ty = Type::of(&column);
                (column, ty)
            })
            .collect();
        let builders = columns
            .iter()
            .map(|(column, ty)| make_builder(&field_type(column, *ty), ROWS_PER_BATCH))
            .collect();
        Ok(Self {
            out: Some(out),
            file: None,
            columns,
            builders,
            customer_id: None,
            pending: 0,
            text: Vec::new(),
        })
    }

    /// A first column, `customer_id` (`int64`), holding `id` on every row: for one report over
    /// many accounts whose query does not select `customer.id`.
    pub fn with_customer_id_column(mut self, id: CustomerId) -> Self {
        let id = id.as_str().parse().unwrap_or_default();
        self.customer_id = Some((id, Int64Builder::with_capacity(ROWS_PER_BATCH)));
        self
    }

    /// From the next row on, the `customer_id` column holds `id` (for one file holding several
    /// accounts' rows); no effect without [`with_customer_id_column`](Self::with_customer_id_column).
    pub fn set_customer_id(&mut self, id: CustomerId) {
        if let Some((current, _)) = &mut self.customer_id {
            *current = id.as_str().parse().unwrap_or_default();
        }
    }

    /// The columns, in order.
    pub fn columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().map(|(column, _)| column)
    }

    /// Writes one row. A value the column's type cannot hold (a date that is not
    /// `yyyy-MM-dd`) is an error of kind `InvalidData` naming the field.
    pub fn write_row(&mut self, row: &Row) -> io::Result<()> {
        if let Some((id, builder)) = &mut self.customer_id {
            builder.append_value(*id);
        }
        for ((column, ty), builder) in self.columns.iter().zip(&mut self.builders) {
            let value = row.read(column);
            let appended = if column.is_repeated() {
                append_list(builder.as_mut(), *ty, &value, &mut self.text)
            } else {
                append(builder.as_mut(), *ty, &value, &mut self.text)
            };
            appended.map_err(|rule| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {rule}", column.path()),
                )
            })?;
        }
        self.pending += 1;
        if self.pending >= ROWS_PER_BATCH {
            self.flush_batch()?;
        }
        Ok(())
    }

    /// Writes the rows gathered and the footer, and hands back the output.
    pub fn finish(mut self) -> io::Result<W> {
        if self.pending > 0 || self.file.is_none() {
            self.flush_batch()?;
        }
        match self.file.take() {
            Some((file, _)) => file.into_inner().map_err(io::Error::other),
            None => Err(io::Error::other("the Parquet file was never opened")),
        }
    }

    fn schema(&self) -> SchemaRef {
        let leading = self
            .customer_id
            .as_ref()
            .map(|_| Field::new("customer_id", DataType::Int64, true));
        let fields = self
            .columns
            .iter()
            .map(|(column, ty)| Field::new(column.path(), field_type(column, *ty), true));
        Arc::new(Schema::new(
            leading.into_iter().chain(fields).collect::<Vec<_>>(),
        ))
    }

    fn flush_batch(&mut self) -> io::Result<()> {
        if self.file.is_none() {
            let schema = self.schema();
            let properties = WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_max_row_group_row_count(Some(ROWS_PER_GROUP))
                .build();
            let Some(out) = self.out.take() else {
                return Err(io::Error::other("the Parquet file was already closed"));
            };
            let file = ArrowWriter::try_new(out, schema.clone(), Some(properties))
                .map_err(io::Error::other)?;
            self.file = Some((file, schema));
        }
        let Some((file, schema)) = &mut self.file else {
            return Err(io::Error::other("the Parquet file was never opened"));
        };
        let leading = self
            .customer_id
            .as_mut()
            .map(|(_, builder)| Arc::new(builder.finish()) as ArrayRef);
        let arrays: Vec<ArrayRef> = leading
            .into_iter()
            .chain(self.builders.iter_mut().map(|builder| builder.finish()))
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).map_err(io::Error::other)?;
        self.pending = 0;
        file.write(&batch).map_err(io::Error::other)
    }
}

/// The column's type, a list of it when the field is repeated.
fn field_type(column: &Column, ty: Type) -> DataType {
    let data_type = ty.data_type();
    if column.is_repeated() {
        DataType::List(Arc::new(Field::new("item", data_type, true)))
    } else {
        data_type
    }
}

/// The builder of type `B` (the one `make_builder` made for the column's type).
fn typed<B: 'static>(builder: &mut dyn ArrayBuilder) -> Result<&mut B, String> {
    builder
        .as_any_mut()
        .downcast_mut::<B>()
        .ok_or_else(|| "the column's builder is not of its type".to_owned())
}

fn append_list(
    builder: &mut dyn ArrayBuilder,
    ty: Type,
    value: &Value<'_>,
    text: &mut Vec<u8>,
) -> Result<(), String> {
    let list = typed::<ListBuilder<Box<dyn ArrayBuilder>>>(builder)?;
    match value {
        Value::List(items) => {
            for item in items {
                append(list.values().as_mut(), ty, item, text)?;
            }
            list.append(true);
        }
        _ => list.append(false),
    }
    Ok(())
}

/// Appends `value`, null when absent.
fn append(
    builder: &mut dyn ArrayBuilder,
    ty: Type,
    value: &Value<'_>,
    text: &mut Vec<u8>,
) -> Result<(), String> {
    let absent = value.is_absent();
    match ty {
        Type::Int64 => typed::<Int64Builder>(builder)?.append_option(value.as_i64()),
        Type::UInt64 => typed::<UInt64Builder>(builder)?.append_option(match value {
            Value::Uint(n) => Some(*n),
            _ => None,
        }),
        Type::Float64 => typed::<Float64Builder>(builder)?.append_option(value.as_f64()),
        Type::Bool => typed::<BooleanBuilder>(builder)?.append_option(value.as_bool()),
        Type::Binary => typed::<BinaryBuilder>(builder)?.append_option(match value {
            Value::Bytes(bytes) => Some(*bytes),
            Value::String(s) => Some(s.as_bytes()),
            _ => None,
        }),
        Type::Enum => {
            let names = typed::<StringDictionaryBuilder<Int32Type>>(builder)?;
            match value {
                Value::Enum(EnumValue {
                    name: Some(name), ..
                }) => {
                    names.append_value(name);
                }
                // A number this version has no name for: the number, as the CSV has it.
                Value::Enum(EnumValue { number, .. }) => {
                    names.append_value(number.to_string());
                }
                _ => names.append_null(),
            }
        }
        Type::Date => {
            let dates = typed::<Date32Builder>(builder)?;
            match value {
                Value::String(s) if !s.is_empty() => dates.append_value(days_since_epoch(s)?),
                _ => dates.append_null(),
            }
        }
        Type::Utf8 | Type::Json => {
            let strings = typed::<StringBuilder>(builder)?;
            if absent {
                strings.append_null();
            } else {
                text.clear();
                value.write_text(text);
                strings.append_value(String::from_utf8_lossy(text));
            }
        }
    }
    Ok(())
}

/// A `yyyy-MM-dd` date as days since 1970-01-01, Parquet's DATE.
fn days_since_epoch(date: &str) -> Result<i32, String> {
    let parsed = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_err(|_| format!("{date:?} is not a yyyy-MM-dd date"))?;
    let days = parsed
        .signed_duration_since(chrono::NaiveDate::default())
        .num_days();
    i32::try_from(days).map_err(|_| format!("{date:?} is out of range"))
}
