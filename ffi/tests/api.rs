//! The C ABI called from Rust, the way the Python and Node wrapper crates
//! call it. The C programs in tests/c cover the same surface from C.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::{CStr, CString};
use std::ptr;

use stratalog::*;

const VECTORS: [(&str, &str); 4] = [
    (
        "alpha",
        "1:94530ac67685119ffb19c8a3e29ed037666647721d5e74f58f8947ad4edb5009",
    ),
    (
        "beta",
        "2:d18fbfbfce863aa5ee53b8a60a692fc980b90c9709d79f77d9aa8252451e2141",
    ),
    (
        "gamma",
        "3:4d523d709ed156197e20c7d3014349c127ebc40f14006f37db4935e38608c861",
    ),
    (
        "",
        "4:3cb80ca14de4a41ef744edd1ddda687284025e7a798e149c9e4da9c6cfebe6fc",
    ),
];

fn head_text(head: &stratalog_head) -> String {
    let mut buf = [0 as std::ffi::c_char; STRATALOG_HEAD_TEXT_SIZE];
    let st = unsafe { stratalog_head_to_hex(head, buf.as_mut_ptr(), buf.len()) };
    assert_eq!(st, stratalog_status::Ok);
    unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_str()
        .unwrap()
        .to_owned()
}

fn last_error() -> String {
    unsafe { CStr::from_ptr(stratalog_last_error()) }
        .to_string_lossy()
        .into_owned()
}

#[test]
fn spec_vectors_through_the_abi_then_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = CString::new(dir.path().join("s").to_str().unwrap()).unwrap();
    let mut opts = std::mem::MaybeUninit::<stratalog_options>::uninit();
    assert_eq!(
        unsafe { stratalog_options_default(opts.as_mut_ptr()) },
        stratalog_status::Ok
    );
    let mut opts = unsafe { opts.assume_init() };
    opts.compression = stratalog_compression::Zstd;
    opts.checkpoint_interval = 2;

    let mut store = ptr::null_mut();
    assert_eq!(
        unsafe { stratalog_open(path.as_ptr(), &opts, &mut store) },
        stratalog_status::Ok
    );
    for (event, want) in VECTORS {
        let slice = stratalog_slice {
            data: event.as_ptr(),
            len: event.len(),
        };
        let mut head = stratalog_head {
            next_offset: 0,
            hash: [0; 32],
        };
        let st = unsafe {
            stratalog_append_batch(
                store,
                1,
                &slice,
                1,
                ptr::null(),
                STRATALOG_FSYNC_NO,
                &mut head,
            )
        };
        assert_eq!(st, stratalog_status::Ok, "{}", last_error());
        assert_eq!(head_text(&head), want);
    }

    let mut batch = ptr::null_mut();
    assert_eq!(
        unsafe { stratalog_read_from(store, 1, 0, u64::MAX, &mut batch) },
        stratalog_status::Ok
    );
    assert_eq!(unsafe { stratalog_events_len(batch) }, 4);
    for (i, (event, _)) in VECTORS.iter().enumerate() {
        let (mut data, mut len) = (ptr::null(), 0usize);
        let st = unsafe { stratalog_events_get(batch, i, &mut data, &mut len) };
        assert_eq!(st, stratalog_status::Ok);
        assert!(!data.is_null());
        assert_eq!(
            unsafe { std::slice::from_raw_parts(data, len) },
            event.as_bytes()
        );
    }
    unsafe { stratalog_events_free(batch) };

    let mut report = std::mem::MaybeUninit::<stratalog_verify_report>::uninit();
    assert_eq!(
        unsafe { stratalog_verify(store, 1, report.as_mut_ptr()) },
        stratalog_status::Ok
    );
    let report = unsafe { report.assume_init() };
    assert_eq!(report.events, 4);
    assert_eq!(report.checkpoints, 1);
    assert_eq!(report.failed_offset, STRATALOG_NO_OFFSET);
    assert_eq!(head_text(&report.head), VECTORS[3].1);
    unsafe { stratalog_close(store) };
}

#[test]
fn offset_mismatch_reports_both_offsets() {
    let mut store = ptr::null_mut();
    assert_eq!(
        unsafe { stratalog_open_in_memory(ptr::null(), &mut store) },
        stratalog_status::Ok
    );
    let slice = stratalog_slice {
        data: b"x".as_ptr(),
        len: 1,
    };
    let st = unsafe {
        stratalog_append_batch(store, 0, &slice, 1, &0, STRATALOG_FSYNC_NO, ptr::null_mut())
    };
    assert_eq!(st, stratalog_status::Ok);
    let st = unsafe {
        stratalog_append_batch(store, 0, &slice, 1, &0, STRATALOG_FSYNC_NO, ptr::null_mut())
    };
    assert_eq!(st, stratalog_status::OffsetMismatch);
    let (mut expected, mut actual) = (0u64, 0u64);
    assert!(unsafe { stratalog_last_error_offsets(&mut expected, &mut actual) });
    assert_eq!((expected, actual), (0, 1));
    assert!(last_error().contains("offset mismatch"), "{}", last_error());
    unsafe { stratalog_close(store) };
}

#[test]
fn bad_pointers_are_errors_and_outputs_stay_untouched() {
    let mut store = ptr::null_mut();
    let bad_path = b"\xff\0";
    let st = unsafe { stratalog_open(bad_path.as_ptr().cast(), ptr::null(), &mut store) };
    assert_eq!(st, stratalog_status::InvalidArgument);
    assert!(store.is_null());

    assert_eq!(
        unsafe { stratalog_open_in_memory(ptr::null(), &mut store) },
        stratalog_status::Ok
    );
    let holes = [stratalog_slice {
        data: ptr::null(),
        len: 5,
    }];
    let mut head = stratalog_head {
        next_offset: 77,
        hash: [1; 32],
    };
    let st = unsafe {
        stratalog_append_batch(
            store,
            0,
            holes.as_ptr(),
            1,
            ptr::null(),
            STRATALOG_FSYNC_NO,
            &mut head,
        )
    };
    assert_eq!(st, stratalog_status::NullArgument);
    let st = unsafe {
        stratalog_append_batch(
            store,
            0,
            ptr::null(),
            3,
            ptr::null(),
            STRATALOG_FSYNC_NO,
            &mut head,
        )
    };
    assert_eq!(st, stratalog_status::NullArgument);
    assert_eq!(head.next_offset, 77);
    let st = unsafe {
        stratalog_append_batch(
            store,
            0,
            ptr::null(),
            usize::MAX,
            ptr::null(),
            STRATALOG_FSYNC_NO,
            &mut head,
        )
    };
    assert_eq!(st, stratalog_status::NullArgument);
    let huge = [stratalog_slice {
        data: b"x".as_ptr(),
        len: usize::MAX,
    }];
    let st = unsafe {
        stratalog_append_batch(
            store,
            0,
            huge.as_ptr(),
            1,
            ptr::null(),
            STRATALOG_FSYNC_NO,
            &mut head,
        )
    };
    assert_eq!(st, stratalog_status::InvalidArgument);
    assert_eq!(head.next_offset, 77);
    unsafe { stratalog_close(store) };
}

#[test]
fn status_strings_cover_every_status() {
    for n in 0..=19 {
        let name = unsafe { CStr::from_ptr(stratalog_status_str(n)) };
        assert!(name.to_str().unwrap().starts_with("STRATALOG_STATUS_"));
        assert_ne!(name.to_str().unwrap(), "STRATALOG_STATUS_UNKNOWN", "{n}");
    }
    let unknown = unsafe { CStr::from_ptr(stratalog_status_str(20)) };
    assert_eq!(unknown.to_str().unwrap(), "STRATALOG_STATUS_UNKNOWN");
}

#[test]
fn fsync_outside_the_three_values_is_refused_and_writes_nothing() {
    let mut store = ptr::null_mut();
    assert_eq!(
        unsafe { stratalog_open_in_memory(ptr::null(), &mut store) },
        stratalog_status::Ok
    );
    let slice = stratalog_slice {
        data: b"x".as_ptr(),
        len: 1,
    };
    for fsync in [
        STRATALOG_FSYNC_DEFAULT,
        STRATALOG_FSYNC_NO,
        STRATALOG_FSYNC_YES,
    ] {
        let st = unsafe {
            stratalog_append_batch(store, 3, &slice, 1, ptr::null(), fsync, ptr::null_mut())
        };
        assert_eq!(st, stratalog_status::Ok, "{}", last_error());
    }
    let st =
        unsafe { stratalog_append_batch(store, 3, &slice, 1, ptr::null(), 3, ptr::null_mut()) };
    assert_eq!(st, stratalog_status::InvalidArgument);
    assert!(
        last_error().contains("STRATALOG_FSYNC_DEFAULT"),
        "{}",
        last_error()
    );
    let batch = stratalog_batch {
        events: &slice,
        count: 1,
        expected_offset: ptr::null(),
        fsync: u32::MAX,
    };
    let mut outcome = std::mem::MaybeUninit::<stratalog_batch_outcome>::uninit();
    let st = unsafe { stratalog_append_batches(store, 3, &batch, 1, outcome.as_mut_ptr()) };
    assert_eq!(st, stratalog_status::InvalidArgument);
    assert!(
        last_error().starts_with("invalid argument: batches[0]: fsync"),
        "{}",
        last_error()
    );
    let mut stats = std::mem::MaybeUninit::<stratalog_stream_stats>::uninit();
    assert_eq!(
        unsafe { stratalog_get_stream_stats(store, 3, stats.as_mut_ptr()) },
        stratalog_status::Ok
    );
    assert_eq!(unsafe { stats.assume_init() }.next_offset, 3);
    unsafe { stratalog_close(store) };
}

#[test]
fn compression_names_are_the_cores() {
    for (number, codec) in stratalog_core::Compression::ALL.into_iter().enumerate() {
        let name = unsafe { CStr::from_ptr(stratalog_compression_name(number as u32)) };
        assert_eq!(name.to_str().unwrap(), codec.name());
        let upper = CString::new(codec.name().to_uppercase()).unwrap();
        let mut parsed = stratalog_compression::None;
        assert_eq!(
            unsafe { stratalog_compression_parse(upper.as_ptr(), &mut parsed) },
            stratalog_status::Ok
        );
        assert_eq!(parsed as usize, number);
    }
    assert!(stratalog_compression_name(3).is_null());
    let mut parsed = stratalog_compression::Lz4;
    assert_eq!(
        unsafe { stratalog_compression_parse(c"gzip".as_ptr(), &mut parsed) },
        stratalog_status::InvalidArgument
    );
    assert_eq!(parsed, stratalog_compression::Lz4);
    assert!(last_error().contains("\"zstd\""), "{}", last_error());
}
