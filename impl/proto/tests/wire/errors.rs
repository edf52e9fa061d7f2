//! Malformed inputs, each with the exact error it must produce (variant, option, length, offset).

use failover_proto::wire::{
    DecodeError, DhcpOption, EncodeError, FrameDecoder, Message, MAX_DEPTH,
};
use failover_proto::MsgKind;

use super::hex;

#[test]
fn mclt_with_three_octets() {
    let bytes = hex(concat!(
        "1f 000001 32a00000",  // CONNECT header, offsets 0..8
        "007f 0004 0001 0000", // PROTOCOL_VERSION 1.0, offsets 8..16
        "007a 0003 000e10",    // OPTION_F_MCLT with option-len 3, at offset 16
    ));
    let err = Message::decode(&bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::BadLength {
            option: "OPTION_F_MCLT",
            code: 122,
            expected: 4,
            found: 3,
            offset: 16
        }
    );
    assert_eq!(
        err.to_string(),
        "OPTION_F_MCLT (122) at offset 16: option-len is 3, the RFC fixes it at 4"
    );
}

#[test]
fn server_state_with_two_octets() {
    let bytes = hex("22 000002 32a00002  0084 0002 0002");
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::BadLength {
            option: "OPTION_F_SERVER_STATE",
            code: 132,
            expected: 1,
            found: 2,
            offset: 8
        })
    );
}

#[test]
fn truncated_nested_option() {
    // IA_NA says 40 octets of data, holding an IAADDR that claims 69: the IAADDR runs past the
    // end of its IA_NA.
    let bytes = hex(concat!(
        "18 000010 32a00100",         // BNDUPD header
        "002d 0030",                  // CLIENT_DATA, len 48, offset 8
        "0003 002c",                  //   IA_NA, len 44, offset 12
        "00000001 00000708 00000b40", // IAID, T1, T2
        "0005 0045",                  //     IAADDR, len 69, offset 28 (only 28 octets follow)
        "20010db8000000000000000000000101",
        "00000bb8 00000e10",
        "0072 0001", //         start of an option, to fill IA_NA's 44 octets
    ));
    assert_eq!(bytes.len(), 8 + 4 + 4 + 44);
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::Truncated {
            what: "OPTION_IAADDR",
            offset: 28,
            needed: 73,
            available: 32
        })
    );
}

#[test]
fn truncated_option_header_at_the_end() {
    let bytes = hex("23 000003 32a0000a  00 7a 00");
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::Truncated {
            what: "option header",
            offset: 8,
            needed: 4,
            available: 3
        })
    );
}

#[test]
fn ia_na_shorter_than_its_fixed_part() {
    let bytes = hex("18 000010 32a00100  0003 0008 00000001 00000708");
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::TooShort {
            option: "OPTION_IA_NA",
            code: 3,
            min: 12,
            found: 8,
            offset: 8
        })
    );
}

#[test]
fn frame_size_larger_than_the_data() {
    // message-size 0x0010 = 16, but only the 8-octet CONTACT follows.
    let bytes = hex("0010  23 000003 32a0000a");
    assert_eq!(
        Message::decode_framed(&bytes),
        Err(DecodeError::Truncated {
            what: "framed message",
            offset: 0,
            needed: 18,
            available: 10
        })
    );
    // On a stream the same octets are simply incomplete.
    let mut dec = FrameDecoder::new();
    dec.push(&bytes);
    assert_eq!(dec.next_message(), Ok(None));
    assert_eq!(dec.buffered(), 10);
}

#[test]
fn frame_size_smaller_than_the_data() {
    let bytes = hex("0008  23 000003 32a0000a  ff");
    assert_eq!(
        Message::decode_framed(&bytes),
        Err(DecodeError::TrailingData {
            what: "framed message",
            offset: 10,
            len: 1
        })
    );
}

#[test]
fn empty_and_oversize_frames() {
    let mut dec = FrameDecoder::new();
    dec.push(&hex("0000 23"));
    assert_eq!(dec.next_frame(), Err(DecodeError::EmptyFrame { offset: 0 }));

    let mut dec = FrameDecoder::with_max_len(1024);
    dec.push(&hex("0401"));
    assert_eq!(
        dec.next_frame(),
        Err(DecodeError::FrameTooLarge {
            size: 1025,
            max: 1024
        })
    );
}

#[test]
fn relationship_name_not_utf8() {
    let bytes = hex("1f 000001 32a00000  0082 0002 c328");
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::BadUtf8 {
            option: "OPTION_F_RELATIONSHIP_NAME",
            code: 130,
            offset: 12
        })
    );
}

#[test]
fn binding_status_zero_is_reserved() {
    // §5.5.1: value 0 is reserved.
    let bytes = hex("18 000010 32a00100  0072 0001 00");
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::BadValue {
            option: "OPTION_F_BINDING_STATUS",
            code: 114,
            field: "binding-status",
            value: 0,
            offset: 12
        })
    );
}

#[test]
fn nesting_beyond_the_limit() {
    // DNS_REMOVAL_INFO inside DNS_REMOVAL_INFO ..., MAX_DEPTH + 1 levels, in a BNDUPD.
    let mut inner: Vec<u8> = Vec::new();
    for _ in 0..=MAX_DEPTH {
        let mut outer = hex("0074");
        outer.extend_from_slice(&(inner.len() as u16).to_be_bytes());
        outer.extend_from_slice(&inner);
        inner = outer;
    }
    let mut bytes = hex("18 000010 32a00100");
    bytes.extend_from_slice(&inner);
    assert_eq!(
        Message::decode(&bytes),
        Err(DecodeError::TooDeep {
            offset: 8 + 4 * MAX_DEPTH,
            max_depth: MAX_DEPTH
        })
    );
}

#[test]
fn encode_refuses_a_25_bit_transaction_id() {
    let m = Message::new(MsgKind::BndUpd, 0x0100_0000, 0).with(DhcpOption::Mclt(1));
    assert_eq!(
        m.to_bytes(),
        Err(EncodeError::TransactionIdTooLarge {
            transaction_id: 0x0100_0000
        })
    );
}

#[test]
fn encode_refuses_a_message_too_large_for_a_frame() {
    let big = DhcpOption::Unknown {
        code: 999,
        data: vec![0; 40_000],
    };
    let m = Message::new(MsgKind::BndUpd, 1, 0)
        .with(big.clone())
        .with(big);
    assert!(m.to_bytes().is_ok(), "unframed, the message is fine");
    let mut out = Vec::new();
    assert_eq!(
        m.encode_framed(&mut out),
        Err(EncodeError::MessageTooLarge {
            len: 8 + 2 * 40_004
        })
    );
    assert!(out.is_empty());
}
