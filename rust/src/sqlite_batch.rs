//! `observabilipy_entries(batch)`: a table-valued function over a batch of log entries
//! as the writer's encoder writes it (see [`crate::batch`]), one row per entry with
//! columns `ts`, `level` (the stdlib number, NULL for an unknown name), `message`,
//! `attributes` (JSON text) and `logger`, and the entry's position as its rowid.
//! `observabilipy_entries(batch, max_entry_bytes)` also refuses an entry longer than
//! that.
//!
//! The writer inserts a batch with `INSERT … SELECT … FROM observabilipy_entries(?)`:
//! SQLite then neither parses JSON nor extracts fields from it, which was about a third
//! of an insert's cost through `jsonb_each`. An entry the reader refuses fails the
//! statement with `SQLITE_CONSTRAINT`, as a value the schema refuses does, so the writer
//! stores that batch entry by entry through the storage rule instead; so does an entry
//! the rule would rewrite (see [`crate::batch`]).

use std::ffi::{c_char, c_int, CStr};
use std::ptr;

use libsqlite3_sys as ffi;

use crate::batch::{check_text, next_entry, Entry, Position};

const SCHEMA: &CStr =
    c"CREATE TABLE x(ts REAL, level INTEGER, message TEXT, attributes TEXT, logger TEXT, batch HIDDEN, max_entry HIDDEN)";
const BATCH_COLUMN: c_int = 5;
const MAX_ENTRY_COLUMN: c_int = 6;
/// `idxNum` bits: which arguments `xFilter` is given, in this order.
const HAS_BATCH: c_int = 1;
const HAS_MAX_ENTRY: c_int = 2;
// The interface's small constants, at the width its fields take.
#[allow(clippy::cast_possible_truncation)]
const EQUALS: u8 = ffi::SQLITE_INDEX_CONSTRAINT_EQ as u8;
#[allow(clippy::cast_possible_truncation)]
const UTF8: u8 = ffi::SQLITE_UTF8 as u8;

/// A cursor: SQLite's part first, as the interface requires.
#[repr(C)]
struct Cursor {
    base: ffi::sqlite3_vtab_cursor,
    /// The batch, copied: SQLite's value is only valid during `xFilter`.
    batch: Vec<u8>,
    max_entry: usize,
    position: Position,
    row: i64,
    current: Option<Entry>,
}

impl Cursor {
    /// Move to the next entry; an error leaves the cursor at its end.
    fn advance(&mut self) -> Result<(), String> {
        match next_entry(&self.batch, self.position, self.max_entry) {
            Ok((entry, position)) => {
                self.current = entry;
                self.position = position;
                Ok(())
            }
            Err(error) => {
                self.current = None;
                self.position = Position::End;
                Err(error)
            }
        }
    }
}

/// Set the table's error message (SQLite frees it) and return `code`.
unsafe fn fail(cursor: *mut ffi::sqlite3_vtab_cursor, message: &str, code: c_int) -> c_int {
    let text = format!("observabilipy_entries: {message}");
    // SAFETY: SQLite's allocator, as zErrMsg requires; the copy ends with a NUL.
    unsafe {
        let length = text.len() + 1;
        let copy = ffi::sqlite3_malloc64(length as u64).cast::<u8>();
        if copy.is_null() {
            return ffi::SQLITE_NOMEM;
        }
        ptr::copy_nonoverlapping(text.as_ptr(), copy, text.len());
        *copy.add(text.len()) = 0;
        let table = (*cursor).pVtab;
        ffi::sqlite3_free((*table).zErrMsg.cast());
        (*table).zErrMsg = copy.cast::<c_char>();
    }
    code
}

unsafe extern "C" fn connect(
    db: *mut ffi::sqlite3,
    _aux: *mut std::ffi::c_void,
    _argc: c_int,
    _argv: *const *const c_char,
    table: *mut *mut ffi::sqlite3_vtab,
    _error: *mut *mut c_char,
) -> c_int {
    // SAFETY: SQLite's contract for xConnect: a valid connection and out-pointer.
    unsafe {
        let status = ffi::sqlite3_declare_vtab(db, SCHEMA.as_ptr());
        if status != ffi::SQLITE_OK {
            return status;
        }
        // Not from a schema's triggers or views: only statements the application runs.
        ffi::sqlite3_vtab_config(db, ffi::SQLITE_VTAB_DIRECTONLY);
        *table = Box::into_raw(Box::new(std::mem::zeroed::<ffi::sqlite3_vtab>()));
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn disconnect(table: *mut ffi::sqlite3_vtab) -> c_int {
    // SAFETY: the table came from `connect`'s Box, and SQLite frees it once.
    drop(unsafe { Box::from_raw(table) });
    ffi::SQLITE_OK
}

unsafe extern "C" fn best_index(
    _table: *mut ffi::sqlite3_vtab,
    info: *mut ffi::sqlite3_index_info,
) -> c_int {
    // SAFETY: SQLite passes `nConstraint` constraints and as many usages.
    unsafe {
        let info = &mut *info;
        let count = usize::try_from(info.nConstraint).unwrap_or(0);
        let (mut batch, mut max_entry) = (None, None);
        for at in 0..count {
            let constraint = &*info.aConstraint.add(at);
            if constraint.op != EQUALS {
                continue;
            }
            let slot = match constraint.iColumn {
                BATCH_COLUMN => &mut batch,
                MAX_ENTRY_COLUMN => &mut max_entry,
                _ => continue,
            };
            if constraint.usable == 0 {
                // Another plan must give the arguments first.
                return ffi::SQLITE_CONSTRAINT;
            }
            *slot = Some(at);
        }
        let Some(batch) = batch else {
            // Without a batch there are no rows.
            info.idxNum = 0;
            info.estimatedCost = 1e12;
            return ffi::SQLITE_OK;
        };
        info.idxNum = HAS_BATCH;
        let usage = |at: usize, index: c_int| {
            let usage = &mut *info.aConstraintUsage.add(at);
            usage.argvIndex = index;
            usage.omit = 1;
        };
        usage(batch, 1);
        if let Some(max_entry) = max_entry {
            usage(max_entry, 2);
            info.idxNum |= HAS_MAX_ENTRY;
        }
        info.estimatedCost = 1.0;
        info.estimatedRows = 10_000;
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn open(
    _table: *mut ffi::sqlite3_vtab,
    cursor: *mut *mut ffi::sqlite3_vtab_cursor,
) -> c_int {
    let opened = Box::new(Cursor {
        // SAFETY: SQLite fills the base in after this call; zeroed is its documented start.
        base: unsafe { std::mem::zeroed() },
        batch: Vec::new(),
        max_entry: usize::MAX,
        position: Position::End,
        row: 0,
        current: None,
    });
    // SAFETY: the out-pointer is valid; `Cursor` starts with the base, so SQLite's
    // pointer is ours too.
    unsafe { *cursor = Box::into_raw(opened).cast() };
    ffi::SQLITE_OK
}

unsafe extern "C" fn close(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: the cursor came from `open`'s Box, closed once.
    drop(unsafe { Box::from_raw(cursor.cast::<Cursor>()) });
    ffi::SQLITE_OK
}

unsafe extern "C" fn filter(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    index: c_int,
    _name: *const c_char,
    count: c_int,
    values: *mut *mut ffi::sqlite3_value,
) -> c_int {
    // SAFETY: our cursor; `count` values, valid during this call (so the batch is copied).
    unsafe {
        let ours = &mut *cursor.cast::<Cursor>();
        ours.batch.clear();
        ours.row = 0;
        ours.current = None;
        ours.position = Position::End;
        ours.max_entry = usize::MAX;
        if index & HAS_BATCH == 0 || count < 1 {
            return ffi::SQLITE_OK;
        }
        if index & HAS_MAX_ENTRY != 0 && count >= 2 {
            let limit = *values.add(1);
            let limit = (ffi::sqlite3_value_type(limit) == ffi::SQLITE_INTEGER)
                .then(|| usize::try_from(ffi::sqlite3_value_int64(limit)).ok())
                .flatten();
            let Some(limit) = limit else {
                return fail(
                    cursor,
                    "the entry limit must be an integer of 0 or more",
                    ffi::SQLITE_MISMATCH,
                );
            };
            ours.max_entry = limit;
        }
        let value = *values;
        let start = match ffi::sqlite3_value_type(value) {
            ffi::SQLITE_TEXT => ffi::sqlite3_value_text(value),
            ffi::SQLITE_BLOB => ffi::sqlite3_value_blob(value).cast::<u8>(),
            _ => {
                return fail(
                    cursor,
                    "the batch must be text or bytes",
                    ffi::SQLITE_MISMATCH,
                )
            }
        };
        let length = usize::try_from(ffi::sqlite3_value_bytes(value)).unwrap_or(0);
        if !start.is_null() {
            ours.batch
                .extend_from_slice(std::slice::from_raw_parts(start, length));
        }
        ours.position = Position::Start;
        match check_text(&ours.batch).and_then(|()| ours.advance()) {
            Ok(()) => ffi::SQLITE_OK,
            Err(error) => fail(cursor, &error, ffi::SQLITE_CONSTRAINT),
        }
    }
}

unsafe extern "C" fn next(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: our cursor.
    let ours = unsafe { &mut *cursor.cast::<Cursor>() };
    ours.row += 1;
    match ours.advance() {
        Ok(()) => ffi::SQLITE_OK,
        // SAFETY: as above.
        Err(error) => unsafe { fail(cursor, &error, ffi::SQLITE_CONSTRAINT) },
    }
}

unsafe extern "C" fn eof(cursor: *mut ffi::sqlite3_vtab_cursor) -> c_int {
    // SAFETY: our cursor.
    c_int::from(unsafe { (*cursor.cast::<Cursor>()).current.is_none() })
}

unsafe fn result_text(context: *mut ffi::sqlite3_context, text: &[u8]) {
    // SAFETY: SQLITE_TRANSIENT: SQLite copies the bytes before returning.
    unsafe {
        ffi::sqlite3_result_text64(
            context,
            text.as_ptr().cast::<c_char>(),
            text.len() as u64,
            ffi::SQLITE_TRANSIENT(),
            UTF8,
        );
    }
}

unsafe extern "C" fn column(
    cursor: *mut ffi::sqlite3_vtab_cursor,
    context: *mut ffi::sqlite3_context,
    column: c_int,
) -> c_int {
    // SAFETY: our cursor, and a context valid for this call.
    unsafe {
        let ours = &*cursor.cast::<Cursor>();
        let Some(current) = &ours.current else {
            ffi::sqlite3_result_null(context);
            return ffi::SQLITE_OK;
        };
        match column {
            0 => match current.timestamp {
                Some(timestamp) => ffi::sqlite3_result_double(context, timestamp),
                None => ffi::sqlite3_result_null(context),
            },
            1 => match current.level {
                Some(level) => ffi::sqlite3_result_int64(context, level),
                None => ffi::sqlite3_result_null(context),
            },
            2 => result_text(context, current.message.bytes(&ours.batch)),
            3 => result_text(context, &ours.batch[current.attributes.clone()]),
            4 => result_text(context, current.logger.bytes(&ours.batch)),
            _ => ffi::sqlite3_result_null(context),
        }
    }
    ffi::SQLITE_OK
}

unsafe extern "C" fn rowid(cursor: *mut ffi::sqlite3_vtab_cursor, rowid: *mut i64) -> c_int {
    // SAFETY: our cursor and SQLite's out-pointer.
    unsafe { *rowid = (*cursor.cast::<Cursor>()).row };
    ffi::SQLITE_OK
}

static MODULE: ffi::sqlite3_module = ffi::sqlite3_module {
    iVersion: 0,
    // No xCreate: eponymous only, as table-valued functions are.
    xCreate: None,
    xConnect: Some(connect),
    xBestIndex: Some(best_index),
    xDisconnect: Some(disconnect),
    xDestroy: Some(disconnect),
    xOpen: Some(open),
    xClose: Some(close),
    xFilter: Some(filter),
    xNext: Some(next),
    xEof: Some(eof),
    xColumn: Some(column),
    xRowid: Some(rowid),
    xUpdate: None,
    xBegin: None,
    xSync: None,
    xCommit: None,
    xRollback: None,
    xFindFunction: None,
    xRename: None,
    xSavepoint: None,
    xRelease: None,
    xRollbackTo: None,
    xShadowName: None,
    xIntegrity: None,
};

/// Register `observabilipy_entries` on `db`.
///
/// # Safety
///
/// `db` must be a valid connection of the SQLite whose function table the extension
/// was initialised with.
pub unsafe fn register(db: *mut ffi::sqlite3) -> c_int {
    // SAFETY: the caller's contract; the module is static, so it outlives the connection.
    unsafe {
        ffi::sqlite3_create_module_v2(
            db,
            c"observabilipy_entries".as_ptr(),
            &raw const MODULE,
            ptr::null_mut(),
            None,
        )
    }
}
