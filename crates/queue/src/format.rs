//! The bytes on disk: record framing, the position record and segment file names, and the two
//! readers every other part uses ([`read_record`] and [`resync`]).
//!
//! A record is
//!
//! ```text
//! offset size  field
//!      0    1  magic and format version: 0xC1
//!      1    4  body length, u32 little-endian (21 + payload length)
//!      5    4  CRC32C (Castagnoli) of the body, u32 little-endian
//!      9    8  body: id, u64 LE (consecutive, starting at 1)
//!     17    1  body: signal (0 metrics, 1 logs, 2 traces)
//!     18    4  body: events (items in the payload), u32 LE
//!     22    8  body: enqueued at, Unix milliseconds, u64 LE
//!     30    n  body: payload (an OTLP protobuf export request)
//! ```
//!
//! The position record is 20 bytes: `LKQPOS01`, the last acknowledged id (u64 LE, 0 for none)
//! and the CRC32C of those 16 bytes (u32 LE).

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

/// The first byte of every record: marks a record start and its format version.
pub(crate) const MAGIC: u8 = 0xC1;
/// Magic, length and checksum.
pub(crate) const HEADER_LEN: u64 = 9;
/// The body's fixed fields: id, signal, events, enqueued_unix_ms.
pub(crate) const FIXED_LEN: u64 = 21;
/// The framing around a payload, and so the smallest possible record.
pub(crate) const FRAMING: u64 = HEADER_LEN + FIXED_LEN;
/// The largest payload the u32 length field can describe.
pub(crate) const MAX_PAYLOAD: u64 = u32::MAX as u64 - FIXED_LEN;

/// The largest valid record id. No queue comes near it; refusing larger ids (in records,
/// segment names and the position) keeps every `id + 1` in range whatever the files say.
pub(crate) const MAX_ID: u64 = i64::MAX as u64;

const POSITION_MAGIC: &[u8; 8] = b"LKQPOS01";
/// The size of the position file.
pub(crate) const POSITION_LEN: usize = 20;

/// The fixed fields of one record, as read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordHeader {
    pub(crate) id: u64,
    pub(crate) signal: u8,
    pub(crate) events: u32,
    pub(crate) enqueued_unix_ms: u64,
    pub(crate) payload_len: u64,
}

impl RecordHeader {
    /// The record's size on disk, framing included.
    pub(crate) fn disk_len(&self) -> u64 {
        FRAMING + self.payload_len
    }
}

/// The 30 bytes written before `payload`: header and fixed body fields, checksum filled in.
/// The caller has checked that the payload fits [`MAX_PAYLOAD`].
pub(crate) fn encode_prefix(
    id: u64,
    signal: u8,
    events: u32,
    enqueued_unix_ms: u64,
    payload: &[u8],
) -> [u8; FRAMING as usize] {
    let mut out = [0u8; FRAMING as usize];
    let body_len = u32::try_from(FIXED_LEN + payload.len() as u64).unwrap_or(u32::MAX);
    out[0] = MAGIC;
    out[1..5].copy_from_slice(&body_len.to_le_bytes());
    out[9..17].copy_from_slice(&id.to_le_bytes());
    out[17] = signal;
    out[18..22].copy_from_slice(&events.to_le_bytes());
    out[22..30].copy_from_slice(&enqueued_unix_ms.to_le_bytes());
    let crc = crc32c::crc32c_append(crc32c::crc32c(&out[9..30]), payload);
    out[5..9].copy_from_slice(&crc.to_le_bytes());
    out
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// The header fields of a 30-byte prefix, if the magic is right and the length fits before
/// `room` bytes run out. Nothing is checksummed yet.
fn plausible_prefix(prefix: &[u8], room: u64) -> Option<RecordHeader> {
    if prefix.len() < FRAMING as usize || prefix[0] != MAGIC {
        return None;
    }
    let body_len = u64::from(u32_at(prefix, 1));
    if body_len < FIXED_LEN || HEADER_LEN + body_len > room {
        return None;
    }
    Some(RecordHeader {
        id: u64_at(prefix, 9),
        signal: prefix[17],
        events: u32_at(prefix, 18),
        enqueued_unix_ms: u64_at(prefix, 22),
        payload_len: body_len - FIXED_LEN,
    })
}

/// Reads the record starting at `at`, which must end at or before `limit`, into `payload`.
///
/// `Ok(None)` means the bytes there are not a valid record: too short, wrong magic, a length
/// running past `limit`, a checksum mismatch, or an id below `min_id` (ids only grow) or above
/// [`MAX_ID`]. An `Err` is an I/O error reading the file.
pub(crate) fn read_record(
    file: &File,
    at: u64,
    limit: u64,
    min_id: u64,
    payload: &mut Vec<u8>,
) -> io::Result<Option<RecordHeader>> {
    let room = limit.saturating_sub(at);
    if room < FRAMING {
        return Ok(None);
    }
    let mut prefix = [0u8; FRAMING as usize];
    file.read_exact_at(&mut prefix, at)?;
    let Some(header) = plausible_prefix(&prefix, room) else {
        return Ok(None);
    };
    let Ok(len) = usize::try_from(header.payload_len) else {
        return Ok(None);
    };
    payload.clear();
    payload.resize(len, 0);
    file.read_exact_at(payload, at + FRAMING)?;
    let crc = crc32c::crc32c_append(crc32c::crc32c(&prefix[9..30]), payload);
    if crc != u32_at(&prefix, 5) || header.id < min_id || header.id > MAX_ID {
        return Ok(None);
    }
    Ok(Some(header))
}

/// The header of the record at `at` without checking its checksum (for a quick look at its
/// enqueued time); `Ok(None)` if the bytes there cannot be a record.
pub(crate) fn peek_header(file: &File, at: u64, limit: u64) -> io::Result<Option<RecordHeader>> {
    let room = limit.saturating_sub(at);
    if room < FRAMING {
        return Ok(None);
    }
    let mut prefix = [0u8; FRAMING as usize];
    file.read_exact_at(&mut prefix, at)?;
    Ok(plausible_prefix(&prefix, room))
}

/// How far [`resync`] reads at a time.
const RESYNC_WINDOW: u64 = 64 * 1024;

/// After finding no valid record at `from`, finds the next valid record before `limit`:
/// returns its offset and header, or `None` if the rest up to `limit` holds none.
///
/// It first trusts the damaged record's length field, if plausible, and looks where it says the
/// next record starts (taking what it finds only if its id is `expected + 1`); then it scans forward byte by byte for the magic byte. A candidate must
/// carry an id at least `expected` (the id the damaged record should have had) and no larger
/// than the number of records that could fit in between allows, and pass its checksum; the id
/// bound keeps random bytes from being taken for records and keeps the scan from checksumming
/// every magic byte in a payload.
pub(crate) fn resync(
    file: &File,
    from: u64,
    limit: u64,
    expected: u64,
    scratch: &mut Vec<u8>,
) -> io::Result<Option<(u64, RecordHeader)>> {
    let max_id_at = |p: u64| expected.saturating_add((p - from) / FRAMING + 1);
    // The length field first: right whenever only the body was damaged.
    if limit.saturating_sub(from) >= FRAMING {
        let mut prefix = [0u8; FRAMING as usize];
        file.read_exact_at(&mut prefix, from)?;
        if let Some(h) = plausible_prefix(&prefix, limit - from) {
            let next = from + h.disk_len();
            if let Some(found) = read_record(file, next, limit, expected, scratch)? {
                // Only if exactly one record was lost: a damaged length could point past an
                // intact record, which the scan below would find.
                if found.id == expected.saturating_add(1) {
                    return Ok(Some((next, found)));
                }
            }
        }
    }
    let mut window = Vec::new();
    let mut p = from + 1;
    while limit.saturating_sub(p) >= FRAMING {
        let len = (limit - p).min(RESYNC_WINDOW);
        window.resize(len as usize, 0);
        file.read_exact_at(&mut window, p)?;
        // Candidates whose 30-byte prefix lies inside this window; the rest start the next one.
        let last = window.len() - FRAMING as usize;
        let mut i = 0;
        while i <= last {
            let Some(skip) = window[i..=last].iter().position(|&b| b == MAGIC) else {
                i = last + 1;
                break;
            };
            i += skip;
            let at = p + i as u64;
            if let Some(h) = plausible_prefix(&window[i..], limit - at) {
                if h.id >= expected && h.id <= max_id_at(at) {
                    if let Some(found) = read_record(file, at, limit, expected, scratch)? {
                        return Ok(Some((at, found)));
                    }
                }
            }
            i += 1;
        }
        p += i as u64;
    }
    Ok(None)
}

/// The position file's contents for `acked`.
pub(crate) fn encode_position(acked: u64) -> [u8; POSITION_LEN] {
    let mut out = [0u8; POSITION_LEN];
    out[..8].copy_from_slice(POSITION_MAGIC);
    out[8..16].copy_from_slice(&acked.to_le_bytes());
    let crc = crc32c::crc32c(&out[..16]);
    out[16..].copy_from_slice(&crc.to_le_bytes());
    out
}

/// The acknowledged id in a position file, or `None` if the bytes are not a valid one.
pub(crate) fn decode_position(bytes: &[u8]) -> Option<u64> {
    if bytes.len() != POSITION_LEN || &bytes[..8] != POSITION_MAGIC {
        return None;
    }
    let acked = u64_at(bytes, 8);
    (crc32c::crc32c(&bytes[..16]) == u32_at(bytes, 16) && acked <= MAX_ID).then_some(acked)
}

/// The file name of the segment whose first record is `first_id`.
pub(crate) fn segment_name(first_id: u64) -> String {
    format!("{first_id:020}.wal")
}

/// The first id of a segment file name, or `None` for any other name.
pub(crate) fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(".wal")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|id| (1..=MAX_ID).contains(id))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Write;

    fn file_with(bytes: &[u8]) -> (tempfile::TempDir, File) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        File::create(&path).unwrap().write_all(bytes).unwrap();
        (dir, File::open(&path).unwrap())
    }

    fn record(id: u64, payload: &[u8]) -> Vec<u8> {
        let mut v = encode_prefix(id, 1, 7, 1_700_000_000_000, payload).to_vec();
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn a_record_reads_back() {
        let bytes = record(5, b"hello");
        let (_d, f) = file_with(&bytes);
        let mut p = Vec::new();
        let h = read_record(&f, 0, bytes.len() as u64, 1, &mut p)
            .unwrap()
            .unwrap();
        assert_eq!(
            h,
            RecordHeader {
                id: 5,
                signal: 1,
                events: 7,
                enqueued_unix_ms: 1_700_000_000_000,
                payload_len: 5
            }
        );
        assert_eq!(p, b"hello");
        assert_eq!(h.disk_len(), bytes.len() as u64);
    }

    #[test]
    fn damage_and_limits_are_rejected() {
        let bytes = record(5, b"hello");
        let mut p = Vec::new();
        // A limit cutting the record, an id below the minimum.
        let (_d, f) = file_with(&bytes);
        assert!(read_record(&f, 0, bytes.len() as u64 - 1, 1, &mut p)
            .unwrap()
            .is_none());
        assert!(read_record(&f, 0, bytes.len() as u64, 6, &mut p)
            .unwrap()
            .is_none());
        // Every single flipped bit is caught.
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                let (_d, f) = file_with(&b);
                assert!(
                    read_record(&f, 0, b.len() as u64, 1, &mut p)
                        .unwrap()
                        .is_none(),
                    "byte {i} bit {bit}"
                );
            }
        }
    }

    #[test]
    fn resync_finds_the_next_record_after_damage() {
        let mut bytes = record(1, b"first record");
        let second = bytes.len() as u64;
        bytes.extend(record(2, &[MAGIC; 100]));
        let third = bytes.len() as u64;
        bytes.extend(record(3, b"third"));
        let mut scratch = Vec::new();
        // A flipped payload byte: the length is trusted.
        let mut b = bytes.clone();
        b[35] ^= 0xff;
        let (_d, f) = file_with(&b);
        let (at, h) = resync(&f, 0, b.len() as u64, 1, &mut scratch)
            .unwrap()
            .unwrap();
        assert_eq!((at, h.id), (second, 2));
        // A garbage length: the scan finds record 2 again.
        let mut b = bytes.clone();
        b[1..5].copy_from_slice(&0x00ff_ff00u32.to_le_bytes());
        let (_d, f) = file_with(&b);
        let (at, h) = resync(&f, 0, b.len() as u64, 1, &mut scratch)
            .unwrap()
            .unwrap();
        assert_eq!((at, h.id), (second, 2));
        // Record 2 (full of magic bytes) damaged too: the scan goes through it to record 3.
        let mut b = bytes.clone();
        b[1] ^= 0x40;
        b[second as usize + 1] ^= 0x40;
        let (_d, f) = file_with(&b);
        let (at, h) = resync(&f, 0, b.len() as u64, 1, &mut scratch)
            .unwrap()
            .unwrap();
        assert_eq!((at, h.id), (third, 3));
        // Nothing valid after the damage.
        let (_d, f) = file_with(&b[..third as usize + 10]);
        assert!(resync(&f, 0, third + 10, 1, &mut scratch)
            .unwrap()
            .is_none());
    }

    #[test]
    fn resync_rejects_ids_that_cannot_be_there() {
        // A valid record whose id is far beyond what could fit in between is not taken.
        let mut bytes = vec![0u8; 40];
        bytes.extend(record(1_000_000, b"x"));
        let (_d, f) = file_with(&bytes);
        let mut scratch = Vec::new();
        assert!(resync(&f, 0, bytes.len() as u64, 1, &mut scratch)
            .unwrap()
            .is_none());
        assert!(resync(&f, 0, bytes.len() as u64, 999_999, &mut scratch)
            .unwrap()
            .is_some());
    }

    #[test]
    fn position_roundtrip_and_damage() {
        let p = encode_position(42);
        assert_eq!(decode_position(&p), Some(42));
        for i in 0..POSITION_LEN {
            let mut b = p;
            b[i] ^= 0x10;
            assert_eq!(decode_position(&b), None, "byte {i}");
        }
        assert_eq!(decode_position(&p[..19]), None);
        assert_eq!(decode_position(&encode_position(MAX_ID)), Some(MAX_ID));
        assert_eq!(decode_position(&encode_position(MAX_ID + 1)), None);
        assert_eq!(decode_position(b""), None);
    }

    #[test]
    fn segment_names() {
        assert_eq!(segment_name(42), "00000000000000000042.wal");
        assert_eq!(parse_segment_name("00000000000000000042.wal"), Some(42));
        for bad in [
            "0000000000000000042.wal",
            "00000000000000000000.wal",
            "99999999999999999999.wal",
            "0000000000000000004x.wal",
            "00000000000000000042.wal.tmp",
            "position",
            "+0000000000000000042.wal",
        ] {
            assert_eq!(parse_segment_name(bad), None, "{bad}");
        }
    }
}
