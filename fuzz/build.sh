#!/bin/sh
# Builds the fuzz target with libFuzzer's coverage instrumentation on the
# stable toolchain: the flags `cargo fuzz build --sanitizer none` passes
# (cargo-fuzz 0.12), debug assertions and overflow checks on, so that an
# arithmetic overflow in validation is a finding. `cargo +nightly fuzz run
# spec_parse` builds the same target with AddressSanitizer as well.
set -eu
cd "$(dirname "$0")"
export RUSTFLAGS="-Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cllvm-args=-sanitizer-coverage-stack-depth \
 -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
 --cfg fuzzing -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps the flags off build scripts and proc macros,
# which are not linked with libFuzzer.
exec cargo build --release --bin spec_parse --target "$(rustc -vV | sed -n 's/^host: //p')" "$@"
