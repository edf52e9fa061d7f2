//! Test-only `quickcheck::Arbitrary` for [`Message`] and [`DhcpOption`], with bounded sizes and
//! nesting depth, and the codec's property tests: round trips both ways, no panic on arbitrary or
//! truncated input.

use std::net::Ipv6Addr;

use quickcheck::{Arbitrary, Gen};

use super::*;
use crate::{BindingStatus, MsgKind, ServerState};

/// Encapsulation levels generated (the decoder accepts [`MAX_DEPTH`]).
const GEN_DEPTH: usize = 3;

fn small(g: &mut Gen, max: usize) -> usize {
    usize::arbitrary(g) % (max + 1)
}

fn bytes(g: &mut Gen, max: usize) -> Vec<u8> {
    let n = small(g, max);
    (0..n).map(|_| u8::arbitrary(g)).collect()
}

fn text(g: &mut Gen, max_chars: usize) -> String {
    String::arbitrary(g).chars().take(max_chars).collect()
}

fn addr(g: &mut Gen) -> Ipv6Addr {
    Ipv6Addr::from(u128::arbitrary(g))
}

fn options(g: &mut Gen, depth: usize, max: usize) -> Vec<DhcpOption> {
    let n = small(g, max);
    (0..n).map(|_| option(g, depth)).collect()
}

fn option(g: &mut Gen, depth: usize) -> DhcpOption {
    use DhcpOption as O;
    // Variants 0..=7 encapsulate; below the depth bound pick only leaves.
    let first = if depth >= GEN_DEPTH { 8 } else { 0 };
    let pick = first + small(g, 35 - first);
    let t = u32::arbitrary(g);
    match pick {
        0 => O::IaNa(IaNa {
            iaid: t,
            t1: u32::arbitrary(g),
            t2: u32::arbitrary(g),
            options: options(g, depth + 1, 3),
        }),
        1 => O::IaTa(IaTa {
            iaid: t,
            options: options(g, depth + 1, 3),
        }),
        2 => O::IaPd(IaPd {
            iaid: t,
            t1: u32::arbitrary(g),
            t2: u32::arbitrary(g),
            options: options(g, depth + 1, 3),
        }),
        3 => O::IaAddr(IaAddr {
            addr: addr(g),
            preferred_lifetime: t,
            valid_lifetime: u32::arbitrary(g),
            options: options(g, depth + 1, 3),
        }),
        4 => O::IaPrefix(IaPrefix {
            preferred_lifetime: t,
            valid_lifetime: u32::arbitrary(g),
            prefix_len: (small(g, 128)) as u8,
            prefix: addr(g),
            options: options(g, depth + 1, 3),
        }),
        5 => O::ClientData(options(g, depth + 1, 4)),
        6 => O::DnsRemovalInfo(options(g, depth + 1, 3)),
        7 => O::IaNa(IaNa {
            iaid: t,
            t1: 0,
            t2: 0,
            options: Vec::new(),
        }),
        8 => O::ClientId(bytes(g, 20)),
        9 => O::status(StatusCode(u16::arbitrary(g) % 30), text(g, 12)),
        10 => O::ClientFqdn(ClientFqdn {
            flags: u8::arbitrary(g),
            domain_name: bytes(g, 20),
        }),
        11 => O::CltTime(t),
        12 => O::LqRelayData(LqRelayData {
            peer_address: addr(g),
            relay_message: bytes(g, 20),
        }),
        13 => O::Vss(Vss {
            vss_type: u8::arbitrary(g),
            info: bytes(g, 8),
        }),
        14 => O::LqBaseTime(t),
        15 => O::BindingStatus(*g.choose(BindingStatus::ALL).unwrap()),
        16 => O::ConnectFlags(ConnectFlags(u16::arbitrary(g))),
        17 => O::DnsHostName(bytes(g, 20)),
        18 => O::DnsZoneName(bytes(g, 20)),
        19 => O::DnsFlags(DnsFlags(u16::arbitrary(g))),
        20 => O::ExpirationTime(t),
        21 => O::MaxUnackedBndupd(t),
        22 => O::Mclt(t),
        23 => O::PartnerLifetime(t),
        24 => O::PartnerLifetimeSent(t),
        25 => O::PartnerDownTime(t),
        26 => O::PartnerRawCltTime(t),
        27 => O::ProtocolVersion(ProtocolVersion {
            major: u16::arbitrary(g),
            minor: u16::arbitrary(g),
        }),
        28 => O::KeepaliveTime(t),
        29 => O::ReconfigureData(ReconfigureData {
            reconfigure_time: t,
            key: bytes(g, 16),
        }),
        30 => O::RelationshipName(text(g, 16)),
        31 => O::ServerFlags(ServerFlags(u8::arbitrary(g))),
        32 => O::ServerState(*g.choose(ServerState::ALL).unwrap()),
        33 => O::StartTimeOfState(t),
        34 => O::StateExpirationTime(t),
        _ => {
            // An unassigned code: none of 135..=65535 is in OptionCode::KNOWN.
            let code = 135 + u16::arbitrary(g) % (u16::MAX - 135);
            O::Unknown {
                code,
                data: bytes(g, 12),
            }
        }
    }
}

impl Arbitrary for DhcpOption {
    fn arbitrary(g: &mut Gen) -> Self {
        option(g, 0)
    }
}

impl Arbitrary for Message {
    fn arbitrary(g: &mut Gen) -> Self {
        let msg_type = if bool::arbitrary(g) || bool::arbitrary(g) {
            MsgType::from(*g.choose(MsgKind::ALL).unwrap())
        } else {
            MsgType(u8::arbitrary(g))
        };
        Message {
            msg_type,
            transaction_id: u32::arbitrary(g) & MAX_TRANSACTION_ID,
            sent_time: u32::arbitrary(g),
            options: options(g, 0, 6),
        }
    }

    fn shrink(&self) -> Box<dyn Iterator<Item = Self>> {
        // Shrink by dropping top-level options, which is what makes a failure readable.
        let base = self.clone();
        Box::new(self.options.shrink().map(move |options| Message {
            options,
            ..base.clone()
        }))
    }
}

#[cfg(test)]
mod tests {
    use quickcheck::{QuickCheck, TestResult};
    use quickcheck_macros::quickcheck;

    use super::*;

    /// More cases than quickcheck's default 100 for the central properties: they are cheap.
    const CASES: u64 = 2000;

    fn decode_inverts_encode(m: Message) -> bool {
        let bytes = m.to_bytes().expect("generated messages are encodable");
        Message::decode(&bytes) == Ok(m)
    }

    fn encode_inverts_decode_on_encoded_bytes(m: Message) -> bool {
        let bytes = m.to_bytes().unwrap();
        let again = Message::decode(&bytes).unwrap().to_bytes().unwrap();
        again == bytes
    }

    #[test]
    fn round_trips_both_ways() {
        QuickCheck::new()
            .tests(CASES)
            .quickcheck(decode_inverts_encode as fn(Message) -> bool);
        QuickCheck::new()
            .tests(CASES)
            .quickcheck(encode_inverts_decode_on_encoded_bytes as fn(Message) -> bool);
    }

    #[quickcheck]
    fn framed_round_trip(m: Message) -> bool {
        let mut framed = Vec::new();
        m.encode_framed(&mut framed).unwrap();
        let size = usize::from(u16::from_be_bytes([framed[0], framed[1]]));
        size + 2 == framed.len() && Message::decode_framed(&framed) == Ok(m)
    }

    #[quickcheck]
    fn arbitrary_bytes_never_panic(bytes: Vec<u8>) -> bool {
        // Whatever comes back, it must re-encode to the same octets if it decoded.
        let message_ok = match Message::decode(&bytes) {
            Ok(m) => m.to_bytes().unwrap() == bytes,
            Err(e) => !e.to_string().is_empty(),
        };
        let mut dec = FrameDecoder::new();
        dec.push(&bytes);
        for _ in 0..bytes.len() + 1 {
            match dec.next_message() {
                Ok(None) | Err(DecodeError::EmptyFrame { .. }) => break,
                Ok(Some(_)) | Err(_) => {}
            }
        }
        message_ok
    }

    /// Option TLVs with well-formed headers but random codes (mostly known ones) and random data,
    /// sometimes wrapped in an encapsulating option: this reaches each option's own validation
    /// (fixed lengths, minimum lengths, value tables, UTF-8) far more often than random bytes.
    #[quickcheck]
    fn random_tlvs_never_panic(tlvs: Vec<(u8, u16, Vec<u8>, u8)>) -> bool {
        let mut bytes = vec![24, 0, 0, 1, 0, 0, 0, 0];
        let mut each_ok = true;
        for (pick, raw_code, mut data, shape) in tlvs {
            // Half the time cut the data to a length some layout fixes or starts with.
            let lens = [0, 1, 2, 3, 4, 5, 12, 16, 24, 25, 26];
            data.resize(
                if shape & 1 == 0 {
                    lens[usize::from(shape >> 1) % lens.len()]
                } else {
                    data.len().min(40)
                },
                0x01,
            );
            let code = match OptionCode::KNOWN.get(usize::from(pick) % 40) {
                Some(c) => c.0,
                None => raw_code,
            };
            let mut tlv = code.to_be_bytes().to_vec();
            tlv.extend_from_slice(&(data.len() as u16).to_be_bytes());
            tlv.extend_from_slice(&data);
            if shape & 0x80 != 0 {
                let mut outer = vec![0, 45];
                outer.extend_from_slice(&(tlv.len() as u16).to_be_bytes());
                outer.extend_from_slice(&tlv);
                tlv = outer;
            }
            // Each TLV alone, so that one bad option does not hide the others.
            if let Ok(o) = DhcpOption::decode(&tlv) {
                let mut again = Vec::new();
                o.encode(&mut again).unwrap();
                each_ok &= again == tlv;
            }
            bytes.extend_from_slice(&tlv);
        }
        each_ok
            && match Message::decode(&bytes) {
                Ok(m) => m.to_bytes().unwrap() == bytes,
                Err(e) => !e.to_string().is_empty(),
            }
    }

    #[quickcheck]
    fn mutated_messages_never_panic(m: Message, flips: Vec<(u16, u8)>) -> TestResult {
        let mut bytes = m.to_bytes().unwrap();
        if bytes.is_empty() {
            return TestResult::discard();
        }
        for (at, mask) in flips {
            let i = usize::from(at) % bytes.len();
            bytes[i] ^= mask;
        }
        match Message::decode(&bytes) {
            Ok(decoded) => TestResult::from_bool(decoded.to_bytes().unwrap() == bytes),
            Err(_) => TestResult::passed(),
        }
    }

    /// Every strict prefix of an encoded message fails to decode, except a cut exactly between
    /// two top-level options, which is a valid message with fewer options.
    fn truncations_fail(m: Message) -> bool {
        let bytes = m.to_bytes().unwrap();
        let mut boundaries = vec![HEADER_LEN];
        for o in &m.options {
            let mut one = Vec::new();
            o.encode(&mut one).unwrap();
            boundaries.push(boundaries.last().unwrap() + one.len());
        }
        for cut in 0..bytes.len() {
            let prefix = &bytes[..cut];
            match (
                Message::decode(prefix),
                boundaries.iter().position(|&b| b == cut),
            ) {
                (Err(_), None) => {}
                (Ok(d), Some(k)) if d.options == m.options[..k] => {}
                (other, k) => panic!("cut at {cut} (boundary {k:?}) of {m:?} gave {other:?}"),
            }
            let mut framed = Vec::new();
            m.encode_framed(&mut framed).unwrap();
            let mut dec = FrameDecoder::new();
            dec.push(&framed[..cut + 2]);
            assert_eq!(dec.next_message(), Ok(None), "a partial frame is need-more");
            assert!(matches!(
                Message::decode_framed(&framed[..cut + 2]),
                Err(DecodeError::Truncated {
                    what: "framed message",
                    ..
                })
            ));
        }
        true
    }

    /// The generator is only as good as what it reaches: every known option code, unknown codes,
    /// and nesting down to GEN_DEPTH encapsulation levels.
    #[test]
    fn generator_covers_every_option_and_nests() {
        fn walk(opts: &[DhcpOption], depth: usize, seen: &mut Vec<u16>, deepest: &mut usize) {
            *deepest = (*deepest).max(depth);
            for o in opts {
                seen.push(o.code().0);
                if let Some(inner) = o.nested() {
                    walk(inner, depth + 1, seen, deepest);
                }
            }
        }
        let mut g = Gen::new(30);
        let (mut seen, mut deepest) = (Vec::new(), 0);
        for _ in 0..3000 {
            walk(
                &Message::arbitrary(&mut g).options,
                0,
                &mut seen,
                &mut deepest,
            );
        }
        for code in OptionCode::KNOWN {
            assert!(seen.contains(&code.0), "{code} never generated");
        }
        assert!(
            seen.iter().any(|&c| OptionCode(c).name().is_none()),
            "no unknown option"
        );
        assert_eq!(deepest, GEN_DEPTH);
    }

    #[test]
    fn every_truncation_of_a_valid_message_fails() {
        QuickCheck::new()
            .tests(200)
            .quickcheck(truncations_fail as fn(Message) -> bool);
    }
}
