//! The zip container of PyTorch files, as `caffe2::serialize::PyTorchStreamWriter` (miniz)
//! writes it: stored (uncompressed) entries, each entry's data aligned to 64 bytes by a
//! `FB` padding extra field, CRC-32 and sizes in a data descriptor after the data, and a
//! zip64 end-of-central-directory record always present. The reader accepts any stored
//! zip (zip64 included, which torch uses past 4 GiB) and checks each entry's CRC-32.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};

/// Why a file is not a readable (or writable) PyTorch zip archive.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZipError {
    #[error("no end of central directory record (not a zip file)")]
    NoEndRecord,
    #[error("bad zip64 end of central directory record")]
    BadZip64Record,
    #[error("bad central directory entry {index}")]
    BadDirectoryEntry { index: u64 },
    #[error("entry {name} is compressed (method {method}); PyTorch stores entries uncompressed")]
    Compressed { name: String, method: u16 },
    #[error("entry {name} has a bad local header")]
    BadLocalHeader { name: String },
    #[error("entry {name} fails its CRC-32 check (file corrupt or truncated)")]
    Crc { name: String },
    #[error("entry {name} is too large for this machine")]
    TooLarge { name: String },
    #[error(
        "entry {name} would end past 4 GiB; this writer writes no zip64 entries (CoOp checkpoints are small)"
    )]
    Zip64Needed { name: String },
}

/// Where one stored entry lives, from the central directory.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    name: String,
    local_header: u64,
    size: u64,
    crc: u32,
    method: u16,
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from(le32(b, at)) | (u64::from(le32(b, at + 4)) << 32)
}

/// Either an I/O failure or a malformed archive.
#[derive(Debug)]
pub(crate) enum ReadFailure {
    Io(std::io::Error),
    Zip(ZipError),
}

impl From<std::io::Error> for ReadFailure {
    fn from(e: std::io::Error) -> Self {
        ReadFailure::Io(e)
    }
}

impl From<ZipError> for ReadFailure {
    fn from(e: ZipError) -> Self {
        ReadFailure::Zip(e)
    }
}

impl Entry {
    /// The entry's bytes, CRC-checked.
    pub(crate) fn read(&self, file: &mut File) -> Result<Vec<u8>, ReadFailure> {
        if self.method != 0 {
            return Err(ZipError::Compressed {
                name: self.name.clone(),
                method: self.method,
            }
            .into());
        }
        let bad_header = || ZipError::BadLocalHeader {
            name: self.name.clone(),
        };
        let mut header = [0u8; 30];
        file.seek(SeekFrom::Start(self.local_header))?;
        file.read_exact(&mut header)?;
        if le32(&header, 0) != 0x0403_4b50 {
            return Err(bad_header().into());
        }
        let skip = 30 + u64::from(le16(&header, 26)) + u64::from(le16(&header, 28));
        file.seek(SeekFrom::Start(self.local_header + skip))?;
        let len = usize::try_from(self.size).map_err(|_| ZipError::TooLarge {
            name: self.name.clone(),
        })?;
        let mut data = vec![0u8; len];
        file.read_exact(&mut data)?;
        if crc32fast::hash(&data) != self.crc {
            return Err(ZipError::Crc {
                name: self.name.clone(),
            }
            .into());
        }
        Ok(data)
    }
}

/// The central directory, by entry name.
pub(crate) fn entries(file: &mut File) -> Result<HashMap<String, Entry>, ReadFailure> {
    let len = file.seek(SeekFrom::End(0))?;
    let tail_len = len.min(22 + 65535 + 20);
    let mut tail = vec![0u8; tail_len as usize];
    file.seek(SeekFrom::Start(len - tail_len))?;
    file.read_exact(&mut tail)?;
    let eocd = (0..tail.len().saturating_sub(21))
        .rev()
        .find(|&i| le32(&tail, i) == 0x0605_4b50)
        .ok_or(ZipError::NoEndRecord)?;
    let mut count = u64::from(le16(&tail, eocd + 10));
    let mut cd_size = u64::from(le32(&tail, eocd + 12));
    let mut cd_offset = u64::from(le32(&tail, eocd + 16));
    if eocd >= 20 && le32(&tail, eocd - 20) == 0x0706_4b50 {
        let mut rec = [0u8; 56];
        file.seek(SeekFrom::Start(le64(&tail, eocd - 20 + 8)))?;
        file.read_exact(&mut rec)?;
        if le32(&rec, 0) != 0x0606_4b50 {
            return Err(ZipError::BadZip64Record.into());
        }
        count = le64(&rec, 32);
        cd_size = le64(&rec, 40);
        cd_offset = le64(&rec, 48);
    }
    if cd_offset.checked_add(cd_size).is_none_or(|end| end > len) {
        return Err(ZipError::BadDirectoryEntry { index: 0 }.into());
    }
    let mut cd = vec![0u8; cd_size as usize];
    file.seek(SeekFrom::Start(cd_offset))?;
    file.read_exact(&mut cd)?;
    let mut out = HashMap::new();
    let mut at = 0usize;
    for index in 0..count {
        if at + 46 > cd.len() || le32(&cd, at) != 0x0201_4b50 {
            return Err(ZipError::BadDirectoryEntry { index }.into());
        }
        let method = le16(&cd, at + 10);
        let crc = le32(&cd, at + 16);
        let raw_compressed = le32(&cd, at + 20);
        let raw_size = le32(&cd, at + 24);
        let raw_offset = le32(&cd, at + 42);
        let (mut size, mut local_header) = (u64::from(raw_size), u64::from(raw_offset));
        let name_len = usize::from(le16(&cd, at + 28));
        let extra_len = usize::from(le16(&cd, at + 30));
        let comment_len = usize::from(le16(&cd, at + 32));
        let end = at + 46 + name_len + extra_len;
        if end > cd.len() {
            return Err(ZipError::BadDirectoryEntry { index }.into());
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
        out.insert(
            name.clone(),
            Entry {
                name,
                local_header,
                size,
                crc,
                method,
            },
        );
        at = end + comment_len;
    }
    Ok(out)
}

/// torch's `kFieldAlignment`: every entry's data starts at a multiple of this.
pub(crate) const ALIGNMENT: usize = 64;

/// `c10::hash_combine`, which torch's serialization id is built with.
pub(crate) fn hash_combine(seed: u64, value: u64) -> u64 {
    seed ^ value
        .wrapping_add(0x9e37_79b9)
        .wrapping_add(seed << 6)
        .wrapping_add(seed >> 2)
}

/// Writes entries in order, laid out byte for byte as `PyTorchStreamWriter` does.
#[derive(Debug, Default)]
pub(crate) struct ZipWriter {
    out: Vec<u8>,
    /// torch's `combined_uncomp_crc32_`: every data descriptor's CRC-32, combined.
    combined_crc: u64,
    /// (name, flags, crc, size, local header offset) for the central directory.
    written: Vec<(String, u16, u32, u32, u32)>,
}

fn too_big(name: &str) -> ZipError {
    ZipError::Zip64Needed {
        name: name.to_string(),
    }
}

impl ZipWriter {
    /// Appends one stored entry.
    pub(crate) fn add(&mut self, name: &str, data: &[u8]) -> Result<(), ZipError> {
        let offset = u32::try_from(self.out.len()).map_err(|_| too_big(name))?;
        let size = u32::try_from(data.len()).map_err(|_| too_big(name))?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_big(name))?;
        // torch's getPadding: the `FB` field pads the header so the data starts aligned.
        let start = self.out.len() + 30 + name.len() + 4;
        let padding = (ALIGNMENT - start % ALIGNMENT) % ALIGNMENT;
        let extra_len = 4 + padding as u16;
        let crc = crc32fast::hash(data);
        // torch combines the CRC of every write that starts like a data descriptor; the
        // data itself is one write, so data starting with the signature counts too.
        if data.len() >= 8 && le32(data, 0) == 0x0807_4b50 {
            self.combined_crc = hash_combine(self.combined_crc, u64::from(le32(data, 4)));
        }
        if !data.is_empty() {
            self.combined_crc = hash_combine(self.combined_crc, u64::from(crc));
        }
        // miniz writes an empty entry without a data descriptor.
        let flags: u16 = if data.is_empty() { 0x0800 } else { 0x0808 };
        let out = &mut self.out;
        out.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // version needed
        out.extend_from_slice(&flags.to_le_bytes()); // UTF-8 names (+ data descriptor)
        out.extend_from_slice(&[0u8; 2 + 2 + 2]); // method (stored), time, date
        out.extend_from_slice(&[0u8; 4 + 4 + 4]); // crc and sizes follow the data
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&extra_len.to_le_bytes());
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b"FB");
        out.extend_from_slice(&(padding as u16).to_le_bytes());
        out.resize(out.len() + padding, b'Z');
        out.extend_from_slice(data);
        if !data.is_empty() {
            out.extend_from_slice(&0x0807_4b50u32.to_le_bytes());
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
        }
        if u32::try_from(out.len()).is_err() {
            return Err(too_big(name));
        }
        self.written
            .push((name.to_string(), flags, crc, size, offset));
        Ok(())
    }

    /// torch's combined CRC-32 of what was written so far (half of the serialization id).
    pub(crate) fn combined_crc(&self) -> u64 {
        self.combined_crc
    }

    /// The central directory and the (zip64 and classic) end records; returns the archive.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let cd_offset = self.out.len() as u64;
        let out = &mut self.out;
        for (name, flags, crc, size, offset) in &self.written {
            out.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            out.extend_from_slice(&0u16.to_le_bytes()); // made by
            out.extend_from_slice(&0u16.to_le_bytes()); // version needed
            out.extend_from_slice(&flags.to_le_bytes());
            out.extend_from_slice(&[0u8; 6]); // method, time, date
            out.extend_from_slice(&crc.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&size.to_le_bytes());
            out.extend_from_slice(&(name.len() as u16).to_le_bytes());
            out.extend_from_slice(&[0u8; 2 + 2 + 2 + 2 + 4]); // extra, comment, disk, attrs
            out.extend_from_slice(&offset.to_le_bytes());
            out.extend_from_slice(name.as_bytes());
        }
        let cd_size = out.len() as u64 - cd_offset;
        let count = self.written.len() as u64;
        let zip64_offset = out.len() as u64;
        out.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
        out.extend_from_slice(&44u64.to_le_bytes());
        out.extend_from_slice(&0x031eu16.to_le_bytes()); // made by (miniz's value)
        out.extend_from_slice(&0x002du16.to_le_bytes()); // version needed: 4.5 (zip64)
        out.extend_from_slice(&[0u8; 8]); // this disk, central directory disk
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&cd_size.to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&zip64_offset.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        out.extend_from_slice(&[0u8; 4]); // disk numbers
        out.extend_from_slice(&(count.min(0xffff) as u16).to_le_bytes());
        out.extend_from_slice(&(count.min(0xffff) as u16).to_le_bytes());
        out.extend_from_slice(&(cd_size.min(0xffff_ffff) as u32).to_le_bytes());
        out.extend_from_slice(&(cd_offset.min(0xffff_ffff) as u32).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.out
    }
}
