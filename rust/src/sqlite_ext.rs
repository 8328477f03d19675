//! A SQLite extension: `observabilipy_ndjson(id, ts, level, message, logger, attributes,
//! budget)`, an aggregate that turns the stored rows it is given into NDJSON. `level` is
//! the stored number (named as the SQL readers name it) or a name. Once the NDJSON holds
//! `budget` bytes, later rows are left out (the first row is always written), so one
//! read holds a bounded amount of memory whatever the rows' size.
//!
//! The aggregate's value is what it wrote: 24 bytes, three little-endian i64s (rows, the
//! id of the last, 1 if rows were left out). The NDJSON itself is kept by the connection
//! for `observabilipy_ndjson_body()`, a second statement: by then SQLite has let go of
//! the rows it read, so a huge row is held twice (ours, and the caller's copy) rather
//! than three times.
//!
//! The application's SQLite is apsw's own copy, linked inside apsw with its symbols
//! hidden; a loadable extension is SQLite's supported way to call into that copy (SQLite
//! hands us its function table). Reading a chunk of rows this way builds no Python
//! object per row and runs while apsw has released the GIL, which is what lets `GET
//! /logs` stream at the speed of the encoder rather than of tuple building.
//!
//! The lines are [`crate::ndjson::LineWriter`]'s, the same bytes as `encode_log_rows`.
//! Rows must arrive in ascending `id` order (the query sorts them in a subquery);
//! anything else is refused rather than served out of cursor order.

use std::borrow::Cow;
use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::{Arc, Mutex, PoisonError};

use libsqlite3_sys as ffi;

use crate::fmt::{float_micros, int_micros};
use crate::ndjson::{LineWriter, RowId};

/// Bytes before the NDJSON in [`Lines::out`]: room for the buffer's length, which
/// [`free_body`] reads back to free it once SQLite is done with the body.
const HEADER: usize = size_of::<u64>();

/// The most a read reserves before its first line: a budget beyond it grows as needed.
const MAX_UPFRONT: usize = 1 << 20;

/// One aggregate's work in progress, kept in SQLite's aggregate context.
#[derive(Default)]
struct Lines {
    /// [`HEADER`] bytes, then the lines (empty until the first row).
    out: Vec<u8>,
    writer: LineWriter,
    last_id: Option<i64>,
    rows: i64,
    /// Whether a row was left out because the budget was spent.
    left_out: bool,
}

/// The NDJSON the last aggregate on a connection wrote ([`HEADER`] bytes first), until
/// `observabilipy_ndjson_body()` takes it. Shared by the connection's two functions.
#[derive(Default)]
struct Kept {
    body: Mutex<Vec<u8>>,
}

/// A column value as SQLite holds it, read through the extension's function table.
struct Value(*mut ffi::sqlite3_value);

impl Value {
    fn kind(&self) -> c_int {
        // SAFETY: SQLite passes valid values for the duration of the callback.
        unsafe { ffi::sqlite3_value_type(self.0) }
    }

    fn kind_name(&self) -> &'static str {
        match self.kind() {
            ffi::SQLITE_INTEGER => "int",
            ffi::SQLITE_FLOAT => "float",
            ffi::SQLITE_TEXT => "str",
            ffi::SQLITE_BLOB => "bytes",
            _ => "NoneType",
        }
    }

    /// The value's UTF-8 text; invalid bytes, and blobs (a file written by other tools)
    /// read as text, with U+FFFD, instead of failing the whole read.
    fn text(&self, field: &str) -> Result<Cow<'_, [u8]>, String> {
        if self.kind() != ffi::SQLITE_TEXT && self.kind() != ffi::SQLITE_BLOB {
            return Err(format!("{field} must be a str, got {}", self.kind_name()));
        }
        // SAFETY: text first, then its length (SQLite's documented order); the bytes
        // stay valid until the value changes, which is after this callback.
        let bytes = unsafe {
            let start = ffi::sqlite3_value_text(self.0);
            let length = usize::try_from(ffi::sqlite3_value_bytes(self.0)).unwrap_or(0);
            if start.is_null() {
                &[]
            } else {
                std::slice::from_raw_parts(start, length)
            }
        };
        // ASCII first (most stored text), then the plain check: each is several times
        // faster than the next.
        if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
            return Ok(Cow::Borrowed(bytes));
        }
        Ok(Cow::Owned(
            String::from_utf8_lossy(bytes).into_owned().into_bytes(),
        ))
    }
}

impl Lines {
    fn push(&mut self, values: [Value; 7]) -> Result<(), String> {
        let [id, ts, level, message, logger, attributes, budget] = values;
        if self.left_out {
            return Ok(());
        }
        if budget.kind() != ffi::SQLITE_INTEGER {
            return Err(format!("budget must be an int, got {}", budget.kind_name()));
        }
        // SAFETY: checked to be an integer just above.
        let budget = unsafe { ffi::sqlite3_value_int64(budget.0) };
        let written = self.out.len().saturating_sub(HEADER);
        if self.rows > 0 && i64::try_from(written).unwrap_or(i64::MAX) >= budget {
            self.left_out = true;
            return Ok(());
        }
        if id.kind() != ffi::SQLITE_INTEGER {
            return Err(format!("id must be an int, got {}", id.kind_name()));
        }
        // SAFETY: checked to be an integer just above.
        let id = unsafe { ffi::sqlite3_value_int64(id.0) };
        if let Some(last) = self.last_id.filter(|&last| id <= last) {
            return Err(format!(
                "rows must come in ascending id order, got {id} after {last}"
            ));
        }
        self.last_id = Some(id);
        let micros = match ts.kind() {
            // SAFETY: each read matches the type checked by its arm.
            ffi::SQLITE_FLOAT => float_micros(unsafe { ffi::sqlite3_value_double(ts.0) }),
            ffi::SQLITE_INTEGER => int_micros(unsafe { ffi::sqlite3_value_int64(ts.0) }),
            _ => {
                return Err(format!(
                    "timestamp must be a number, got {}",
                    ts.kind_name()
                ));
            }
        }
        .map_err(|error| error.to_string())?;
        let texts = [
            level_name(&level)?,
            message.text("message")?,
            logger.text("logger")?,
        ];
        let attributes = attributes.text("attributes")?;
        if self.out.is_empty() {
            // Room for the whole budget at once: growing by doubling copied each chunk
            // about twice over, into memory the kernel had to map afresh.
            let upfront = usize::try_from(budget).unwrap_or(0).min(MAX_UPFRONT);
            self.out.reserve(HEADER + upfront + 4096);
            self.out.extend_from_slice(&[0; HEADER]);
        }
        // Room for the line up front: a large row then takes one allocation of its
        // size rather than doubling into twice that (escapes may still grow it).
        let text_len: usize = texts.iter().map(|text| text.len()).sum();
        self.out.reserve(text_len + attributes.len() + 128);
        self.writer.write(
            &mut self.out,
            RowId::Int(id),
            micros,
            [&texts[0], &texts[1], &texts[2]],
            &attributes,
        );
        self.rows += 1;
        Ok(())
    }
}

/// A level as stored (the stdlib number) or already named, as the SQL readers name it:
/// 10 debug, 20 info, 30 warning, 40 error, anything else critical.
fn level_name(level: &Value) -> Result<Cow<'_, [u8]>, String> {
    if level.kind() != ffi::SQLITE_INTEGER {
        return level.text("level");
    }
    // SAFETY: checked to be an integer just above.
    let name: &'static [u8] = match unsafe { ffi::sqlite3_value_int64(level.0) } {
        10 => b"debug",
        20 => b"info",
        30 => b"warning",
        40 => b"error",
        _ => b"critical",
    };
    Ok(Cow::Borrowed(name))
}

/// The aggregate's state: `None` (zeroed memory) until the first row.
type Slot = Option<Box<Lines>>;

/// SQLite's per-aggregate memory holding our state; null if SQLite is out of memory.
fn slot(context: *mut ffi::sqlite3_context, create: bool) -> *mut Slot {
    let size = if create {
        c_int::try_from(size_of::<Slot>()).unwrap_or(c_int::MAX)
    } else {
        0
    };
    // SAFETY: SQLite allocates (zeroed, suitably aligned) or returns the existing block;
    // a zeroed `Option<Box<_>>` is `None`.
    unsafe { ffi::sqlite3_aggregate_context(context, size).cast::<Slot>() }
}

fn result_error(context: *mut ffi::sqlite3_context, message: &str) {
    let length = c_int::try_from(message.len()).unwrap_or(c_int::MAX);
    // SAFETY: SQLite copies the message before returning.
    unsafe { ffi::sqlite3_result_error(context, message.as_ptr().cast::<c_char>(), length) }
}

unsafe extern "C" fn step(
    context: *mut ffi::sqlite3_context,
    count: c_int,
    values: *mut *mut ffi::sqlite3_value,
) {
    let slot = slot(context, true);
    if slot.is_null() {
        // SAFETY: a valid context for this callback.
        unsafe { ffi::sqlite3_result_error_nomem(context) };
        return;
    }
    // SAFETY: SQLite passes `count` values; the slot is ours for this aggregate.
    let (values, lines) = unsafe {
        let values = std::slice::from_raw_parts(values, usize::try_from(count).unwrap_or(0));
        (values, (*slot).get_or_insert_with(Box::default))
    };
    let result = match *values {
        [id, ts, level, message, logger, attributes, budget] => {
            lines.push([id, ts, level, message, logger, attributes, budget].map(Value))
        }
        _ => Err(format!("observabilipy_ndjson takes 7 values, got {count}")),
    };
    if let Err(message) = result {
        result_error(context, &message);
    }
}

unsafe extern "C" fn finish(context: *mut ffi::sqlite3_context) {
    let slot = slot(context, false);
    // SAFETY: the slot, if any, holds our state; taking it frees it after this call.
    let lines = if slot.is_null() {
        None
    } else {
        unsafe { (*slot).take() }
    };
    let (rows, last_id, left_out) = lines.as_ref().map_or((0, 0, false), |l| {
        (l.rows, l.last_id.unwrap_or(0), l.left_out)
    });
    // SAFETY: the user data is the `Kept` registered with the function, alive while the
    // function is.
    let kept = unsafe { &*ffi::sqlite3_user_data(context).cast::<Kept>() };
    *kept.body.lock().unwrap_or_else(PoisonError::into_inner) =
        lines.map(|lines| lines.out).unwrap_or_default();
    let mut extent = [0u8; 24];
    extent[..8].copy_from_slice(&rows.to_le_bytes());
    extent[8..16].copy_from_slice(&last_id.to_le_bytes());
    extent[16..].copy_from_slice(&i64::from(left_out).to_le_bytes());
    // SAFETY: SQLITE_TRANSIENT makes SQLite copy the 24 bytes before returning.
    unsafe {
        ffi::sqlite3_result_blob64(
            context,
            extent.as_ptr().cast(),
            extent.len() as u64,
            ffi::SQLITE_TRANSIENT(),
        );
    }
}

/// `observabilipy_ndjson_body()`: the NDJSON the last aggregate on the connection wrote,
/// taken (a second call gives an empty value).
unsafe extern "C" fn body(
    context: *mut ffi::sqlite3_context,
    _count: c_int,
    _values: *mut *mut ffi::sqlite3_value,
) {
    // SAFETY: as in `finish`.
    let kept = unsafe { &*ffi::sqlite3_user_data(context).cast::<Kept>() };
    let mut out = std::mem::take(&mut *kept.body.lock().unwrap_or_else(PoisonError::into_inner));
    if out.is_empty() {
        // SAFETY: an empty static blob (not a null pointer, which would make the result
        // NULL); SQLite reads nothing and frees nothing.
        unsafe {
            ffi::sqlite3_result_blob64(context, b"".as_ptr().cast(), 0, ffi::SQLITE_STATIC());
        }
        return;
    }
    // The body goes to SQLite as it is, for `free_body` to free: a copy of a chunk
    // (megabytes) would cost more than the header. The header keeps the buffer's
    // capacity, so the room reserved and not used is freed with it (not copied away).
    let length = out.len() - HEADER;
    let capacity = out.capacity();
    out[..HEADER].copy_from_slice(&(capacity as u64).to_le_bytes());
    let buffer = std::mem::ManuallyDrop::new(out).as_mut_ptr();
    // SAFETY: `buffer` holds `HEADER + length` bytes, so the body starts within it; from
    // here SQLite owns it and calls `free_body` once, even if it refuses the value.
    unsafe {
        ffi::sqlite3_result_blob64(
            context,
            buffer.add(HEADER).cast(),
            length as u64,
            Some(free_body),
        );
    }
}

/// SQLite's destructor for a body from [`body`]: the header before it holds the
/// buffer's capacity.
unsafe extern "C" fn free_body(body: *mut c_void) {
    // SAFETY: `body` is `HEADER` bytes into a `Vec<u8>`'s buffer from `body`, whose first
    // bytes hold its capacity; it is freed once, as that vector.
    unsafe {
        let buffer = body.cast::<u8>().sub(HEADER);
        let capacity = u64::from_le_bytes(buffer.cast::<[u8; HEADER]>().read());
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        drop(Vec::from_raw_parts(buffer, 0, capacity));
    }
}

/// SQLite's destructor for a function's user data: one reference to the `Kept`.
unsafe extern "C" fn release_kept(data: *mut c_void) {
    // SAFETY: `data` came from `Arc::into_raw` at registration, released once here.
    drop(unsafe { Arc::from_raw(data.cast::<Kept>()) });
}

/// The extension's entry point, which `load_extension` calls with SQLite's function table.
///
/// # Safety
///
/// Only SQLite may call this, with a valid connection and function table.
#[no_mangle]
pub unsafe extern "C" fn sqlite3_observabilipy_init(
    db: *mut ffi::sqlite3,
    _error: *mut *mut c_char,
    api: *mut ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: the caller's contract: `api` is this SQLite's table, `db` its connection.
    unsafe {
        if ffi::rusqlite_extension_init2(api).is_err() {
            return ffi::SQLITE_ERROR;
        }
        crate::sqlite_steps::loaded();
        let shared = Arc::new(Kept::default());
        let name: &CStr = c"observabilipy_ndjson";
        let status = ffi::sqlite3_create_function_v2(
            db,
            name.as_ptr(),
            7,
            // Direct only: not callable from a schema's triggers or views.
            ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY,
            Arc::into_raw(Arc::clone(&shared)).cast_mut().cast(),
            None,
            Some(step),
            Some(finish),
            Some(release_kept),
        );
        if status != ffi::SQLITE_OK {
            return status;
        }
        let status = crate::sqlite_batch::register(db);
        if status != ffi::SQLITE_OK {
            return status;
        }
        let name: &CStr = c"observabilipy_ndjson_body";
        ffi::sqlite3_create_function_v2(
            db,
            name.as_ptr(),
            0,
            ffi::SQLITE_UTF8 | ffi::SQLITE_DIRECTONLY,
            Arc::into_raw(shared).cast_mut().cast(),
            Some(body),
            None,
            None,
            Some(release_kept),
        )
    }
}
