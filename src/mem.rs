//! Memory-access helpers for the hot loops, and how the native build uses the machine.

use std::sync::atomic::{AtomicBool, Ordering};

/// Asks the CPU to start loading `x`'s cache line, so that independent look-ups overlap their
/// misses; a no-op where no prefetch instruction is available (WebAssembly: see [`touch_at`]).
#[inline(always)]
pub(crate) fn prefetch<T>(x: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch(x as *const T as *const i8, std::arch::x86_64::_MM_HINT_T0);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

/// Prefetches `v[i]` when it exists.
#[inline(always)]
pub(crate) fn prefetch_at<T>(v: &[T], i: usize) {
    if let Some(x) = v.get(i) {
        prefetch(x);
    }
}

/// [`prefetch_at`], and in WebAssembly, which has no prefetch instruction, an ordinary load of
/// `v[i]` whose value nothing waits for, so the CPU overlaps its miss with the work that follows.
///
/// Only for a use a few dozen instructions later (the sampler's next context): unlike a
/// prefetch, a load must complete before the instructions after it retire, so one issued far
/// ahead (as the build loops do) stalls the CPU. Measured in Node: the sampler is 10% faster
/// with it, the first training 13% slower when the build loops used it too.
#[inline(always)]
pub(crate) fn touch_at<T>(v: &[T], i: usize) {
    #[cfg(target_arch = "wasm32")]
    if let Some(x) = v.get(i) {
        // SAFETY: `x` is a valid reference; a volatile read of it is an ordinary load that the
        // compiler must keep.
        unsafe {
            std::ptr::read_volatile(x as *const T as *const u8);
        }
    }
    #[cfg(not(target_arch = "wasm32"))]
    prefetch_at(v, i);
}

/// Arrays at least this large are worth huge pages.
const HUGE_MIN: usize = 4 << 20;

/// Lets the kernel back `v`'s memory with 2 MiB pages (Linux; a no-op elsewhere).
///
/// Loading and training fill arrays of tens of megabytes once, front to back, right after
/// allocating them; with 4 KiB pages the page faults cost about as much as the work itself
/// (measured: a quarter of the load time of a 2.8 M n-gram model). Call it before the memory is
/// first written: a fresh `vec![0; n]` or `Vec::with_capacity(n)` of this size is untouched.
#[allow(clippy::ptr_arg)] // the capacity, not just the length, is what gets advised
pub(crate) fn advise_huge<T>(v: &Vec<T>) {
    let bytes = v.capacity() * std::mem::size_of::<T>();
    #[cfg(target_os = "linux")]
    if bytes >= HUGE_MIN && native_extras() {
        const HUGE: usize = 2 << 20;
        let start = (v.as_ptr() as usize).next_multiple_of(HUGE);
        let end = (v.as_ptr() as usize + bytes) & !(HUGE - 1);
        if end > start {
            // SAFETY: the range lies inside `v`'s own allocation; MADV_HUGEPAGE only changes
            // how the kernel backs it, never its contents, and a failure is harmless.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (bytes, HUGE_MIN);
}

/// `vec![0; n]` advised for huge pages (see [`advise_huge`]).
pub(crate) fn zeroed_u32(n: usize) -> Vec<u32> {
    let v = vec![0u32; n];
    advise_huge(&v);
    v
}

/// `vec![0u8; n]` advised for huge pages (see [`advise_huge`]).
pub(crate) fn zeroed(n: usize) -> Vec<u8> {
    let v = vec![0u8; n];
    advise_huge(&v);
    v
}

/// `Vec::with_capacity(n)` advised for huge pages (see [`advise_huge`]).
pub(crate) fn with_capacity<T>(n: usize) -> Vec<T> {
    let v = Vec::with_capacity(n);
    advise_huge(&v);
    v
}

/// Natively: whether [`join`] uses a second thread and large arrays ask for huge pages
/// (see [`set_native_extras`]).
static NATIVE_EXTRAS: AtomicBool = AtomicBool::new(true);

/// Turns the two things the native build does and WebAssembly in a browser cannot (a second
/// thread for independent passes of training and loading, 2 MiB pages for large arrays) on or
/// off, for the whole process; on by default. Off, native code runs under WebAssembly's
/// conditions, which is what `uellm-bench --like-wasm` measures: the comparison that isolates
/// what WebAssembly itself costs. Results are identical either way; only speed changes.
///
/// Changing it while a training or a load runs on another thread is safe; that call may use
/// either setting.
pub fn set_native_extras(enabled: bool) {
    NATIVE_EXTRAS.store(enabled, Ordering::Relaxed);
}

/// Whether the native extras (see [`set_native_extras`]) are on; always false in WebAssembly.
pub fn native_extras() -> bool {
    cfg!(not(target_arch = "wasm32")) && NATIVE_EXTRAS.load(Ordering::Relaxed)
}

/// Runs `a` and `b` at the same time where threads exist (natively, unless
/// [`set_native_extras`] turned that off), one after the other in WebAssembly, where a module
/// has one thread. `a` always runs on the calling thread (so it may report progress to a
/// callback that must stay there, see [`crate::progress::Meter`]).
pub(crate) fn join<A, B: Send>(a: impl FnOnce() -> A, b: impl FnOnce() -> B + Send) -> (A, B) {
    #[cfg(not(target_arch = "wasm32"))]
    if native_extras() {
        return std::thread::scope(|s| {
            let hb = s.spawn(b);
            let ra = a();
            // A panic in `b` is a bug; re-raise it here rather than hide it.
            let rb = hb.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            (ra, rb)
        });
    }
    (a(), b())
}

/// Below this many elements a job is not worth a second thread.
pub(crate) const PARALLEL_MIN: usize = 1 << 16;

/// Nodes per call of a long loop split by [`chunks`].
pub(crate) const CHUNK: usize = 1 << 16;

/// `range` cut into pieces of [`CHUNK`], for long loops run as one call per piece.
///
/// Browsers run WebAssembly first from baseline code and swap in optimized code for a function
/// only at its next call (V8's Liftoff and TurboFan: there is no on-stack replacement), so a
/// loop that does a whole load in one call runs all of it unoptimized the first time, about
/// twice as slow. Called per piece, it switches to the optimized code as soon as that is ready.
pub(crate) fn chunks(
    range: std::ops::Range<usize>,
) -> impl Iterator<Item = std::ops::Range<usize>> {
    range
        .clone()
        .step_by(CHUNK)
        .map(move |start| start..(start + CHUNK).min(range.end))
}

/// Calls `f` on `range` in pieces of [`CHUNK`] (see [`chunks`]), each through a function of its
/// own that is never inlined, so that the browser's optimized code for `f` takes over within
/// the loop instead of at the next one. (`scripts/build-pkg.sh` keeps wasm-opt from inlining
/// it back: it inlines every function that has one caller.)
pub(crate) fn for_chunks(range: std::ops::Range<usize>, mut f: impl FnMut(std::ops::Range<usize>)) {
    for piece in chunks(range) {
        call(&mut f, piece);
    }
}

/// [`for_chunks`] for a loop that can fail: stops at the first error.
pub(crate) fn try_for_chunks<E>(
    range: std::ops::Range<usize>,
    mut f: impl FnMut(std::ops::Range<usize>) -> Result<(), E>,
) -> Result<(), E> {
    for piece in chunks(range) {
        call(&mut f, piece)?;
    }
    Ok(())
}

#[inline(never)]
fn call<R, F: FnMut(std::ops::Range<usize>) -> R>(f: &mut F, piece: std::ops::Range<usize>) -> R {
    f(piece)
}
