//! One counting global allocator for the zero-allocation tests.
//!
//! A test file installs it with
//!
//! ```ignore
//! mod alloc_counter;
//! #[global_allocator]
//! static GLOBAL: alloc_counter::Counting = alloc_counter::Counting;
//! ```
//!
//! and compares [`allocations`] before and after the code under test. Only
//! the calling thread's allocations are counted (the test harness's other
//! threads may allocate at any time); `alloc`, `alloc_zeroed` and `realloc`
//! each count as one allocation. Every call is forwarded unchanged to the
//! system allocator.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// Counts the calling thread's allocations, then forwards to [`System`].
pub struct Counting;

thread_local! {
    /// This thread's allocation count. `const`-initialised and without a
    /// destructor, so touching it never allocates.
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: during thread teardown the slot may be gone; such
    // allocations belong to no test.
    let _ = COUNT.try_with(|c| c.set(c.get().wrapping_add(1)));
}

/// Allocations made so far by the calling thread.
pub fn allocations() -> usize {
    COUNT.with(Cell::get)
}

// SAFETY: every method forwards unchanged to `System`, which upholds the
// `GlobalAlloc` contract; counting touches only a thread-local `Cell`.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: forwarded with the caller's layout, as `GlobalAlloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: `ptr` was allocated by this allocator (i.e. by `System`)
        // with `layout`, as the caller guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}
