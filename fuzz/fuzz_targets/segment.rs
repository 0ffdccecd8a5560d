//! Arbitrary bytes as a stream's only (active) segment: recovery scan,
//! torn-tail logic, record decoding, reads and verify.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = common::empty_store();
    common::plant(&dir, "00000000000000000000.seg", data);
    common::exercise(&dir);
});
