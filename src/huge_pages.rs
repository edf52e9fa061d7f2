//! `failover check` asks the kernel for transparent huge pages for its large tables.
//!
//! Where the time of a check goes (BENCHMARKS.md, issue 14): about a quarter of it is
//! stateright's visited set, a hash table of one 8-byte fingerprint per state (tens of millions
//! of states, hundreds of MB), read at a random place for every state generated. With 4 KiB
//! pages nearly every such read also misses the TLB; with 2 MiB pages it mostly does not.
//! Linux gives a process huge pages only where it asks for them (`madvise(MADV_HUGEPAGE)`,
//! when `/sys/kernel/mm/transparent_hugepage/enabled` is `madvise`, the usual setting), so this
//! allocator, the system's, marks every allocation of 2 MiB or more that way once
//! [`enable`] was called (only `failover check` calls it). The advice is a hint: where the
//! kernel has no huge pages to give, nothing changes but the time. What is stored and explored
//! does not change.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether large allocations are marked (off until [`enable`]).
static ENABLED: AtomicBool = AtomicBool::new(false);

/// The size of a huge page on x86-64 and aarch64 (with 4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// Allocations below this size are left alone (a huge page for a small table wastes memory).
const LARGE: usize = HUGE_PAGE;

/// Mark the large allocations made from now on.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// The system allocator, with large allocations marked for huge pages after [`enable`].
pub struct Allocator;

// SAFETY: every call is forwarded to the system allocator unchanged; `advise` only gives the
// kernel advice about memory the allocation owns.
unsafe impl GlobalAlloc for Allocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        advise(p, layout.size());
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        advise(p, layout.size());
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout)
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        advise(q, new_size);
        q
    }
}

/// Ask for huge pages for the whole huge pages inside `[p, p + size)`, if the allocation is
/// large and marking is enabled. A failed `madvise` (no transparent huge pages in this kernel)
/// is not an error: the memory is usable either way.
#[inline]
fn advise(p: *mut u8, size: usize) {
    if size < LARGE || p.is_null() || !ENABLED.load(Ordering::Relaxed) {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        let start = (p as usize).next_multiple_of(HUGE_PAGE);
        let end = (p as usize + size) / HUGE_PAGE * HUGE_PAGE;
        if end > start {
            // SAFETY: [start, end) lies inside the allocation just made; MADV_HUGEPAGE changes
            // how the kernel backs it, never its contents.
            unsafe {
                libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_HUGEPAGE);
            }
        }
    }
}
