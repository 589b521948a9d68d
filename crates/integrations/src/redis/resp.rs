//! RESP2: commands encoded as arrays of bulk strings, replies decoded by a pure function over a
//! byte buffer (so it can be fuzzed and used incrementally by the client).

use super::RedisError;

/// The largest reply accepted (16 MiB): a longer bulk string or an unfinished reply past this
/// size is a protocol error.
pub const MAX_REPLY_BYTES: usize = 16 * 1024 * 1024;

/// How deep arrays may nest.
const MAX_DEPTH: usize = 16;

/// The most elements an array may announce.
const MAX_ELEMENTS: usize = 1 << 20;

/// A decoded RESP2 reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// A status reply (`+OK`).
    Simple(String),
    /// An error reply (`-ERR ...`). [`super::RedisConn::command`] turns a top-level one into a
    /// [`RedisError`]; this variant is what an error inside an array decodes to.
    Error(String),
    /// An integer reply (`:42`).
    Integer(i64),
    /// A bulk string (`$3\r\nfoo`); `None` for the null bulk string (`$-1`).
    Bulk(Option<Vec<u8>>),
    /// An array (`*2\r\n...`); `None` for the null array (`*-1`).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// A short name of the reply's type, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Reply::Simple(_) => "a status reply",
            Reply::Error(_) => "an error reply",
            Reply::Integer(_) => "an integer",
            Reply::Bulk(Some(_)) => "a bulk string",
            Reply::Bulk(None) => "a null bulk string",
            Reply::Array(Some(_)) => "an array",
            Reply::Array(None) => "a null array",
        }
    }
}

/// Encodes a command as a RESP array of bulk strings (binary-safe arguments).
///
/// ```
/// use lookout_integrations::redis::encode_command;
/// assert_eq!(encode_command(&[b"GET", b"k"]), b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
/// ```
pub fn encode_command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + args.iter().map(|a| a.len() + 16).sum::<usize>());
    out.push(b'*');
    out.extend_from_slice(args.len().to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
    for arg in args {
        out.push(b'$');
        out.extend_from_slice(arg.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(arg);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes one reply from the start of `buf`.
///
/// `Ok(Some((reply, used)))`: a whole reply, `used` bytes long. `Ok(None)`: the buffer holds
/// only the beginning of a reply (read more and call again). `Err`: the bytes cannot be a
/// reply (unknown type byte, bad length, missing CRLF, a bulk string over
/// [`MAX_REPLY_BYTES`], arrays nested too deep). Never panics.
///
/// ```
/// use lookout_integrations::redis::{decode_reply, Reply};
/// let buf = b"$5\r\nhello\r\n:1\r\n";
/// assert_eq!(decode_reply(buf).unwrap(), Some((Reply::Bulk(Some(b"hello".to_vec())), 11)));
/// assert_eq!(decode_reply(&buf[..8]).unwrap(), None);
/// ```
pub fn decode_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, RedisError> {
    let mut pos = 0;
    Ok(parse(buf, &mut pos, 0)?.map(|reply| (reply, pos)))
}

fn protocol(msg: impl Into<String>) -> RedisError {
    RedisError::Protocol(msg.into())
}

/// The bytes from `*pos` to the next CRLF (moving `*pos` past it).
fn line<'a>(buf: &'a [u8], pos: &mut usize) -> Result<Option<&'a [u8]>, RedisError> {
    let rest = buf.get(*pos..).unwrap_or_default();
    match rest.windows(2).position(|w| w == b"\r\n") {
        Some(i) => {
            *pos += i + 2;
            Ok(rest.get(..i))
        }
        None if rest.len() > MAX_REPLY_BYTES => Err(protocol("a reply line is longer than 16 MiB")),
        None => Ok(None),
    }
}

fn integer(line: &[u8]) -> Result<i64, RedisError> {
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse::<i64>().ok())
        .ok_or_else(|| {
            protocol(format!(
                "expected an integer, got {:?}",
                crate::clip(&String::from_utf8_lossy(line), 40)
            ))
        })
}

/// A length: -1 is null (`None`), other negatives and lengths over `max` are errors.
fn length(line: &[u8], max: usize, what: &str) -> Result<Option<usize>, RedisError> {
    let n = integer(line)?;
    if n == -1 {
        return Ok(None);
    }
    match usize::try_from(n) {
        Ok(n) if n <= max => Ok(Some(n)),
        _ => Err(protocol(format!("{what} length {n} out of range"))),
    }
}

fn parse(buf: &[u8], pos: &mut usize, depth: usize) -> Result<Option<Reply>, RedisError> {
    let Some(&tag) = buf.get(*pos) else {
        return Ok(None);
    };
    if !matches!(tag, b'+' | b'-' | b':' | b'$' | b'*') {
        return Err(protocol(format!("unexpected reply type byte 0x{tag:02x}")));
    }
    *pos += 1;
    let Some(line) = line(buf, pos)? else {
        return Ok(None);
    };
    match tag {
        b'+' => Ok(Some(Reply::Simple(
            String::from_utf8_lossy(line).into_owned(),
        ))),
        b'-' => Ok(Some(Reply::Error(
            String::from_utf8_lossy(line).into_owned(),
        ))),
        b':' => Ok(Some(Reply::Integer(integer(line)?))),
        b'$' => {
            let Some(n) = length(line, MAX_REPLY_BYTES, "bulk string")? else {
                return Ok(Some(Reply::Bulk(None)));
            };
            let end = pos.saturating_add(n);
            let Some(trailer) = buf.get(end..end.saturating_add(2)) else {
                return Ok(None);
            };
            if trailer != b"\r\n" {
                return Err(protocol("a bulk string does not end with CRLF"));
            }
            let data = buf.get(*pos..end).unwrap_or_default().to_vec();
            *pos = end + 2;
            Ok(Some(Reply::Bulk(Some(data))))
        }
        _ => {
            let Some(n) = length(line, MAX_ELEMENTS, "array")? else {
                return Ok(Some(Reply::Array(None)));
            };
            if depth >= MAX_DEPTH {
                return Err(protocol("arrays nested too deep"));
            }
            let mut items = Vec::with_capacity(n.min(64));
            for _ in 0..n {
                match parse(buf, pos, depth + 1)? {
                    Some(item) => items.push(item),
                    None => return Ok(None),
                }
            }
            Ok(Some(Reply::Array(Some(items))))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn one(buf: &[u8]) -> Reply {
        let (reply, used) = decode_reply(buf).unwrap().unwrap();
        assert_eq!(used, buf.len(), "{:?}", String::from_utf8_lossy(buf));
        reply
    }

    #[test]
    fn decodes_every_type() {
        assert_eq!(one(b"+OK\r\n"), Reply::Simple("OK".into()));
        assert_eq!(
            one(b"-WRONGPASS invalid username-password pair\r\n"),
            Reply::Error("WRONGPASS invalid username-password pair".into())
        );
        assert_eq!(one(b":-42\r\n"), Reply::Integer(-42));
        assert_eq!(one(b"$0\r\n\r\n"), Reply::Bulk(Some(Vec::new())));
        assert_eq!(one(b"$-1\r\n"), Reply::Bulk(None));
        assert_eq!(one(b"*-1\r\n"), Reply::Array(None));
        assert_eq!(one(b"*0\r\n"), Reply::Array(Some(Vec::new())));
        // binary-safe: CRLF inside a bulk string
        assert_eq!(
            one(b"$4\r\na\r\nb\r\n"),
            Reply::Bulk(Some(b"a\r\nb".to_vec()))
        );
        assert_eq!(
            one(b"*3\r\n:1\r\n*2\r\n+a\r\n-ERR b\r\n$1\r\nx\r\n"),
            Reply::Array(Some(vec![
                Reply::Integer(1),
                Reply::Array(Some(vec![
                    Reply::Simple("a".into()),
                    Reply::Error("ERR b".into())
                ])),
                Reply::Bulk(Some(b"x".to_vec())),
            ]))
        );
    }

    #[test]
    fn partial_input_asks_for_more_at_every_cut() {
        let whole: &[u8] = b"*2\r\n$11\r\nhello world\r\n*1\r\n:7\r\n";
        for cut in 0..whole.len() {
            assert_eq!(decode_reply(&whole[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (_, used) = decode_reply(whole).unwrap().unwrap();
        assert_eq!(used, whole.len());
        // what follows a reply is left alone
        let (r, used) = decode_reply(b"+OK\r\n+NEXT\r\n").unwrap().unwrap();
        assert_eq!((r, used), (Reply::Simple("OK".into()), 5));
    }

    #[test]
    fn malformed_replies_are_protocol_errors() {
        for bad in [
            &b"?what\r\n"[..],
            b"HTTP/1.1 400 Bad Request\r\n",
            b":12x\r\n",
            b":\r\n",
            b"$-2\r\n",
            b"$abc\r\n",
            b"$3\r\nabcd\r\n",
            b"*-7\r\n",
            b"*2\r\n+a\r\n!x\r\n",
            b"$99999999999\r\n",
            b"$16777217\r\n",
            b"*1048577\r\n",
            b":99999999999999999999\r\n",
        ] {
            let err = decode_reply(bad).unwrap_err();
            assert_eq!(err.kind(), "protocol", "{:?}", String::from_utf8_lossy(bad));
        }
        // the type byte is checked before the line is complete
        assert!(decode_reply(b"<htm").is_err());
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = "*1\r\n".repeat(MAX_DEPTH + 1) + ":1\r\n";
        assert!(decode_reply(deep.as_bytes()).is_err());
        let ok = "*1\r\n".repeat(MAX_DEPTH) + ":1\r\n";
        assert!(decode_reply(ok.as_bytes()).unwrap().is_some());
        // a huge announced array with nothing behind it is just incomplete, and allocates little
        assert_eq!(decode_reply(b"*1048576\r\n").unwrap(), None);
    }

    #[test]
    fn encode_then_decode_round_trips() {
        let cmd = encode_command(&[b"SET", b"key with spaces", b"\x00\xff\r\n"]);
        assert_eq!(
            one(&cmd),
            Reply::Array(Some(vec![
                Reply::Bulk(Some(b"SET".to_vec())),
                Reply::Bulk(Some(b"key with spaces".to_vec())),
                Reply::Bulk(Some(b"\x00\xff\r\n".to_vec())),
            ]))
        );
        assert_eq!(encode_command(&[]), b"*0\r\n");
    }
}
