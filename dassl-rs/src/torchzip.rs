//! The parts of PyTorch's zip serialization that are format, not pickle: the central
//! directory of the (uncompressed, possibly zip64) archive, stored entries' bytes, and
//! the storage class names. TorchScript archives (`clip::weights`) and `torch.save`
//! checkpoints (`engine::checkpoint`) both read through here.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

use tch::Kind;

#[derive(Debug, Clone, Copy)]
pub(crate) struct ZipEntry {
    local_header: u64,
    size: u64,
    method: u16,
}

pub(crate) fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

pub(crate) fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

pub(crate) fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}

fn invalid(m: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, m.to_string())
}

impl ZipEntry {
    pub(crate) fn read(&self, file: &mut File) -> std::io::Result<Vec<u8>> {
        if self.method != 0 {
            return Err(invalid(
                "compressed zip entry (torch.save stores entries uncompressed)",
            ));
        }
        let mut header = [0u8; 30];
        file.seek(SeekFrom::Start(self.local_header))?;
        file.read_exact(&mut header)?;
        if le32(&header, 0) != 0x0403_4b50 {
            return Err(invalid("bad local zip header"));
        }
        let skip = 30 + u64::from(le16(&header, 26)) + u64::from(le16(&header, 28));
        file.seek(SeekFrom::Start(self.local_header + skip))?;
        let mut data =
            vec![0u8; usize::try_from(self.size).map_err(|_| invalid("zip entry too large"))?];
        file.read_exact(&mut data)?;
        Ok(data)
    }
}

/// The central directory (zip64 included, which torch uses past 4 GiB).
pub(crate) fn zip_entries(file: &mut File) -> std::io::Result<HashMap<String, ZipEntry>> {
    let len = file.seek(SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65535 + 20);
    let mut tail = vec![0u8; tail_len as usize];
    file.seek(SeekFrom::Start(len - tail_len))?;
    file.read_exact(&mut tail)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| le32(&tail, i) == 0x0605_4b50)
        .ok_or_else(|| invalid("no end of central directory record (not a zip file)"))?;
    let mut count = u64::from(le16(&tail, eocd + 10));
    let mut cd_size = u64::from(le32(&tail, eocd + 12));
    let mut cd_offset = u64::from(le32(&tail, eocd + 16));
    if eocd >= 20 && le32(&tail, eocd - 20) == 0x0706_4b50 {
        let mut rec = [0u8; 56];
        file.seek(SeekFrom::Start(le64(&tail, eocd - 20 + 8)))?;
        file.read_exact(&mut rec)?;
        if le32(&rec, 0) != 0x0606_4b50 {
            return Err(invalid("bad zip64 end of central directory record"));
        }
        count = le64(&rec, 32);
        cd_size = le64(&rec, 40);
        cd_offset = le64(&rec, 48);
    }
    let mut cd =
        vec![0u8; usize::try_from(cd_size).map_err(|_| invalid("central directory size"))?];
    file.seek(SeekFrom::Start(cd_offset))?;
    file.read_exact(&mut cd)?;
    let mut entries = HashMap::new();
    let mut at = 0usize;
    for _ in 0..count {
        if at + 46 > cd.len() || le32(&cd, at) != 0x0201_4b50 {
            return Err(invalid("bad central directory entry"));
        }
        let method = le16(&cd, at + 10);
        let raw_compressed = le32(&cd, at + 20);
        let raw_size = le32(&cd, at + 24);
        let raw_offset = le32(&cd, at + 42);
        let (mut size, mut local_header) = (u64::from(raw_size), u64::from(raw_offset));
        let name_len = usize::from(le16(&cd, at + 28));
        let extra_len = usize::from(le16(&cd, at + 30));
        let comment_len = usize::from(le16(&cd, at + 32));
        let end = at + 46 + name_len + extra_len;
        if end > cd.len() {
            return Err(invalid("truncated central directory"));
        }
        let name = String::from_utf8_lossy(&cd[at + 46..at + 46 + name_len]).into_owned();
        // Zip64 extra field: 8-byte values for the 32-bit fields set to 0xFFFFFFFF, in order.
        let mut x = at + 46 + name_len;
        while x + 4 <= end {
            let (id, n) = (le16(&cd, x), usize::from(le16(&cd, x + 2)));
            if id == 1 {
                let mut p = x + 4;
                let limit = (x + 4 + n).min(end);
                let mut next = |raw: u32| -> Option<u64> {
                    (raw == u32::MAX && p + 8 <= limit).then(|| {
                        p += 8;
                        le64(&cd, p - 8)
                    })
                };
                if let Some(v) = next(raw_size) {
                    size = v;
                }
                let _ = next(raw_compressed);
                if let Some(v) = next(raw_offset) {
                    local_header = v;
                }
            }
            x += 4 + n;
        }
        entries.insert(
            name,
            ZipEntry {
                local_header,
                size,
                method,
            },
        );
        at = end + comment_len;
    }
    Ok(entries)
}

/// The PyTorch storage class names of `data.pkl`, as tch kinds.
pub(crate) fn storage_kind(class: &str) -> Option<Kind> {
    Some(match class.rsplit('.').next()? {
        "FloatStorage" => Kind::Float,
        "HalfStorage" => Kind::Half,
        "DoubleStorage" => Kind::Double,
        "BFloat16Storage" => Kind::BFloat16,
        "LongStorage" => Kind::Int64,
        "IntStorage" => Kind::Int,
        "ShortStorage" => Kind::Int16,
        "CharStorage" => Kind::Int8,
        "ByteStorage" => Kind::Uint8,
        "BoolStorage" => Kind::Bool,
        _ => return None,
    })
}
