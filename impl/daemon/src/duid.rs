//! The server DUID (RFC 8415 §11): made once, kept in a file, the same after every restart, so
//! that clients' RENEWs keep naming this server.
//!
//! A DUID-UUID (type 4, RFC 6355) from 16 random octets: it needs no link-layer address (a
//! server in a namespace may have none that lasts) and no clock.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

/// DUID type 4, DUID-UUID (RFC 6355 §4).
const DUID_UUID: u16 = 4;

/// Read the DUID from `path`, or make one and store it there (written to a temporary file,
/// synced, then renamed, so a crash never leaves half a DUID).
pub fn load_or_create(path: &Path) -> io::Result<Vec<u8>> {
    match fs::read(path) {
        Ok(bytes) => {
            if bytes.len() < 3 || bytes.len() > 130 {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: {} octets is not a DUID (RFC 8415 §11: 2-octet type plus at most 128)",
                        path.display(),
                        bytes.len()
                    ),
                ));
            }
            Ok(bytes)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let mut duid = DUID_UUID.to_be_bytes().to_vec();
            let mut uuid = [0u8; 16];
            getrandom::getrandom(&mut uuid).map_err(|e| io::Error::other(e.to_string()))?;
            // RFC 4122 version 4, variant 1.
            uuid[6] = (uuid[6] & 0x0f) | 0x40;
            uuid[8] = (uuid[8] & 0x3f) | 0x80;
            duid.extend_from_slice(&uuid);
            let tmp = path.with_extension("duid.tmp");
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&duid)?;
            f.sync_all()?;
            fs::rename(&tmp, path)?;
            Ok(duid)
        }
        Err(e) => Err(e),
    }
}

/// Lower-case hex, as operators see DUIDs.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_duid_is_made_once_and_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.duid");
        let a = load_or_create(&path).unwrap();
        assert_eq!(a.len(), 18);
        assert_eq!(&a[..2], &[0, 4]);
        let b = load_or_create(&path).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn a_damaged_duid_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.duid");
        fs::write(&path, [1]).unwrap();
        let e = load_or_create(&path).unwrap_err().to_string();
        assert!(e.contains("bad.duid") && e.contains("not a DUID"), "{e}");
    }
}
