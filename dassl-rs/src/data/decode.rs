//! Dataset image decoding, bit-identical to Dassl's `read_image`:
//! `PIL.Image.open(path).convert("RGB")` with Pillow 13.
//!
//! JPEG is what every real CoOp dataset stores, and no pure-Rust decoder gives
//! libjpeg-turbo's output (zune-jpeg differs by up to 3 levels on 1% of the
//! values), so JPEG goes through libjpeg-turbo's own decoder: mozjpeg's copy,
//! built from source by the `mozjpeg` crate, run with the settings Pillow's
//! `JpegDecode.c` leaves in force (ISLOW IDCT, fancy upsampling, block
//! smoothing). The colour handling follows `JpegImagePlugin.py` and
//! `Convert.c`: 1 component decodes as `L` and is replicated, 3 as `RGB`
//! (libjpeg picks YCbCr or RGB from the JFIF/Adobe markers), 4 as `CMYK`
//! stored inverted ("assume adobe conventions"), then Pillow's integer
//! `cmyk2rgb`. EXIF orientation is ignored, as Dassl does. Other formats go
//! through the `image` crate, whose PNG decoding matches Pillow's.
//!
//! Truncation is an error, as with Pillow's default `LOAD_TRUNCATED_IMAGES =
//! False`: Pillow raises "image file is truncated" when libjpeg asks for bytes
//! past the end of the file before the last row is out; [`EofWatch`] notices
//! the same request here.

use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use image::RgbImage;
use mozjpeg::{ColorSpace, Decompress};

use crate::errors::DataError;

/// Why bytes did not decode to an image.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// libjpeg needed bytes past the end of the file (Pillow's `OSError`).
    #[error("image file is truncated")]
    Truncated,
    /// Pillow opens JPEGs with 1 (L), 3 (RGB) or 4 (CMYK) components only.
    #[error("cannot handle {0}-component JPEG images (Pillow reads 1, 3 or 4)")]
    Components(usize),
    /// libjpeg stopped with an error (corrupt or unsupported data).
    #[error("libjpeg: {message}")]
    Libjpeg { message: String },
    /// A non-JPEG file the `image` crate could not decode.
    #[error(transparent)]
    Image(#[from] image::ImageError),
}

/// Reads and decodes the image at `path` as RGB8, as Dassl's `read_image`.
pub fn read_image(path: &Path) -> Result<RgbImage, DataError> {
    let bytes = std::fs::read(path).map_err(|source| DataError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    decode(&bytes).map_err(|e| bad_image(path, &e))
}

/// The loader's error for a file that does not decode: it names the file.
fn bad_image(path: &Path, e: &DecodeError) -> DataError {
    DataError::BadImage {
        path: PathBuf::from(path),
        reason: e.to_string(),
    }
}

/// Decodes a whole file held in memory to RGB8, choosing the decoder by the
/// content as Pillow does (a JPEG starts with `FF D8 FF`).
pub fn decode(bytes: &[u8]) -> Result<RgbImage, DecodeError> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)
    } else {
        Ok(image::load_from_memory(bytes)?.into_rgb8())
    }
}

/// A reader over the file's bytes that records whether libjpeg asked for more
/// after the last byte: Pillow's suspending source would have stopped there.
struct EofWatch<'a> {
    rest: &'a [u8],
    hit_end: &'a Cell<bool>,
}

impl Read for EofWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.fill_buf()?.len().min(buf.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl BufRead for EofWatch<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.rest.is_empty() {
            self.hit_end.set(true);
        }
        Ok(self.rest)
    }

    fn consume(&mut self, amt: usize) {
        self.rest = &self.rest[amt.min(self.rest.len())..];
    }
}

/// The pixels libjpeg wrote, in the colour space Pillow asks it for.
enum Raw {
    Grey(Vec<u8>),
    Rgb(Vec<u8>),
    Cmyk(Vec<u8>),
}

/// libjpeg-turbo with Pillow's settings, then Pillow's conversion to RGB.
fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage, DecodeError> {
    let hit_end = Cell::new(false);
    let rows_out = Cell::new(false);
    let reader = EofWatch {
        rest: bytes,
        hit_end: &hit_end,
    };
    // libjpeg reports errors by unwinding out of its error_exit callback
    // (mozjpeg's "unwinding" feature); catch that here as a decode error.
    let run = catch_unwind(AssertUnwindSafe(|| {
        run_libjpeg(reader, &hit_end, &rows_out)
    }));
    let (width, height, raw) = match run {
        Ok(result) => result?,
        // Whatever libjpeg made of the fake end marker it got, the file was short.
        Err(_) if hit_end.get() && !rows_out.get() => return Err(DecodeError::Truncated),
        Err(payload) => return Err(libjpeg_error(payload)),
    };
    let rgb = match raw {
        Raw::Rgb(px) => px,
        Raw::Grey(px) => px.iter().flat_map(|&v| [v, v, v]).collect(),
        Raw::Cmyk(px) => cmyk_to_rgb(&px),
    };
    RgbImage::from_raw(width, height, rgb).ok_or_else(|| DecodeError::Libjpeg {
        message: format!("decoded buffer does not hold {width}x{height} pixels"),
    })
}

/// Header, start, every scanline, finish: the calls Pillow's decoder makes.
fn run_libjpeg(
    reader: EofWatch<'_>,
    hit_end: &Cell<bool>,
    rows_out: &Cell<bool>,
) -> Result<(u32, u32, Raw), DecodeError> {
    let libjpeg = |e: io::Error| {
        if hit_end.get() {
            DecodeError::Truncated
        } else {
            DecodeError::Libjpeg {
                message: e.to_string(),
            }
        }
    };
    // Defaults are Pillow's: JDCT_ISLOW, do_fancy_upsampling, do_block_smoothing.
    let header = Decompress::new_reader(reader).map_err(libjpeg)?;
    let components = header.components().len();
    let space = match components {
        1 => ColorSpace::JCS_GRAYSCALE,
        3 => ColorSpace::JCS_RGB,
        4 => ColorSpace::JCS_CMYK,
        n => return Err(DecodeError::Components(n)),
    };
    let mut started = header.to_colorspace(space).map_err(libjpeg)?;
    let (width, height) = (started.width(), started.height());
    let pixels: Vec<u8> = started.read_scanlines().map_err(libjpeg)?;
    if hit_end.get() {
        return Err(DecodeError::Truncated);
    }
    rows_out.set(true);
    // Pillow calls jpeg_finish_decompress too: an error there is an error, but
    // running out of data there is not (every row is already out).
    started.finish().map_err(|e| DecodeError::Libjpeg {
        message: e.to_string(),
    })?;
    let raw = match components {
        1 => Raw::Grey(pixels),
        3 => Raw::Rgb(pixels),
        _ => Raw::Cmyk(pixels),
    };
    let side = |v: usize| {
        u32::try_from(v).map_err(|_| DecodeError::Libjpeg {
            message: format!("image side {v} does not fit in u32"),
        })
    };
    Ok((side(width)?, side(height)?, raw))
}

/// The message libjpeg's error_exit unwound with.
fn libjpeg_error(payload: Box<dyn std::any::Any + Send>) -> DecodeError {
    let message = match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_string(),
            Err(_) => "libjpeg failed".to_string(),
        },
    };
    let message = message
        .strip_prefix("libjpeg fatal error: ")
        .unwrap_or(&message)
        .to_string();
    DecodeError::Libjpeg { message }
}

/// Pillow's `CMYK;I` unpacking (every sample inverted) followed by its
/// `cmyk2rgb`: `nk - c * nk / 255` per channel with `nk = 255 - k`, using
/// Pillow's rounding `MULDIV255`.
fn cmyk_to_rgb(inverted_cmyk: &[u8]) -> Vec<u8> {
    let muldiv255 = |a: i32, b: i32| {
        let t = a * b + 128;
        ((t >> 8) + t) >> 8
    };
    let mut out = Vec::with_capacity(inverted_cmyk.len() / 4 * 3);
    for px in inverted_cmyk.chunks_exact(4) {
        let [c, m, y, k] = [px[0], px[1], px[2], px[3]].map(|v| i32::from(255 - v));
        let nk = 255 - k;
        for v in [c, m, y] {
            out.push((nk - muldiv255(v, nk)).clamp(0, 255) as u8);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::toy::{make_toy, ToyDatasetSpec, ToySpec};
    use std::io::Write;
    use std::process::{Command, Stdio};

    fn corpus() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/jpeg")
    }

    /// Values that differ between two RGB images of the same size.
    fn differing(a: &[u8], b: &[u8]) -> usize {
        a.iter().zip(b).filter(|(x, y)| x != y).count()
    }

    #[test]
    fn every_corpus_jpeg_decodes_as_pillow_does() {
        let manifest: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(corpus().join("manifest.json")).unwrap())
                .unwrap();
        let entries = manifest.as_array().unwrap();
        assert!(entries.len() >= 80, "corpus of {} files", entries.len());
        let mut wrong = Vec::new();
        for e in entries {
            let file = corpus().join(e["file"].as_str().unwrap());
            let got = decode(&std::fs::read(&file).unwrap());
            let ok = match (e["expect"].as_str().unwrap(), &got) {
                ("ok", Ok(img)) => {
                    let want = image::open(corpus().join(e["png"].as_str().unwrap()))
                        .unwrap()
                        .into_rgb8();
                    let n = if img.dimensions() == want.dimensions() {
                        differing(img.as_raw(), want.as_raw())
                    } else {
                        usize::MAX
                    };
                    n == 0 || {
                        wrong.push(format!("{}: {n} values differ", file.display()));
                        true
                    }
                }
                ("truncated", Err(DecodeError::Truncated)) => true,
                ("error", Err(e)) => !matches!(e, DecodeError::Truncated),
                _ => false,
            };
            if !ok {
                wrong.push(format!(
                    "{}: Pillow says {}, we got {:?}",
                    file.display(),
                    e["expect"],
                    got.map(|i| i.dimensions())
                ));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_truncated_file_fails_naming_it() {
        let path = corpus().join("in/truncated_baseline_60pct.jpg");
        let e = read_image(&path).unwrap_err();
        assert!(matches!(e, DataError::BadImage { .. }), "{e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains("truncated_baseline_60pct.jpg") && msg.contains("image file is truncated"),
            "{msg}"
        );
    }

    #[test]
    fn non_images_and_missing_files_fail_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let junk = dir.path().join("junk.jpg");
        std::fs::write(&junk, b"not an image at all").unwrap();
        let e = read_image(&junk).unwrap_err();
        assert!(matches!(e, DataError::BadImage { .. }) && e.to_string().contains("junk.jpg"));
        let e = read_image(&dir.path().join("absent.jpg")).unwrap_err();
        assert!(matches!(e, DataError::Io { .. }) && e.to_string().contains("absent.jpg"));
        // A JPEG signature followed by garbage is libjpeg's error, not a panic.
        let e = decode(&[0xFF, 0xD8, 0xFF, 0x00, 0x01, 0x02, 0x03]).unwrap_err();
        assert!(!matches!(e, DecodeError::Image(_)), "{e:?}");
    }

    #[test]
    fn cmyk_conversion_is_pillows_integer_formula() {
        // Stored inverted: 255 - c etc. c = 0, k = 0 is white; k = 255 is black.
        let px = |c: u8, m: u8, y: u8, k: u8| [255 - c, 255 - m, 255 - y, 255 - k];
        let rgb = cmyk_to_rgb(&[px(0, 0, 0, 0), px(0, 0, 0, 255), px(255, 128, 1, 100)].concat());
        // nk = 155: 155 - MULDIV255(255, 155) = 0, 155 - MULDIV255(128, 155) = 77, 155 - 1 = 154.
        assert_eq!(rgb, [255, 255, 255, 0, 0, 0, 0, 77, 154]);
    }

    /// The case: every JPEG of a `dassl data make-toy` dataset (800 of
    /// them) against Pillow, run from the venv's Python (`DASSL_PYTHON`).
    #[test]
    fn a_toy_dataset_decodes_as_pillow_does() {
        let python = std::env::var_os("DASSL_PYTHON").expect(
            "DASSL_PYTHON must name the venv's Python with Pillow (scripts/env.sh's activate_toolchain sets it)",
        );
        let dir = tempfile::tempdir().unwrap();
        let spec = ToySpec {
            datasets: vec![ToyDatasetSpec {
                num_classes: 20,
                images_per_class: 40,
                ..Default::default()
            }],
        };
        make_toy(dir.path(), 1, &spec).unwrap();
        let mut paths: Vec<PathBuf> = Vec::new();
        let images = dir.path().join("toy_shapes/images");
        for class in std::fs::read_dir(&images).unwrap() {
            for f in std::fs::read_dir(class.unwrap().path()).unwrap() {
                paths.push(f.unwrap().path());
            }
        }
        paths.sort();
        assert_eq!(paths.len(), 800);
        let script = "import sys\nfrom PIL import Image\nfor p in sys.stdin.read().splitlines():\n    sys.stdout.buffer.write(Image.open(p).convert('RGB').tobytes())\n";
        let mut child = Command::new(python)
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let list: String = paths.iter().map(|p| format!("{}\n", p.display())).collect();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(list.as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        let mut offset = 0;
        let (mut values, mut differ) = (0, 0);
        for p in &paths {
            let img = read_image(p).unwrap();
            let n = img.as_raw().len();
            differ += differing(img.as_raw(), &out.stdout[offset..offset + n]);
            values += n;
            offset += n;
        }
        assert_eq!(offset, out.stdout.len());
        assert_eq!(differ, 0, "{differ} of {values} values differ from Pillow");
    }
}
