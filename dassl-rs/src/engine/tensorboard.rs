//! A scalar-only TensorBoard event writer (`OUTPUT_DIR/tensorboard/events.out.tfevents.*`).
//!
//! Dassl writes `train/<meter>` (each meter's running average over the epoch so far, at
//! every batch), `train/lr` and `<split>/accuracy` through PyTorch's SummaryWriter; owning the few bytes of the format (TFRecord framing with masked
//! CRC32C around `Event` protos) avoids a protobuf build dependency.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Appends scalar events to one event file.
#[derive(Debug)]
pub struct EventWriter {
    file: File,
    path: PathBuf,
}

impl EventWriter {
    /// Creates `dir/events.out.tfevents.<secs>.<host>` and writes the version record.
    pub fn create(dir: &Path) -> std::io::Result<EventWriter> {
        std::fs::create_dir_all(dir)?;
        let now = wall_time();
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "localhost".into());
        let path = dir.join(format!("events.out.tfevents.{}.{host}", now as u64));
        let mut w = EventWriter {
            file: File::create(&path)?,
            path,
        };
        let mut event = Vec::new();
        put_f64(&mut event, 1, now);
        put_bytes(&mut event, 3, b"brain.Event:2");
        w.record(&event)?;
        Ok(w)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// One scalar at `step` (SummaryWriter.add_scalar).
    pub fn scalar(&mut self, tag: &str, value: f32, step: i64) -> std::io::Result<()> {
        let mut val = Vec::new();
        put_bytes(&mut val, 1, tag.as_bytes());
        val.push(0x15); // field 2, fixed32: simple_value
        val.extend_from_slice(&value.to_le_bytes());
        let mut summary = Vec::new();
        put_bytes(&mut summary, 1, &val);
        let mut event = Vec::new();
        put_f64(&mut event, 1, wall_time());
        event.push(0x10); // field 2, varint: step
        put_varint(&mut event, step as u64);
        put_bytes(&mut event, 5, &summary);
        self.record(&event)
    }

    fn record(&mut self, data: &[u8]) -> std::io::Result<()> {
        let len = (data.len() as u64).to_le_bytes();
        self.file.write_all(&len)?;
        self.file.write_all(&masked_crc(&len).to_le_bytes())?;
        self.file.write_all(data)?;
        self.file.write_all(&masked_crc(data).to_le_bytes())?;
        self.file.flush()
    }
}

/// The scalars of an event file written by [`EventWriter`], as `(tag, step, value)` in file
/// order (for tests and checks; other writers' files may use fields this does not read).
pub fn read_scalars(path: &Path) -> std::io::Result<Vec<(String, i64, f32)>> {
    let bad = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {what}", path.display()),
        )
    };
    let bytes = std::fs::read(path)?;
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let len_bytes = bytes
            .get(pos..pos + 8)
            .ok_or_else(|| bad("truncated length"))?;
        let len = u64::from_le_bytes(len_bytes.try_into().expect("8 bytes")) as usize;
        let data = bytes
            .get(pos + 12..pos + 12 + len)
            .ok_or_else(|| bad("truncated record"))?;
        pos += 16 + len;
        // Event: wall_time (1, fixed64), then step (2, varint) and summary (5) for scalars.
        let mut r = Reader { data, pos: 0 };
        let (mut step, mut summary) = (0i64, None);
        while let Some((field, value)) = r.field().ok_or_else(|| bad("malformed event"))? {
            match (field, value) {
                (2, Field::Varint(v)) => step = v as i64,
                (5, Field::Bytes(b)) => summary = Some(b),
                _ => {}
            }
        }
        let Some(summary) = summary else { continue };
        let mut r = Reader {
            data: summary,
            pos: 0,
        };
        while let Some((_, value)) = r.field().ok_or_else(|| bad("malformed summary"))? {
            let Field::Bytes(val) = value else { continue };
            let mut v = Reader { data: val, pos: 0 };
            let (mut tag, mut simple) = (String::new(), None);
            while let Some(f) = v.field().ok_or_else(|| bad("malformed value"))? {
                match f {
                    (1, Field::Bytes(b)) => tag = String::from_utf8_lossy(b).into_owned(),
                    (2, Field::Fixed32(x)) => simple = Some(f32::from_le_bytes(x)),
                    _ => {}
                }
            }
            if let Some(x) = simple {
                out.push((tag, step, x));
            }
        }
    }
    Ok(out)
}

enum Field<'a> {
    Varint(u64),
    Fixed64,
    Fixed32([u8; 4]),
    Bytes(&'a [u8]),
}

/// Just enough protobuf wire format to read back what [`EventWriter`] writes.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.data.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.data.get(self.pos..self.pos + n)?;
        self.pos += n;
        Some(s)
    }

    /// The next field, `Some(None)` at the end, `None` when malformed.
    fn field(&mut self) -> Option<Option<(u64, Field<'a>)>> {
        if self.pos == self.data.len() {
            return Some(None);
        }
        let key = self.varint()?;
        let value = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => {
                self.take(8)?;
                Field::Fixed64
            }
            2 => {
                let n = self.varint()? as usize;
                Field::Bytes(self.take(n)?)
            }
            5 => Field::Fixed32(self.take(4)?.try_into().ok()?),
            _ => return None,
        };
        Some(Some((key >> 3, value)))
    }
}

fn wall_time() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    out.push((field << 3) | 2);
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn put_f64(out: &mut Vec<u8>, field: u8, v: f64) {
    out.push((field << 3) | 1);
    out.extend_from_slice(&v.to_le_bytes());
}

/// CRC-32C (Castagnoli), as TFRecord uses.
pub fn crc32c(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0x82F6_3B78
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn masked_crc(data: &[u8]) -> u32 {
    let crc = crc32c(data);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_check_value() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
    }

    #[test]
    fn records_are_framed_with_checked_lengths() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalar("train/loss", 1.5, 3).unwrap();
        let bytes = std::fs::read(w.path()).unwrap();
        let mut pos = 0;
        let mut records = Vec::new();
        while pos < bytes.len() {
            let len_bytes = &bytes[pos..pos + 8];
            let len = u64::from_le_bytes(len_bytes.try_into().unwrap()) as usize;
            assert_eq!(
                u32::from_le_bytes(bytes[pos + 8..pos + 12].try_into().unwrap()),
                masked_crc(len_bytes)
            );
            let data = &bytes[pos + 12..pos + 12 + len];
            assert_eq!(
                u32::from_le_bytes(bytes[pos + 12 + len..pos + 16 + len].try_into().unwrap()),
                masked_crc(data)
            );
            records.push(data.to_vec());
            pos += 16 + len;
        }
        assert_eq!(records.len(), 2);
        assert!(records[0].windows(13).any(|w| w == b"brain.Event:2"));
        assert!(records[1].windows(10).any(|w| w == b"train/loss"));
        assert!(records[1].windows(4).any(|w| w == 1.5f32.to_le_bytes()));
    }

    #[test]
    fn read_scalars_returns_what_was_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EventWriter::create(dir.path()).unwrap();
        w.scalar("train/loss", 1.5, 3).unwrap();
        w.scalar("train/lr", 2e-3, 300).unwrap();
        assert_eq!(
            read_scalars(w.path()).unwrap(),
            [
                ("train/loss".to_string(), 3, 1.5),
                ("train/lr".to_string(), 300, 2e-3)
            ]
        );
    }
}
