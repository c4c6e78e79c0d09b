//! Where the rows go: one file (CSV, JSON lines) that accounts' spooled parts are appended
//! to, or a folder of Parquet part files, one per account; and each account's part writer.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use super::Format;
use crate::search::{CsvWriter, JsonLinesWriter, Row};
use crate::{CustomerId, Error};

/// The report's output while it is written.
pub(super) enum Output {
    /// `<output>.partial`, renamed to `<output>` when complete; parts wait in
    /// `<output>.spool/`.
    File {
        path: PathBuf,
        partial: PathBuf,
        spool: PathBuf,
        file: File,
        /// Its length.
        length: u64,
    },
    /// A folder of `part-<customer id>.parquet` files.
    Folder { path: PathBuf },
}

impl Output {
    /// A new output at `path`, `header` its first bytes (a CSV's header line). A Parquet
    /// folder must be new or empty: parts of another report would mix into it.
    pub fn create(format: Format, path: &Path, header: &[u8]) -> Result<Self, Error> {
        if format.is_folder() {
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
            return Ok(Output::Folder {
                path: path.to_owned(),
            });
        }
        let partial = with_suffix(path, ".partial");
        let spool = fresh_spool(path)?;
        let mut file = File::create(&partial).map_err(|e| file_error("create", &partial, e))?;
        file.write_all(header)
            .map_err(|e| file_error("write", &partial, e))?;
        Ok(Output::File {
            path: path.to_owned(),
            partial,
            spool,
            file,
            length: header.len() as u64,
        })
    }

    /// The output of a stopped run, `length` bytes of it kept (the rest, an account appended
    /// after the state's last save, is cut off); a Parquet folder loses its unfinished parts.
    /// `None` when the run had finished writing (its output renamed into place).
    pub fn reopen(format: Format, path: &Path, length: u64) -> Result<Option<Self>, Error> {
        if format.is_folder() {
            let entries = std::fs::read_dir(path).map_err(|e| file_error("read", path, e))?;
            for entry in entries.flatten() {
                let name = entry.file_name();
                if name.to_string_lossy().ends_with(".partial") {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
            return Ok(Some(Output::Folder {
                path: path.to_owned(),
            }));
        }
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
        Ok(Some(Output::File {
            path: path.to_owned(),
            spool: fresh_spool(path)?,
            partial,
            file,
            length,
        }))
    }

    /// Where an account's part is written while it runs, and where it goes when complete.
    pub fn part_paths(&self, id: CustomerId) -> (PathBuf, Option<PathBuf>) {
        match self {
            Output::File { spool, .. } => (spool.join(format!("{id}.part")), None),
            Output::Folder { path } => (
                path.join(format!(".part-{id}.parquet.partial")),
                Some(path.join(format!("part-{id}.parquet"))),
            ),
        }
    }

    /// Takes a finished account's part into the output (appends a spooled part; a Parquet
    /// part is in place already).
    pub fn take_part(&mut self, part: &Path) -> Result<(), Error> {
        if let Output::File {
            partial,
            file,
            length,
            ..
        } = self
        {
            let mut spooled = File::open(part).map_err(|e| file_error("read", part, e))?;
            *length += io::copy(&mut spooled, file).map_err(|e| file_error("write", partial, e))?;
            let _ = std::fs::remove_file(part);
        }
        Ok(())
    }

    /// The output's length (the file's; 0 for a folder).
    pub fn length(&self) -> u64 {
        match self {
            Output::File { length, .. } => *length,
            Output::Folder { .. } => 0,
        }
    }

    /// Makes what was taken so far durable, before a state counting it is saved.
    pub fn sync(&self) -> Result<(), Error> {
        match self {
            Output::File { partial, file, .. } => file
                .sync_data()
                .map_err(|e| file_error("write", partial, e)),
            Output::Folder { path } => sync_folder(path),
        }
    }

    /// The output complete: fsynced and renamed into place, the spool removed.
    pub fn finish(self) -> Result<(), Error> {
        match self {
            Output::File {
                path,
                partial,
                spool,
                file,
                ..
            } => {
                file.sync_all()
                    .map_err(|e| file_error("write", &partial, e))?;
                drop(file);
                std::fs::rename(&partial, &path).map_err(|e| file_error("rename", &partial, e))?;
                let _ = std::fs::remove_dir_all(&spool);
                sync_folder(path.parent().unwrap_or(Path::new(".")))
            }
            Output::Folder { path } => sync_folder(&path),
        }
    }
}

/// An empty `<output>.spool/` (parts of a stopped run are written again).
fn fresh_spool(path: &Path) -> Result<PathBuf, Error> {
    let spool = with_suffix(path, ".spool");
    let _ = std::fs::remove_dir_all(&spool);
    std::fs::create_dir_all(&spool).map_err(|e| file_error("create", &spool, e))?;
    Ok(spool)
}

#[cfg(unix)]
fn sync_folder(folder: &Path) -> Result<(), Error> {
    let folder = if folder.as_os_str().is_empty() {
        Path::new(".")
    } else {
        folder
    };
    File::open(folder)
        .and_then(|f| f.sync_all())
        .map_err(|e| file_error("sync", folder, e))
}

// Windows cannot open a folder as a file; its renames are durable once they return.
#[cfg(not(unix))]
fn sync_folder(_: &Path) -> Result<(), Error> {
    Ok(())
}

/// An account's part, in the report's format.
// One per account, for the account's run: boxing the larger writer would gain nothing.
#[allow(clippy::large_enum_variant)]
pub(super) enum PartWriter {
    Csv(CsvWriter<File>),
    JsonLines(JsonLinesWriter<File>),
    #[cfg(feature = "parquet")]
    Parquet(crate::search::ParquetWriter<File>),
}

impl PartWriter {
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
            (Format::Parquet, id) => {
                let writer = crate::search::ParquetWriter::new(file, query)?;
                Self::Parquet(match id {
                    Some(id) => writer.with_customer_id_column(id),
                    None => writer,
                })
            }
        })
    }

    pub fn write_row(&mut self, row: &Row) -> io::Result<()> {
        match self {
            Self::Csv(w) => w.write_row(row),
            Self::JsonLines(w) => w.write_row(row),
            #[cfg(feature = "parquet")]
            Self::Parquet(w) => w.write_row(row),
        }
    }

    pub fn finish(self) -> io::Result<File> {
        match self {
            Self::Csv(w) => w.finish(),
            Self::JsonLines(w) => w.finish(),
            #[cfg(feature = "parquet")]
            Self::Parquet(w) => w.finish(),
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
