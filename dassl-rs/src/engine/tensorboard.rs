//! A scalar-only TensorBoard event writer (`OUTPUT_DIR/tensorboard/events.out.tfevents.*`).
//!
//! Dassl writes `train/loss`, `train/lr` and `test/accuracy` through PyTorch's
//! SummaryWriter; owning the few bytes of the format (TFRecord framing with masked
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
}
