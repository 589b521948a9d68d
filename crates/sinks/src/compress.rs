//! Request body compression.

use lookout_config::Compression;
use std::io::Write;

/// Compresses `body`; returns the bytes and the `Content-Encoding` value (None for identity).
pub fn compress(c: Compression, body: &[u8]) -> std::io::Result<(Vec<u8>, Option<&'static str>)> {
    match c {
        Compression::None => Ok((body.to_vec(), None)),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(
                Vec::with_capacity(body.len() / 4),
                flate2::Compression::new(6),
            );
            e.write_all(body)?;
            Ok((e.finish()?, Some("gzip")))
        }
        Compression::Zstd => Ok((zstd::bulk::compress(body, 3)?, Some("zstd"))),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn roundtrips() {
        let body = b"hello hello hello hello hello".repeat(100);
        let (g, enc) = compress(Compression::Gzip, &body).unwrap();
        assert_eq!(enc, Some("gzip"));
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&g[..])
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, body);
        let (z, enc) = compress(Compression::Zstd, &body).unwrap();
        assert_eq!(enc, Some("zstd"));
        assert_eq!(zstd::bulk::decompress(&z, body.len()).unwrap(), body);
        assert!(z.len() < body.len());
        assert_eq!(compress(Compression::None, &body).unwrap().0, body);
    }
}
