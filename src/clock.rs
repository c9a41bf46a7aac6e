//! A monotonic millisecond clock that works natively and in WebAssembly.
//!
//! `std::time::Instant` panics on `wasm32-unknown-unknown`, and the core must not depend on web
//! crates, so the browser bindings install `performance.now()` with [`set_clock`]; native builds
//! use `Instant`. Without a clock (wasm before [`set_clock`]) times read 0 and rates are reported
//! as 0 rather than guessed.

use std::sync::OnceLock;

static CLOCK: OnceLock<fn() -> f64> = OnceLock::new();

/// Installs the clock used for statistics (first call wins).
pub fn set_clock(now_ms: fn() -> f64) {
    let _ = CLOCK.set(now_ms);
}

/// Milliseconds from an arbitrary fixed origin.
pub fn now_ms() -> f64 {
    match CLOCK.get() {
        Some(f) => f(),
        None => default_now(),
    }
}

/// Some bits that differ between runs, to start the seed counter of generation without a seed
/// (the system time natively; in wasm the bindings pass their own seeds, so 0 is fine).
pub(crate) fn entropy() -> u64 {
    #[cfg(not(target_arch = "wasm32"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    }
    #[cfg(target_arch = "wasm32")]
    {
        0
    }
}

#[cfg(not(target_arch = "wasm32"))]
fn default_now() -> f64 {
    static START: OnceLock<std::time::Instant> = OnceLock::new();
    START
        .get_or_init(std::time::Instant::now)
        .elapsed()
        .as_secs_f64()
        * 1000.0
}

#[cfg(target_arch = "wasm32")]
fn default_now() -> f64 {
    0.0
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn native_clock_is_monotonic() {
        let a = super::now_ms();
        let b = super::now_ms();
        assert!(b >= a);
    }
}
