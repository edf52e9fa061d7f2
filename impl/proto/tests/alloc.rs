//! Decoding allocates in proportion to the input, never to what length fields claim (a hostile
//! peer must not make us reserve 64 KiB with a 10-octet message). Measured with a counting global
//! allocator; this binary holds a single test so that no other test's allocations interfere.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use failover_proto::wire::{DhcpOption, FrameDecoder, Message};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let live = LIVE.fetch_add(layout.size(), Relaxed) + layout.size();
        PEAK.fetch_max(live, Relaxed);
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Peak bytes allocated above the level at entry while running `f`.
fn peak_during<T>(f: impl FnOnce() -> T) -> usize {
    let base = LIVE.load(Relaxed);
    PEAK.store(base, Relaxed);
    let out = f();
    let peak = PEAK.load(Relaxed) - base;
    drop(out);
    peak
}

fn header() -> Vec<u8> {
    vec![24, 0, 0, 1, 0x32, 0xa0, 0, 0]
}

#[test]
fn allocation_is_bounded_by_the_input() {
    // 1. Length fields that lie: an option claiming 65535 octets, 10 present; a frame claiming
    //    65535 octets, 10 present.
    let mut lying = header();
    lying.extend_from_slice(&[0, 45, 0xFF, 0xFF]);
    lying.extend_from_slice(&[0; 10]);
    let peak = peak_during(|| Message::decode(&lying));
    eprintln!("lying option-len: peak {peak} bytes");
    assert!(peak < 256, "lying option-len: {peak} bytes allocated");

    let mut dec = FrameDecoder::new();
    let mut frame = vec![0xFF, 0xFF];
    frame.extend_from_slice(&[0; 10]);
    let peak = peak_during(|| {
        dec.push(&frame);
        dec.next_message()
    });
    assert!(peak < 256, "lying message-size: {peak} bytes allocated");

    // 2. The worst amplification a valid message allows: the smallest options (4 octets each,
    //    empty CLIENT_DATA or unknown), as many as fit. Each decodes to one DhcpOption in a Vec
    //    that grows by doubling, so the peak is at most ~3 * size_of::<DhcpOption>() per option.
    let per_option = std::mem::size_of::<DhcpOption>();
    for code in [45u16, 999] {
        let mut many = header();
        while many.len() + 4 <= u16::MAX as usize {
            many.extend_from_slice(&code.to_be_bytes());
            many.extend_from_slice(&[0, 0]);
        }
        let options = (many.len() - 8) / 4;
        let peak = peak_during(|| Message::decode(&many).unwrap());
        eprintln!(
            "code {code}: {} input octets, {options} options, peak {peak} bytes",
            many.len()
        );
        assert!(
            peak <= 3 * per_option * options + 1024,
            "code {code}: {peak} bytes for {options} options of {per_option} bytes"
        );
    }

    // 3. Deep but legal nesting costs one small Vec per level, not more.
    let mut nested: Vec<u8> = Vec::new();
    for _ in 0..failover_proto::wire::MAX_DEPTH {
        let mut outer = vec![0, 116];
        outer.extend_from_slice(&(nested.len() as u16).to_be_bytes());
        outer.extend_from_slice(&nested);
        nested = outer;
    }
    let mut msg = header();
    msg.extend_from_slice(&nested);
    let peak = peak_during(|| Message::decode(&msg).unwrap());
    assert!(
        peak <= 4 * per_option * failover_proto::wire::MAX_DEPTH,
        "nesting: {peak} bytes"
    );
}
