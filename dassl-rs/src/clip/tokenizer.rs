//! CLIP's text tokenizer, equal to OpenAI's `clip.tokenize` (`clip/simple_tokenizer.py`).
//!
//! OpenAI cleans every text before byte-level BPE: `ftfy.fix_text` (default config),
//! `html.unescape` twice, strip, whitespace collapse, lowercase. Class names and prompts
//! with entities, curly quotes, ligatures, fullwidth letters or mojibake only get CLIP's
//! tokens if that cleaning is reproduced, so this module ports it (see [`clean_text`]).
//! The BPE itself is `instant_clip_tokenizer`, run on OpenAI's vocabulary file as the `clip`
//! package ships it (`assets/bpe_simple_vocab_16e6.txt.gz`), from which the raw token
//! strings of `SimpleTokenizer.decoder` are built too ([`ClipTokenizer::token_str`]).
//!
//! Rows follow `clip.tokenize`: `[SOT] + tokens + [EOT]`, zero padded to the context
//! length; too-long texts are an error unless truncated with the last id forced to EOT.

use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::sync::OnceLock;

use instant_clip_tokenizer::{Token, Tokenizer};
use regex::Regex;

/// `<|startoftext|>`, prepended to every row.
pub const SOT: i64 = 49406;
/// `<|endoftext|>`, closes every row; the text feature is read at its position.
pub const EOT: i64 = 49407;
/// 256 byte symbols, the same with `</w>`, 48,894 merges and the two specials.
pub const VOCAB_SIZE: usize = 49408;
/// OpenAI's `clip/bpe_simple_vocab_16e6.txt.gz` (MIT licence), byte for byte.
static VOCABULARY_GZ: &[u8] = include_bytes!("../../assets/bpe_simple_vocab_16e6.txt.gz");
/// The merge rules `SimpleTokenizer` reads: lines 1..=48,894 after the header.
const MERGES: usize = VOCAB_SIZE - 2 * 256 - 2;

/// The context length of every OpenAI CLIP model.
pub const DEFAULT_CONTEXT_LENGTH: usize = 77;

/// Why a text could not be turned into a row.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizeError {
    /// Same condition as OpenAI's `RuntimeError("Input ... is too long for context length 77")`.
    #[error(
        "input {text:?} is too long for context length {context_length}: \
         {n_tokens} tokens with SOT and EOT"
    )]
    TooLong {
        /// The text as given (before cleaning).
        text: String,
        /// Token count including SOT and EOT.
        n_tokens: usize,
        /// The requested row length.
        context_length: usize,
    },
    /// A row must at least hold EOT (OpenAI fails with an `IndexError` at 0).
    #[error("context length {0} cannot hold a row; it must be at least 1")]
    ContextTooShort(usize),
    /// `decode` got an id outside `0..49408`.
    #[error("token id {0} is outside the CLIP vocabulary (0..49408)")]
    UnknownToken(i64),
}

/// OpenAI's CLIP tokenizer: text cleaning + BPE + row building.
///
/// Cheap to create and `Copy`: the parsed vocabulary is shared process-wide, because
/// building it parses 48,894 merge rules.
#[derive(Clone, Copy)]
pub struct ClipTokenizer {
    inner: &'static Tokenizer,
    /// `SimpleTokenizer.decoder`: the vocabulary string of every id.
    tokens: &'static [String],
}

impl fmt::Debug for ClipTokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClipTokenizer")
            .field("vocab_size", &VOCAB_SIZE)
            .finish()
    }
}

impl Default for ClipTokenizer {
    fn default() -> Self {
        Self::new()
    }
}

impl ClipTokenizer {
    /// The tokenizer with OpenAI's `bpe_simple_vocab_16e6` vocabulary.
    pub fn new() -> Self {
        static VOCABULARY: OnceLock<(Tokenizer, Vec<String>)> = OnceLock::new();
        let (inner, tokens) = VOCABULARY.get_or_init(|| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(VOCABULARY_GZ)
                .read_to_string(&mut text)
                .expect("the bundled vocabulary is valid gzip and UTF-8");
            let bpe =
                Tokenizer::with_vocabulary(BufReader::new(text.as_bytes()), VOCAB_SIZE as u16)
                    .expect("the bundled vocabulary is OpenAI's");
            (bpe, vocabulary_strings(&text))
        });
        Self { inner, tokens }
    }

    /// `SimpleTokenizer.decoder[id]`: the id's vocabulary string as BPE stores it (bytes as
    /// `bytes_to_unicode` characters, `</w>` ending a word), what CoOp's interpret_prompt.py
    /// prints. `None` outside `0..49408`.
    pub fn token_str(&self, id: i64) -> Option<&'static str> {
        let tokens: &'static [String] = self.tokens;
        usize::try_from(id)
            .ok()
            .and_then(|i| tokens.get(i))
            .map(String::as_str)
    }

    /// Id of `<|startoftext|>` (49406).
    pub fn sot(&self) -> i64 {
        SOT
    }

    /// Id of `<|endoftext|>` (49407).
    pub fn eot(&self) -> i64 {
        EOT
    }

    /// Number of ids, 49408 (the size of CLIP's token embedding).
    pub fn vocab_size(&self) -> usize {
        VOCAB_SIZE
    }

    /// BPE ids of `text` after OpenAI's cleaning, without SOT/EOT (`SimpleTokenizer.encode`).
    pub fn encode(&self, text: &str) -> Vec<i64> {
        let cleaned = clean_text(text);
        let mut tokens: Vec<Token> = Vec::with_capacity(cleaned.len());
        for word in word_pattern().find_iter(&cleaned) {
            match word.as_str() {
                // OpenAI's spellings of the specials; the crate only knows open_clip's.
                "<|startoftext|>" => tokens.extend(Token::from_u16(SOT as u16, self.inner)),
                "<|endoftext|>" => tokens.extend(Token::from_u16(EOT as u16, self.inner)),
                // One pre-token at a time, so OpenAI's split decides the words; the crate
                // splits a single word the same way and runs the BPE merges on it.
                other => self.inner.encode(other, &mut tokens),
            }
        }
        tokens.into_iter().map(|t| i64::from(t.to_u16())).collect()
    }

    /// Rows of exactly `context_length` ids, as `clip.tokenize(texts, context_length, truncate)`.
    ///
    /// A text needing more than `context_length` ids (SOT and EOT included) is an error,
    /// unless `truncate`, which keeps the first `context_length` ids and sets the last to EOT.
    pub fn tokenize<S: AsRef<str>>(
        &self,
        texts: &[S],
        context_length: usize,
        truncate: bool,
    ) -> Result<Vec<Vec<i64>>, TokenizeError> {
        texts
            .iter()
            .map(|text| self.tokenize_one(text.as_ref(), context_length, truncate))
            .collect()
    }

    /// One row of [`ClipTokenizer::tokenize`].
    pub fn tokenize_one(
        &self,
        text: &str,
        context_length: usize,
        truncate: bool,
    ) -> Result<Vec<i64>, TokenizeError> {
        let mut row = Vec::with_capacity(context_length.max(2));
        row.push(SOT);
        row.extend(self.encode(text));
        row.push(EOT);
        if row.len() > context_length {
            if !truncate {
                return Err(TokenizeError::TooLong {
                    text: text.to_string(),
                    n_tokens: row.len(),
                    context_length,
                });
            }
            if context_length == 0 {
                return Err(TokenizeError::ContextTooShort(context_length));
            }
            row.truncate(context_length);
            row[context_length - 1] = EOT;
        }
        row.resize(context_length, 0);
        Ok(row)
    }

    /// Text of `ids` (`SimpleTokenizer.decode`): `</w>` becomes a space, invalid UTF-8 is
    /// replaced, SOT/EOT read `<|startoftext|>` / `<|endoftext|>`, padding 0 reads `!`.
    pub fn decode(&self, ids: &[i64]) -> Result<String, TokenizeError> {
        let mut out = String::new();
        let mut run: Vec<Token> = Vec::new();
        for &id in ids {
            if id == SOT || id == EOT {
                out.push_str(&self.inner.decode(run.drain(..)));
                out.push_str(if id == SOT {
                    "<|startoftext|>"
                } else {
                    "<|endoftext|>"
                });
                continue;
            }
            let token = u16::try_from(id)
                .ok()
                .and_then(|v| Token::from_u16(v, self.inner))
                .ok_or(TokenizeError::UnknownToken(id))?;
            run.push(token);
        }
        out.push_str(&self.inner.decode(run));
        Ok(out)
    }
}

/// `bytes_to_unicode()`: the printable bytes stand for themselves, the other 68 take the
/// characters from U+0100 on, in byte order; listed in the order `SimpleTokenizer` numbers
/// them (the printable ranges first).
fn byte_symbols() -> Vec<char> {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    let mut out: Vec<char> = (0..=255u8)
        .filter(|&b| printable(b))
        .map(char::from)
        .collect();
    let others = (0..=255u8).filter(|&b| !printable(b));
    out.extend(
        others
            .enumerate()
            .map(|(n, _)| char::from_u32(256 + n as u32).expect("valid")),
    );
    out
}

/// `SimpleTokenizer`'s vocabulary list: the 256 byte symbols, the same with `</w>`, one
/// string per merge rule (its two halves joined), then the two specials.
fn vocabulary_strings(text: &str) -> Vec<String> {
    let symbols = byte_symbols();
    let mut out: Vec<String> = symbols.iter().map(|c| c.to_string()).collect();
    out.extend(symbols.iter().map(|c| format!("{c}</w>")));
    out.extend(
        BufRead::lines(text.as_bytes())
            .skip(1)
            .take(MERGES)
            .map(|line| {
                line.expect("in memory")
                    .split_whitespace()
                    .collect::<String>()
            }),
    );
    out.extend(["<|startoftext|>".to_string(), "<|endoftext|>".to_string()]);
    out
}

/// OpenAI's pre-tokenizer pattern (`SimpleTokenizer.pat`, case-insensitive like the original).
fn word_pattern() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+",
        )
        .expect("valid pattern")
    })
}

/// OpenAI's cleaning: `whitespace_clean(basic_clean(text)).lower()`.
///
/// That is `ftfy.fix_text` (see [`fix_text`]), `html.unescape` twice, strip, runs of
/// whitespace to one space, lowercase.
pub fn clean_text(text: &str) -> String {
    let fixed = fix_text(text);
    let unescaped = html_unescape(&html_unescape(&fixed));
    let collapsed = unescaped.split_whitespace().collect::<Vec<_>>().join(" ");
    collapsed.to_lowercase()
}

// ------------------------------------------------------------------ html.unescape

/// Python's `html.entities.html5`, parsed once.
fn html5() -> &'static HashMap<&'static str, &'static str> {
    static MAP: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    MAP.get_or_init(|| {
        HTML5_ENTITIES
            .split('\u{2}')
            .filter(|record| !record.is_empty())
            .filter_map(|record| record.split_once('\u{1}'))
            .collect()
    })
}

/// Python's `html.unescape`: HTML5 named references (longest prefix for names without
/// `;`), decimal/hex references with the HTML5 fix-ups for invalid code points.
pub fn html_unescape(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    if !text.contains('&') {
        return text.to_string();
    }
    let re = RE.get_or_init(|| {
        Regex::new(r"&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\x0C <&#;]{1,32};?)")
            .expect("valid pattern")
    });
    re.replace_all(text, |caps: &regex::Captures<'_>| replace_charref(&caps[1]))
        .into_owned()
}

/// `html._replace_charref` for the text after `&`.
fn replace_charref(s: &str) -> String {
    if let Some(num) = s.strip_prefix('#') {
        let (digits, radix) = match num.strip_prefix(['x', 'X']) {
            Some(hex) => (hex, 16),
            None => (num, 10),
        };
        // Saturate: any overflow is above 0x10FFFF, which Python maps to U+FFFD too.
        let value = digits
            .trim_end_matches(';')
            .chars()
            .try_fold(0u64, |acc, c| {
                let d = u64::from(c.to_digit(radix)?);
                Some(acc.saturating_mul(u64::from(radix)).saturating_add(d))
            })
            .unwrap_or(u64::MAX);
        return numeric_charref(value);
    }
    let map = html5();
    if let Some(value) = map.get(s) {
        return (*value).to_string();
    }
    // Longest prefix of at least two characters that names an entity (HTML5 rule).
    let bounds: Vec<usize> = s.char_indices().map(|(i, _)| i).collect();
    for &end in bounds.iter().skip(2).rev() {
        if let Some(value) = map.get(&s[..end]) {
            return format!("{value}{}", &s[end..]);
        }
    }
    format!("&{s}")
}

/// Python's numeric character reference rules (`_invalid_charrefs`, `_invalid_codepoints`).
fn numeric_charref(num: u64) -> String {
    if num == 0 {
        return "\u{fffd}".to_string();
    }
    if num == 0x0d {
        return "\r".to_string();
    }
    if (0x80..=0x9f).contains(&num) {
        // Windows-1252 meaning, keeping the five undefined bytes as C1 controls.
        return charmaps()[WINDOWS_1252].high[(num - 0x80) as usize].to_string();
    }
    if (0xd800..=0xdfff).contains(&num) || num > 0x10ffff {
        return "\u{fffd}".to_string();
    }
    let invalid = matches!(num, 0x1..=0x8 | 0xb | 0xe..=0x1f | 0x7f..=0x9f | 0xfdd0..=0xfdef)
        || (num & 0xfffe) == 0xfffe;
    if invalid {
        return String::new();
    }
    char::from_u32(num as u32)
        .map(String::from)
        .unwrap_or_default()
}

// ------------------------------------------------------------------ ftfy.fix_text

/// `ftfy.fix_text` with its default `TextFixerConfig` (ftfy 6.3.1).
///
/// The text is fixed line by line (each segment keeps its `\n`); HTML entities are
/// decoded only until a segment containing `<` is seen, as ftfy's `unescape_html="auto"`.
/// Each segment repeats ftfy's steps until nothing changes: entity decoding, mojibake
/// repair (`fix_encoding`), C1 controls, Latin ligatures, character width, curly
/// quotes, line breaks, terminal escapes, control characters, NFC.
pub fn fix_text(text: &str) -> String {
    let mut unescape = true;
    let mut out = String::with_capacity(text.len());
    for segment in text.split_inclusive('\n') {
        if segment.contains('<') {
            unescape = false;
        }
        out.push_str(&fix_segment(segment, unescape));
    }
    out
}

/// `ftfy.fix_and_explain` for one segment, without the explanation.
fn fix_segment(segment: &str, unescape: bool) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut text = segment.to_string();
    loop {
        let orig = text.clone();
        if unescape {
            text = ftfy_unescape_html(&text);
        }
        text = fix_encoding(&text);
        text = fix_c1_controls(&text);
        text = fix_latin_ligatures(&text);
        text = fix_character_width(&text);
        text = uncurl_quotes(&text);
        text = fix_line_breaks(&text);
        text = remove_terminal_escapes(&text);
        text = remove_control_chars(&text);
        text = text.nfc().collect();
        if text == orig {
            return text;
        }
    }
}

/// ftfy's `HTML_ENTITIES`: HTML5 names ending in `;`, plus all-caps forms of the
/// lower-case ones (`&EACUTE;` -> `É`) when Python would not decode them otherwise.
fn ftfy_entities() -> &'static HashMap<String, String> {
    static MAP: OnceLock<HashMap<String, String>> = OnceLock::new();
    MAP.get_or_init(|| {
        let mut map = HashMap::new();
        for (name, value) in html5().iter().filter(|(n, _)| n.ends_with(';')) {
            map.insert(format!("&{name}"), (*value).to_string());
        }
        for (name, value) in html5().iter().filter(|(n, _)| n.ends_with(';')) {
            if *name == name.to_lowercase() {
                let upper = format!("&{}", name.to_uppercase());
                if html_unescape(&upper) == upper {
                    map.insert(upper, value.to_uppercase());
                }
            }
        }
        map
    })
}

/// `ftfy.fixes.unescape_html`: only `&...;` forms, so "AT&T" or "this&not that" survive.
fn ftfy_unescape_html(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    if !text.contains('&') {
        return text.to_string();
    }
    let re = RE.get_or_init(|| Regex::new(r"&#?[0-9A-Za-z]{1,24};").expect("valid pattern"));
    re.replace_all(text, |caps: &regex::Captures<'_>| {
        let entity = &caps[0];
        if let Some(value) = ftfy_entities().get(entity) {
            value.clone()
        } else if entity.starts_with("&#") {
            let unescaped = html_unescape(entity);
            if unescaped.contains(';') {
                entity.to_string()
            } else {
                unescaped
            }
        } else {
            entity.to_string()
        }
    })
    .into_owned()
}

/// `ftfy.fixes.fix_latin_ligatures`.
fn fix_latin_ligatures(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let rep = match c {
            'Ĳ' => "IJ",
            'ĳ' => "ij",
            'ŉ' => "ʼn",
            'Ǳ' => "DZ",
            'ǲ' => "Dz",
            'ǳ' => "dz",
            'Ǆ' => "DŽ",
            'ǅ' => "Dž",
            'ǆ' => "dž",
            'Ǉ' => "LJ",
            'ǈ' => "Lj",
            'ǉ' => "lj",
            'Ǌ' => "NJ",
            'ǋ' => "Nj",
            'ǌ' => "nj",
            'ﬀ' => "ff",
            'ﬁ' => "fi",
            'ﬂ' => "fl",
            'ﬃ' => "ffi",
            'ﬄ' => "ffl",
            'ﬅ' => "ſt",
            'ﬆ' => "st",
            _ => {
                out.push(c);
                continue;
            }
        };
        out.push_str(rep);
    }
    out
}

/// `ftfy.fixes.fix_character_width`: U+3000 -> space, U+FF01..U+FFEF -> their NFKC form.
fn fix_character_width(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\u{3000}' => out.push(' '),
            '\u{ff01}'..='\u{ffef}' => out.extend(std::iter::once(c).nfkc()),
            _ => out.push(c),
        }
    }
    out
}

/// `ftfy.fixes.uncurl_quotes`.
fn uncurl_quotes(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\u{2bc}' | '\u{2018}'..='\u{201b}' => '\'',
            '\u{201c}'..='\u{201f}' => '"',
            _ => c,
        })
        .collect()
}

/// `ftfy.fixes.fix_line_breaks`: CRLF, CR, U+2028, U+2029, U+0085 -> `\n`.
fn fix_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| match c {
            '\r' | '\u{2028}' | '\u{2029}' | '\u{85}' => '\n',
            _ => c,
        })
        .collect()
}

/// `ftfy.fixes.remove_terminal_escapes` (ANSI colour codes).
fn remove_terminal_escapes(text: &str) -> String {
    static RE: OnceLock<Regex> = OnceLock::new();
    if !text.contains('\u{1b}') {
        return text.to_string();
    }
    let re = RE.get_or_init(|| Regex::new(r"\x1b\[((?:\d|;)*)([a-zA-Z])").expect("valid pattern"));
    re.replace_all(text, "").into_owned()
}

/// `ftfy.fixes.remove_control_chars` (keeps tab, newlines, form feed, CR, C1, joiners).
fn remove_control_chars(text: &str) -> String {
    text.chars()
        .filter(|c| {
            !matches!(
                c,
                '\u{0}'..='\u{8}'
                    | '\u{b}'
                    | '\u{e}'..='\u{1f}'
                    | '\u{7f}'
                    | '\u{206a}'..='\u{206f}'
                    | '\u{feff}'
                    | '\u{fff9}'..='\u{fffc}'
            )
        })
        .collect()
}

/// `ftfy.fixes.fix_c1_controls`: C1 controls read as Windows-1252, as browsers do.
fn fix_c1_controls(text: &str) -> String {
    let table = &charmaps()[WINDOWS_1252].high;
    text.chars()
        .map(|c| match c {
            '\u{80}'..='\u{9f}' => table[c as usize - 0x80],
            _ => c,
        })
        .collect()
}

// ------------------------------------------------------------------ mojibake repair

/// Index of `sloppy-windows-1252` in [`CHARMAPS`].
const WINDOWS_1252: usize = 1;

/// One of ftfy's single-byte codecs (the "sloppy" ones pass unassigned bytes through
/// as the C1 code points and decode byte 0x1A as U+FFFD, so `encode` maps U+FFFD to 0x1A).
struct Charmap {
    name: &'static str,
    high: Vec<char>,
    encode: HashMap<char, u8>,
}

impl Charmap {
    /// `text.encode(codec)` when `chardata.possible_encoding(text, codec)`, else `None`.
    fn encode(&self, text: &str) -> Option<Vec<u8>> {
        text.chars()
            .map(|c| {
                if c.is_ascii() && c != '\u{1a}' {
                    Some(c as u8)
                } else {
                    self.encode.get(&c).copied()
                }
            })
            .collect()
    }
}

fn charmaps() -> &'static [Charmap] {
    static MAPS: OnceLock<Vec<Charmap>> = OnceLock::new();
    MAPS.get_or_init(|| {
        CHARMAPS
            .iter()
            .map(|&(name, high, sub)| {
                let high: Vec<char> = high.chars().collect();
                assert_eq!(high.len(), 128, "charmap {name}");
                let mut encode: HashMap<char, u8> = (0x80u8..=0xff)
                    .zip(high.iter().copied())
                    .map(|(b, c)| (c, b))
                    .collect();
                encode.insert(sub, 0x1a);
                Charmap { name, high, encode }
            })
            .collect()
    })
}

/// ftfy's `badness.is_bad`: does the text contain a sequence typical of mojibake?
fn is_bad(text: &str) -> bool {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(BADNESS_PATTERN).expect("valid pattern"))
        .is_match(text)
}

/// `ftfy.fix_encoding`: repeat single repair steps until the text stops changing.
fn fix_encoding(text: &str) -> String {
    let mut text = text.to_string();
    loop {
        let next = fix_encoding_one_step(&text);
        if next == text {
            return text;
        }
        text = next;
    }
}

/// `ftfy._fix_encoding_one_step_and_explain` with the default config.
fn fix_encoding_one_step(text: &str) -> String {
    if text.is_ascii() || !is_bad(text) {
        return text.to_string();
    }
    let mut latin1_possible = false;
    // UTF-8 that was decoded with a single-byte codec: re-encode, then decode as UTF-8.
    for (index, map) in charmaps().iter().enumerate() {
        let Some(mut bytes) = map.encode(text) else {
            continue;
        };
        latin1_possible |= index == 0;
        if map.name != "macroman" && altered_utf8().is_match(&bytes) {
            bytes = restore_byte_a0(&bytes);
        }
        if map.name.starts_with("sloppy") {
            bytes = lossy_utf8()
                .replace_all(&bytes, "\u{fffd}".as_bytes())
                .into_owned();
        }
        let decoded = if bytes.contains(&0xed) || bytes.contains(&0xc0) {
            decode_utf8_variants(&bytes)
        } else {
            String::from_utf8(bytes).ok()
        };
        if let Some(fixed) = decoded {
            return fixed;
        }
    }
    // UTF-8 mojibake embedded in otherwise fine text.
    if utf8_detector().is_match(text) {
        let fixed = decode_inconsistent_utf8(text);
        if fixed != text {
            return fixed;
        }
    }
    // Latin-1 meant as Windows-1252 (ftfy compares against the name "windows-1252", which
    // its list never holds, so this runs whenever Latin-1 is possible).
    if latin1_possible {
        if let Some(fixed) = latin1_as_windows_1252(text) {
            if fixed != text {
                return fixed;
            }
        }
    }
    if text.chars().any(|c| ('\u{80}'..='\u{9f}').contains(&c)) {
        return fix_c1_controls(text);
    }
    text.to_string()
}

/// `text.encode("latin-1").decode("windows-1252")`, `None` on the five undefined bytes.
fn latin1_as_windows_1252(text: &str) -> Option<String> {
    let table = &charmaps()[WINDOWS_1252].high;
    text.chars()
        .map(|c| match c {
            '\u{81}' | '\u{8d}' | '\u{8f}' | '\u{90}' | '\u{9d}' => None,
            '\u{80}'..='\u{9f}' => Some(table[c as usize - 0x80]),
            _ => Some(c),
        })
        .collect()
}

/// `chardata.ALTERED_UTF8_RE`: UTF-8 sequences whose 0xA0 byte became a space.
fn altered_utf8() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?-u)[\xc2\xc3\xc5\xce\xd0\xd9][ ]|[\xe2\xe3][ ][\x80-\x84\x86-\x9f\xa1-\xbf]|[\xe0-\xe3][\x80-\x84\x86-\x9f\xa1-\xbf][ ]|[\xf0][ ][\x80-\xbf][\x80-\xbf]|[\xf0][\x80-\xbf][ ][\x80-\xbf]|[\xf0][\x80-\xbf][\x80-\xbf][ ]",
        )
        .expect("valid pattern")
    })
}

/// `chardata.LOSSY_UTF8_RE`: UTF-8 sequences with bytes lost to 0x1A or `?`.
fn lossy_utf8() -> &'static regex::bytes::Regex {
    static RE: OnceLock<regex::bytes::Regex> = OnceLock::new();
    RE.get_or_init(|| {
        regex::bytes::Regex::new(
            r"(?-u)[\xc2-\xdf][\x1a]|[\xc2-\xc3][?]|\xed[\xa0-\xaf][\x1a?]\xed[\xb0-\xbf][\x1a?\x80-\xbf]|\xed[\xa0-\xaf][\x1a?\x80-\xbf]\xed[\xb0-\xbf][\x1a?]|[\xe0-\xef][\x1a?][\x1a\x80-\xbf]|[\xe0-\xef][\x1a\x80-\xbf][\x1a?]|[\xf0-\xf4][\x1a?][\x1a\x80-\xbf][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a?][\x1a\x80-\xbf]|[\xf0-\xf4][\x1a\x80-\xbf][\x1a\x80-\xbf][\x1a?]|\x1a",
        )
        .expect("valid pattern")
    })
}

/// `ftfy.fixes.restore_byte_a0`.
fn restore_byte_a0(bytes: &[u8]) -> Vec<u8> {
    // A_GRAVE_WORD_RE: b"\xc3 (?! |quele|quela|quilo|s )" -> b"\xc3\xa0 ".
    let mut first = Vec::with_capacity(bytes.len() + 4);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == 0xc3 && bytes.get(i + 1) == Some(&b' ') {
            let rest = &bytes[i + 2..];
            let excluded = [&b" "[..], b"quele", b"quela", b"quilo", b"s "]
                .iter()
                .any(|p| rest.starts_with(p));
            if !excluded {
                first.extend_from_slice(b"\xc3\xa0 ");
                i += 2;
                continue;
            }
        }
        first.push(bytes[i]);
        i += 1;
    }
    altered_utf8()
        .replace_all(&first, |caps: &regex::bytes::Captures<'_>| {
            caps[0]
                .iter()
                .map(|&b| if b == b' ' { 0xa0 } else { b })
                .collect::<Vec<u8>>()
        })
        .into_owned()
}

/// ftfy's `utf-8-variants` codec: UTF-8 plus CESU-8 surrogate pairs and Java's `C0 80`.
fn decode_utf8_variants(bytes: &[u8]) -> Option<String> {
    let mut out = String::with_capacity(bytes.len());
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        let special = if rest.starts_with(&[0xc0, 0x80]) {
            Some(('\0', 2))
        } else if rest.len() >= 6
            && rest[0] == 0xed
            && (0xa0..=0xaf).contains(&rest[1])
            && (0x80..=0xbf).contains(&rest[2])
            && rest[3] == 0xed
            && (0xb0..=0xbf).contains(&rest[4])
            && (0x80..=0xbf).contains(&rest[5])
        {
            let cp = ((u32::from(rest[1]) & 0x0f) << 16)
                + ((u32::from(rest[2]) & 0x3f) << 10)
                + ((u32::from(rest[4]) & 0x0f) << 6)
                + (u32::from(rest[5]) & 0x3f)
                + 0x10000;
            Some((char::from_u32(cp)?, 6))
        } else {
            None
        };
        match special {
            Some((c, len)) => {
                out.push_str(std::str::from_utf8(&bytes[start..i]).ok()?);
                out.push(c);
                i += len;
                start = i;
            }
            None => i += 1,
        }
    }
    out.push_str(std::str::from_utf8(&bytes[start..]).ok()?);
    Some(out)
}

/// `chardata.UTF8_DETECTOR_RE` without its look-behind (checked by hand).
fn utf8_detector() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(UTF8_DETECTOR_PATTERN).expect("valid pattern"))
}

/// `ftfy.fixes.decode_inconsistent_utf8`: fix each UTF-8-looking run on its own.
fn decode_inconsistent_utf8(text: &str) -> String {
    let total = text.chars().count();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut pos = 0;
    while let Some(m) = utf8_detector().find_at(text, pos) {
        let after_continuation = text[..m.start()]
            .chars()
            .next_back()
            .is_some_and(|c| UTF8_DETECTOR_NOT_AFTER.contains(c));
        if after_continuation {
            // Python's negative look-behind fails here; retry one character later.
            pos = m.start() + text[m.start()..].chars().next().map_or(1, char::len_utf8);
            continue;
        }
        let run = m.as_str();
        out.push_str(&text[last..m.start()]);
        if run.chars().count() < total && is_bad(run) {
            out.push_str(&fix_encoding(run));
        } else {
            out.push_str(run);
        }
        last = m.end();
        pos = m.end();
    }
    out.push_str(&text[last..]);
    out
}

// ---- generated by tests/fixtures/tokenizer/make_tokens.py --rust-tables ----
/// Python's `html.entities.html5` (names with and without `;`): `name U+1 value U+2` records.
const HTML5_ENTITIES: &str = "\
AElig\u{1}Æ\u{2}\
AElig;\u{1}Æ\u{2}\
AMP\u{1}&\u{2}\
AMP;\u{1}&\u{2}\
Aacute\u{1}Á\u{2}\
Aacute;\u{1}Á\u{2}\
Abreve;\u{1}Ă\u{2}\
Acirc\u{1}Â\u{2}\
Acirc;\u{1}Â\u{2}\
Acy;\u{1}А\u{2}\
Afr;\u{1}𝔄\u{2}\
Agrave\u{1}À\u{2}\
Agrave;\u{1}À\u{2}\
Alpha;\u{1}Α\u{2}\
Amacr;\u{1}Ā\u{2}\
And;\u{1}⩓\u{2}\
Aogon;\u{1}Ą\u{2}\
Aopf;\u{1}𝔸\u{2}\
ApplyFunction;\u{1}\u{2061}\u{2}\
Aring\u{1}Å\u{2}\
Aring;\u{1}Å\u{2}\
Ascr;\u{1}𝒜\u{2}\
Assign;\u{1}≔\u{2}\
Atilde\u{1}Ã\u{2}\
Atilde;\u{1}Ã\u{2}\
Auml\u{1}Ä\u{2}\
Auml;\u{1}Ä\u{2}\
Backslash;\u{1}∖\u{2}\
Barv;\u{1}⫧\u{2}\
Barwed;\u{1}⌆\u{2}\
Bcy;\u{1}Б\u{2}\
Because;\u{1}∵\u{2}\
Bernoullis;\u{1}ℬ\u{2}\
Beta;\u{1}Β\u{2}\
Bfr;\u{1}𝔅\u{2}\
Bopf;\u{1}𝔹\u{2}\
Breve;\u{1}˘\u{2}\
Bscr;\u{1}ℬ\u{2}\
Bumpeq;\u{1}≎\u{2}\
CHcy;\u{1}Ч\u{2}\
COPY\u{1}©\u{2}\
COPY;\u{1}©\u{2}\
Cacute;\u{1}Ć\u{2}\
Cap;\u{1}⋒\u{2}\
CapitalDifferentialD;\u{1}ⅅ\u{2}\
Cayleys;\u{1}ℭ\u{2}\
Ccaron;\u{1}Č\u{2}\
Ccedil\u{1}Ç\u{2}\
Ccedil;\u{1}Ç\u{2}\
Ccirc;\u{1}Ĉ\u{2}\
Cconint;\u{1}∰\u{2}\
Cdot;\u{1}Ċ\u{2}\
Cedilla;\u{1}¸\u{2}\
CenterDot;\u{1}·\u{2}\
Cfr;\u{1}ℭ\u{2}\
Chi;\u{1}Χ\u{2}\
CircleDot;\u{1}⊙\u{2}\
CircleMinus;\u{1}⊖\u{2}\
CirclePlus;\u{1}⊕\u{2}\
CircleTimes;\u{1}⊗\u{2}\
ClockwiseContourIntegral;\u{1}∲\u{2}\
CloseCurlyDoubleQuote;\u{1}”\u{2}\
CloseCurlyQuote;\u{1}’\u{2}\
Colon;\u{1}∷\u{2}\
Colone;\u{1}⩴\u{2}\
Congruent;\u{1}≡\u{2}\
Conint;\u{1}∯\u{2}\
ContourIntegral;\u{1}∮\u{2}\
Copf;\u{1}ℂ\u{2}\
Coproduct;\u{1}∐\u{2}\
CounterClockwiseContourIntegral;\u{1}∳\u{2}\
Cross;\u{1}⨯\u{2}\
Cscr;\u{1}𝒞\u{2}\
Cup;\u{1}⋓\u{2}\
CupCap;\u{1}≍\u{2}\
DD;\u{1}ⅅ\u{2}\
DDotrahd;\u{1}⤑\u{2}\
DJcy;\u{1}Ђ\u{2}\
DScy;\u{1}Ѕ\u{2}\
DZcy;\u{1}Џ\u{2}\
Dagger;\u{1}‡\u{2}\
Darr;\u{1}↡\u{2}\
Dashv;\u{1}⫤\u{2}\
Dcaron;\u{1}Ď\u{2}\
Dcy;\u{1}Д\u{2}\
Del;\u{1}∇\u{2}\
Delta;\u{1}Δ\u{2}\
Dfr;\u{1}𝔇\u{2}\
DiacriticalAcute;\u{1}´\u{2}\
DiacriticalDot;\u{1}˙\u{2}\
DiacriticalDoubleAcute;\u{1}˝\u{2}\
DiacriticalGrave;\u{1}`\u{2}\
DiacriticalTilde;\u{1}˜\u{2}\
Diamond;\u{1}⋄\u{2}\
DifferentialD;\u{1}ⅆ\u{2}\
Dopf;\u{1}𝔻\u{2}\
Dot;\u{1}¨\u{2}\
DotDot;\u{1}\u{20dc}\u{2}\
DotEqual;\u{1}≐\u{2}\
DoubleContourIntegral;\u{1}∯\u{2}\
DoubleDot;\u{1}¨\u{2}\
DoubleDownArrow;\u{1}⇓\u{2}\
DoubleLeftArrow;\u{1}⇐\u{2}\
DoubleLeftRightArrow;\u{1}⇔\u{2}\
DoubleLeftTee;\u{1}⫤\u{2}\
DoubleLongLeftArrow;\u{1}⟸\u{2}\
DoubleLongLeftRightArrow;\u{1}⟺\u{2}\
DoubleLongRightArrow;\u{1}⟹\u{2}\
DoubleRightArrow;\u{1}⇒\u{2}\
DoubleRightTee;\u{1}⊨\u{2}\
DoubleUpArrow;\u{1}⇑\u{2}\
DoubleUpDownArrow;\u{1}⇕\u{2}\
DoubleVerticalBar;\u{1}∥\u{2}\
DownArrow;\u{1}↓\u{2}\
DownArrowBar;\u{1}⤓\u{2}\
DownArrowUpArrow;\u{1}⇵\u{2}\
DownBreve;\u{1}\u{311}\u{2}\
DownLeftRightVector;\u{1}⥐\u{2}\
DownLeftTeeVector;\u{1}⥞\u{2}\
DownLeftVector;\u{1}↽\u{2}\
DownLeftVectorBar;\u{1}⥖\u{2}\
DownRightTeeVector;\u{1}⥟\u{2}\
DownRightVector;\u{1}⇁\u{2}\
DownRightVectorBar;\u{1}⥗\u{2}\
DownTee;\u{1}⊤\u{2}\
DownTeeArrow;\u{1}↧\u{2}\
Downarrow;\u{1}⇓\u{2}\
Dscr;\u{1}𝒟\u{2}\
Dstrok;\u{1}Đ\u{2}\
ENG;\u{1}Ŋ\u{2}\
ETH\u{1}Ð\u{2}\
ETH;\u{1}Ð\u{2}\
Eacute\u{1}É\u{2}\
Eacute;\u{1}É\u{2}\
Ecaron;\u{1}Ě\u{2}\
Ecirc\u{1}Ê\u{2}\
Ecirc;\u{1}Ê\u{2}\
Ecy;\u{1}Э\u{2}\
Edot;\u{1}Ė\u{2}\
Efr;\u{1}𝔈\u{2}\
Egrave\u{1}È\u{2}\
Egrave;\u{1}È\u{2}\
Element;\u{1}∈\u{2}\
Emacr;\u{1}Ē\u{2}\
EmptySmallSquare;\u{1}◻\u{2}\
EmptyVerySmallSquare;\u{1}▫\u{2}\
Eogon;\u{1}Ę\u{2}\
Eopf;\u{1}𝔼\u{2}\
Epsilon;\u{1}Ε\u{2}\
Equal;\u{1}⩵\u{2}\
EqualTilde;\u{1}≂\u{2}\
Equilibrium;\u{1}⇌\u{2}\
Escr;\u{1}ℰ\u{2}\
Esim;\u{1}⩳\u{2}\
Eta;\u{1}Η\u{2}\
Euml\u{1}Ë\u{2}\
Euml;\u{1}Ë\u{2}\
Exists;\u{1}∃\u{2}\
ExponentialE;\u{1}ⅇ\u{2}\
Fcy;\u{1}Ф\u{2}\
Ffr;\u{1}𝔉\u{2}\
FilledSmallSquare;\u{1}◼\u{2}\
FilledVerySmallSquare;\u{1}▪\u{2}\
Fopf;\u{1}𝔽\u{2}\
ForAll;\u{1}∀\u{2}\
Fouriertrf;\u{1}ℱ\u{2}\
Fscr;\u{1}ℱ\u{2}\
GJcy;\u{1}Ѓ\u{2}\
GT\u{1}>\u{2}\
GT;\u{1}>\u{2}\
Gamma;\u{1}Γ\u{2}\
Gammad;\u{1}Ϝ\u{2}\
Gbreve;\u{1}Ğ\u{2}\
Gcedil;\u{1}Ģ\u{2}\
Gcirc;\u{1}Ĝ\u{2}\
Gcy;\u{1}Г\u{2}\
Gdot;\u{1}Ġ\u{2}\
Gfr;\u{1}𝔊\u{2}\
Gg;\u{1}⋙\u{2}\
Gopf;\u{1}𝔾\u{2}\
GreaterEqual;\u{1}≥\u{2}\
GreaterEqualLess;\u{1}⋛\u{2}\
GreaterFullEqual;\u{1}≧\u{2}\
GreaterGreater;\u{1}⪢\u{2}\
GreaterLess;\u{1}≷\u{2}\
GreaterSlantEqual;\u{1}⩾\u{2}\
GreaterTilde;\u{1}≳\u{2}\
Gscr;\u{1}𝒢\u{2}\
Gt;\u{1}≫\u{2}\
HARDcy;\u{1}Ъ\u{2}\
Hacek;\u{1}ˇ\u{2}\
Hat;\u{1}^\u{2}\
Hcirc;\u{1}Ĥ\u{2}\
Hfr;\u{1}ℌ\u{2}\
HilbertSpace;\u{1}ℋ\u{2}\
Hopf;\u{1}ℍ\u{2}\
HorizontalLine;\u{1}─\u{2}\
Hscr;\u{1}ℋ\u{2}\
Hstrok;\u{1}Ħ\u{2}\
HumpDownHump;\u{1}≎\u{2}\
HumpEqual;\u{1}≏\u{2}\
IEcy;\u{1}Е\u{2}\
IJlig;\u{1}Ĳ\u{2}\
IOcy;\u{1}Ё\u{2}\
Iacute\u{1}Í\u{2}\
Iacute;\u{1}Í\u{2}\
Icirc\u{1}Î\u{2}\
Icirc;\u{1}Î\u{2}\
Icy;\u{1}И\u{2}\
Idot;\u{1}İ\u{2}\
Ifr;\u{1}ℑ\u{2}\
Igrave\u{1}Ì\u{2}\
Igrave;\u{1}Ì\u{2}\
Im;\u{1}ℑ\u{2}\
Imacr;\u{1}Ī\u{2}\
ImaginaryI;\u{1}ⅈ\u{2}\
Implies;\u{1}⇒\u{2}\
Int;\u{1}∬\u{2}\
Integral;\u{1}∫\u{2}\
Intersection;\u{1}⋂\u{2}\
InvisibleComma;\u{1}\u{2063}\u{2}\
InvisibleTimes;\u{1}\u{2062}\u{2}\
Iogon;\u{1}Į\u{2}\
Iopf;\u{1}𝕀\u{2}\
Iota;\u{1}Ι\u{2}\
Iscr;\u{1}ℐ\u{2}\
Itilde;\u{1}Ĩ\u{2}\
Iukcy;\u{1}І\u{2}\
Iuml\u{1}Ï\u{2}\
Iuml;\u{1}Ï\u{2}\
Jcirc;\u{1}Ĵ\u{2}\
Jcy;\u{1}Й\u{2}\
Jfr;\u{1}𝔍\u{2}\
Jopf;\u{1}𝕁\u{2}\
Jscr;\u{1}𝒥\u{2}\
Jsercy;\u{1}Ј\u{2}\
Jukcy;\u{1}Є\u{2}\
KHcy;\u{1}Х\u{2}\
KJcy;\u{1}Ќ\u{2}\
Kappa;\u{1}Κ\u{2}\
Kcedil;\u{1}Ķ\u{2}\
Kcy;\u{1}К\u{2}\
Kfr;\u{1}𝔎\u{2}\
Kopf;\u{1}𝕂\u{2}\
Kscr;\u{1}𝒦\u{2}\
LJcy;\u{1}Љ\u{2}\
LT\u{1}<\u{2}\
LT;\u{1}<\u{2}\
Lacute;\u{1}Ĺ\u{2}\
Lambda;\u{1}Λ\u{2}\
Lang;\u{1}⟪\u{2}\
Laplacetrf;\u{1}ℒ\u{2}\
Larr;\u{1}↞\u{2}\
Lcaron;\u{1}Ľ\u{2}\
Lcedil;\u{1}Ļ\u{2}\
Lcy;\u{1}Л\u{2}\
LeftAngleBracket;\u{1}⟨\u{2}\
LeftArrow;\u{1}←\u{2}\
LeftArrowBar;\u{1}⇤\u{2}\
LeftArrowRightArrow;\u{1}⇆\u{2}\
LeftCeiling;\u{1}⌈\u{2}\
LeftDoubleBracket;\u{1}⟦\u{2}\
LeftDownTeeVector;\u{1}⥡\u{2}\
LeftDownVector;\u{1}⇃\u{2}\
LeftDownVectorBar;\u{1}⥙\u{2}\
LeftFloor;\u{1}⌊\u{2}\
LeftRightArrow;\u{1}↔\u{2}\
LeftRightVector;\u{1}⥎\u{2}\
LeftTee;\u{1}⊣\u{2}\
LeftTeeArrow;\u{1}↤\u{2}\
LeftTeeVector;\u{1}⥚\u{2}\
LeftTriangle;\u{1}⊲\u{2}\
LeftTriangleBar;\u{1}⧏\u{2}\
LeftTriangleEqual;\u{1}⊴\u{2}\
LeftUpDownVector;\u{1}⥑\u{2}\
LeftUpTeeVector;\u{1}⥠\u{2}\
LeftUpVector;\u{1}↿\u{2}\
LeftUpVectorBar;\u{1}⥘\u{2}\
LeftVector;\u{1}↼\u{2}\
LeftVectorBar;\u{1}⥒\u{2}\
Leftarrow;\u{1}⇐\u{2}\
Leftrightarrow;\u{1}⇔\u{2}\
LessEqualGreater;\u{1}⋚\u{2}\
LessFullEqual;\u{1}≦\u{2}\
LessGreater;\u{1}≶\u{2}\
LessLess;\u{1}⪡\u{2}\
LessSlantEqual;\u{1}⩽\u{2}\
LessTilde;\u{1}≲\u{2}\
Lfr;\u{1}𝔏\u{2}\
Ll;\u{1}⋘\u{2}\
Lleftarrow;\u{1}⇚\u{2}\
Lmidot;\u{1}Ŀ\u{2}\
LongLeftArrow;\u{1}⟵\u{2}\
LongLeftRightArrow;\u{1}⟷\u{2}\
LongRightArrow;\u{1}⟶\u{2}\
Longleftarrow;\u{1}⟸\u{2}\
Longleftrightarrow;\u{1}⟺\u{2}\
Longrightarrow;\u{1}⟹\u{2}\
Lopf;\u{1}𝕃\u{2}\
LowerLeftArrow;\u{1}↙\u{2}\
LowerRightArrow;\u{1}↘\u{2}\
Lscr;\u{1}ℒ\u{2}\
Lsh;\u{1}↰\u{2}\
Lstrok;\u{1}Ł\u{2}\
Lt;\u{1}≪\u{2}\
Map;\u{1}⤅\u{2}\
Mcy;\u{1}М\u{2}\
MediumSpace;\u{1}\u{205f}\u{2}\
Mellintrf;\u{1}ℳ\u{2}\
Mfr;\u{1}𝔐\u{2}\
MinusPlus;\u{1}∓\u{2}\
Mopf;\u{1}𝕄\u{2}\
Mscr;\u{1}ℳ\u{2}\
Mu;\u{1}Μ\u{2}\
NJcy;\u{1}Њ\u{2}\
Nacute;\u{1}Ń\u{2}\
Ncaron;\u{1}Ň\u{2}\
Ncedil;\u{1}Ņ\u{2}\
Ncy;\u{1}Н\u{2}\
NegativeMediumSpace;\u{1}\u{200b}\u{2}\
NegativeThickSpace;\u{1}\u{200b}\u{2}\
NegativeThinSpace;\u{1}\u{200b}\u{2}\
NegativeVeryThinSpace;\u{1}\u{200b}\u{2}\
NestedGreaterGreater;\u{1}≫\u{2}\
NestedLessLess;\u{1}≪\u{2}\
NewLine;\u{1}\u{a}\u{2}\
Nfr;\u{1}𝔑\u{2}\
NoBreak;\u{1}\u{2060}\u{2}\
NonBreakingSpace;\u{1}\u{a0}\u{2}\
Nopf;\u{1}ℕ\u{2}\
Not;\u{1}⫬\u{2}\
NotCongruent;\u{1}≢\u{2}\
NotCupCap;\u{1}≭\u{2}\
NotDoubleVerticalBar;\u{1}∦\u{2}\
NotElement;\u{1}∉\u{2}\
NotEqual;\u{1}≠\u{2}\
NotEqualTilde;\u{1}≂\u{338}\u{2}\
NotExists;\u{1}∄\u{2}\
NotGreater;\u{1}≯\u{2}\
NotGreaterEqual;\u{1}≱\u{2}\
NotGreaterFullEqual;\u{1}≧\u{338}\u{2}\
NotGreaterGreater;\u{1}≫\u{338}\u{2}\
NotGreaterLess;\u{1}≹\u{2}\
NotGreaterSlantEqual;\u{1}⩾\u{338}\u{2}\
NotGreaterTilde;\u{1}≵\u{2}\
NotHumpDownHump;\u{1}≎\u{338}\u{2}\
NotHumpEqual;\u{1}≏\u{338}\u{2}\
NotLeftTriangle;\u{1}⋪\u{2}\
NotLeftTriangleBar;\u{1}⧏\u{338}\u{2}\
NotLeftTriangleEqual;\u{1}⋬\u{2}\
NotLess;\u{1}≮\u{2}\
NotLessEqual;\u{1}≰\u{2}\
NotLessGreater;\u{1}≸\u{2}\
NotLessLess;\u{1}≪\u{338}\u{2}\
NotLessSlantEqual;\u{1}⩽\u{338}\u{2}\
NotLessTilde;\u{1}≴\u{2}\
NotNestedGreaterGreater;\u{1}⪢\u{338}\u{2}\
NotNestedLessLess;\u{1}⪡\u{338}\u{2}\
NotPrecedes;\u{1}⊀\u{2}\
NotPrecedesEqual;\u{1}⪯\u{338}\u{2}\
NotPrecedesSlantEqual;\u{1}⋠\u{2}\
NotReverseElement;\u{1}∌\u{2}\
NotRightTriangle;\u{1}⋫\u{2}\
NotRightTriangleBar;\u{1}⧐\u{338}\u{2}\
NotRightTriangleEqual;\u{1}⋭\u{2}\
NotSquareSubset;\u{1}⊏\u{338}\u{2}\
NotSquareSubsetEqual;\u{1}⋢\u{2}\
NotSquareSuperset;\u{1}⊐\u{338}\u{2}\
NotSquareSupersetEqual;\u{1}⋣\u{2}\
NotSubset;\u{1}⊂\u{20d2}\u{2}\
NotSubsetEqual;\u{1}⊈\u{2}\
NotSucceeds;\u{1}⊁\u{2}\
NotSucceedsEqual;\u{1}⪰\u{338}\u{2}\
NotSucceedsSlantEqual;\u{1}⋡\u{2}\
NotSucceedsTilde;\u{1}≿\u{338}\u{2}\
NotSuperset;\u{1}⊃\u{20d2}\u{2}\
NotSupersetEqual;\u{1}⊉\u{2}\
NotTilde;\u{1}≁\u{2}\
NotTildeEqual;\u{1}≄\u{2}\
NotTildeFullEqual;\u{1}≇\u{2}\
NotTildeTilde;\u{1}≉\u{2}\
NotVerticalBar;\u{1}∤\u{2}\
Nscr;\u{1}𝒩\u{2}\
Ntilde\u{1}Ñ\u{2}\
Ntilde;\u{1}Ñ\u{2}\
Nu;\u{1}Ν\u{2}\
OElig;\u{1}Œ\u{2}\
Oacute\u{1}Ó\u{2}\
Oacute;\u{1}Ó\u{2}\
Ocirc\u{1}Ô\u{2}\
Ocirc;\u{1}Ô\u{2}\
Ocy;\u{1}О\u{2}\
Odblac;\u{1}Ő\u{2}\
Ofr;\u{1}𝔒\u{2}\
Ograve\u{1}Ò\u{2}\
Ograve;\u{1}Ò\u{2}\
Omacr;\u{1}Ō\u{2}\
Omega;\u{1}Ω\u{2}\
Omicron;\u{1}Ο\u{2}\
Oopf;\u{1}𝕆\u{2}\
OpenCurlyDoubleQuote;\u{1}“\u{2}\
OpenCurlyQuote;\u{1}‘\u{2}\
Or;\u{1}⩔\u{2}\
Oscr;\u{1}𝒪\u{2}\
Oslash\u{1}Ø\u{2}\
Oslash;\u{1}Ø\u{2}\
Otilde\u{1}Õ\u{2}\
Otilde;\u{1}Õ\u{2}\
Otimes;\u{1}⨷\u{2}\
Ouml\u{1}Ö\u{2}\
Ouml;\u{1}Ö\u{2}\
OverBar;\u{1}‾\u{2}\
OverBrace;\u{1}⏞\u{2}\
OverBracket;\u{1}⎴\u{2}\
OverParenthesis;\u{1}⏜\u{2}\
PartialD;\u{1}∂\u{2}\
Pcy;\u{1}П\u{2}\
Pfr;\u{1}𝔓\u{2}\
Phi;\u{1}Φ\u{2}\
Pi;\u{1}Π\u{2}\
PlusMinus;\u{1}±\u{2}\
Poincareplane;\u{1}ℌ\u{2}\
Popf;\u{1}ℙ\u{2}\
Pr;\u{1}⪻\u{2}\
Precedes;\u{1}≺\u{2}\
PrecedesEqual;\u{1}⪯\u{2}\
PrecedesSlantEqual;\u{1}≼\u{2}\
PrecedesTilde;\u{1}≾\u{2}\
Prime;\u{1}″\u{2}\
Product;\u{1}∏\u{2}\
Proportion;\u{1}∷\u{2}\
Proportional;\u{1}∝\u{2}\
Pscr;\u{1}𝒫\u{2}\
Psi;\u{1}Ψ\u{2}\
QUOT\u{1}\u{22}\u{2}\
QUOT;\u{1}\u{22}\u{2}\
Qfr;\u{1}𝔔\u{2}\
Qopf;\u{1}ℚ\u{2}\
Qscr;\u{1}𝒬\u{2}\
RBarr;\u{1}⤐\u{2}\
REG\u{1}®\u{2}\
REG;\u{1}®\u{2}\
Racute;\u{1}Ŕ\u{2}\
Rang;\u{1}⟫\u{2}\
Rarr;\u{1}↠\u{2}\
Rarrtl;\u{1}⤖\u{2}\
Rcaron;\u{1}Ř\u{2}\
Rcedil;\u{1}Ŗ\u{2}\
Rcy;\u{1}Р\u{2}\
Re;\u{1}ℜ\u{2}\
ReverseElement;\u{1}∋\u{2}\
ReverseEquilibrium;\u{1}⇋\u{2}\
ReverseUpEquilibrium;\u{1}⥯\u{2}\
Rfr;\u{1}ℜ\u{2}\
Rho;\u{1}Ρ\u{2}\
RightAngleBracket;\u{1}⟩\u{2}\
RightArrow;\u{1}→\u{2}\
RightArrowBar;\u{1}⇥\u{2}\
RightArrowLeftArrow;\u{1}⇄\u{2}\
RightCeiling;\u{1}⌉\u{2}\
RightDoubleBracket;\u{1}⟧\u{2}\
RightDownTeeVector;\u{1}⥝\u{2}\
RightDownVector;\u{1}⇂\u{2}\
RightDownVectorBar;\u{1}⥕\u{2}\
RightFloor;\u{1}⌋\u{2}\
RightTee;\u{1}⊢\u{2}\
RightTeeArrow;\u{1}↦\u{2}\
RightTeeVector;\u{1}⥛\u{2}\
RightTriangle;\u{1}⊳\u{2}\
RightTriangleBar;\u{1}⧐\u{2}\
RightTriangleEqual;\u{1}⊵\u{2}\
RightUpDownVector;\u{1}⥏\u{2}\
RightUpTeeVector;\u{1}⥜\u{2}\
RightUpVector;\u{1}↾\u{2}\
RightUpVectorBar;\u{1}⥔\u{2}\
RightVector;\u{1}⇀\u{2}\
RightVectorBar;\u{1}⥓\u{2}\
Rightarrow;\u{1}⇒\u{2}\
Ropf;\u{1}ℝ\u{2}\
RoundImplies;\u{1}⥰\u{2}\
Rrightarrow;\u{1}⇛\u{2}\
Rscr;\u{1}ℛ\u{2}\
Rsh;\u{1}↱\u{2}\
RuleDelayed;\u{1}⧴\u{2}\
SHCHcy;\u{1}Щ\u{2}\
SHcy;\u{1}Ш\u{2}\
SOFTcy;\u{1}Ь\u{2}\
Sacute;\u{1}Ś\u{2}\
Sc;\u{1}⪼\u{2}\
Scaron;\u{1}Š\u{2}\
Scedil;\u{1}Ş\u{2}\
Scirc;\u{1}Ŝ\u{2}\
Scy;\u{1}С\u{2}\
Sfr;\u{1}𝔖\u{2}\
ShortDownArrow;\u{1}↓\u{2}\
ShortLeftArrow;\u{1}←\u{2}\
ShortRightArrow;\u{1}→\u{2}\
ShortUpArrow;\u{1}↑\u{2}\
Sigma;\u{1}Σ\u{2}\
SmallCircle;\u{1}∘\u{2}\
Sopf;\u{1}𝕊\u{2}\
Sqrt;\u{1}√\u{2}\
Square;\u{1}□\u{2}\
SquareIntersection;\u{1}⊓\u{2}\
SquareSubset;\u{1}⊏\u{2}\
SquareSubsetEqual;\u{1}⊑\u{2}\
SquareSuperset;\u{1}⊐\u{2}\
SquareSupersetEqual;\u{1}⊒\u{2}\
SquareUnion;\u{1}⊔\u{2}\
Sscr;\u{1}𝒮\u{2}\
Star;\u{1}⋆\u{2}\
Sub;\u{1}⋐\u{2}\
Subset;\u{1}⋐\u{2}\
SubsetEqual;\u{1}⊆\u{2}\
Succeeds;\u{1}≻\u{2}\
SucceedsEqual;\u{1}⪰\u{2}\
SucceedsSlantEqual;\u{1}≽\u{2}\
SucceedsTilde;\u{1}≿\u{2}\
SuchThat;\u{1}∋\u{2}\
Sum;\u{1}∑\u{2}\
Sup;\u{1}⋑\u{2}\
Superset;\u{1}⊃\u{2}\
SupersetEqual;\u{1}⊇\u{2}\
Supset;\u{1}⋑\u{2}\
THORN\u{1}Þ\u{2}\
THORN;\u{1}Þ\u{2}\
TRADE;\u{1}™\u{2}\
TSHcy;\u{1}Ћ\u{2}\
TScy;\u{1}Ц\u{2}\
Tab;\u{1}\u{9}\u{2}\
Tau;\u{1}Τ\u{2}\
Tcaron;\u{1}Ť\u{2}\
Tcedil;\u{1}Ţ\u{2}\
Tcy;\u{1}Т\u{2}\
Tfr;\u{1}𝔗\u{2}\
Therefore;\u{1}∴\u{2}\
Theta;\u{1}Θ\u{2}\
ThickSpace;\u{1}\u{205f}\u{200a}\u{2}\
ThinSpace;\u{1}\u{2009}\u{2}\
Tilde;\u{1}∼\u{2}\
TildeEqual;\u{1}≃\u{2}\
TildeFullEqual;\u{1}≅\u{2}\
TildeTilde;\u{1}≈\u{2}\
Topf;\u{1}𝕋\u{2}\
TripleDot;\u{1}\u{20db}\u{2}\
Tscr;\u{1}𝒯\u{2}\
Tstrok;\u{1}Ŧ\u{2}\
Uacute\u{1}Ú\u{2}\
Uacute;\u{1}Ú\u{2}\
Uarr;\u{1}↟\u{2}\
Uarrocir;\u{1}⥉\u{2}\
Ubrcy;\u{1}Ў\u{2}\
Ubreve;\u{1}Ŭ\u{2}\
Ucirc\u{1}Û\u{2}\
Ucirc;\u{1}Û\u{2}\
Ucy;\u{1}У\u{2}\
Udblac;\u{1}Ű\u{2}\
Ufr;\u{1}𝔘\u{2}\
Ugrave\u{1}Ù\u{2}\
Ugrave;\u{1}Ù\u{2}\
Umacr;\u{1}Ū\u{2}\
UnderBar;\u{1}_\u{2}\
UnderBrace;\u{1}⏟\u{2}\
UnderBracket;\u{1}⎵\u{2}\
UnderParenthesis;\u{1}⏝\u{2}\
Union;\u{1}⋃\u{2}\
UnionPlus;\u{1}⊎\u{2}\
Uogon;\u{1}Ų\u{2}\
Uopf;\u{1}𝕌\u{2}\
UpArrow;\u{1}↑\u{2}\
UpArrowBar;\u{1}⤒\u{2}\
UpArrowDownArrow;\u{1}⇅\u{2}\
UpDownArrow;\u{1}↕\u{2}\
UpEquilibrium;\u{1}⥮\u{2}\
UpTee;\u{1}⊥\u{2}\
UpTeeArrow;\u{1}↥\u{2}\
Uparrow;\u{1}⇑\u{2}\
Updownarrow;\u{1}⇕\u{2}\
UpperLeftArrow;\u{1}↖\u{2}\
UpperRightArrow;\u{1}↗\u{2}\
Upsi;\u{1}ϒ\u{2}\
Upsilon;\u{1}Υ\u{2}\
Uring;\u{1}Ů\u{2}\
Uscr;\u{1}𝒰\u{2}\
Utilde;\u{1}Ũ\u{2}\
Uuml\u{1}Ü\u{2}\
Uuml;\u{1}Ü\u{2}\
VDash;\u{1}⊫\u{2}\
Vbar;\u{1}⫫\u{2}\
Vcy;\u{1}В\u{2}\
Vdash;\u{1}⊩\u{2}\
Vdashl;\u{1}⫦\u{2}\
Vee;\u{1}⋁\u{2}\
Verbar;\u{1}‖\u{2}\
Vert;\u{1}‖\u{2}\
VerticalBar;\u{1}∣\u{2}\
VerticalLine;\u{1}|\u{2}\
VerticalSeparator;\u{1}❘\u{2}\
VerticalTilde;\u{1}≀\u{2}\
VeryThinSpace;\u{1}\u{200a}\u{2}\
Vfr;\u{1}𝔙\u{2}\
Vopf;\u{1}𝕍\u{2}\
Vscr;\u{1}𝒱\u{2}\
Vvdash;\u{1}⊪\u{2}\
Wcirc;\u{1}Ŵ\u{2}\
Wedge;\u{1}⋀\u{2}\
Wfr;\u{1}𝔚\u{2}\
Wopf;\u{1}𝕎\u{2}\
Wscr;\u{1}𝒲\u{2}\
Xfr;\u{1}𝔛\u{2}\
Xi;\u{1}Ξ\u{2}\
Xopf;\u{1}𝕏\u{2}\
Xscr;\u{1}𝒳\u{2}\
YAcy;\u{1}Я\u{2}\
YIcy;\u{1}Ї\u{2}\
YUcy;\u{1}Ю\u{2}\
Yacute\u{1}Ý\u{2}\
Yacute;\u{1}Ý\u{2}\
Ycirc;\u{1}Ŷ\u{2}\
Ycy;\u{1}Ы\u{2}\
Yfr;\u{1}𝔜\u{2}\
Yopf;\u{1}𝕐\u{2}\
Yscr;\u{1}𝒴\u{2}\
Yuml;\u{1}Ÿ\u{2}\
ZHcy;\u{1}Ж\u{2}\
Zacute;\u{1}Ź\u{2}\
Zcaron;\u{1}Ž\u{2}\
Zcy;\u{1}З\u{2}\
Zdot;\u{1}Ż\u{2}\
ZeroWidthSpace;\u{1}\u{200b}\u{2}\
Zeta;\u{1}Ζ\u{2}\
Zfr;\u{1}ℨ\u{2}\
Zopf;\u{1}ℤ\u{2}\
Zscr;\u{1}𝒵\u{2}\
aacute\u{1}á\u{2}\
aacute;\u{1}á\u{2}\
abreve;\u{1}ă\u{2}\
ac;\u{1}∾\u{2}\
acE;\u{1}∾\u{333}\u{2}\
acd;\u{1}∿\u{2}\
acirc\u{1}â\u{2}\
acirc;\u{1}â\u{2}\
acute\u{1}´\u{2}\
acute;\u{1}´\u{2}\
acy;\u{1}а\u{2}\
aelig\u{1}æ\u{2}\
aelig;\u{1}æ\u{2}\
af;\u{1}\u{2061}\u{2}\
afr;\u{1}𝔞\u{2}\
agrave\u{1}à\u{2}\
agrave;\u{1}à\u{2}\
alefsym;\u{1}ℵ\u{2}\
aleph;\u{1}ℵ\u{2}\
alpha;\u{1}α\u{2}\
amacr;\u{1}ā\u{2}\
amalg;\u{1}⨿\u{2}\
amp\u{1}&\u{2}\
amp;\u{1}&\u{2}\
and;\u{1}∧\u{2}\
andand;\u{1}⩕\u{2}\
andd;\u{1}⩜\u{2}\
andslope;\u{1}⩘\u{2}\
andv;\u{1}⩚\u{2}\
ang;\u{1}∠\u{2}\
ange;\u{1}⦤\u{2}\
angle;\u{1}∠\u{2}\
angmsd;\u{1}∡\u{2}\
angmsdaa;\u{1}⦨\u{2}\
angmsdab;\u{1}⦩\u{2}\
angmsdac;\u{1}⦪\u{2}\
angmsdad;\u{1}⦫\u{2}\
angmsdae;\u{1}⦬\u{2}\
angmsdaf;\u{1}⦭\u{2}\
angmsdag;\u{1}⦮\u{2}\
angmsdah;\u{1}⦯\u{2}\
angrt;\u{1}∟\u{2}\
angrtvb;\u{1}⊾\u{2}\
angrtvbd;\u{1}⦝\u{2}\
angsph;\u{1}∢\u{2}\
angst;\u{1}Å\u{2}\
angzarr;\u{1}⍼\u{2}\
aogon;\u{1}ą\u{2}\
aopf;\u{1}𝕒\u{2}\
ap;\u{1}≈\u{2}\
apE;\u{1}⩰\u{2}\
apacir;\u{1}⩯\u{2}\
ape;\u{1}≊\u{2}\
apid;\u{1}≋\u{2}\
apos;\u{1}'\u{2}\
approx;\u{1}≈\u{2}\
approxeq;\u{1}≊\u{2}\
aring\u{1}å\u{2}\
aring;\u{1}å\u{2}\
ascr;\u{1}𝒶\u{2}\
ast;\u{1}*\u{2}\
asymp;\u{1}≈\u{2}\
asympeq;\u{1}≍\u{2}\
atilde\u{1}ã\u{2}\
atilde;\u{1}ã\u{2}\
auml\u{1}ä\u{2}\
auml;\u{1}ä\u{2}\
awconint;\u{1}∳\u{2}\
awint;\u{1}⨑\u{2}\
bNot;\u{1}⫭\u{2}\
backcong;\u{1}≌\u{2}\
backepsilon;\u{1}϶\u{2}\
backprime;\u{1}‵\u{2}\
backsim;\u{1}∽\u{2}\
backsimeq;\u{1}⋍\u{2}\
barvee;\u{1}⊽\u{2}\
barwed;\u{1}⌅\u{2}\
barwedge;\u{1}⌅\u{2}\
bbrk;\u{1}⎵\u{2}\
bbrktbrk;\u{1}⎶\u{2}\
bcong;\u{1}≌\u{2}\
bcy;\u{1}б\u{2}\
bdquo;\u{1}„\u{2}\
becaus;\u{1}∵\u{2}\
because;\u{1}∵\u{2}\
bemptyv;\u{1}⦰\u{2}\
bepsi;\u{1}϶\u{2}\
bernou;\u{1}ℬ\u{2}\
beta;\u{1}β\u{2}\
beth;\u{1}ℶ\u{2}\
between;\u{1}≬\u{2}\
bfr;\u{1}𝔟\u{2}\
bigcap;\u{1}⋂\u{2}\
bigcirc;\u{1}◯\u{2}\
bigcup;\u{1}⋃\u{2}\
bigodot;\u{1}⨀\u{2}\
bigoplus;\u{1}⨁\u{2}\
bigotimes;\u{1}⨂\u{2}\
bigsqcup;\u{1}⨆\u{2}\
bigstar;\u{1}★\u{2}\
bigtriangledown;\u{1}▽\u{2}\
bigtriangleup;\u{1}△\u{2}\
biguplus;\u{1}⨄\u{2}\
bigvee;\u{1}⋁\u{2}\
bigwedge;\u{1}⋀\u{2}\
bkarow;\u{1}⤍\u{2}\
blacklozenge;\u{1}⧫\u{2}\
blacksquare;\u{1}▪\u{2}\
blacktriangle;\u{1}▴\u{2}\
blacktriangledown;\u{1}▾\u{2}\
blacktriangleleft;\u{1}◂\u{2}\
blacktriangleright;\u{1}▸\u{2}\
blank;\u{1}␣\u{2}\
blk12;\u{1}▒\u{2}\
blk14;\u{1}░\u{2}\
blk34;\u{1}▓\u{2}\
block;\u{1}█\u{2}\
bne;\u{1}=\u{20e5}\u{2}\
bnequiv;\u{1}≡\u{20e5}\u{2}\
bnot;\u{1}⌐\u{2}\
bopf;\u{1}𝕓\u{2}\
bot;\u{1}⊥\u{2}\
bottom;\u{1}⊥\u{2}\
bowtie;\u{1}⋈\u{2}\
boxDL;\u{1}╗\u{2}\
boxDR;\u{1}╔\u{2}\
boxDl;\u{1}╖\u{2}\
boxDr;\u{1}╓\u{2}\
boxH;\u{1}═\u{2}\
boxHD;\u{1}╦\u{2}\
boxHU;\u{1}╩\u{2}\
boxHd;\u{1}╤\u{2}\
boxHu;\u{1}╧\u{2}\
boxUL;\u{1}╝\u{2}\
boxUR;\u{1}╚\u{2}\
boxUl;\u{1}╜\u{2}\
boxUr;\u{1}╙\u{2}\
boxV;\u{1}║\u{2}\
boxVH;\u{1}╬\u{2}\
boxVL;\u{1}╣\u{2}\
boxVR;\u{1}╠\u{2}\
boxVh;\u{1}╫\u{2}\
boxVl;\u{1}╢\u{2}\
boxVr;\u{1}╟\u{2}\
boxbox;\u{1}⧉\u{2}\
boxdL;\u{1}╕\u{2}\
boxdR;\u{1}╒\u{2}\
boxdl;\u{1}┐\u{2}\
boxdr;\u{1}┌\u{2}\
boxh;\u{1}─\u{2}\
boxhD;\u{1}╥\u{2}\
boxhU;\u{1}╨\u{2}\
boxhd;\u{1}┬\u{2}\
boxhu;\u{1}┴\u{2}\
boxminus;\u{1}⊟\u{2}\
boxplus;\u{1}⊞\u{2}\
boxtimes;\u{1}⊠\u{2}\
boxuL;\u{1}╛\u{2}\
boxuR;\u{1}╘\u{2}\
boxul;\u{1}┘\u{2}\
boxur;\u{1}└\u{2}\
boxv;\u{1}│\u{2}\
boxvH;\u{1}╪\u{2}\
boxvL;\u{1}╡\u{2}\
boxvR;\u{1}╞\u{2}\
boxvh;\u{1}┼\u{2}\
boxvl;\u{1}┤\u{2}\
boxvr;\u{1}├\u{2}\
bprime;\u{1}‵\u{2}\
breve;\u{1}˘\u{2}\
brvbar\u{1}¦\u{2}\
brvbar;\u{1}¦\u{2}\
bscr;\u{1}𝒷\u{2}\
bsemi;\u{1}⁏\u{2}\
bsim;\u{1}∽\u{2}\
bsime;\u{1}⋍\u{2}\
bsol;\u{1}\u{5c}\u{2}\
bsolb;\u{1}⧅\u{2}\
bsolhsub;\u{1}⟈\u{2}\
bull;\u{1}•\u{2}\
bullet;\u{1}•\u{2}\
bump;\u{1}≎\u{2}\
bumpE;\u{1}⪮\u{2}\
bumpe;\u{1}≏\u{2}\
bumpeq;\u{1}≏\u{2}\
cacute;\u{1}ć\u{2}\
cap;\u{1}∩\u{2}\
capand;\u{1}⩄\u{2}\
capbrcup;\u{1}⩉\u{2}\
capcap;\u{1}⩋\u{2}\
capcup;\u{1}⩇\u{2}\
capdot;\u{1}⩀\u{2}\
caps;\u{1}∩\u{fe00}\u{2}\
caret;\u{1}⁁\u{2}\
caron;\u{1}ˇ\u{2}\
ccaps;\u{1}⩍\u{2}\
ccaron;\u{1}č\u{2}\
ccedil\u{1}ç\u{2}\
ccedil;\u{1}ç\u{2}\
ccirc;\u{1}ĉ\u{2}\
ccups;\u{1}⩌\u{2}\
ccupssm;\u{1}⩐\u{2}\
cdot;\u{1}ċ\u{2}\
cedil\u{1}¸\u{2}\
cedil;\u{1}¸\u{2}\
cemptyv;\u{1}⦲\u{2}\
cent\u{1}¢\u{2}\
cent;\u{1}¢\u{2}\
centerdot;\u{1}·\u{2}\
cfr;\u{1}𝔠\u{2}\
chcy;\u{1}ч\u{2}\
check;\u{1}✓\u{2}\
checkmark;\u{1}✓\u{2}\
chi;\u{1}χ\u{2}\
cir;\u{1}○\u{2}\
cirE;\u{1}⧃\u{2}\
circ;\u{1}ˆ\u{2}\
circeq;\u{1}≗\u{2}\
circlearrowleft;\u{1}↺\u{2}\
circlearrowright;\u{1}↻\u{2}\
circledR;\u{1}®\u{2}\
circledS;\u{1}Ⓢ\u{2}\
circledast;\u{1}⊛\u{2}\
circledcirc;\u{1}⊚\u{2}\
circleddash;\u{1}⊝\u{2}\
cire;\u{1}≗\u{2}\
cirfnint;\u{1}⨐\u{2}\
cirmid;\u{1}⫯\u{2}\
cirscir;\u{1}⧂\u{2}\
clubs;\u{1}♣\u{2}\
clubsuit;\u{1}♣\u{2}\
colon;\u{1}:\u{2}\
colone;\u{1}≔\u{2}\
coloneq;\u{1}≔\u{2}\
comma;\u{1},\u{2}\
commat;\u{1}@\u{2}\
comp;\u{1}∁\u{2}\
compfn;\u{1}∘\u{2}\
complement;\u{1}∁\u{2}\
complexes;\u{1}ℂ\u{2}\
cong;\u{1}≅\u{2}\
congdot;\u{1}⩭\u{2}\
conint;\u{1}∮\u{2}\
copf;\u{1}𝕔\u{2}\
coprod;\u{1}∐\u{2}\
copy\u{1}©\u{2}\
copy;\u{1}©\u{2}\
copysr;\u{1}℗\u{2}\
crarr;\u{1}↵\u{2}\
cross;\u{1}✗\u{2}\
cscr;\u{1}𝒸\u{2}\
csub;\u{1}⫏\u{2}\
csube;\u{1}⫑\u{2}\
csup;\u{1}⫐\u{2}\
csupe;\u{1}⫒\u{2}\
ctdot;\u{1}⋯\u{2}\
cudarrl;\u{1}⤸\u{2}\
cudarrr;\u{1}⤵\u{2}\
cuepr;\u{1}⋞\u{2}\
cuesc;\u{1}⋟\u{2}\
cularr;\u{1}↶\u{2}\
cularrp;\u{1}⤽\u{2}\
cup;\u{1}∪\u{2}\
cupbrcap;\u{1}⩈\u{2}\
cupcap;\u{1}⩆\u{2}\
cupcup;\u{1}⩊\u{2}\
cupdot;\u{1}⊍\u{2}\
cupor;\u{1}⩅\u{2}\
cups;\u{1}∪\u{fe00}\u{2}\
curarr;\u{1}↷\u{2}\
curarrm;\u{1}⤼\u{2}\
curlyeqprec;\u{1}⋞\u{2}\
curlyeqsucc;\u{1}⋟\u{2}\
curlyvee;\u{1}⋎\u{2}\
curlywedge;\u{1}⋏\u{2}\
curren\u{1}¤\u{2}\
curren;\u{1}¤\u{2}\
curvearrowleft;\u{1}↶\u{2}\
curvearrowright;\u{1}↷\u{2}\
cuvee;\u{1}⋎\u{2}\
cuwed;\u{1}⋏\u{2}\
cwconint;\u{1}∲\u{2}\
cwint;\u{1}∱\u{2}\
cylcty;\u{1}⌭\u{2}\
dArr;\u{1}⇓\u{2}\
dHar;\u{1}⥥\u{2}\
dagger;\u{1}†\u{2}\
daleth;\u{1}ℸ\u{2}\
darr;\u{1}↓\u{2}\
dash;\u{1}‐\u{2}\
dashv;\u{1}⊣\u{2}\
dbkarow;\u{1}⤏\u{2}\
dblac;\u{1}˝\u{2}\
dcaron;\u{1}ď\u{2}\
dcy;\u{1}д\u{2}\
dd;\u{1}ⅆ\u{2}\
ddagger;\u{1}‡\u{2}\
ddarr;\u{1}⇊\u{2}\
ddotseq;\u{1}⩷\u{2}\
deg\u{1}°\u{2}\
deg;\u{1}°\u{2}\
delta;\u{1}δ\u{2}\
demptyv;\u{1}⦱\u{2}\
dfisht;\u{1}⥿\u{2}\
dfr;\u{1}𝔡\u{2}\
dharl;\u{1}⇃\u{2}\
dharr;\u{1}⇂\u{2}\
diam;\u{1}⋄\u{2}\
diamond;\u{1}⋄\u{2}\
diamondsuit;\u{1}♦\u{2}\
diams;\u{1}♦\u{2}\
die;\u{1}¨\u{2}\
digamma;\u{1}ϝ\u{2}\
disin;\u{1}⋲\u{2}\
div;\u{1}÷\u{2}\
divide\u{1}÷\u{2}\
divide;\u{1}÷\u{2}\
divideontimes;\u{1}⋇\u{2}\
divonx;\u{1}⋇\u{2}\
djcy;\u{1}ђ\u{2}\
dlcorn;\u{1}⌞\u{2}\
dlcrop;\u{1}⌍\u{2}\
dollar;\u{1}$\u{2}\
dopf;\u{1}𝕕\u{2}\
dot;\u{1}˙\u{2}\
doteq;\u{1}≐\u{2}\
doteqdot;\u{1}≑\u{2}\
dotminus;\u{1}∸\u{2}\
dotplus;\u{1}∔\u{2}\
dotsquare;\u{1}⊡\u{2}\
doublebarwedge;\u{1}⌆\u{2}\
downarrow;\u{1}↓\u{2}\
downdownarrows;\u{1}⇊\u{2}\
downharpoonleft;\u{1}⇃\u{2}\
downharpoonright;\u{1}⇂\u{2}\
drbkarow;\u{1}⤐\u{2}\
drcorn;\u{1}⌟\u{2}\
drcrop;\u{1}⌌\u{2}\
dscr;\u{1}𝒹\u{2}\
dscy;\u{1}ѕ\u{2}\
dsol;\u{1}⧶\u{2}\
dstrok;\u{1}đ\u{2}\
dtdot;\u{1}⋱\u{2}\
dtri;\u{1}▿\u{2}\
dtrif;\u{1}▾\u{2}\
duarr;\u{1}⇵\u{2}\
duhar;\u{1}⥯\u{2}\
dwangle;\u{1}⦦\u{2}\
dzcy;\u{1}џ\u{2}\
dzigrarr;\u{1}⟿\u{2}\
eDDot;\u{1}⩷\u{2}\
eDot;\u{1}≑\u{2}\
eacute\u{1}é\u{2}\
eacute;\u{1}é\u{2}\
easter;\u{1}⩮\u{2}\
ecaron;\u{1}ě\u{2}\
ecir;\u{1}≖\u{2}\
ecirc\u{1}ê\u{2}\
ecirc;\u{1}ê\u{2}\
ecolon;\u{1}≕\u{2}\
ecy;\u{1}э\u{2}\
edot;\u{1}ė\u{2}\
ee;\u{1}ⅇ\u{2}\
efDot;\u{1}≒\u{2}\
efr;\u{1}𝔢\u{2}\
eg;\u{1}⪚\u{2}\
egrave\u{1}è\u{2}\
egrave;\u{1}è\u{2}\
egs;\u{1}⪖\u{2}\
egsdot;\u{1}⪘\u{2}\
el;\u{1}⪙\u{2}\
elinters;\u{1}⏧\u{2}\
ell;\u{1}ℓ\u{2}\
els;\u{1}⪕\u{2}\
elsdot;\u{1}⪗\u{2}\
emacr;\u{1}ē\u{2}\
empty;\u{1}∅\u{2}\
emptyset;\u{1}∅\u{2}\
emptyv;\u{1}∅\u{2}\
emsp13;\u{1}\u{2004}\u{2}\
emsp14;\u{1}\u{2005}\u{2}\
emsp;\u{1}\u{2003}\u{2}\
eng;\u{1}ŋ\u{2}\
ensp;\u{1}\u{2002}\u{2}\
eogon;\u{1}ę\u{2}\
eopf;\u{1}𝕖\u{2}\
epar;\u{1}⋕\u{2}\
eparsl;\u{1}⧣\u{2}\
eplus;\u{1}⩱\u{2}\
epsi;\u{1}ε\u{2}\
epsilon;\u{1}ε\u{2}\
epsiv;\u{1}ϵ\u{2}\
eqcirc;\u{1}≖\u{2}\
eqcolon;\u{1}≕\u{2}\
eqsim;\u{1}≂\u{2}\
eqslantgtr;\u{1}⪖\u{2}\
eqslantless;\u{1}⪕\u{2}\
equals;\u{1}=\u{2}\
equest;\u{1}≟\u{2}\
equiv;\u{1}≡\u{2}\
equivDD;\u{1}⩸\u{2}\
eqvparsl;\u{1}⧥\u{2}\
erDot;\u{1}≓\u{2}\
erarr;\u{1}⥱\u{2}\
escr;\u{1}ℯ\u{2}\
esdot;\u{1}≐\u{2}\
esim;\u{1}≂\u{2}\
eta;\u{1}η\u{2}\
eth\u{1}ð\u{2}\
eth;\u{1}ð\u{2}\
euml\u{1}ë\u{2}\
euml;\u{1}ë\u{2}\
euro;\u{1}€\u{2}\
excl;\u{1}!\u{2}\
exist;\u{1}∃\u{2}\
expectation;\u{1}ℰ\u{2}\
exponentiale;\u{1}ⅇ\u{2}\
fallingdotseq;\u{1}≒\u{2}\
fcy;\u{1}ф\u{2}\
female;\u{1}♀\u{2}\
ffilig;\u{1}ﬃ\u{2}\
fflig;\u{1}ﬀ\u{2}\
ffllig;\u{1}ﬄ\u{2}\
ffr;\u{1}𝔣\u{2}\
filig;\u{1}ﬁ\u{2}\
fjlig;\u{1}fj\u{2}\
flat;\u{1}♭\u{2}\
fllig;\u{1}ﬂ\u{2}\
fltns;\u{1}▱\u{2}\
fnof;\u{1}ƒ\u{2}\
fopf;\u{1}𝕗\u{2}\
forall;\u{1}∀\u{2}\
fork;\u{1}⋔\u{2}\
forkv;\u{1}⫙\u{2}\
fpartint;\u{1}⨍\u{2}\
frac12\u{1}½\u{2}\
frac12;\u{1}½\u{2}\
frac13;\u{1}⅓\u{2}\
frac14\u{1}¼\u{2}\
frac14;\u{1}¼\u{2}\
frac15;\u{1}⅕\u{2}\
frac16;\u{1}⅙\u{2}\
frac18;\u{1}⅛\u{2}\
frac23;\u{1}⅔\u{2}\
frac25;\u{1}⅖\u{2}\
frac34\u{1}¾\u{2}\
frac34;\u{1}¾\u{2}\
frac35;\u{1}⅗\u{2}\
frac38;\u{1}⅜\u{2}\
frac45;\u{1}⅘\u{2}\
frac56;\u{1}⅚\u{2}\
frac58;\u{1}⅝\u{2}\
frac78;\u{1}⅞\u{2}\
frasl;\u{1}⁄\u{2}\
frown;\u{1}⌢\u{2}\
fscr;\u{1}𝒻\u{2}\
gE;\u{1}≧\u{2}\
gEl;\u{1}⪌\u{2}\
gacute;\u{1}ǵ\u{2}\
gamma;\u{1}γ\u{2}\
gammad;\u{1}ϝ\u{2}\
gap;\u{1}⪆\u{2}\
gbreve;\u{1}ğ\u{2}\
gcirc;\u{1}ĝ\u{2}\
gcy;\u{1}г\u{2}\
gdot;\u{1}ġ\u{2}\
ge;\u{1}≥\u{2}\
gel;\u{1}⋛\u{2}\
geq;\u{1}≥\u{2}\
geqq;\u{1}≧\u{2}\
geqslant;\u{1}⩾\u{2}\
ges;\u{1}⩾\u{2}\
gescc;\u{1}⪩\u{2}\
gesdot;\u{1}⪀\u{2}\
gesdoto;\u{1}⪂\u{2}\
gesdotol;\u{1}⪄\u{2}\
gesl;\u{1}⋛\u{fe00}\u{2}\
gesles;\u{1}⪔\u{2}\
gfr;\u{1}𝔤\u{2}\
gg;\u{1}≫\u{2}\
ggg;\u{1}⋙\u{2}\
gimel;\u{1}ℷ\u{2}\
gjcy;\u{1}ѓ\u{2}\
gl;\u{1}≷\u{2}\
glE;\u{1}⪒\u{2}\
gla;\u{1}⪥\u{2}\
glj;\u{1}⪤\u{2}\
gnE;\u{1}≩\u{2}\
gnap;\u{1}⪊\u{2}\
gnapprox;\u{1}⪊\u{2}\
gne;\u{1}⪈\u{2}\
gneq;\u{1}⪈\u{2}\
gneqq;\u{1}≩\u{2}\
gnsim;\u{1}⋧\u{2}\
gopf;\u{1}𝕘\u{2}\
grave;\u{1}`\u{2}\
gscr;\u{1}ℊ\u{2}\
gsim;\u{1}≳\u{2}\
gsime;\u{1}⪎\u{2}\
gsiml;\u{1}⪐\u{2}\
gt\u{1}>\u{2}\
gt;\u{1}>\u{2}\
gtcc;\u{1}⪧\u{2}\
gtcir;\u{1}⩺\u{2}\
gtdot;\u{1}⋗\u{2}\
gtlPar;\u{1}⦕\u{2}\
gtquest;\u{1}⩼\u{2}\
gtrapprox;\u{1}⪆\u{2}\
gtrarr;\u{1}⥸\u{2}\
gtrdot;\u{1}⋗\u{2}\
gtreqless;\u{1}⋛\u{2}\
gtreqqless;\u{1}⪌\u{2}\
gtrless;\u{1}≷\u{2}\
gtrsim;\u{1}≳\u{2}\
gvertneqq;\u{1}≩\u{fe00}\u{2}\
gvnE;\u{1}≩\u{fe00}\u{2}\
hArr;\u{1}⇔\u{2}\
hairsp;\u{1}\u{200a}\u{2}\
half;\u{1}½\u{2}\
hamilt;\u{1}ℋ\u{2}\
hardcy;\u{1}ъ\u{2}\
harr;\u{1}↔\u{2}\
harrcir;\u{1}⥈\u{2}\
harrw;\u{1}↭\u{2}\
hbar;\u{1}ℏ\u{2}\
hcirc;\u{1}ĥ\u{2}\
hearts;\u{1}♥\u{2}\
heartsuit;\u{1}♥\u{2}\
hellip;\u{1}…\u{2}\
hercon;\u{1}⊹\u{2}\
hfr;\u{1}𝔥\u{2}\
hksearow;\u{1}⤥\u{2}\
hkswarow;\u{1}⤦\u{2}\
hoarr;\u{1}⇿\u{2}\
homtht;\u{1}∻\u{2}\
hookleftarrow;\u{1}↩\u{2}\
hookrightarrow;\u{1}↪\u{2}\
hopf;\u{1}𝕙\u{2}\
horbar;\u{1}―\u{2}\
hscr;\u{1}𝒽\u{2}\
hslash;\u{1}ℏ\u{2}\
hstrok;\u{1}ħ\u{2}\
hybull;\u{1}⁃\u{2}\
hyphen;\u{1}‐\u{2}\
iacute\u{1}í\u{2}\
iacute;\u{1}í\u{2}\
ic;\u{1}\u{2063}\u{2}\
icirc\u{1}î\u{2}\
icirc;\u{1}î\u{2}\
icy;\u{1}и\u{2}\
iecy;\u{1}е\u{2}\
iexcl\u{1}¡\u{2}\
iexcl;\u{1}¡\u{2}\
iff;\u{1}⇔\u{2}\
ifr;\u{1}𝔦\u{2}\
igrave\u{1}ì\u{2}\
igrave;\u{1}ì\u{2}\
ii;\u{1}ⅈ\u{2}\
iiiint;\u{1}⨌\u{2}\
iiint;\u{1}∭\u{2}\
iinfin;\u{1}⧜\u{2}\
iiota;\u{1}℩\u{2}\
ijlig;\u{1}ĳ\u{2}\
imacr;\u{1}ī\u{2}\
image;\u{1}ℑ\u{2}\
imagline;\u{1}ℐ\u{2}\
imagpart;\u{1}ℑ\u{2}\
imath;\u{1}ı\u{2}\
imof;\u{1}⊷\u{2}\
imped;\u{1}Ƶ\u{2}\
in;\u{1}∈\u{2}\
incare;\u{1}℅\u{2}\
infin;\u{1}∞\u{2}\
infintie;\u{1}⧝\u{2}\
inodot;\u{1}ı\u{2}\
int;\u{1}∫\u{2}\
intcal;\u{1}⊺\u{2}\
integers;\u{1}ℤ\u{2}\
intercal;\u{1}⊺\u{2}\
intlarhk;\u{1}⨗\u{2}\
intprod;\u{1}⨼\u{2}\
iocy;\u{1}ё\u{2}\
iogon;\u{1}į\u{2}\
iopf;\u{1}𝕚\u{2}\
iota;\u{1}ι\u{2}\
iprod;\u{1}⨼\u{2}\
iquest\u{1}¿\u{2}\
iquest;\u{1}¿\u{2}\
iscr;\u{1}𝒾\u{2}\
isin;\u{1}∈\u{2}\
isinE;\u{1}⋹\u{2}\
isindot;\u{1}⋵\u{2}\
isins;\u{1}⋴\u{2}\
isinsv;\u{1}⋳\u{2}\
isinv;\u{1}∈\u{2}\
it;\u{1}\u{2062}\u{2}\
itilde;\u{1}ĩ\u{2}\
iukcy;\u{1}і\u{2}\
iuml\u{1}ï\u{2}\
iuml;\u{1}ï\u{2}\
jcirc;\u{1}ĵ\u{2}\
jcy;\u{1}й\u{2}\
jfr;\u{1}𝔧\u{2}\
jmath;\u{1}ȷ\u{2}\
jopf;\u{1}𝕛\u{2}\
jscr;\u{1}𝒿\u{2}\
jsercy;\u{1}ј\u{2}\
jukcy;\u{1}є\u{2}\
kappa;\u{1}κ\u{2}\
kappav;\u{1}ϰ\u{2}\
kcedil;\u{1}ķ\u{2}\
kcy;\u{1}к\u{2}\
kfr;\u{1}𝔨\u{2}\
kgreen;\u{1}ĸ\u{2}\
khcy;\u{1}х\u{2}\
kjcy;\u{1}ќ\u{2}\
kopf;\u{1}𝕜\u{2}\
kscr;\u{1}𝓀\u{2}\
lAarr;\u{1}⇚\u{2}\
lArr;\u{1}⇐\u{2}\
lAtail;\u{1}⤛\u{2}\
lBarr;\u{1}⤎\u{2}\
lE;\u{1}≦\u{2}\
lEg;\u{1}⪋\u{2}\
lHar;\u{1}⥢\u{2}\
lacute;\u{1}ĺ\u{2}\
laemptyv;\u{1}⦴\u{2}\
lagran;\u{1}ℒ\u{2}\
lambda;\u{1}λ\u{2}\
lang;\u{1}⟨\u{2}\
langd;\u{1}⦑\u{2}\
langle;\u{1}⟨\u{2}\
lap;\u{1}⪅\u{2}\
laquo\u{1}«\u{2}\
laquo;\u{1}«\u{2}\
larr;\u{1}←\u{2}\
larrb;\u{1}⇤\u{2}\
larrbfs;\u{1}⤟\u{2}\
larrfs;\u{1}⤝\u{2}\
larrhk;\u{1}↩\u{2}\
larrlp;\u{1}↫\u{2}\
larrpl;\u{1}⤹\u{2}\
larrsim;\u{1}⥳\u{2}\
larrtl;\u{1}↢\u{2}\
lat;\u{1}⪫\u{2}\
latail;\u{1}⤙\u{2}\
late;\u{1}⪭\u{2}\
lates;\u{1}⪭\u{fe00}\u{2}\
lbarr;\u{1}⤌\u{2}\
lbbrk;\u{1}❲\u{2}\
lbrace;\u{1}\u{7b}\u{2}\
lbrack;\u{1}[\u{2}\
lbrke;\u{1}⦋\u{2}\
lbrksld;\u{1}⦏\u{2}\
lbrkslu;\u{1}⦍\u{2}\
lcaron;\u{1}ľ\u{2}\
lcedil;\u{1}ļ\u{2}\
lceil;\u{1}⌈\u{2}\
lcub;\u{1}\u{7b}\u{2}\
lcy;\u{1}л\u{2}\
ldca;\u{1}⤶\u{2}\
ldquo;\u{1}“\u{2}\
ldquor;\u{1}„\u{2}\
ldrdhar;\u{1}⥧\u{2}\
ldrushar;\u{1}⥋\u{2}\
ldsh;\u{1}↲\u{2}\
le;\u{1}≤\u{2}\
leftarrow;\u{1}←\u{2}\
leftarrowtail;\u{1}↢\u{2}\
leftharpoondown;\u{1}↽\u{2}\
leftharpoonup;\u{1}↼\u{2}\
leftleftarrows;\u{1}⇇\u{2}\
leftrightarrow;\u{1}↔\u{2}\
leftrightarrows;\u{1}⇆\u{2}\
leftrightharpoons;\u{1}⇋\u{2}\
leftrightsquigarrow;\u{1}↭\u{2}\
leftthreetimes;\u{1}⋋\u{2}\
leg;\u{1}⋚\u{2}\
leq;\u{1}≤\u{2}\
leqq;\u{1}≦\u{2}\
leqslant;\u{1}⩽\u{2}\
les;\u{1}⩽\u{2}\
lescc;\u{1}⪨\u{2}\
lesdot;\u{1}⩿\u{2}\
lesdoto;\u{1}⪁\u{2}\
lesdotor;\u{1}⪃\u{2}\
lesg;\u{1}⋚\u{fe00}\u{2}\
lesges;\u{1}⪓\u{2}\
lessapprox;\u{1}⪅\u{2}\
lessdot;\u{1}⋖\u{2}\
lesseqgtr;\u{1}⋚\u{2}\
lesseqqgtr;\u{1}⪋\u{2}\
lessgtr;\u{1}≶\u{2}\
lesssim;\u{1}≲\u{2}\
lfisht;\u{1}⥼\u{2}\
lfloor;\u{1}⌊\u{2}\
lfr;\u{1}𝔩\u{2}\
lg;\u{1}≶\u{2}\
lgE;\u{1}⪑\u{2}\
lhard;\u{1}↽\u{2}\
lharu;\u{1}↼\u{2}\
lharul;\u{1}⥪\u{2}\
lhblk;\u{1}▄\u{2}\
ljcy;\u{1}љ\u{2}\
ll;\u{1}≪\u{2}\
llarr;\u{1}⇇\u{2}\
llcorner;\u{1}⌞\u{2}\
llhard;\u{1}⥫\u{2}\
lltri;\u{1}◺\u{2}\
lmidot;\u{1}ŀ\u{2}\
lmoust;\u{1}⎰\u{2}\
lmoustache;\u{1}⎰\u{2}\
lnE;\u{1}≨\u{2}\
lnap;\u{1}⪉\u{2}\
lnapprox;\u{1}⪉\u{2}\
lne;\u{1}⪇\u{2}\
lneq;\u{1}⪇\u{2}\
lneqq;\u{1}≨\u{2}\
lnsim;\u{1}⋦\u{2}\
loang;\u{1}⟬\u{2}\
loarr;\u{1}⇽\u{2}\
lobrk;\u{1}⟦\u{2}\
longleftarrow;\u{1}⟵\u{2}\
longleftrightarrow;\u{1}⟷\u{2}\
longmapsto;\u{1}⟼\u{2}\
longrightarrow;\u{1}⟶\u{2}\
looparrowleft;\u{1}↫\u{2}\
looparrowright;\u{1}↬\u{2}\
lopar;\u{1}⦅\u{2}\
lopf;\u{1}𝕝\u{2}\
loplus;\u{1}⨭\u{2}\
lotimes;\u{1}⨴\u{2}\
lowast;\u{1}∗\u{2}\
lowbar;\u{1}_\u{2}\
loz;\u{1}◊\u{2}\
lozenge;\u{1}◊\u{2}\
lozf;\u{1}⧫\u{2}\
lpar;\u{1}(\u{2}\
lparlt;\u{1}⦓\u{2}\
lrarr;\u{1}⇆\u{2}\
lrcorner;\u{1}⌟\u{2}\
lrhar;\u{1}⇋\u{2}\
lrhard;\u{1}⥭\u{2}\
lrm;\u{1}\u{200e}\u{2}\
lrtri;\u{1}⊿\u{2}\
lsaquo;\u{1}‹\u{2}\
lscr;\u{1}𝓁\u{2}\
lsh;\u{1}↰\u{2}\
lsim;\u{1}≲\u{2}\
lsime;\u{1}⪍\u{2}\
lsimg;\u{1}⪏\u{2}\
lsqb;\u{1}[\u{2}\
lsquo;\u{1}‘\u{2}\
lsquor;\u{1}‚\u{2}\
lstrok;\u{1}ł\u{2}\
lt\u{1}<\u{2}\
lt;\u{1}<\u{2}\
ltcc;\u{1}⪦\u{2}\
ltcir;\u{1}⩹\u{2}\
ltdot;\u{1}⋖\u{2}\
lthree;\u{1}⋋\u{2}\
ltimes;\u{1}⋉\u{2}\
ltlarr;\u{1}⥶\u{2}\
ltquest;\u{1}⩻\u{2}\
ltrPar;\u{1}⦖\u{2}\
ltri;\u{1}◃\u{2}\
ltrie;\u{1}⊴\u{2}\
ltrif;\u{1}◂\u{2}\
lurdshar;\u{1}⥊\u{2}\
luruhar;\u{1}⥦\u{2}\
lvertneqq;\u{1}≨\u{fe00}\u{2}\
lvnE;\u{1}≨\u{fe00}\u{2}\
mDDot;\u{1}∺\u{2}\
macr\u{1}¯\u{2}\
macr;\u{1}¯\u{2}\
male;\u{1}♂\u{2}\
malt;\u{1}✠\u{2}\
maltese;\u{1}✠\u{2}\
map;\u{1}↦\u{2}\
mapsto;\u{1}↦\u{2}\
mapstodown;\u{1}↧\u{2}\
mapstoleft;\u{1}↤\u{2}\
mapstoup;\u{1}↥\u{2}\
marker;\u{1}▮\u{2}\
mcomma;\u{1}⨩\u{2}\
mcy;\u{1}м\u{2}\
mdash;\u{1}—\u{2}\
measuredangle;\u{1}∡\u{2}\
mfr;\u{1}𝔪\u{2}\
mho;\u{1}℧\u{2}\
micro\u{1}µ\u{2}\
micro;\u{1}µ\u{2}\
mid;\u{1}∣\u{2}\
midast;\u{1}*\u{2}\
midcir;\u{1}⫰\u{2}\
middot\u{1}·\u{2}\
middot;\u{1}·\u{2}\
minus;\u{1}−\u{2}\
minusb;\u{1}⊟\u{2}\
minusd;\u{1}∸\u{2}\
minusdu;\u{1}⨪\u{2}\
mlcp;\u{1}⫛\u{2}\
mldr;\u{1}…\u{2}\
mnplus;\u{1}∓\u{2}\
models;\u{1}⊧\u{2}\
mopf;\u{1}𝕞\u{2}\
mp;\u{1}∓\u{2}\
mscr;\u{1}𝓂\u{2}\
mstpos;\u{1}∾\u{2}\
mu;\u{1}μ\u{2}\
multimap;\u{1}⊸\u{2}\
mumap;\u{1}⊸\u{2}\
nGg;\u{1}⋙\u{338}\u{2}\
nGt;\u{1}≫\u{20d2}\u{2}\
nGtv;\u{1}≫\u{338}\u{2}\
nLeftarrow;\u{1}⇍\u{2}\
nLeftrightarrow;\u{1}⇎\u{2}\
nLl;\u{1}⋘\u{338}\u{2}\
nLt;\u{1}≪\u{20d2}\u{2}\
nLtv;\u{1}≪\u{338}\u{2}\
nRightarrow;\u{1}⇏\u{2}\
nVDash;\u{1}⊯\u{2}\
nVdash;\u{1}⊮\u{2}\
nabla;\u{1}∇\u{2}\
nacute;\u{1}ń\u{2}\
nang;\u{1}∠\u{20d2}\u{2}\
nap;\u{1}≉\u{2}\
napE;\u{1}⩰\u{338}\u{2}\
napid;\u{1}≋\u{338}\u{2}\
napos;\u{1}ŉ\u{2}\
napprox;\u{1}≉\u{2}\
natur;\u{1}♮\u{2}\
natural;\u{1}♮\u{2}\
naturals;\u{1}ℕ\u{2}\
nbsp\u{1}\u{a0}\u{2}\
nbsp;\u{1}\u{a0}\u{2}\
nbump;\u{1}≎\u{338}\u{2}\
nbumpe;\u{1}≏\u{338}\u{2}\
ncap;\u{1}⩃\u{2}\
ncaron;\u{1}ň\u{2}\
ncedil;\u{1}ņ\u{2}\
ncong;\u{1}≇\u{2}\
ncongdot;\u{1}⩭\u{338}\u{2}\
ncup;\u{1}⩂\u{2}\
ncy;\u{1}н\u{2}\
ndash;\u{1}–\u{2}\
ne;\u{1}≠\u{2}\
neArr;\u{1}⇗\u{2}\
nearhk;\u{1}⤤\u{2}\
nearr;\u{1}↗\u{2}\
nearrow;\u{1}↗\u{2}\
nedot;\u{1}≐\u{338}\u{2}\
nequiv;\u{1}≢\u{2}\
nesear;\u{1}⤨\u{2}\
nesim;\u{1}≂\u{338}\u{2}\
nexist;\u{1}∄\u{2}\
nexists;\u{1}∄\u{2}\
nfr;\u{1}𝔫\u{2}\
ngE;\u{1}≧\u{338}\u{2}\
nge;\u{1}≱\u{2}\
ngeq;\u{1}≱\u{2}\
ngeqq;\u{1}≧\u{338}\u{2}\
ngeqslant;\u{1}⩾\u{338}\u{2}\
nges;\u{1}⩾\u{338}\u{2}\
ngsim;\u{1}≵\u{2}\
ngt;\u{1}≯\u{2}\
ngtr;\u{1}≯\u{2}\
nhArr;\u{1}⇎\u{2}\
nharr;\u{1}↮\u{2}\
nhpar;\u{1}⫲\u{2}\
ni;\u{1}∋\u{2}\
nis;\u{1}⋼\u{2}\
nisd;\u{1}⋺\u{2}\
niv;\u{1}∋\u{2}\
njcy;\u{1}њ\u{2}\
nlArr;\u{1}⇍\u{2}\
nlE;\u{1}≦\u{338}\u{2}\
nlarr;\u{1}↚\u{2}\
nldr;\u{1}‥\u{2}\
nle;\u{1}≰\u{2}\
nleftarrow;\u{1}↚\u{2}\
nleftrightarrow;\u{1}↮\u{2}\
nleq;\u{1}≰\u{2}\
nleqq;\u{1}≦\u{338}\u{2}\
nleqslant;\u{1}⩽\u{338}\u{2}\
nles;\u{1}⩽\u{338}\u{2}\
nless;\u{1}≮\u{2}\
nlsim;\u{1}≴\u{2}\
nlt;\u{1}≮\u{2}\
nltri;\u{1}⋪\u{2}\
nltrie;\u{1}⋬\u{2}\
nmid;\u{1}∤\u{2}\
nopf;\u{1}𝕟\u{2}\
not\u{1}¬\u{2}\
not;\u{1}¬\u{2}\
notin;\u{1}∉\u{2}\
notinE;\u{1}⋹\u{338}\u{2}\
notindot;\u{1}⋵\u{338}\u{2}\
notinva;\u{1}∉\u{2}\
notinvb;\u{1}⋷\u{2}\
notinvc;\u{1}⋶\u{2}\
notni;\u{1}∌\u{2}\
notniva;\u{1}∌\u{2}\
notnivb;\u{1}⋾\u{2}\
notnivc;\u{1}⋽\u{2}\
npar;\u{1}∦\u{2}\
nparallel;\u{1}∦\u{2}\
nparsl;\u{1}⫽\u{20e5}\u{2}\
npart;\u{1}∂\u{338}\u{2}\
npolint;\u{1}⨔\u{2}\
npr;\u{1}⊀\u{2}\
nprcue;\u{1}⋠\u{2}\
npre;\u{1}⪯\u{338}\u{2}\
nprec;\u{1}⊀\u{2}\
npreceq;\u{1}⪯\u{338}\u{2}\
nrArr;\u{1}⇏\u{2}\
nrarr;\u{1}↛\u{2}\
nrarrc;\u{1}⤳\u{338}\u{2}\
nrarrw;\u{1}↝\u{338}\u{2}\
nrightarrow;\u{1}↛\u{2}\
nrtri;\u{1}⋫\u{2}\
nrtrie;\u{1}⋭\u{2}\
nsc;\u{1}⊁\u{2}\
nsccue;\u{1}⋡\u{2}\
nsce;\u{1}⪰\u{338}\u{2}\
nscr;\u{1}𝓃\u{2}\
nshortmid;\u{1}∤\u{2}\
nshortparallel;\u{1}∦\u{2}\
nsim;\u{1}≁\u{2}\
nsime;\u{1}≄\u{2}\
nsimeq;\u{1}≄\u{2}\
nsmid;\u{1}∤\u{2}\
nspar;\u{1}∦\u{2}\
nsqsube;\u{1}⋢\u{2}\
nsqsupe;\u{1}⋣\u{2}\
nsub;\u{1}⊄\u{2}\
nsubE;\u{1}⫅\u{338}\u{2}\
nsube;\u{1}⊈\u{2}\
nsubset;\u{1}⊂\u{20d2}\u{2}\
nsubseteq;\u{1}⊈\u{2}\
nsubseteqq;\u{1}⫅\u{338}\u{2}\
nsucc;\u{1}⊁\u{2}\
nsucceq;\u{1}⪰\u{338}\u{2}\
nsup;\u{1}⊅\u{2}\
nsupE;\u{1}⫆\u{338}\u{2}\
nsupe;\u{1}⊉\u{2}\
nsupset;\u{1}⊃\u{20d2}\u{2}\
nsupseteq;\u{1}⊉\u{2}\
nsupseteqq;\u{1}⫆\u{338}\u{2}\
ntgl;\u{1}≹\u{2}\
ntilde\u{1}ñ\u{2}\
ntilde;\u{1}ñ\u{2}\
ntlg;\u{1}≸\u{2}\
ntriangleleft;\u{1}⋪\u{2}\
ntrianglelefteq;\u{1}⋬\u{2}\
ntriangleright;\u{1}⋫\u{2}\
ntrianglerighteq;\u{1}⋭\u{2}\
nu;\u{1}ν\u{2}\
num;\u{1}#\u{2}\
numero;\u{1}№\u{2}\
numsp;\u{1}\u{2007}\u{2}\
nvDash;\u{1}⊭\u{2}\
nvHarr;\u{1}⤄\u{2}\
nvap;\u{1}≍\u{20d2}\u{2}\
nvdash;\u{1}⊬\u{2}\
nvge;\u{1}≥\u{20d2}\u{2}\
nvgt;\u{1}>\u{20d2}\u{2}\
nvinfin;\u{1}⧞\u{2}\
nvlArr;\u{1}⤂\u{2}\
nvle;\u{1}≤\u{20d2}\u{2}\
nvlt;\u{1}<\u{20d2}\u{2}\
nvltrie;\u{1}⊴\u{20d2}\u{2}\
nvrArr;\u{1}⤃\u{2}\
nvrtrie;\u{1}⊵\u{20d2}\u{2}\
nvsim;\u{1}∼\u{20d2}\u{2}\
nwArr;\u{1}⇖\u{2}\
nwarhk;\u{1}⤣\u{2}\
nwarr;\u{1}↖\u{2}\
nwarrow;\u{1}↖\u{2}\
nwnear;\u{1}⤧\u{2}\
oS;\u{1}Ⓢ\u{2}\
oacute\u{1}ó\u{2}\
oacute;\u{1}ó\u{2}\
oast;\u{1}⊛\u{2}\
ocir;\u{1}⊚\u{2}\
ocirc\u{1}ô\u{2}\
ocirc;\u{1}ô\u{2}\
ocy;\u{1}о\u{2}\
odash;\u{1}⊝\u{2}\
odblac;\u{1}ő\u{2}\
odiv;\u{1}⨸\u{2}\
odot;\u{1}⊙\u{2}\
odsold;\u{1}⦼\u{2}\
oelig;\u{1}œ\u{2}\
ofcir;\u{1}⦿\u{2}\
ofr;\u{1}𝔬\u{2}\
ogon;\u{1}˛\u{2}\
ograve\u{1}ò\u{2}\
ograve;\u{1}ò\u{2}\
ogt;\u{1}⧁\u{2}\
ohbar;\u{1}⦵\u{2}\
ohm;\u{1}Ω\u{2}\
oint;\u{1}∮\u{2}\
olarr;\u{1}↺\u{2}\
olcir;\u{1}⦾\u{2}\
olcross;\u{1}⦻\u{2}\
oline;\u{1}‾\u{2}\
olt;\u{1}⧀\u{2}\
omacr;\u{1}ō\u{2}\
omega;\u{1}ω\u{2}\
omicron;\u{1}ο\u{2}\
omid;\u{1}⦶\u{2}\
ominus;\u{1}⊖\u{2}\
oopf;\u{1}𝕠\u{2}\
opar;\u{1}⦷\u{2}\
operp;\u{1}⦹\u{2}\
oplus;\u{1}⊕\u{2}\
or;\u{1}∨\u{2}\
orarr;\u{1}↻\u{2}\
ord;\u{1}⩝\u{2}\
order;\u{1}ℴ\u{2}\
orderof;\u{1}ℴ\u{2}\
ordf\u{1}ª\u{2}\
ordf;\u{1}ª\u{2}\
ordm\u{1}º\u{2}\
ordm;\u{1}º\u{2}\
origof;\u{1}⊶\u{2}\
oror;\u{1}⩖\u{2}\
orslope;\u{1}⩗\u{2}\
orv;\u{1}⩛\u{2}\
oscr;\u{1}ℴ\u{2}\
oslash\u{1}ø\u{2}\
oslash;\u{1}ø\u{2}\
osol;\u{1}⊘\u{2}\
otilde\u{1}õ\u{2}\
otilde;\u{1}õ\u{2}\
otimes;\u{1}⊗\u{2}\
otimesas;\u{1}⨶\u{2}\
ouml\u{1}ö\u{2}\
ouml;\u{1}ö\u{2}\
ovbar;\u{1}⌽\u{2}\
par;\u{1}∥\u{2}\
para\u{1}¶\u{2}\
para;\u{1}¶\u{2}\
parallel;\u{1}∥\u{2}\
parsim;\u{1}⫳\u{2}\
parsl;\u{1}⫽\u{2}\
part;\u{1}∂\u{2}\
pcy;\u{1}п\u{2}\
percnt;\u{1}%\u{2}\
period;\u{1}.\u{2}\
permil;\u{1}‰\u{2}\
perp;\u{1}⊥\u{2}\
pertenk;\u{1}‱\u{2}\
pfr;\u{1}𝔭\u{2}\
phi;\u{1}φ\u{2}\
phiv;\u{1}ϕ\u{2}\
phmmat;\u{1}ℳ\u{2}\
phone;\u{1}☎\u{2}\
pi;\u{1}π\u{2}\
pitchfork;\u{1}⋔\u{2}\
piv;\u{1}ϖ\u{2}\
planck;\u{1}ℏ\u{2}\
planckh;\u{1}ℎ\u{2}\
plankv;\u{1}ℏ\u{2}\
plus;\u{1}+\u{2}\
plusacir;\u{1}⨣\u{2}\
plusb;\u{1}⊞\u{2}\
pluscir;\u{1}⨢\u{2}\
plusdo;\u{1}∔\u{2}\
plusdu;\u{1}⨥\u{2}\
pluse;\u{1}⩲\u{2}\
plusmn\u{1}±\u{2}\
plusmn;\u{1}±\u{2}\
plussim;\u{1}⨦\u{2}\
plustwo;\u{1}⨧\u{2}\
pm;\u{1}±\u{2}\
pointint;\u{1}⨕\u{2}\
popf;\u{1}𝕡\u{2}\
pound\u{1}£\u{2}\
pound;\u{1}£\u{2}\
pr;\u{1}≺\u{2}\
prE;\u{1}⪳\u{2}\
prap;\u{1}⪷\u{2}\
prcue;\u{1}≼\u{2}\
pre;\u{1}⪯\u{2}\
prec;\u{1}≺\u{2}\
precapprox;\u{1}⪷\u{2}\
preccurlyeq;\u{1}≼\u{2}\
preceq;\u{1}⪯\u{2}\
precnapprox;\u{1}⪹\u{2}\
precneqq;\u{1}⪵\u{2}\
precnsim;\u{1}⋨\u{2}\
precsim;\u{1}≾\u{2}\
prime;\u{1}′\u{2}\
primes;\u{1}ℙ\u{2}\
prnE;\u{1}⪵\u{2}\
prnap;\u{1}⪹\u{2}\
prnsim;\u{1}⋨\u{2}\
prod;\u{1}∏\u{2}\
profalar;\u{1}⌮\u{2}\
profline;\u{1}⌒\u{2}\
profsurf;\u{1}⌓\u{2}\
prop;\u{1}∝\u{2}\
propto;\u{1}∝\u{2}\
prsim;\u{1}≾\u{2}\
prurel;\u{1}⊰\u{2}\
pscr;\u{1}𝓅\u{2}\
psi;\u{1}ψ\u{2}\
puncsp;\u{1}\u{2008}\u{2}\
qfr;\u{1}𝔮\u{2}\
qint;\u{1}⨌\u{2}\
qopf;\u{1}𝕢\u{2}\
qprime;\u{1}⁗\u{2}\
qscr;\u{1}𝓆\u{2}\
quaternions;\u{1}ℍ\u{2}\
quatint;\u{1}⨖\u{2}\
quest;\u{1}?\u{2}\
questeq;\u{1}≟\u{2}\
quot\u{1}\u{22}\u{2}\
quot;\u{1}\u{22}\u{2}\
rAarr;\u{1}⇛\u{2}\
rArr;\u{1}⇒\u{2}\
rAtail;\u{1}⤜\u{2}\
rBarr;\u{1}⤏\u{2}\
rHar;\u{1}⥤\u{2}\
race;\u{1}∽\u{331}\u{2}\
racute;\u{1}ŕ\u{2}\
radic;\u{1}√\u{2}\
raemptyv;\u{1}⦳\u{2}\
rang;\u{1}⟩\u{2}\
rangd;\u{1}⦒\u{2}\
range;\u{1}⦥\u{2}\
rangle;\u{1}⟩\u{2}\
raquo\u{1}»\u{2}\
raquo;\u{1}»\u{2}\
rarr;\u{1}→\u{2}\
rarrap;\u{1}⥵\u{2}\
rarrb;\u{1}⇥\u{2}\
rarrbfs;\u{1}⤠\u{2}\
rarrc;\u{1}⤳\u{2}\
rarrfs;\u{1}⤞\u{2}\
rarrhk;\u{1}↪\u{2}\
rarrlp;\u{1}↬\u{2}\
rarrpl;\u{1}⥅\u{2}\
rarrsim;\u{1}⥴\u{2}\
rarrtl;\u{1}↣\u{2}\
rarrw;\u{1}↝\u{2}\
ratail;\u{1}⤚\u{2}\
ratio;\u{1}∶\u{2}\
rationals;\u{1}ℚ\u{2}\
rbarr;\u{1}⤍\u{2}\
rbbrk;\u{1}❳\u{2}\
rbrace;\u{1}\u{7d}\u{2}\
rbrack;\u{1}]\u{2}\
rbrke;\u{1}⦌\u{2}\
rbrksld;\u{1}⦎\u{2}\
rbrkslu;\u{1}⦐\u{2}\
rcaron;\u{1}ř\u{2}\
rcedil;\u{1}ŗ\u{2}\
rceil;\u{1}⌉\u{2}\
rcub;\u{1}\u{7d}\u{2}\
rcy;\u{1}р\u{2}\
rdca;\u{1}⤷\u{2}\
rdldhar;\u{1}⥩\u{2}\
rdquo;\u{1}”\u{2}\
rdquor;\u{1}”\u{2}\
rdsh;\u{1}↳\u{2}\
real;\u{1}ℜ\u{2}\
realine;\u{1}ℛ\u{2}\
realpart;\u{1}ℜ\u{2}\
reals;\u{1}ℝ\u{2}\
rect;\u{1}▭\u{2}\
reg\u{1}®\u{2}\
reg;\u{1}®\u{2}\
rfisht;\u{1}⥽\u{2}\
rfloor;\u{1}⌋\u{2}\
rfr;\u{1}𝔯\u{2}\
rhard;\u{1}⇁\u{2}\
rharu;\u{1}⇀\u{2}\
rharul;\u{1}⥬\u{2}\
rho;\u{1}ρ\u{2}\
rhov;\u{1}ϱ\u{2}\
rightarrow;\u{1}→\u{2}\
rightarrowtail;\u{1}↣\u{2}\
rightharpoondown;\u{1}⇁\u{2}\
rightharpoonup;\u{1}⇀\u{2}\
rightleftarrows;\u{1}⇄\u{2}\
rightleftharpoons;\u{1}⇌\u{2}\
rightrightarrows;\u{1}⇉\u{2}\
rightsquigarrow;\u{1}↝\u{2}\
rightthreetimes;\u{1}⋌\u{2}\
ring;\u{1}˚\u{2}\
risingdotseq;\u{1}≓\u{2}\
rlarr;\u{1}⇄\u{2}\
rlhar;\u{1}⇌\u{2}\
rlm;\u{1}\u{200f}\u{2}\
rmoust;\u{1}⎱\u{2}\
rmoustache;\u{1}⎱\u{2}\
rnmid;\u{1}⫮\u{2}\
roang;\u{1}⟭\u{2}\
roarr;\u{1}⇾\u{2}\
robrk;\u{1}⟧\u{2}\
ropar;\u{1}⦆\u{2}\
ropf;\u{1}𝕣\u{2}\
roplus;\u{1}⨮\u{2}\
rotimes;\u{1}⨵\u{2}\
rpar;\u{1})\u{2}\
rpargt;\u{1}⦔\u{2}\
rppolint;\u{1}⨒\u{2}\
rrarr;\u{1}⇉\u{2}\
rsaquo;\u{1}›\u{2}\
rscr;\u{1}𝓇\u{2}\
rsh;\u{1}↱\u{2}\
rsqb;\u{1}]\u{2}\
rsquo;\u{1}’\u{2}\
rsquor;\u{1}’\u{2}\
rthree;\u{1}⋌\u{2}\
rtimes;\u{1}⋊\u{2}\
rtri;\u{1}▹\u{2}\
rtrie;\u{1}⊵\u{2}\
rtrif;\u{1}▸\u{2}\
rtriltri;\u{1}⧎\u{2}\
ruluhar;\u{1}⥨\u{2}\
rx;\u{1}℞\u{2}\
sacute;\u{1}ś\u{2}\
sbquo;\u{1}‚\u{2}\
sc;\u{1}≻\u{2}\
scE;\u{1}⪴\u{2}\
scap;\u{1}⪸\u{2}\
scaron;\u{1}š\u{2}\
sccue;\u{1}≽\u{2}\
sce;\u{1}⪰\u{2}\
scedil;\u{1}ş\u{2}\
scirc;\u{1}ŝ\u{2}\
scnE;\u{1}⪶\u{2}\
scnap;\u{1}⪺\u{2}\
scnsim;\u{1}⋩\u{2}\
scpolint;\u{1}⨓\u{2}\
scsim;\u{1}≿\u{2}\
scy;\u{1}с\u{2}\
sdot;\u{1}⋅\u{2}\
sdotb;\u{1}⊡\u{2}\
sdote;\u{1}⩦\u{2}\
seArr;\u{1}⇘\u{2}\
searhk;\u{1}⤥\u{2}\
searr;\u{1}↘\u{2}\
searrow;\u{1}↘\u{2}\
sect\u{1}§\u{2}\
sect;\u{1}§\u{2}\
semi;\u{1};\u{2}\
seswar;\u{1}⤩\u{2}\
setminus;\u{1}∖\u{2}\
setmn;\u{1}∖\u{2}\
sext;\u{1}✶\u{2}\
sfr;\u{1}𝔰\u{2}\
sfrown;\u{1}⌢\u{2}\
sharp;\u{1}♯\u{2}\
shchcy;\u{1}щ\u{2}\
shcy;\u{1}ш\u{2}\
shortmid;\u{1}∣\u{2}\
shortparallel;\u{1}∥\u{2}\
shy\u{1}\u{ad}\u{2}\
shy;\u{1}\u{ad}\u{2}\
sigma;\u{1}σ\u{2}\
sigmaf;\u{1}ς\u{2}\
sigmav;\u{1}ς\u{2}\
sim;\u{1}∼\u{2}\
simdot;\u{1}⩪\u{2}\
sime;\u{1}≃\u{2}\
simeq;\u{1}≃\u{2}\
simg;\u{1}⪞\u{2}\
simgE;\u{1}⪠\u{2}\
siml;\u{1}⪝\u{2}\
simlE;\u{1}⪟\u{2}\
simne;\u{1}≆\u{2}\
simplus;\u{1}⨤\u{2}\
simrarr;\u{1}⥲\u{2}\
slarr;\u{1}←\u{2}\
smallsetminus;\u{1}∖\u{2}\
smashp;\u{1}⨳\u{2}\
smeparsl;\u{1}⧤\u{2}\
smid;\u{1}∣\u{2}\
smile;\u{1}⌣\u{2}\
smt;\u{1}⪪\u{2}\
smte;\u{1}⪬\u{2}\
smtes;\u{1}⪬\u{fe00}\u{2}\
softcy;\u{1}ь\u{2}\
sol;\u{1}/\u{2}\
solb;\u{1}⧄\u{2}\
solbar;\u{1}⌿\u{2}\
sopf;\u{1}𝕤\u{2}\
spades;\u{1}♠\u{2}\
spadesuit;\u{1}♠\u{2}\
spar;\u{1}∥\u{2}\
sqcap;\u{1}⊓\u{2}\
sqcaps;\u{1}⊓\u{fe00}\u{2}\
sqcup;\u{1}⊔\u{2}\
sqcups;\u{1}⊔\u{fe00}\u{2}\
sqsub;\u{1}⊏\u{2}\
sqsube;\u{1}⊑\u{2}\
sqsubset;\u{1}⊏\u{2}\
sqsubseteq;\u{1}⊑\u{2}\
sqsup;\u{1}⊐\u{2}\
sqsupe;\u{1}⊒\u{2}\
sqsupset;\u{1}⊐\u{2}\
sqsupseteq;\u{1}⊒\u{2}\
squ;\u{1}□\u{2}\
square;\u{1}□\u{2}\
squarf;\u{1}▪\u{2}\
squf;\u{1}▪\u{2}\
srarr;\u{1}→\u{2}\
sscr;\u{1}𝓈\u{2}\
ssetmn;\u{1}∖\u{2}\
ssmile;\u{1}⌣\u{2}\
sstarf;\u{1}⋆\u{2}\
star;\u{1}☆\u{2}\
starf;\u{1}★\u{2}\
straightepsilon;\u{1}ϵ\u{2}\
straightphi;\u{1}ϕ\u{2}\
strns;\u{1}¯\u{2}\
sub;\u{1}⊂\u{2}\
subE;\u{1}⫅\u{2}\
subdot;\u{1}⪽\u{2}\
sube;\u{1}⊆\u{2}\
subedot;\u{1}⫃\u{2}\
submult;\u{1}⫁\u{2}\
subnE;\u{1}⫋\u{2}\
subne;\u{1}⊊\u{2}\
subplus;\u{1}⪿\u{2}\
subrarr;\u{1}⥹\u{2}\
subset;\u{1}⊂\u{2}\
subseteq;\u{1}⊆\u{2}\
subseteqq;\u{1}⫅\u{2}\
subsetneq;\u{1}⊊\u{2}\
subsetneqq;\u{1}⫋\u{2}\
subsim;\u{1}⫇\u{2}\
subsub;\u{1}⫕\u{2}\
subsup;\u{1}⫓\u{2}\
succ;\u{1}≻\u{2}\
succapprox;\u{1}⪸\u{2}\
succcurlyeq;\u{1}≽\u{2}\
succeq;\u{1}⪰\u{2}\
succnapprox;\u{1}⪺\u{2}\
succneqq;\u{1}⪶\u{2}\
succnsim;\u{1}⋩\u{2}\
succsim;\u{1}≿\u{2}\
sum;\u{1}∑\u{2}\
sung;\u{1}♪\u{2}\
sup1\u{1}¹\u{2}\
sup1;\u{1}¹\u{2}\
sup2\u{1}²\u{2}\
sup2;\u{1}²\u{2}\
sup3\u{1}³\u{2}\
sup3;\u{1}³\u{2}\
sup;\u{1}⊃\u{2}\
supE;\u{1}⫆\u{2}\
supdot;\u{1}⪾\u{2}\
supdsub;\u{1}⫘\u{2}\
supe;\u{1}⊇\u{2}\
supedot;\u{1}⫄\u{2}\
suphsol;\u{1}⟉\u{2}\
suphsub;\u{1}⫗\u{2}\
suplarr;\u{1}⥻\u{2}\
supmult;\u{1}⫂\u{2}\
supnE;\u{1}⫌\u{2}\
supne;\u{1}⊋\u{2}\
supplus;\u{1}⫀\u{2}\
supset;\u{1}⊃\u{2}\
supseteq;\u{1}⊇\u{2}\
supseteqq;\u{1}⫆\u{2}\
supsetneq;\u{1}⊋\u{2}\
supsetneqq;\u{1}⫌\u{2}\
supsim;\u{1}⫈\u{2}\
supsub;\u{1}⫔\u{2}\
supsup;\u{1}⫖\u{2}\
swArr;\u{1}⇙\u{2}\
swarhk;\u{1}⤦\u{2}\
swarr;\u{1}↙\u{2}\
swarrow;\u{1}↙\u{2}\
swnwar;\u{1}⤪\u{2}\
szlig\u{1}ß\u{2}\
szlig;\u{1}ß\u{2}\
target;\u{1}⌖\u{2}\
tau;\u{1}τ\u{2}\
tbrk;\u{1}⎴\u{2}\
tcaron;\u{1}ť\u{2}\
tcedil;\u{1}ţ\u{2}\
tcy;\u{1}т\u{2}\
tdot;\u{1}\u{20db}\u{2}\
telrec;\u{1}⌕\u{2}\
tfr;\u{1}𝔱\u{2}\
there4;\u{1}∴\u{2}\
therefore;\u{1}∴\u{2}\
theta;\u{1}θ\u{2}\
thetasym;\u{1}ϑ\u{2}\
thetav;\u{1}ϑ\u{2}\
thickapprox;\u{1}≈\u{2}\
thicksim;\u{1}∼\u{2}\
thinsp;\u{1}\u{2009}\u{2}\
thkap;\u{1}≈\u{2}\
thksim;\u{1}∼\u{2}\
thorn\u{1}þ\u{2}\
thorn;\u{1}þ\u{2}\
tilde;\u{1}˜\u{2}\
times\u{1}×\u{2}\
times;\u{1}×\u{2}\
timesb;\u{1}⊠\u{2}\
timesbar;\u{1}⨱\u{2}\
timesd;\u{1}⨰\u{2}\
tint;\u{1}∭\u{2}\
toea;\u{1}⤨\u{2}\
top;\u{1}⊤\u{2}\
topbot;\u{1}⌶\u{2}\
topcir;\u{1}⫱\u{2}\
topf;\u{1}𝕥\u{2}\
topfork;\u{1}⫚\u{2}\
tosa;\u{1}⤩\u{2}\
tprime;\u{1}‴\u{2}\
trade;\u{1}™\u{2}\
triangle;\u{1}▵\u{2}\
triangledown;\u{1}▿\u{2}\
triangleleft;\u{1}◃\u{2}\
trianglelefteq;\u{1}⊴\u{2}\
triangleq;\u{1}≜\u{2}\
triangleright;\u{1}▹\u{2}\
trianglerighteq;\u{1}⊵\u{2}\
tridot;\u{1}◬\u{2}\
trie;\u{1}≜\u{2}\
triminus;\u{1}⨺\u{2}\
triplus;\u{1}⨹\u{2}\
trisb;\u{1}⧍\u{2}\
tritime;\u{1}⨻\u{2}\
trpezium;\u{1}⏢\u{2}\
tscr;\u{1}𝓉\u{2}\
tscy;\u{1}ц\u{2}\
tshcy;\u{1}ћ\u{2}\
tstrok;\u{1}ŧ\u{2}\
twixt;\u{1}≬\u{2}\
twoheadleftarrow;\u{1}↞\u{2}\
twoheadrightarrow;\u{1}↠\u{2}\
uArr;\u{1}⇑\u{2}\
uHar;\u{1}⥣\u{2}\
uacute\u{1}ú\u{2}\
uacute;\u{1}ú\u{2}\
uarr;\u{1}↑\u{2}\
ubrcy;\u{1}ў\u{2}\
ubreve;\u{1}ŭ\u{2}\
ucirc\u{1}û\u{2}\
ucirc;\u{1}û\u{2}\
ucy;\u{1}у\u{2}\
udarr;\u{1}⇅\u{2}\
udblac;\u{1}ű\u{2}\
udhar;\u{1}⥮\u{2}\
ufisht;\u{1}⥾\u{2}\
ufr;\u{1}𝔲\u{2}\
ugrave\u{1}ù\u{2}\
ugrave;\u{1}ù\u{2}\
uharl;\u{1}↿\u{2}\
uharr;\u{1}↾\u{2}\
uhblk;\u{1}▀\u{2}\
ulcorn;\u{1}⌜\u{2}\
ulcorner;\u{1}⌜\u{2}\
ulcrop;\u{1}⌏\u{2}\
ultri;\u{1}◸\u{2}\
umacr;\u{1}ū\u{2}\
uml\u{1}¨\u{2}\
uml;\u{1}¨\u{2}\
uogon;\u{1}ų\u{2}\
uopf;\u{1}𝕦\u{2}\
uparrow;\u{1}↑\u{2}\
updownarrow;\u{1}↕\u{2}\
upharpoonleft;\u{1}↿\u{2}\
upharpoonright;\u{1}↾\u{2}\
uplus;\u{1}⊎\u{2}\
upsi;\u{1}υ\u{2}\
upsih;\u{1}ϒ\u{2}\
upsilon;\u{1}υ\u{2}\
upuparrows;\u{1}⇈\u{2}\
urcorn;\u{1}⌝\u{2}\
urcorner;\u{1}⌝\u{2}\
urcrop;\u{1}⌎\u{2}\
uring;\u{1}ů\u{2}\
urtri;\u{1}◹\u{2}\
uscr;\u{1}𝓊\u{2}\
utdot;\u{1}⋰\u{2}\
utilde;\u{1}ũ\u{2}\
utri;\u{1}▵\u{2}\
utrif;\u{1}▴\u{2}\
uuarr;\u{1}⇈\u{2}\
uuml\u{1}ü\u{2}\
uuml;\u{1}ü\u{2}\
uwangle;\u{1}⦧\u{2}\
vArr;\u{1}⇕\u{2}\
vBar;\u{1}⫨\u{2}\
vBarv;\u{1}⫩\u{2}\
vDash;\u{1}⊨\u{2}\
vangrt;\u{1}⦜\u{2}\
varepsilon;\u{1}ϵ\u{2}\
varkappa;\u{1}ϰ\u{2}\
varnothing;\u{1}∅\u{2}\
varphi;\u{1}ϕ\u{2}\
varpi;\u{1}ϖ\u{2}\
varpropto;\u{1}∝\u{2}\
varr;\u{1}↕\u{2}\
varrho;\u{1}ϱ\u{2}\
varsigma;\u{1}ς\u{2}\
varsubsetneq;\u{1}⊊\u{fe00}\u{2}\
varsubsetneqq;\u{1}⫋\u{fe00}\u{2}\
varsupsetneq;\u{1}⊋\u{fe00}\u{2}\
varsupsetneqq;\u{1}⫌\u{fe00}\u{2}\
vartheta;\u{1}ϑ\u{2}\
vartriangleleft;\u{1}⊲\u{2}\
vartriangleright;\u{1}⊳\u{2}\
vcy;\u{1}в\u{2}\
vdash;\u{1}⊢\u{2}\
vee;\u{1}∨\u{2}\
veebar;\u{1}⊻\u{2}\
veeeq;\u{1}≚\u{2}\
vellip;\u{1}⋮\u{2}\
verbar;\u{1}|\u{2}\
vert;\u{1}|\u{2}\
vfr;\u{1}𝔳\u{2}\
vltri;\u{1}⊲\u{2}\
vnsub;\u{1}⊂\u{20d2}\u{2}\
vnsup;\u{1}⊃\u{20d2}\u{2}\
vopf;\u{1}𝕧\u{2}\
vprop;\u{1}∝\u{2}\
vrtri;\u{1}⊳\u{2}\
vscr;\u{1}𝓋\u{2}\
vsubnE;\u{1}⫋\u{fe00}\u{2}\
vsubne;\u{1}⊊\u{fe00}\u{2}\
vsupnE;\u{1}⫌\u{fe00}\u{2}\
vsupne;\u{1}⊋\u{fe00}\u{2}\
vzigzag;\u{1}⦚\u{2}\
wcirc;\u{1}ŵ\u{2}\
wedbar;\u{1}⩟\u{2}\
wedge;\u{1}∧\u{2}\
wedgeq;\u{1}≙\u{2}\
weierp;\u{1}℘\u{2}\
wfr;\u{1}𝔴\u{2}\
wopf;\u{1}𝕨\u{2}\
wp;\u{1}℘\u{2}\
wr;\u{1}≀\u{2}\
wreath;\u{1}≀\u{2}\
wscr;\u{1}𝓌\u{2}\
xcap;\u{1}⋂\u{2}\
xcirc;\u{1}◯\u{2}\
xcup;\u{1}⋃\u{2}\
xdtri;\u{1}▽\u{2}\
xfr;\u{1}𝔵\u{2}\
xhArr;\u{1}⟺\u{2}\
xharr;\u{1}⟷\u{2}\
xi;\u{1}ξ\u{2}\
xlArr;\u{1}⟸\u{2}\
xlarr;\u{1}⟵\u{2}\
xmap;\u{1}⟼\u{2}\
xnis;\u{1}⋻\u{2}\
xodot;\u{1}⨀\u{2}\
xopf;\u{1}𝕩\u{2}\
xoplus;\u{1}⨁\u{2}\
xotime;\u{1}⨂\u{2}\
xrArr;\u{1}⟹\u{2}\
xrarr;\u{1}⟶\u{2}\
xscr;\u{1}𝓍\u{2}\
xsqcup;\u{1}⨆\u{2}\
xuplus;\u{1}⨄\u{2}\
xutri;\u{1}△\u{2}\
xvee;\u{1}⋁\u{2}\
xwedge;\u{1}⋀\u{2}\
yacute\u{1}ý\u{2}\
yacute;\u{1}ý\u{2}\
yacy;\u{1}я\u{2}\
ycirc;\u{1}ŷ\u{2}\
ycy;\u{1}ы\u{2}\
yen\u{1}¥\u{2}\
yen;\u{1}¥\u{2}\
yfr;\u{1}𝔶\u{2}\
yicy;\u{1}ї\u{2}\
yopf;\u{1}𝕪\u{2}\
yscr;\u{1}𝓎\u{2}\
yucy;\u{1}ю\u{2}\
yuml\u{1}ÿ\u{2}\
yuml;\u{1}ÿ\u{2}\
zacute;\u{1}ź\u{2}\
zcaron;\u{1}ž\u{2}\
zcy;\u{1}з\u{2}\
zdot;\u{1}ż\u{2}\
zeetrf;\u{1}ℨ\u{2}\
zeta;\u{1}ζ\u{2}\
zfr;\u{1}𝔷\u{2}\
zhcy;\u{1}ж\u{2}\
zigrarr;\u{1}⇝\u{2}\
zopf;\u{1}𝕫\u{2}\
zscr;\u{1}𝓏\u{2}\
zwj;\u{1}\u{200d}\u{2}\
zwnj;\u{1}\u{200c}\u{2}\
";
/// ftfy's `CHARMAP_ENCODINGS`, in order: name, chars of bytes 0x80..=0xFF, char of 0x1A.
const CHARMAPS: &[(&str, &str, char)] = &[
    ("latin-1", "\u{80}\u{81}\u{82}\u{83}\u{84}\u{85}\u{86}\u{87}\u{88}\u{89}\u{8a}\u{8b}\u{8c}\u{8d}\u{8e}\u{8f}\u{90}\u{91}\u{92}\u{93}\u{94}\u{95}\u{96}\u{97}\u{98}\u{99}\u{9a}\u{9b}\u{9c}\u{9d}\u{9e}\u{9f}\u{a0}\u{a1}\u{a2}\u{a3}\u{a4}\u{a5}\u{a6}\u{a7}\u{a8}\u{a9}\u{aa}\u{ab}\u{ac}\u{ad}\u{ae}\u{af}\u{b0}\u{b1}\u{b2}\u{b3}\u{b4}\u{b5}\u{b6}\u{b7}\u{b8}\u{b9}\u{ba}\u{bb}\u{bc}\u{bd}\u{be}\u{bf}\u{c0}\u{c1}\u{c2}\u{c3}\u{c4}\u{c5}\u{c6}\u{c7}\u{c8}\u{c9}\u{ca}\u{cb}\u{cc}\u{cd}\u{ce}\u{cf}\u{d0}\u{d1}\u{d2}\u{d3}\u{d4}\u{d5}\u{d6}\u{d7}\u{d8}\u{d9}\u{da}\u{db}\u{dc}\u{dd}\u{de}\u{df}\u{e0}\u{e1}\u{e2}\u{e3}\u{e4}\u{e5}\u{e6}\u{e7}\u{e8}\u{e9}\u{ea}\u{eb}\u{ec}\u{ed}\u{ee}\u{ef}\u{f0}\u{f1}\u{f2}\u{f3}\u{f4}\u{f5}\u{f6}\u{f7}\u{f8}\u{f9}\u{fa}\u{fb}\u{fc}\u{fd}\u{fe}\u{ff}", '\u{1a}'),
    ("sloppy-windows-1252", "\u{20ac}\u{81}\u{201a}\u{192}\u{201e}\u{2026}\u{2020}\u{2021}\u{2c6}\u{2030}\u{160}\u{2039}\u{152}\u{8d}\u{17d}\u{8f}\u{90}\u{2018}\u{2019}\u{201c}\u{201d}\u{2022}\u{2013}\u{2014}\u{2dc}\u{2122}\u{161}\u{203a}\u{153}\u{9d}\u{17e}\u{178}\u{a0}\u{a1}\u{a2}\u{a3}\u{a4}\u{a5}\u{a6}\u{a7}\u{a8}\u{a9}\u{aa}\u{ab}\u{ac}\u{ad}\u{ae}\u{af}\u{b0}\u{b1}\u{b2}\u{b3}\u{b4}\u{b5}\u{b6}\u{b7}\u{b8}\u{b9}\u{ba}\u{bb}\u{bc}\u{bd}\u{be}\u{bf}\u{c0}\u{c1}\u{c2}\u{c3}\u{c4}\u{c5}\u{c6}\u{c7}\u{c8}\u{c9}\u{ca}\u{cb}\u{cc}\u{cd}\u{ce}\u{cf}\u{d0}\u{d1}\u{d2}\u{d3}\u{d4}\u{d5}\u{d6}\u{d7}\u{d8}\u{d9}\u{da}\u{db}\u{dc}\u{dd}\u{de}\u{df}\u{e0}\u{e1}\u{e2}\u{e3}\u{e4}\u{e5}\u{e6}\u{e7}\u{e8}\u{e9}\u{ea}\u{eb}\u{ec}\u{ed}\u{ee}\u{ef}\u{f0}\u{f1}\u{f2}\u{f3}\u{f4}\u{f5}\u{f6}\u{f7}\u{f8}\u{f9}\u{fa}\u{fb}\u{fc}\u{fd}\u{fe}\u{ff}", '\u{fffd}'),
    ("sloppy-windows-1251", "\u{402}\u{403}\u{201a}\u{453}\u{201e}\u{2026}\u{2020}\u{2021}\u{20ac}\u{2030}\u{409}\u{2039}\u{40a}\u{40c}\u{40b}\u{40f}\u{452}\u{2018}\u{2019}\u{201c}\u{201d}\u{2022}\u{2013}\u{2014}\u{98}\u{2122}\u{459}\u{203a}\u{45a}\u{45c}\u{45b}\u{45f}\u{a0}\u{40e}\u{45e}\u{408}\u{a4}\u{490}\u{a6}\u{a7}\u{401}\u{a9}\u{404}\u{ab}\u{ac}\u{ad}\u{ae}\u{407}\u{b0}\u{b1}\u{406}\u{456}\u{491}\u{b5}\u{b6}\u{b7}\u{451}\u{2116}\u{454}\u{bb}\u{458}\u{405}\u{455}\u{457}\u{410}\u{411}\u{412}\u{413}\u{414}\u{415}\u{416}\u{417}\u{418}\u{419}\u{41a}\u{41b}\u{41c}\u{41d}\u{41e}\u{41f}\u{420}\u{421}\u{422}\u{423}\u{424}\u{425}\u{426}\u{427}\u{428}\u{429}\u{42a}\u{42b}\u{42c}\u{42d}\u{42e}\u{42f}\u{430}\u{431}\u{432}\u{433}\u{434}\u{435}\u{436}\u{437}\u{438}\u{439}\u{43a}\u{43b}\u{43c}\u{43d}\u{43e}\u{43f}\u{440}\u{441}\u{442}\u{443}\u{444}\u{445}\u{446}\u{447}\u{448}\u{449}\u{44a}\u{44b}\u{44c}\u{44d}\u{44e}\u{44f}", '\u{fffd}'),
    ("sloppy-windows-1250", "\u{20ac}\u{81}\u{201a}\u{83}\u{201e}\u{2026}\u{2020}\u{2021}\u{88}\u{2030}\u{160}\u{2039}\u{15a}\u{164}\u{17d}\u{179}\u{90}\u{2018}\u{2019}\u{201c}\u{201d}\u{2022}\u{2013}\u{2014}\u{98}\u{2122}\u{161}\u{203a}\u{15b}\u{165}\u{17e}\u{17a}\u{a0}\u{2c7}\u{2d8}\u{141}\u{a4}\u{104}\u{a6}\u{a7}\u{a8}\u{a9}\u{15e}\u{ab}\u{ac}\u{ad}\u{ae}\u{17b}\u{b0}\u{b1}\u{2db}\u{142}\u{b4}\u{b5}\u{b6}\u{b7}\u{b8}\u{105}\u{15f}\u{bb}\u{13d}\u{2dd}\u{13e}\u{17c}\u{154}\u{c1}\u{c2}\u{102}\u{c4}\u{139}\u{106}\u{c7}\u{10c}\u{c9}\u{118}\u{cb}\u{11a}\u{cd}\u{ce}\u{10e}\u{110}\u{143}\u{147}\u{d3}\u{d4}\u{150}\u{d6}\u{d7}\u{158}\u{16e}\u{da}\u{170}\u{dc}\u{dd}\u{162}\u{df}\u{155}\u{e1}\u{e2}\u{103}\u{e4}\u{13a}\u{107}\u{e7}\u{10d}\u{e9}\u{119}\u{eb}\u{11b}\u{ed}\u{ee}\u{10f}\u{111}\u{144}\u{148}\u{f3}\u{f4}\u{151}\u{f6}\u{f7}\u{159}\u{16f}\u{fa}\u{171}\u{fc}\u{fd}\u{163}\u{2d9}", '\u{fffd}'),
    ("sloppy-windows-1253", "\u{20ac}\u{81}\u{201a}\u{192}\u{201e}\u{2026}\u{2020}\u{2021}\u{88}\u{2030}\u{8a}\u{2039}\u{8c}\u{8d}\u{8e}\u{8f}\u{90}\u{2018}\u{2019}\u{201c}\u{201d}\u{2022}\u{2013}\u{2014}\u{98}\u{2122}\u{9a}\u{203a}\u{9c}\u{9d}\u{9e}\u{9f}\u{a0}\u{385}\u{386}\u{a3}\u{a4}\u{a5}\u{a6}\u{a7}\u{a8}\u{a9}\u{aa}\u{ab}\u{ac}\u{ad}\u{ae}\u{2015}\u{b0}\u{b1}\u{b2}\u{b3}\u{384}\u{b5}\u{b6}\u{b7}\u{388}\u{389}\u{38a}\u{bb}\u{38c}\u{bd}\u{38e}\u{38f}\u{390}\u{391}\u{392}\u{393}\u{394}\u{395}\u{396}\u{397}\u{398}\u{399}\u{39a}\u{39b}\u{39c}\u{39d}\u{39e}\u{39f}\u{3a0}\u{3a1}\u{d2}\u{3a3}\u{3a4}\u{3a5}\u{3a6}\u{3a7}\u{3a8}\u{3a9}\u{3aa}\u{3ab}\u{3ac}\u{3ad}\u{3ae}\u{3af}\u{3b0}\u{3b1}\u{3b2}\u{3b3}\u{3b4}\u{3b5}\u{3b6}\u{3b7}\u{3b8}\u{3b9}\u{3ba}\u{3bb}\u{3bc}\u{3bd}\u{3be}\u{3bf}\u{3c0}\u{3c1}\u{3c2}\u{3c3}\u{3c4}\u{3c5}\u{3c6}\u{3c7}\u{3c8}\u{3c9}\u{3ca}\u{3cb}\u{3cc}\u{3cd}\u{3ce}\u{ff}", '\u{fffd}'),
    ("sloppy-windows-1254", "\u{20ac}\u{81}\u{201a}\u{192}\u{201e}\u{2026}\u{2020}\u{2021}\u{2c6}\u{2030}\u{160}\u{2039}\u{152}\u{8d}\u{8e}\u{8f}\u{90}\u{2018}\u{2019}\u{201c}\u{201d}\u{2022}\u{2013}\u{2014}\u{2dc}\u{2122}\u{161}\u{203a}\u{153}\u{9d}\u{9e}\u{178}\u{a0}\u{a1}\u{a2}\u{a3}\u{a4}\u{a5}\u{a6}\u{a7}\u{a8}\u{a9}\u{aa}\u{ab}\u{ac}\u{ad}\u{ae}\u{af}\u{b0}\u{b1}\u{b2}\u{b3}\u{b4}\u{b5}\u{b6}\u{b7}\u{b8}\u{b9}\u{ba}\u{bb}\u{bc}\u{bd}\u{be}\u{bf}\u{c0}\u{c1}\u{c2}\u{c3}\u{c4}\u{c5}\u{c6}\u{c7}\u{c8}\u{c9}\u{ca}\u{cb}\u{cc}\u{cd}\u{ce}\u{cf}\u{11e}\u{d1}\u{d2}\u{d3}\u{d4}\u{d5}\u{d6}\u{d7}\u{d8}\u{d9}\u{da}\u{db}\u{dc}\u{130}\u{15e}\u{df}\u{e0}\u{e1}\u{e2}\u{e3}\u{e4}\u{e5}\u{e6}\u{e7}\u{e8}\u{e9}\u{ea}\u{eb}\u{ec}\u{ed}\u{ee}\u{ef}\u{11f}\u{f1}\u{f2}\u{f3}\u{f4}\u{f5}\u{f6}\u{f7}\u{f8}\u{f9}\u{fa}\u{fb}\u{fc}\u{131}\u{15f}\u{ff}", '\u{fffd}'),
    ("sloppy-windows-1257", "\u{20ac}\u{81}\u{201a}\u{83}\u{201e}\u{2026}\u{2020}\u{2021}\u{88}\u{2030}\u{8a}\u{2039}\u{8c}\u{a8}\u{2c7}\u{b8}\u{90}\u{2018}\u{2019}\u{201c}\u{201d}\u{2022}\u{2013}\u{2014}\u{98}\u{2122}\u{9a}\u{203a}\u{9c}\u{af}\u{2db}\u{9f}\u{a0}\u{a1}\u{a2}\u{a3}\u{a4}\u{a5}\u{a6}\u{a7}\u{d8}\u{a9}\u{156}\u{ab}\u{ac}\u{ad}\u{ae}\u{c6}\u{b0}\u{b1}\u{b2}\u{b3}\u{b4}\u{b5}\u{b6}\u{b7}\u{f8}\u{b9}\u{157}\u{bb}\u{bc}\u{bd}\u{be}\u{e6}\u{104}\u{12e}\u{100}\u{106}\u{c4}\u{c5}\u{118}\u{112}\u{10c}\u{c9}\u{179}\u{116}\u{122}\u{136}\u{12a}\u{13b}\u{160}\u{143}\u{145}\u{d3}\u{14c}\u{d5}\u{d6}\u{d7}\u{172}\u{141}\u{15a}\u{16a}\u{dc}\u{17b}\u{17d}\u{df}\u{105}\u{12f}\u{101}\u{107}\u{e4}\u{e5}\u{119}\u{113}\u{10d}\u{e9}\u{17a}\u{117}\u{123}\u{137}\u{12b}\u{13c}\u{161}\u{144}\u{146}\u{f3}\u{14d}\u{f5}\u{f6}\u{f7}\u{173}\u{142}\u{15b}\u{16b}\u{fc}\u{17c}\u{17e}\u{2d9}", '\u{fffd}'),
    ("iso-8859-2", "\u{80}\u{81}\u{82}\u{83}\u{84}\u{85}\u{86}\u{87}\u{88}\u{89}\u{8a}\u{8b}\u{8c}\u{8d}\u{8e}\u{8f}\u{90}\u{91}\u{92}\u{93}\u{94}\u{95}\u{96}\u{97}\u{98}\u{99}\u{9a}\u{9b}\u{9c}\u{9d}\u{9e}\u{9f}\u{a0}\u{104}\u{2d8}\u{141}\u{a4}\u{13d}\u{15a}\u{a7}\u{a8}\u{160}\u{15e}\u{164}\u{179}\u{ad}\u{17d}\u{17b}\u{b0}\u{105}\u{2db}\u{142}\u{b4}\u{13e}\u{15b}\u{2c7}\u{b8}\u{161}\u{15f}\u{165}\u{17a}\u{2dd}\u{17e}\u{17c}\u{154}\u{c1}\u{c2}\u{102}\u{c4}\u{139}\u{106}\u{c7}\u{10c}\u{c9}\u{118}\u{cb}\u{11a}\u{cd}\u{ce}\u{10e}\u{110}\u{143}\u{147}\u{d3}\u{d4}\u{150}\u{d6}\u{d7}\u{158}\u{16e}\u{da}\u{170}\u{dc}\u{dd}\u{162}\u{df}\u{155}\u{e1}\u{e2}\u{103}\u{e4}\u{13a}\u{107}\u{e7}\u{10d}\u{e9}\u{119}\u{eb}\u{11b}\u{ed}\u{ee}\u{10f}\u{111}\u{144}\u{148}\u{f3}\u{f4}\u{151}\u{f6}\u{f7}\u{159}\u{16f}\u{fa}\u{171}\u{fc}\u{fd}\u{163}\u{2d9}", '\u{1a}'),
    ("macroman", "\u{c4}\u{c5}\u{c7}\u{c9}\u{d1}\u{d6}\u{dc}\u{e1}\u{e0}\u{e2}\u{e4}\u{e3}\u{e5}\u{e7}\u{e9}\u{e8}\u{ea}\u{eb}\u{ed}\u{ec}\u{ee}\u{ef}\u{f1}\u{f3}\u{f2}\u{f4}\u{f6}\u{f5}\u{fa}\u{f9}\u{fb}\u{fc}\u{2020}\u{b0}\u{a2}\u{a3}\u{a7}\u{2022}\u{b6}\u{df}\u{ae}\u{a9}\u{2122}\u{b4}\u{a8}\u{2260}\u{c6}\u{d8}\u{221e}\u{b1}\u{2264}\u{2265}\u{a5}\u{b5}\u{2202}\u{2211}\u{220f}\u{3c0}\u{222b}\u{aa}\u{ba}\u{3a9}\u{e6}\u{f8}\u{bf}\u{a1}\u{ac}\u{221a}\u{192}\u{2248}\u{2206}\u{ab}\u{bb}\u{2026}\u{a0}\u{c0}\u{c3}\u{d5}\u{152}\u{153}\u{2013}\u{2014}\u{201c}\u{201d}\u{2018}\u{2019}\u{f7}\u{25ca}\u{ff}\u{178}\u{2044}\u{20ac}\u{2039}\u{203a}\u{fb01}\u{fb02}\u{2021}\u{b7}\u{201a}\u{201e}\u{2030}\u{c2}\u{ca}\u{c1}\u{cb}\u{c8}\u{cd}\u{ce}\u{cf}\u{cc}\u{d3}\u{d4}\u{f8ff}\u{d2}\u{da}\u{db}\u{d9}\u{131}\u{2c6}\u{2dc}\u{af}\u{2d8}\u{2d9}\u{2da}\u{b8}\u{2dd}\u{2db}\u{2c7}", '\u{1a}'),
    ("cp437", "\u{c7}\u{fc}\u{e9}\u{e2}\u{e4}\u{e0}\u{e5}\u{e7}\u{ea}\u{eb}\u{e8}\u{ef}\u{ee}\u{ec}\u{c4}\u{c5}\u{c9}\u{e6}\u{c6}\u{f4}\u{f6}\u{f2}\u{fb}\u{f9}\u{ff}\u{d6}\u{dc}\u{a2}\u{a3}\u{a5}\u{20a7}\u{192}\u{e1}\u{ed}\u{f3}\u{fa}\u{f1}\u{d1}\u{aa}\u{ba}\u{bf}\u{2310}\u{ac}\u{bd}\u{bc}\u{a1}\u{ab}\u{bb}\u{2591}\u{2592}\u{2593}\u{2502}\u{2524}\u{2561}\u{2562}\u{2556}\u{2555}\u{2563}\u{2551}\u{2557}\u{255d}\u{255c}\u{255b}\u{2510}\u{2514}\u{2534}\u{252c}\u{251c}\u{2500}\u{253c}\u{255e}\u{255f}\u{255a}\u{2554}\u{2569}\u{2566}\u{2560}\u{2550}\u{256c}\u{2567}\u{2568}\u{2564}\u{2565}\u{2559}\u{2558}\u{2552}\u{2553}\u{256b}\u{256a}\u{2518}\u{250c}\u{2588}\u{2584}\u{258c}\u{2590}\u{2580}\u{3b1}\u{df}\u{393}\u{3c0}\u{3a3}\u{3c3}\u{b5}\u{3c4}\u{3a6}\u{398}\u{3a9}\u{3b4}\u{221e}\u{3c6}\u{3b5}\u{2229}\u{2261}\u{b1}\u{2265}\u{2264}\u{2320}\u{2321}\u{f7}\u{2248}\u{b0}\u{2219}\u{b7}\u{221a}\u{207f}\u{b2}\u{25a0}\u{a0}", '\u{1a}'),
];
/// ftfy's `BADNESS_RE` (whitespace and comments removed).
const BADNESS_PATTERN: &str = r"[\x{80}-\x{9f}]|[\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{b6}\x{a7}][\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}]|[a-zA-Z][\x{3b1}-\x{3c9}\x{3ac}\x{3ad}\x{3ae}\x{3af}\x{3b0}\x{430}-\x{45f}\x{de}\x{391}-\x{3a9}\x{386}\x{388}\x{389}\x{38a}\x{38c}\x{38e}\x{38f}\x{3aa}\x{3ab}\x{401}-\x{42f}][\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}]|[\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}][\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{b6}\x{a7}]|[\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{3b1}-\x{3c9}\x{3ac}\x{3ad}\x{3ae}\x{3af}\x{3b0}\x{430}-\x{45f}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}][\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}]|[\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}][\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}]|[\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}][\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}]|\s[\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}][\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}]|[\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}][\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{b6}\x{a7}]|[\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}][\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}][\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}]|[\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}\x{b6}\x{a7}][\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}][\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}]|[\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}][\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}]|[a-z][\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}][\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}]|[\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}][\x{d2}-\x{d6}\x{d9}-\x{dc}\x{f2}-\x{f6}\x{f8}-\x{fc}\x{150}\x{14c}\x{16a}\x{172}\x{b0}]|[\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{b6}\x{a7}][\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}]|[\x{2502}\x{250c}\x{2510}\x{2518}\x{251c}\x{2524}\x{252c}\x{253c}\x{2550}-\x{256c}\x{2580}\x{2584}\x{2588}\x{258c}\x{2590}\x{2591}\x{2592}\x{2593}][\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}]|[\x{df}\x{e0}-\x{f1}\x{103}\x{105}\x{101}\x{107}\x{10d}\x{10f}\x{111}\x{119}\x{11b}\x{113}\x{117}\x{11f}\x{123}\x{12f}\x{12b}\x{137}\x{13a}\x{13e}\x{142}\x{13c}\x{153}\x{155}\x{15b}\x{15f}\x{161}\x{165}\x{fc}\x{17a}\x{17c}\x{17e}\x{491}\x{fb01}\x{fb02}\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}][\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}]\w|[\x{152}\x{153}][^A-Za-z]|[\x{c0}-\x{d1}\x{d8}\x{dc}\x{dd}\x{102}\x{100}\x{104}\x{106}\x{10c}\x{10e}\x{110}\x{118}\x{11a}\x{112}\x{116}\x{11e}\x{122}\x{130}\x{12a}\x{136}\x{139}\x{13d}\x{141}\x{13b}\x{143}\x{147}\x{145}\x{152}\x{158}\x{15a}\x{15e}\x{160}\x{162}\x{164}\x{16e}\x{170}\x{178}\x{179}\x{17b}\x{17d}\x{490}]\x{b0}|[\x{c2}\x{c3}\x{ce}\x{d0}][\x{20ac}\x{153}\x{160}\x{161}\x{a2}\x{a3}\x{178}\x{17e}\xa0\xad\x{ae}\x{a9}\x{b0}\x{b7}\x{bb}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{2013}\x{2014}\x{b4}]|\x{d7}[\x{b2}\x{b3}]|[\x{d8}\x{d9}][\x{a0}\x{ad}\x{b7}\x{b4}\x{2013}\x{2014}\x{2015}\x{2026}\x{2019}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{178}\x{160}\x{ae}\x{b0}\x{b5}\x{bb}][\x{d8}\x{d9}][\x{a0}\x{ad}\x{b7}\x{b4}\x{2013}\x{2014}\x{2015}\x{2026}\x{2019}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}\x{b2}\x{b3}\x{b9}\x{b1}\x{bc}\x{bd}\x{be}\x{d7}\x{b5}\x{f7}\x{2044}\x{2202}\x{2206}\x{220f}\x{2211}\x{221a}\x{221e}\x{2229}\x{222b}\x{2248}\x{2260}\x{2261}\x{2264}\x{2265}\x{2116}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{178}\x{160}\x{ae}\x{b0}\x{b5}\x{bb}]|\x{e0}[\x{b2}\x{b5}\x{b9}\x{bc}\x{bd}\x{be}]|\x{221a}[\x{b1}\x{2202}\x{2020}\x{2260}\x{ae}\x{2122}\x{b4}\x{2264}\x{2265}\x{a5}\x{b5}\x{f8}]|\x{2248}[\x{b0}\x{a2}]|\x{201a}\x{c4}[\x{ec}\x{ee}\x{ef}\x{f2}\x{f4}\x{fa}\x{f9}\x{fb}\x{2020}\x{b0}\x{a2}\x{3c0}]|\x{201a}[\x{e2}\x{f3}][\x{e0}\x{e4}\x{b0}\x{ea}]|\x{432}\x{402}|[\x{412}\x{413}\x{420}\x{421}][\x{80}-\x{9f}\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b0}\x{b5}][\x{412}\x{413}\x{420}\x{421}]|\x{413}\x{45e}\x{412}\x{402}\x{412}.[A-Za-z ]|\x{c3}[\xa0\x{a1}]|[a-z]\s?[\x{c3}\x{c2}][ ]|^[\x{c3}\x{c2}][ ]|[a-z.,?!\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}]\x{c2}[ \x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}]|\x{3b2}\x{20ac}[\x{2122}\xa0\x{386}\xad\x{ae}\x{b0}]|[\x{392}\x{393}\x{39e}\x{39f}][\x{80}-\x{9f}\x{a6}\x{a4}\x{a8}\x{ac}\x{af}\x{b8}\x{192}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2020}\x{2021}\x{2030}\x{2310}\x{25ca}\x{fffd}\x{aa}\x{ba}\x{a1}\x{ab}\x{bf}\x{a9}\x{384}\x{385}\x{2018}\x{201a}\x{201c}\x{201e}\x{2022}\x{2039}\x{f8ff}\x{ae}\x{bb}\x{2dd}\x{201d}\x{203a}\x{2122}\x{a2}\x{a3}\x{a5}\x{20a7}\x{20ac}\x{b0}][\x{392}\x{393}\x{39e}\x{39f}]|\x{101}\x{20ac}";
/// The characters of `UTF8_DETECTOR_RE`'s leading negative look-behind.
const UTF8_DETECTOR_NOT_AFTER: &str = "\u{80}\u{81}\u{82}\u{83}\u{84}\u{85}\u{86}\u{87}\u{88}\u{89}\u{8a}\u{8b}\u{8c}\u{8d}\u{8e}\u{8f}\u{90}\u{91}\u{92}\u{93}\u{94}\u{95}\u{96}\u{97}\u{98}\u{99}\u{9a}\u{9b}\u{9c}\u{9d}\u{9e}\u{9f}\u{a0}\u{a1}\u{a2}\u{a3}\u{a4}\u{a5}\u{a6}\u{a7}\u{a8}\u{a9}\u{aa}\u{ab}\u{ac}\u{ad}\u{ae}\u{af}\u{b0}\u{b1}\u{b2}\u{b3}\u{b4}\u{b5}\u{b6}\u{b7}\u{b8}\u{b9}\u{ba}\u{bb}\u{bc}\u{bd}\u{be}\u{bf}\u{c6}\u{d8}\u{e6}\u{f8}\u{104}\u{105}\u{13d}\u{13e}\u{141}\u{142}\u{152}\u{153}\u{156}\u{157}\u{15a}\u{15b}\u{15e}\u{15f}\u{160}\u{161}\u{164}\u{165}\u{178}\u{179}\u{17a}\u{17b}\u{17c}\u{17d}\u{17e}\u{192}\u{2c6}\u{2c7}\u{2d8}\u{2db}\u{2dc}\u{2dd}\u{384}\u{385}\u{386}\u{388}\u{389}\u{38a}\u{38c}\u{38e}\u{38f}\u{401}\u{402}\u{403}\u{404}\u{405}\u{406}\u{407}\u{408}\u{409}\u{40a}\u{40b}\u{40c}\u{40e}\u{40f}\u{451}\u{452}\u{453}\u{454}\u{455}\u{456}\u{457}\u{458}\u{459}\u{45a}\u{45b}\u{45c}\u{45e}\u{45f}\u{490}\u{491}\u{2020}\u{2021}\u{2030}\u{2039}\u{203a}\u{20ac}\u{2116}\u{2122}";
/// ftfy's `UTF8_DETECTOR_RE` without that look-behind.
const UTF8_DETECTOR_PATTERN: &str = r"([\x{102}\x{c2}\x{c4}\x{100}\x{c5}\x{c3}\x{c6}\x{106}\x{10c}\x{c7}\x{10e}\x{110}\x{c9}\x{11a}\x{ca}\x{cb}\x{116}\x{c8}\x{112}\x{118}\x{d0}\x{11e}\x{122}\x{cd}\x{ce}\x{cf}\x{130}\x{cc}\x{12a}\x{136}\x{139}\x{13b}\x{141}\x{143}\x{147}\x{145}\x{d1}\x{d3}\x{d4}\x{d6}\x{150}\x{d2}\x{14c}\x{d8}\x{d5}\x{158}\x{15a}\x{160}\x{15e}\x{162}\x{de}\x{da}\x{db}\x{dc}\x{170}\x{d9}\x{16a}\x{172}\x{16e}\x{dd}\x{179}\x{17d}\x{17b}\x{df}\x{d7}\x{392}\x{393}\x{394}\x{395}\x{396}\x{397}\x{398}\x{399}\x{39a}\x{39b}\x{39c}\x{39d}\x{39e}\x{39f}\x{3a0}\x{3a1}\x{3a3}\x{3a4}\x{3a5}\x{3a6}\x{3a7}\x{3a8}\x{3a9}\x{3aa}\x{3ab}\x{3ac}\x{3ad}\x{3ae}\x{3af}\x{412}\x{413}\x{414}\x{415}\x{416}\x{417}\x{418}\x{419}\x{41a}\x{41b}\x{41c}\x{41d}\x{41e}\x{41f}\x{420}\x{421}\x{422}\x{423}\x{424}\x{425}\x{426}\x{427}\x{428}\x{429}\x{42a}\x{42b}\x{42c}\x{42d}\x{42e}\x{42f}][\x{80}-\x{bf} \x{104}\x{c6}\x{13d}\x{141}\x{d8}\x{156}\x{15a}\x{160}\x{15e}\x{164}\x{178}\x{179}\x{17d}\x{17b}\x{152}\x{105}\x{e6}\x{192}\x{13e}\x{142}\x{f8}\x{157}\x{15b}\x{161}\x{15f}\x{165}\x{17a}\x{17e}\x{17c}\x{153}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2dd}\x{384}\x{385}\x{386}\x{388}\x{389}\x{38a}\x{38c}\x{38e}\x{38f}\x{401}\x{402}\x{403}\x{404}\x{405}\x{406}\x{407}\x{408}\x{409}\x{40a}\x{40b}\x{40c}\x{40e}\x{40f}\x{451}\x{452}\x{453}\x{454}\x{455}\x{456}\x{457}\x{458}\x{459}\x{45a}\x{45b}\x{45c}\x{45e}\x{45f}\x{490}\x{491}\x{2013}\x{2014}\x{2015}\x{2018}\x{2019}\x{201a}\x{201c}\x{201d}\x{201e}\x{2020}\x{2021}\x{2022}\x{2026}\x{2030}\x{2039}\x{203a}\x{20ac}\x{2116}\x{2122}]|[\x{e1}\x{103}\x{e2}\x{e4}\x{e0}\x{101}\x{105}\x{e5}\x{e3}\x{e6}\x{107}\x{10d}\x{e7}\x{10f}\x{e9}\x{11b}\x{ea}\x{eb}\x{117}\x{e8}\x{113}\x{119}\x{119}\x{123}\x{ed}\x{ee}\x{ef}\x{ec}\x{12b}\x{12f}\x{137}\x{13a}\x{13c}\x{155}\x{17a}\x{3b0}\x{3b1}\x{3b2}\x{3b3}\x{3b4}\x{3b5}\x{3b6}\x{3b7}\x{3b8}\x{3b9}\x{3ba}\x{3bb}\x{3bc}\x{3bd}\x{3be}\x{3bf}\x{430}\x{431}\x{432}\x{433}\x{434}\x{435}\x{436}\x{437}\x{438}\x{439}\x{43a}\x{43b}\x{43c}\x{43d}\x{43e}\x{43f}][\x{80}-\x{bf} \x{104}\x{c6}\x{13d}\x{141}\x{d8}\x{156}\x{15a}\x{160}\x{15e}\x{164}\x{178}\x{179}\x{17d}\x{17b}\x{152}\x{105}\x{e6}\x{192}\x{13e}\x{142}\x{f8}\x{157}\x{15b}\x{161}\x{15f}\x{165}\x{17a}\x{17e}\x{17c}\x{153}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2dd}\x{384}\x{385}\x{386}\x{388}\x{389}\x{38a}\x{38c}\x{38e}\x{38f}\x{401}\x{402}\x{403}\x{404}\x{405}\x{406}\x{407}\x{408}\x{409}\x{40a}\x{40b}\x{40c}\x{40e}\x{40f}\x{451}\x{452}\x{453}\x{454}\x{455}\x{456}\x{457}\x{458}\x{459}\x{45a}\x{45b}\x{45c}\x{45e}\x{45f}\x{490}\x{491}\x{2013}\x{2014}\x{2015}\x{2018}\x{2019}\x{201a}\x{201c}\x{201d}\x{201e}\x{2020}\x{2021}\x{2022}\x{2026}\x{2030}\x{2039}\x{203a}\x{20ac}\x{2116}\x{2122}]{2}|[\x{111}\x{f0}\x{11f}\x{f3}\x{161}\x{3c0}\x{3c3}\x{440}\x{443}][\x{80}-\x{bf} \x{104}\x{c6}\x{13d}\x{141}\x{d8}\x{156}\x{15a}\x{160}\x{15e}\x{164}\x{178}\x{179}\x{17d}\x{17b}\x{152}\x{105}\x{e6}\x{192}\x{13e}\x{142}\x{f8}\x{157}\x{15b}\x{161}\x{15f}\x{165}\x{17a}\x{17e}\x{17c}\x{153}\x{2c6}\x{2c7}\x{2d8}\x{2db}\x{2dc}\x{2dd}\x{384}\x{385}\x{386}\x{388}\x{389}\x{38a}\x{38c}\x{38e}\x{38f}\x{401}\x{402}\x{403}\x{404}\x{405}\x{406}\x{407}\x{408}\x{409}\x{40a}\x{40b}\x{40c}\x{40e}\x{40f}\x{451}\x{452}\x{453}\x{454}\x{455}\x{456}\x{457}\x{458}\x{459}\x{45a}\x{45b}\x{45c}\x{45e}\x{45f}\x{490}\x{491}\x{2013}\x{2014}\x{2015}\x{2018}\x{2019}\x{201a}\x{201c}\x{201d}\x{201e}\x{2020}\x{2021}\x{2022}\x{2026}\x{2030}\x{2039}\x{203a}\x{20ac}\x{2116}\x{2122}]{3})+";
// ---- end of generated tables ----

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Deserialize)]
    struct Case {
        text: String,
        #[serde(default)]
        tokens: Vec<i64>,
        #[serde(default)]
        too_long: bool,
        #[serde(default)]
        truncated: Vec<i64>,
        #[serde(default)]
        n_tokens: Option<usize>,
    }

    #[derive(Deserialize)]
    struct Fixture {
        context_length: usize,
        cases: Vec<Case>,
        long: Vec<Case>,
    }

    fn fixture() -> Fixture {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/tokenizer/tokens.json");
        let text = std::fs::read_to_string(&path).expect("read tokens.json");
        serde_json::from_str(&text).expect("parse tokens.json")
    }

    /// Compares one fixture case; returns a description of the mismatch.
    fn check(tok: &ClipTokenizer, case: &Case, context_length: usize) -> Option<String> {
        let strict = tok.tokenize_one(&case.text, context_length, false);
        let cut = tok
            .tokenize_one(&case.text, context_length, true)
            .expect("truncation never fails at 77");
        if case.too_long {
            if !matches!(strict, Err(TokenizeError::TooLong { .. })) {
                return Some(format!("{:?}: expected TooLong, got {strict:?}", case.text));
            }
            if cut != case.truncated {
                return Some(format!("{:?}: truncated row differs", case.text));
            }
            return None;
        }
        let mut expected = case.tokens.clone();
        expected.resize(context_length, 0);
        match strict {
            Ok(row) if row == expected && cut == expected => None,
            other => Some(format!(
                "{:?} (cleaned {:?}): expected {:?}, got {:?}",
                case.text,
                clean_text(&case.text),
                case.tokens,
                other.map(|r| r.into_iter().take_while(|&t| t != 0).collect::<Vec<_>>())
            )),
        }
    }

    /// `SimpleTokenizer.decoder`, id by id: the strings CoOp's interpret_prompt.py prints.
    #[test]
    fn token_strings_are_simple_tokenizers_decoder() {
        let tok = ClipTokenizer::new();
        for (id, want) in [
            (0, "!"),
            (93, "~"),
            (94, "¡"),
            (187, "ÿ"),
            (255, "Ń"),
            (256, "!</w>"),
            (511, "Ń</w>"),
            (512, "in"),
            (1125, "photo</w>"),
            (49405, "jekyll</w>"),
            (SOT, "<|startoftext|>"),
            (EOT, "<|endoftext|>"),
        ] {
            assert_eq!(tok.token_str(id), Some(want), "id {id}");
        }
        assert_eq!(tok.token_str(VOCAB_SIZE as i64), None);
        assert_eq!(tok.token_str(-1), None);
        let script = "import json\nfrom clip.simple_tokenizer import SimpleTokenizer\n\
                      d = SimpleTokenizer().decoder\n\
                      print(json.dumps([d[i] for i in range(len(d))]))";
        let Some(out) = crate::torchfile::tests::run_python(script, &[]) else {
            return;
        };
        let theirs: Vec<String> = serde_json::from_str(out.trim()).unwrap();
        assert_eq!(theirs.len(), VOCAB_SIZE);
        let differ: Vec<String> = theirs
            .iter()
            .enumerate()
            .filter(|(i, t)| tok.token_str(*i as i64) != Some(t.as_str()))
            .map(|(i, t)| format!("{i}: {t:?} vs {:?}", tok.token_str(i as i64)))
            .take(10)
            .collect();
        assert!(differ.is_empty(), "{differ:?}");
    }

    #[test]
    fn matches_openai_clip_tokenize_on_every_fixture_text() {
        let fx = fixture();
        let tok = ClipTokenizer::new();
        let failures: Vec<String> = fx
            .cases
            .iter()
            .chain(&fx.long)
            .filter_map(|case| check(&tok, case, fx.context_length))
            .collect();
        let total = fx.cases.len() + fx.long.len();
        assert!(total > 500, "fixture too small: {total}");
        assert!(
            failures.is_empty(),
            "{} of {total} texts differ from clip.tokenize:\n{}",
            failures.len(),
            failures[..failures.len().min(40)].join("\n")
        );
    }

    #[test]
    fn too_long_is_an_error_naming_text_and_lengths() {
        let fx = fixture();
        let tok = ClipTokenizer::new();
        let long = fx.long.iter().find(|c| c.too_long).expect("a long case");
        let err = tok.tokenize(&[long.text.as_str()], 77, false).unwrap_err();
        let TokenizeError::TooLong {
            text,
            n_tokens,
            context_length,
        } = &err
        else {
            panic!("unexpected error {err:?}");
        };
        assert_eq!(text, &long.text);
        assert_eq!(Some(*n_tokens), long.n_tokens);
        assert_eq!(*context_length, 77);
        let message = err.to_string();
        assert!(
            message.contains("too long for context length 77"),
            "{message}"
        );
        assert!(message.contains("word word"), "{message}");
    }

    #[test]
    fn truncation_keeps_77_ids_and_forces_eot() {
        let tok = ClipTokenizer::new();
        let text = "dog ".repeat(100);
        let row = tok.tokenize_one(&text, 77, true).unwrap();
        assert_eq!(row.len(), 77);
        assert_eq!(row[0], SOT);
        assert_eq!(row[76], EOT);
        assert!(row[1..76].iter().all(|&t| t == 1929), "{row:?}");
        // Exactly fitting texts are not errors: 75 words + SOT + EOT = 77.
        let fits = "dog ".repeat(75);
        assert_eq!(tok.tokenize_one(&fits, 77, false).unwrap()[76], EOT);
        assert!(tok.tokenize_one(&"dog ".repeat(76), 77, false).is_err());
        // Tiny context lengths behave like Python's slicing.
        assert_eq!(tok.tokenize_one("dog", 1, true).unwrap(), vec![EOT]);
        assert_eq!(
            tok.tokenize_one("dog", 0, true),
            Err(TokenizeError::ContextTooShort(0))
        );
    }

    #[test]
    fn sample_ids_from_the_reference() {
        let tok = ClipTokenizer::new();
        assert_eq!(tok.encode("."), vec![269]);
        assert_eq!(tok.encode("x"), vec![343]);
        assert_eq!(tok.encode("X"), vec![343]);
        assert_eq!(tok.encode("a"), vec![320]);
        assert_eq!(tok.encode("Hi there"), vec![1883, 997]);
        assert_eq!(
            (tok.sot(), tok.eot(), tok.vocab_size()),
            (49406, 49407, 49408)
        );
        let rows = tok
            .tokenize(&["a photo of a dog.", ""], DEFAULT_CONTEXT_LENGTH, false)
            .unwrap();
        assert_eq!(&rows[0][..8], &[SOT, 320, 1125, 539, 320, 1929, 269, EOT]);
        assert_eq!(&rows[1][..3], &[SOT, EOT, 0]);
        assert!(rows.iter().all(|r| r.len() == 77));
    }

    #[test]
    fn cleaning_examples() {
        assert_eq!(
            clean_text("  Caf\u{e9}  &amp;\tTHE ﬁsh\n"),
            "café & the fish"
        );
        assert_eq!(clean_text("cafÃ©"), "café");
        assert_eq!(clean_text("ＬＯＵＤ　ＮＯＩＳＥＳ"), "loud noises");
        assert_eq!(clean_text("&amp;amp;"), "&");
        assert_eq!(clean_text("\u{201c}it\u{2019}s\u{201d}"), "\"it's\"");
        assert_eq!(html_unescape("&#x80;&#0;&#1;&eacutex&amp"), "€\u{fffd}éx&");
    }

    #[test]
    fn decode_inverts_encode_for_plain_words() {
        let tok = ClipTokenizer::new();
        let ids = tok.encode("Hello world!!!");
        assert_eq!(tok.decode(&ids).unwrap(), "hello world !!! ");
        assert_eq!(
            tok.decode(&[SOT, 1883, EOT]).unwrap(),
            "<|startoftext|>hi <|endoftext|>"
        );
        assert_eq!(
            tok.decode(&[49408]),
            Err(TokenizeError::UnknownToken(49408))
        );
        assert_eq!(tok.decode(&[-1]), Err(TokenizeError::UnknownToken(-1)));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn ascii_rows_are_well_formed(words in prop::collection::vec("[ -~]{1,8}", 0..=20)) {
            let tok = ClipTokenizer::new();
            let text = words.join(" ");
            let row = tok.tokenize_one(&text, 77, true).unwrap();
            prop_assert_eq!(row.len(), 77);
            prop_assert_eq!(row[0], SOT);
            prop_assert_eq!(row.iter().filter(|&&t| t == EOT).count(), 1);
            let eot = row.iter().position(|&t| t == EOT).unwrap();
            prop_assert!(row[eot + 1..].iter().all(|&t| t == 0));
            prop_assert!(row[1..eot].iter().all(|&t| (1..SOT).contains(&t) || t == 0));
        }

        #[test]
        fn lowercase_words_round_trip(words in prop::collection::vec("[a-z]{1,10}", 1..=12)) {
            let tok = ClipTokenizer::new();
            let text = words.join(" ");
            let decoded = tok.decode(&tok.encode(&text)).unwrap();
            prop_assert_eq!(decoded, format!("{text} "));
        }

        #[test]
        fn any_text_truncates_to_a_row(text in "\\PC{0,200}") {
            let tok = ClipTokenizer::new();
            let row = tok.tokenize_one(&text, 77, true).unwrap();
            prop_assert_eq!(row.len(), 77);
            prop_assert_eq!(row[0], SOT);
            prop_assert!(row.contains(&EOT));
            prop_assert!(row.iter().all(|&t| (0..VOCAB_SIZE as i64).contains(&t)));
        }
    }
}
