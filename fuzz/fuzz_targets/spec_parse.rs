//! `Spec::parse` on arbitrary bytes: parsing, the shape check and
//! validation must answer every input with a spec or an error, never a
//! panic, within libFuzzer's time and memory limits. A spec it accepts
//! must also derive its hardware parameters, which assume a valid spec,
//! and an error must print (its messages quote the file by line and
//! column).

#![no_main]

use libfuzzer_sys::fuzz_target;
use sprint_rtl::golden::Derived;
use sprint_rtl::spec::Spec;

fuzz_target!(|data: &[u8]| {
    let Ok(yaml) = std::str::from_utf8(data) else {
        return;
    };
    match Spec::parse("fuzz.yaml", yaml) {
        Ok(spec) => {
            Derived::from_spec(&spec);
        }
        Err(errors) => {
            let _ = errors.to_string();
        }
    }
});
