//! Where the rows go: one file (CSV, JSON lines) that accounts' spooled parts are appended
//! to, or a folder of Parquet part files that accounts' spooled rows are written into, a
//! part closed when it holds enough rows; and each account's spool writer.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek as _, Write as _};
#[cfg(feature = "parquet")]
use std::io::{BufRead as _, Read as _};
use std::path::{Path, PathBuf};

use super::Format;
use crate::batch::files;
use crate::search::{CsvWriter, JsonLinesWriter, Row};
use crate::{CustomerId, Error};

/// The report's output while it is written.
pub(super) struct Output {
    path: PathBuf,
    /// `<output>.spool/`: each account's rows, until it has finished.
    spool: PathBuf,
    kind: Kind,
}

// One per report: boxing the larger variant would gain nothing.
#[allow(clippy::large_enum_variant)]
enum Kind {
    /// `<output>.partial`, renamed to `<output>` when complete.
    File {
        partial: PathBuf,
        file: File,
        /// Its length.
        length: u64,
    },
    /// A folder of `part-NNNNN.parquet` files.
    #[cfg(feature = "parquet")]
    Folder(Folder),
}

/// What an output made durable with a part taken in: the accounts it holds from now on.
// Without feature `parquet`, every part is durable at once.
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Taken {
    /// The account is in the output (once [`Output::sync`] has run).
    Durable,
    /// The account waits in a Parquet part that is not complete yet.
    Pending,
    /// A part was completed: the accounts pending so far are in the output, in this part.
    PartClosed(String),
}

impl Output {
    /// A new output at `path`, `header` its first bytes (a CSV's header line). A Parquet
    /// folder must be new or empty: parts of another report would mix into it.
    pub fn create(
        format: Format,
        path: &Path,
        header: &[u8],
        parquet: &ParquetParts,
    ) -> Result<Self, Error> {
        let spool = fresh_spool(path)?;
        #[cfg(feature = "parquet")]
        if format == Format::Parquet {
            let not_empty = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_some());
            if not_empty {
                return Err(Error::invalid(
                    "output",
                    format!(
                        "{} is a folder that is not empty: a Parquet report writes a folder of its own",
                        path.display()
                    ),
                ));
            }
            std::fs::create_dir_all(path).map_err(|e| file_error("create", path, e))?;
            return Ok(Self {
                path: path.to_owned(),
                spool,
                kind: Kind::Folder(Folder::new(path, parquet, 0)),
            });
        }
        let _ = (format, parquet);
        let partial = with_suffix(path, ".partial");
        let mut file = File::create(&partial).map_err(|e| file_error("create", &partial, e))?;
        file.write_all(header)
            .map_err(|e| file_error("write", &partial, e))?;
        Ok(Self {
            path: path.to_owned(),
            spool,
            kind: Kind::File {
                partial,
                file,
                length: header.len() as u64,
            },
        })
    }

    /// The output of a stopped run: a file's first `length` bytes kept (the rest, an account
    /// appended after the state's last save, is cut off); a Parquet folder's parts kept when
    /// `parts` lists them, every other file in it removed (an unfinished part, or one closed
    /// after the last save). `None` when the run had finished writing (its output renamed
    /// into place).
    pub fn reopen(
        format: Format,
        path: &Path,
        length: u64,
        parts: &[String],
        parquet: &ParquetParts,
    ) -> Result<Option<Self>, Error> {
        #[cfg(feature = "parquet")]
        if format == Format::Parquet {
            let entries = std::fs::read_dir(path).map_err(|e| file_error("read", path, e))?;
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if !parts.contains(&name) {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            return Ok(Some(Self {
                path: path.to_owned(),
                spool: fresh_spool(path)?,
                kind: Kind::Folder(Folder::new(path, parquet, parts.len())),
            }));
        }
        let _ = (format, parts, parquet);
        let partial = with_suffix(path, ".partial");
        let file = match OpenOptions::new().read(true).write(true).open(&partial) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound && path.exists() => return Ok(None),
            Err(e) => return Err(file_error("open", &partial, e)),
        };
        let cut = (|| {
            let mut file = file;
            if file.metadata()?.len() < length {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("shorter than the {length} bytes the state counts"),
                ));
            }
            file.set_len(length)?;
            file.seek(io::SeekFrom::End(0))?;
            Ok(file)
        })();
        let file = cut.map_err(|e| file_error("resume", &partial, e))?;
        Ok(Some(Self {
            path: path.to_owned(),
            spool: fresh_spool(path)?,
            kind: Kind::File {
                partial,
                file,
                length,
            },
        }))
    }

    /// Where an account's rows wait while it runs.
    pub fn spool_path(&self, id: CustomerId) -> PathBuf {
        self.spool.join(format!("{id}.part"))
    }

    /// Takes a finished account's spooled rows into the output: appended to the file, or
    /// written into the open Parquet part (closed when it holds enough rows).
    pub fn take_part(&mut self, id: CustomerId, part: &Path) -> Result<Taken, Error> {
        let taken = match &mut self.kind {
            Kind::File {
                partial,
                file,
                length,
            } => {
                let mut spooled = File::open(part).map_err(|e| file_error("read", part, e))?;
                *length +=
                    io::copy(&mut spooled, file).map_err(|e| file_error("write", partial, e))?;
                Taken::Durable
            }
            #[cfg(feature = "parquet")]
            Kind::Folder(folder) => folder.take(id, part)?,
        };
        let _ = (id, std::fs::remove_file(part));
        Ok(taken)
    }

    /// The output file's length (0 for a folder).
    pub fn length(&self) -> u64 {
        match &self.kind {
            Kind::File { length, .. } => *length,
            #[cfg(feature = "parquet")]
            Kind::Folder(_) => 0,
        }
    }

    /// Makes what was taken so far durable, before a state counting it is saved (a Parquet
    /// part is synced when it closes).
    pub fn sync(&self) -> Result<(), Error> {
        match &self.kind {
            Kind::File { partial, file, .. } => file
                .sync_data()
                .map_err(|e| file_error("write", partial, e)),
            #[cfg(feature = "parquet")]
            Kind::Folder(_) => Ok(()),
        }
    }

    /// The output complete: a file fsynced and renamed into place, a folder's open part
    /// closed (its name given back); the spool removed.
    pub fn finish(self) -> Result<Option<String>, Error> {
        let closed = match self.kind {
            Kind::File { partial, file, .. } => {
                file.sync_all()
                    .map_err(|e| file_error("write", &partial, e))?;
                drop(file);
                std::fs::rename(&partial, &self.path)
                    .map_err(|e| file_error("rename", &partial, e))?;
                sync_folder(&files::folder_of(&self.path))?;
                None
            }
            #[cfg(feature = "parquet")]
            Kind::Folder(mut folder) => folder.close()?,
        };
        let _ = std::fs::remove_dir_all(&self.spool);
        Ok(closed)
    }
}

/// How Parquet parts are cut (feature `parquet`; unused without it).
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
#[derive(Clone, Debug)]
pub(super) struct ParquetParts {
    pub query: String,
    /// The `customer_id` column is added.
    pub add_customer_id: bool,
    /// A part is closed once it holds this many rows.
    pub rows_per_part: u64,
}

/// A Parquet folder being written: at most one part open.
#[cfg(feature = "parquet")]
struct Folder {
    path: PathBuf,
    settings: ParquetParts,
    /// Parts completed so far (the next part's number).
    closed: usize,
    open: Option<OpenPart>,
}

#[cfg(feature = "parquet")]
struct OpenPart {
    writer: crate::search::ParquetWriter<File>,
    temporary: PathBuf,
    name: String,
    rows: u64,
}

#[cfg(feature = "parquet")]
impl Folder {
    fn new(path: &Path, settings: &ParquetParts, closed: usize) -> Self {
        Self {
            path: path.to_owned(),
            settings: settings.clone(),
            closed,
            open: None,
        }
    }

    /// Writes `id`'s spooled rows into the open part (opening one if none), closing it when it
    /// holds enough rows.
    fn take(&mut self, id: CustomerId, spooled: &Path) -> Result<Taken, Error> {
        if self.open.is_none() {
            let name = format!("part-{:05}.parquet", self.closed);
            let temporary = self.path.join(format!(".{name}.partial"));
            let file = File::create(&temporary).map_err(|e| file_error("create", &temporary, e))?;
            let mut writer = crate::search::ParquetWriter::new(file, &self.settings.query)?;
            if self.settings.add_customer_id {
                writer = writer.with_customer_id_column(id);
            }
            self.open = Some(OpenPart {
                writer,
                temporary,
                name,
                rows: 0,
            });
        }
        let Some(open) = &mut self.open else {
            return Err(Error::stopped("no Parquet part is open", false));
        };
        open.writer.set_customer_id(id);
        let mut rows =
            io::BufReader::new(File::open(spooled).map_err(|e| file_error("read", spooled, e))?);
        let write_error = |e: io::Error| file_error("write", &open.temporary, e);
        while let Some(row) = read_row(&mut rows).map_err(|e| file_error("read", spooled, e))? {
            open.writer.write_row(&row).map_err(write_error)?;
            open.rows += 1;
        }
        if open.rows >= self.settings.rows_per_part {
            return Ok(match self.close()? {
                Some(name) => Taken::PartClosed(name),
                None => Taken::Pending,
            });
        }
        Ok(Taken::Pending)
    }

    /// Completes the open part, if any: footer written, fsynced, renamed into place.
    fn close(&mut self) -> Result<Option<String>, Error> {
        let Some(open) = self.open.take() else {
            return Ok(None);
        };
        let file = open
            .writer
            .finish()
            .map_err(|e| file_error("write", &open.temporary, e))?;
        file.sync_all()
            .map_err(|e| file_error("write", &open.temporary, e))?;
        let complete = self.path.join(&open.name);
        std::fs::rename(&open.temporary, &complete)
            .map_err(|e| file_error("rename", &open.temporary, e))?;
        sync_folder(&self.path)?;
        self.closed += 1;
        Ok(Some(open.name))
    }
}

/// One spooled row: its encoded length (a u32, little-endian), then its bytes; `None` at the
/// end. Written by the account's task, read back once.
#[cfg(feature = "parquet")]
fn read_row(reader: &mut io::BufReader<File>) -> io::Result<Option<Row>> {
    if reader.fill_buf()?.is_empty() {
        return Ok(None);
    }
    let mut length = [0u8; 4];
    reader.read_exact(&mut length)?;
    let mut bytes = vec![0u8; u32::from_le_bytes(length) as usize];
    reader.read_exact(&mut bytes)?;
    Ok(Some(Row::from_bytes(bytes.into())))
}

/// An empty `<output>.spool/` (parts of a stopped run are written again).
fn fresh_spool(path: &Path) -> Result<PathBuf, Error> {
    let spool = with_suffix(path, ".spool");
    let _ = std::fs::remove_dir_all(&spool);
    std::fs::create_dir_all(&spool).map_err(|e| file_error("create", &spool, e))?;
    Ok(spool)
}

/// Makes the renames in `folder` durable (the batch state's rule).
fn sync_folder(folder: &Path) -> Result<(), Error> {
    files::sync_folder(folder).map_err(|e| file_error("sync", folder, e))
}

/// An account's spool, in the report's format: CSV and JSON lines as the output has them (the
/// spool is appended as it is); for Parquet the rows as received, written into a part later.
// One per account, for the account's run: boxing the larger writer would gain nothing.
#[allow(clippy::large_enum_variant)]
#[cfg_attr(not(feature = "parquet"), allow(dead_code))]
pub(super) enum SpoolWriter {
    Csv(CsvWriter<File>),
    JsonLines(JsonLinesWriter<File>),
    Rows(io::BufWriter<File>),
}

impl SpoolWriter {
    /// A writer of `query`'s rows in `format` to `file`, with a first `customer_id` column
    /// holding `customer_id` when given.
    pub fn new(
        format: Format,
        file: File,
        query: &str,
        customer_id: Option<CustomerId>,
    ) -> Result<Self, Error> {
        Ok(match (format, customer_id) {
            (Format::Csv, id) => {
                let writer = CsvWriter::new(file, query)?.without_header();
                Self::Csv(match id {
                    Some(id) => writer.with_customer_id_column(id),
                    None => writer,
                })
            }
            (Format::JsonLines, id) => {
                let writer = JsonLinesWriter::new(file, query)?;
                Self::JsonLines(match id {
                    Some(id) => writer.with_customer_id_column(id),
                    None => writer,
                })
            }
            #[cfg(feature = "parquet")]
            (Format::Parquet, _) => Self::Rows(io::BufWriter::new(file)),
        })
    }

    pub fn write_row(&mut self, row: &Row) -> io::Result<()> {
        match self {
            Self::Csv(w) => w.write_row(row),
            Self::JsonLines(w) => w.write_row(row),
            Self::Rows(w) => {
                let bytes = row.as_bytes();
                let length = u32::try_from(bytes.len())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "a row over 4 GiB"))?;
                w.write_all(&length.to_le_bytes())?;
                w.write_all(bytes)
            }
        }
    }

    pub fn finish(self) -> io::Result<File> {
        match self {
            Self::Csv(w) => w.finish(),
            Self::JsonLines(w) => w.finish(),
            Self::Rows(w) => w.into_inner().map_err(|e| e.into_error()),
        }
    }
}

/// An output file that could not be written: the report stops (no account's rows are lost
/// silently).
pub(super) fn file_error(what: &str, path: &Path, error: io::Error) -> Error {
    Error::stopped(
        format!("the report could not {what} {}: {error}", path.display()),
        false,
    )
}

/// `path` with `suffix` added to its file name (`report.csv` -> `report.csv.partial`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}
