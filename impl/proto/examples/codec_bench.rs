//! Throughput of the wire codec on a realistic BNDUPD (RFC 8156 §7.4: CLIENT_DATA with CLIENTID,
//! LQ_BASE_TIME and an IA_NA holding one IAADDR with its failover options).
//!
//! `cargo run --release -p failover-proto --example codec_bench [-- N]`
//!
//! Each run encodes the message into a reused buffer (framed, as on the TCP stream) and decodes it
//! back through `FrameDecoder`, N times; the figure is the median of 5 runs, in messages per
//! second, together with encode-only and decode-only medians.

use std::hint::black_box;
use std::time::Instant;

use failover_proto::wire::{DhcpOption as O, FrameDecoder, IaAddr, IaNa, Message};
use failover_proto::{BindingStatus, MsgKind};

const RUNS: usize = 5;

fn bndupd() -> Message {
    Message::new(MsgKind::BndUpd, 0x10, 0x32a0_0100).with(O::ClientData(vec![
        O::ClientId(vec![
            0, 1, 0, 1, 0x2c, 0x3d, 0x4e, 0x5f, 0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f,
        ]),
        O::LqBaseTime(0x32a0_0100),
        O::IaNa(IaNa {
            iaid: 1,
            t1: 1800,
            t2: 2880,
            options: vec![O::IaAddr(IaAddr {
                addr: "2001:db8::101".parse().unwrap(),
                preferred_lifetime: 3000,
                valid_lifetime: 3600,
                options: vec![
                    O::BindingStatus(BindingStatus::Active),
                    O::StartTimeOfState(0x32a0_00f0),
                    O::StateExpirationTime(0x32a0_0f00),
                    O::CltTime(16),
                    O::PartnerLifetime(0x32a0_1d10),
                    O::PartnerRawCltTime(0x32a0_0000),
                    O::ExpirationTime(0x32a0_0e10),
                ],
            })],
        }),
    ]))
}

/// Median messages/s over RUNS runs of `n` iterations of `f`.
fn measure(n: usize, mut f: impl FnMut()) -> (f64, Vec<f64>) {
    let mut rates: Vec<f64> = (0..RUNS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            n as f64 / start.elapsed().as_secs_f64()
        })
        .collect();
    let runs = rates.clone();
    rates.sort_by(f64::total_cmp);
    (rates[RUNS / 2], runs)
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(500_000, |a| a.parse().expect("N"));
    let msg = bndupd();
    let mut frame = Vec::new();
    msg.encode_framed(&mut frame).unwrap();
    println!(
        "BNDUPD: {} octets framed ({} unframed), N = {n}, {RUNS} runs",
        frame.len(),
        frame.len() - 2
    );

    let mut buf = Vec::with_capacity(256);
    let mut dec = FrameDecoder::new();
    let (round_trip, runs) = measure(n, || {
        buf.clear();
        black_box(&msg).encode_framed(&mut buf).unwrap();
        dec.push(black_box(&buf));
        let m = dec.next_message().unwrap().unwrap();
        black_box(m);
    });
    let (encode, _) = measure(n, || {
        buf.clear();
        black_box(&msg).encode_framed(&mut buf).unwrap();
        black_box(&buf);
    });
    let (decode, _) = measure(n, || {
        black_box(Message::decode(black_box(&frame[2..])).unwrap());
    });
    let runs: Vec<String> = runs.iter().map(|r| format!("{r:.0}")).collect();
    println!(
        "encode+decode (framed): median {round_trip:.0} msg/s  (runs: {})",
        runs.join(", ")
    );
    println!("encode only:            median {encode:.0} msg/s");
    println!("decode only:            median {decode:.0} msg/s");
}
