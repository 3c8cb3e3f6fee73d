//! A global allocator wrapper that counts heap allocations, for the "allocations per message"
//! figures of the `side_by_side` benchmark.
//!
//! The benchmark binary installs it (`#[global_allocator] static A: Counting<System> = ...`,
//! or around mimalloc with `--features mimalloc`); [`allocations`] then reads the total, and
//! [`crate::measure`] takes the difference around each measured workload. In a binary that
//! does not install it, [`allocations`] stays 0.
//!
//! Why sharded: one shared `AtomicU64` would make every allocation of every thread bounce the
//! same cache line between the two cores *while the timed pass runs*, adding tens of ns to each
//! allocation and so penalising exactly the systems that allocate. Each thread instead counts
//! in its own cache-line-sized slot (assigned on its first allocation; a slot is only shared
//! if more than [`SHARDS`] threads exist), so a count is an uncontended `fetch_add`, and
//! reading sums the slots.

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counting slots; more than the threads any benchmarked system starts.
const SHARDS: usize = 64;

/// One counter on a cache line of its own (128 bytes: two lines, against the adjacent-line
/// prefetcher).
#[repr(align(128))]
struct Shard(AtomicU64);

static COUNTS: [Shard; SHARDS] = [const { Shard(AtomicU64::new(0)) }; SHARDS];
static NEXT_SLOT: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// This thread's slot in `COUNTS`, `usize::MAX` until its first allocation. A `const`
    /// initialiser and no destructor: reading it never allocates, so the allocator may use it.
    static SLOT: Cell<usize> = const { Cell::new(usize::MAX) };
}

#[inline]
fn count() {
    let slot = SLOT
        .try_with(|slot| {
            let mut value = slot.get();
            if value == usize::MAX {
                value = NEXT_SLOT.fetch_add(1, Ordering::Relaxed) % SHARDS;
                slot.set(value);
            }
            value
        })
        .unwrap_or(0);
    COUNTS[slot].0.fetch_add(1, Ordering::Relaxed);
}

/// Heap allocations made so far by every thread of the process: calls to `alloc`,
/// `alloc_zeroed` and `realloc` (a `realloc` may move the block, and `valgrind --tool=dhat`
/// counts it as a block too). Frees are not counted.
pub fn allocations() -> u64 {
    COUNTS
        .iter()
        .map(|shard| shard.0.load(Ordering::Relaxed))
        .sum()
}

/// Wraps an allocator `A` (the system's, or mimalloc) and counts its allocations.
pub struct Counting<A>(pub A);

// SAFETY: every call is forwarded unchanged to the wrapped allocator; the counting touches no
// memory of the allocations and never allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for Counting<A> {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        self.0.alloc(layout)
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        self.0.alloc_zeroed(layout)
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.0.dealloc(ptr, layout)
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        self.0.realloc(ptr, layout, new_size)
    }
}
