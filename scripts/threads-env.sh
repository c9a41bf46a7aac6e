# shellcheck shell=bash
# The threaded WebAssembly build (shared memory, one model for all the pool's workers): its pinned
# nightly toolchain and flags. Sourced by setup.sh (installs the toolchain with rust-src and the
# wasm32 target), build-pkg.sh (builds pkg/threads/) and test.sh (its browser tests).
#
# * `+atomics,+bulk-memory,+mutable-globals`: atomic instructions, passive data segments and
#   mutable globals (the per-thread stack pointer and TLS base), as wasm-bindgen's threads
#   support needs;
# * std is rebuilt with these features (`-Z build-std`, nightly only: the shipped std is not
#   compiled with atomics);
# * the linker flags make the memory imported and shared, with room to grow to 4 GiB (as the
#   plain build), and export the TLS symbols wasm-bindgen's thread start-up uses. This rustc does
#   not add them itself: without them the module comes out with a private, unshared memory.
THREADS_TOOLCHAIN=nightly-2026-05-20 # rustc 1.97.0-nightly (e50aa6fba 2026-05-19)
THREADS_RUSTFLAGS="-C target-feature=+atomics,+bulk-memory,+mutable-globals \
-C link-arg=--shared-memory -C link-arg=--import-memory -C link-arg=--max-memory=4294967296 \
-C link-arg=--export=__wasm_init_tls -C link-arg=--export=__tls_size \
-C link-arg=--export=__tls_align -C link-arg=--export=__tls_base"
THREADS_BUILD_STD="-Zbuild-std=panic_abort,std"
# Its own target folder: other RUSTFLAGS would otherwise rebuild the plain build's every time.
THREADS_TARGET_DIR=target/threads
