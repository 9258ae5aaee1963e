//! Python `ast.literal_eval` for config strings.
//!
//! yacs decodes every string from YAML or the command line with `literal_eval` and keeps
//! the raw string when that raises, so `"(224, 224)"` becomes a tuple while `end`,
//! `RN50` or `ViT-B/16` stay strings. [`decode`] does the same: it returns `None`
//! exactly where Python would raise `ValueError`/`SyntaxError`.
//!
//! Supported: ints (decimal, `0x`/`0o`/`0b`, underscores), floats, one leading sign,
//! strings (quotes, triple quotes, `r`/`u` prefixes, escapes, implicit concatenation),
//! `True`/`False`/`None`, tuples (also bare `1, 2`), lists and dicts. Not supported, and
//! therefore left as strings: complex numbers, sets, bytes and ints beyond 64 bits.

use super::value::Value;

/// Decode `text` like `ast.literal_eval`; `None` where Python raises.
pub fn decode(text: &str) -> Option<Value> {
    let mut p = Parser {
        s: text.as_bytes(),
        src: text,
        i: 0,
        depth: 0,
    };
    // literal_eval strips leading spaces and tabs before parsing.
    while p.i < p.s.len() && (p.s[p.i] == b' ' || p.s[p.i] == b'\t') {
        p.i += 1;
    }
    let v = p.tuple_or_expr(false)?;
    p.skip_ws(false);
    if p.i != p.s.len() {
        return None;
    }
    Some(v)
}

/// Decode a config string: the literal it spells, or the string itself.
pub fn decode_or_str(text: &str) -> Value {
    decode(text).unwrap_or_else(|| Value::Str(text.to_string()))
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    /// Whitespace; newlines are only insignificant inside brackets.
    fn skip_ws(&mut self, in_brackets: bool) {
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\x0c' => self.i += 1,
                b'\n' | b'\r' if in_brackets => self.i += 1,
                b'\\' if self.s.get(self.i + 1) == Some(&b'\n') => self.i += 2,
                b'#' => {
                    while let Some(c) = self.peek() {
                        if c == b'\n' {
                            break;
                        }
                        self.i += 1;
                    }
                }
                _ => break,
            }
        }
        if !in_brackets {
            // Trailing newlines at the very end are accepted by `eval` mode.
            let rest = &self.s[self.i..];
            if rest
                .iter()
                .all(|c| matches!(c, b'\n' | b'\r' | b' ' | b'\t'))
            {
                self.i = self.s.len();
            }
        }
    }

    /// `expr (',' expr)* [',']`: a bare comma list is a tuple.
    fn tuple_or_expr(&mut self, in_brackets: bool) -> Option<Value> {
        self.skip_ws(in_brackets);
        let first = self.expr(in_brackets)?;
        self.skip_ws(in_brackets);
        if self.peek() != Some(b',') {
            return Some(first);
        }
        let mut items = vec![first];
        while self.peek() == Some(b',') {
            self.i += 1;
            self.skip_ws(in_brackets);
            match self.peek() {
                None | Some(b')') | Some(b']') | Some(b'}') => break,
                _ => {}
            }
            items.push(self.expr(in_brackets)?);
            self.skip_ws(in_brackets);
        }
        Some(Value::Tuple(items))
    }

    fn expr(&mut self, in_brackets: bool) -> Option<Value> {
        self.depth += 1;
        if self.depth > 200 {
            return None;
        }
        let v = self.expr_inner(in_brackets);
        self.depth -= 1;
        v
    }

    fn expr_inner(&mut self, in_brackets: bool) -> Option<Value> {
        self.skip_ws(in_brackets);
        match self.peek()? {
            b'+' | b'-' => {
                let neg = self.peek() == Some(b'-');
                self.i += 1;
                self.skip_ws(in_brackets);
                // literal_eval allows exactly one sign directly on a number.
                match self.number()? {
                    Value::Int(i) => Some(Value::Int(if neg { i.checked_neg()? } else { i })),
                    Value::Float(f) => Some(Value::Float(if neg { -f } else { f })),
                    _ => None,
                }
            }
            b'0'..=b'9' | b'.' => self.number(),
            b'(' => {
                self.i += 1;
                self.skip_ws(true);
                if self.peek() == Some(b')') {
                    self.i += 1;
                    return Some(Value::Tuple(vec![]));
                }
                let v = self.tuple_or_expr(true)?;
                self.skip_ws(true);
                if self.peek() != Some(b')') {
                    return None;
                }
                self.i += 1;
                Some(v)
            }
            b'[' => {
                self.i += 1;
                let items = self.items(b']')?;
                Some(Value::List(items))
            }
            b'{' => {
                self.i += 1;
                self.dict()
            }
            b'\'' | b'"' => self.strings(in_brackets),
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = self.i;
                while let Some(c) = self.peek() {
                    if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
                        self.i += 1;
                    } else {
                        break;
                    }
                }
                let word = &self.src[start..self.i];
                if matches!(self.peek(), Some(b'\'' | b'"')) {
                    // String prefixes: r, u and combinations; bytes and f-strings fail.
                    let lower = word.to_ascii_lowercase();
                    return match lower.as_str() {
                        "r" | "u" => {
                            self.i = start;
                            self.strings(in_brackets)
                        }
                        _ => None,
                    };
                }
                match word {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::None),
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn items(&mut self, close: u8) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            self.skip_ws(true);
            if self.peek() == Some(close) {
                self.i += 1;
                return Some(items);
            }
            items.push(self.expr(true)?);
            self.skip_ws(true);
            match self.peek()? {
                b',' => self.i += 1,
                c if c == close => {}
                _ => return None,
            }
        }
    }

    fn dict(&mut self) -> Option<Value> {
        let mut pairs = Vec::new();
        loop {
            self.skip_ws(true);
            if self.peek() == Some(b'}') {
                self.i += 1;
                return Some(Value::Dict(pairs));
            }
            let k = self.expr(true)?;
            self.skip_ws(true);
            // `{1, 2}` is a set literal: not a config type, treated as unsupported.
            if self.peek() != Some(b':') {
                return None;
            }
            self.i += 1;
            let v = self.expr(true)?;
            // Unhashable keys make Python raise.
            if matches!(k, Value::List(_) | Value::Dict(_)) {
                return None;
            }
            pairs.push((k, v));
            self.skip_ws(true);
            match self.peek()? {
                b',' => self.i += 1,
                b'}' => {}
                _ => return None,
            }
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.i;
        let s = self.s;
        let radix = if s.get(self.i) == Some(&b'0') {
            match s.get(self.i + 1).map(|c| c.to_ascii_lowercase()) {
                Some(b'x') => 16,
                Some(b'o') => 8,
                Some(b'b') => 2,
                _ => 10,
            }
        } else {
            10
        };
        if radix != 10 {
            self.i += 2;
            let ds = self.i;
            while let Some(c) = self.peek() {
                if c.is_ascii_alphanumeric() || c == b'_' {
                    self.i += 1;
                } else {
                    break;
                }
            }
            let digits = underscored(&self.src[ds..self.i])?;
            return i64::from_str_radix(&digits, radix).ok().map(Value::Int);
        }
        let mut is_float = false;
        while let Some(c) = self.peek() {
            match c {
                b'0'..=b'9' | b'_' => self.i += 1,
                b'.' if !is_float => {
                    is_float = true;
                    self.i += 1;
                }
                b'e' | b'E' => {
                    is_float = true;
                    self.i += 1;
                    if matches!(self.peek(), Some(b'+' | b'-')) {
                        self.i += 1;
                    }
                    let es = self.i;
                    while let Some(b'0'..=b'9' | b'_') = self.peek() {
                        self.i += 1;
                    }
                    if self.i == es {
                        return None;
                    }
                    break;
                }
                _ => break,
            }
        }
        // Letters glued to a number (`1j`, `5x`) are complex or syntax errors.
        if matches!(self.peek(), Some(c) if c.is_ascii_alphabetic() || c == b'.') {
            return None;
        }
        let text = &self.src[start..self.i];
        if text == "." {
            return None;
        }
        if is_float {
            let mantissa_part = text.split(['e', 'E']).next().unwrap_or("");
            let t = underscored_float(text)?;
            if mantissa_part == "." {
                return None;
            }
            return t.parse::<f64>().ok().map(Value::Float);
        }
        let digits = underscored(text)?;
        // Python forbids leading zeros in non-zero decimal ints ("09").
        if digits.len() > 1 && digits.starts_with('0') && digits.bytes().any(|c| c != b'0') {
            return None;
        }
        digits.parse::<i64>().ok().map(Value::Int)
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self, in_brackets: bool) -> Option<Value> {
        let mut out = String::new();
        let mut any = false;
        loop {
            let save = self.i;
            self.skip_ws(in_brackets);
            let raw = match self.peek() {
                Some(b'r' | b'R') => {
                    self.i += 1;
                    true
                }
                Some(b'u' | b'U') => {
                    self.i += 1;
                    false
                }
                _ => false,
            };
            match self.peek() {
                Some(q @ (b'\'' | b'"')) => {
                    out.push_str(&self.string_body(q, raw)?);
                    any = true;
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        any.then_some(Value::Str(out))
    }

    fn string_body(&mut self, q: u8, raw: bool) -> Option<String> {
        let triple = self.s.get(self.i + 1) == Some(&q) && self.s.get(self.i + 2) == Some(&q);
        self.i += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == q {
                if !triple {
                    self.i += 1;
                    return Some(out);
                }
                if self.s.get(self.i + 1) == Some(&q) && self.s.get(self.i + 2) == Some(&q) {
                    self.i += 3;
                    return Some(out);
                }
            }
            if c == b'\n' && !triple {
                return None;
            }
            if c == b'\\' {
                let next = *self.s.get(self.i + 1)?;
                if raw {
                    out.push('\\');
                    self.i += 1;
                    // A raw string still cannot end with an odd backslash before the quote.
                    let ch = self.next_char()?;
                    out.push(ch);
                    continue;
                }
                self.i += 2;
                match next {
                    b'\n' => {}
                    b'\\' => out.push('\\'),
                    b'\'' => out.push('\''),
                    b'"' => out.push('"'),
                    b'a' => out.push('\x07'),
                    b'b' => out.push('\x08'),
                    b'f' => out.push('\x0c'),
                    b'n' => out.push('\n'),
                    b'r' => out.push('\r'),
                    b't' => out.push('\t'),
                    b'v' => out.push('\x0b'),
                    b'0'..=b'7' => {
                        let mut n = u32::from(next - b'0');
                        for _ in 0..2 {
                            match self.peek() {
                                Some(d @ b'0'..=b'7') => {
                                    n = n * 8 + u32::from(d - b'0');
                                    self.i += 1;
                                }
                                _ => break,
                            }
                        }
                        out.push(char::from_u32(n)?);
                    }
                    b'x' => out.push(self.hex_escape(2)?),
                    b'u' => out.push(self.hex_escape(4)?),
                    b'U' => out.push(self.hex_escape(8)?),
                    _ => {
                        // Unknown escapes keep the backslash (with a warning in Python).
                        out.push('\\');
                        self.i -= 1;
                        let ch = self.next_char()?;
                        out.push(ch);
                    }
                }
                continue;
            }
            let ch = self.next_char()?;
            out.push(ch);
        }
    }

    fn next_char(&mut self) -> Option<char> {
        let ch = self.src.get(self.i..)?.chars().next()?;
        self.i += ch.len_utf8();
        Some(ch)
    }

    fn hex_escape(&mut self, n: usize) -> Option<char> {
        let hex = self.src.get(self.i..self.i + n)?;
        if !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        self.i += n;
        char::from_u32(u32::from_str_radix(hex, 16).ok()?)
    }
}

/// Digits with Python's underscore rule: single underscores between digits only.
fn underscored(text: &str) -> Option<String> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    Some(text.replace('_', ""))
}

fn underscored_float(text: &str) -> Option<String> {
    // Underscores may only sit between two digits.
    let b = text.as_bytes();
    for (i, c) in b.iter().enumerate() {
        if *c == b'_' {
            let before = i
                .checked_sub(1)
                .and_then(|j| b.get(j))
                .is_some_and(u8::is_ascii_digit);
            let after = b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !(before && after) {
                return None;
            }
        }
    }
    Some(text.replace('_', ""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(items: Vec<Value>) -> Value {
        Value::Tuple(items)
    }

    #[test]
    fn decodes_what_literal_eval_decodes() {
        let cases: Vec<(&str, Value)> = vec![
            ("(224, 224)", t(vec![Value::Int(224), Value::Int(224)])),
            ("1e-5", Value::Float(1e-5)),
            ("False", Value::Bool(false)),
            ("True", Value::Bool(true)),
            ("None", Value::None),
            ("16", Value::Int(16)),
            ("-1", Value::Int(-1)),
            ("+3", Value::Int(3)),
            ("- 2.5", Value::Float(-2.5)),
            ("0.002", Value::Float(0.002)),
            ("5.", Value::Float(5.0)),
            (".5", Value::Float(0.5)),
            ("1_000", Value::Int(1000)),
            ("0x10", Value::Int(16)),
            ("0o17", Value::Int(15)),
            ("0b101", Value::Int(5)),
            ("00", Value::Int(0)),
            ("1E3", Value::Float(1000.0)),
            ("(-1,)", t(vec![Value::Int(-1)])),
            ("()", t(vec![])),
            ("(1)", Value::Int(1)),
            ("1, 2", t(vec![Value::Int(1), Value::Int(2)])),
            ("1,", t(vec![Value::Int(1)])),
            ("[]", Value::List(vec![])),
            (
                "['random_resized_crop', \"random_flip\", 'normalize',]",
                Value::List(vec![
                    Value::Str("random_resized_crop".into()),
                    Value::Str("random_flip".into()),
                    Value::Str("normalize".into()),
                ]),
            ),
            (
                "[0.48145466, 0.4578275]",
                Value::List(vec![Value::Float(0.48145466), Value::Float(0.4578275)]),
            ),
            ("'a photo of a'", Value::Str("a photo of a".into())),
            ("'a' \"b\"", Value::Str("ab".into())),
            ("r'\\d'", Value::Str("\\d".into())),
            ("'\\x41\\u00e9\\n'", Value::Str("Aé\n".into())),
            ("'''tri'ple'''", Value::Str("tri'ple".into())),
            ("  7", Value::Int(7)),
            ("7  ", Value::Int(7)),
            ("7\n", Value::Int(7)),
            ("[1,\n 2]", Value::List(vec![Value::Int(1), Value::Int(2)])),
            (
                "{'a': 1}",
                Value::Dict(vec![(Value::Str("a".into()), Value::Int(1))]),
            ),
            (
                "((1, 2), [3])",
                t(vec![
                    t(vec![Value::Int(1), Value::Int(2)]),
                    Value::List(vec![Value::Int(3)]),
                ]),
            ),
            ("1 # comment", Value::Int(1)),
        ];
        for (text, want) in cases {
            assert_eq!(decode(text), Some(want), "literal_eval({text:?})");
        }
    }

    #[test]
    fn keeps_strings_where_literal_eval_raises() {
        for text in [
            "end",
            "RN50",
            "ViT-B/16",
            "a photo of a",
            "fp16",
            "",
            " ",
            "false",
            "true",
            "none",
            "./output",
            "/data/x",
            "2021-10-09",
            "09",
            "1.5.2",
            "--1",
            "-True",
            "1j",
            "1+2j",
            "inf",
            "nan",
            "b'x'",
            "f'x'",
            "{1, 2}",
            "[1, 2",
            "(1, 2",
            "'unterminated",
            "1__0",
            "_1",
            "1_",
            "0x",
            "1e",
            "x=1",
            "[1 2]",
            "{[1]: 2}",
            "Classification",
            "RandomSampler",
            "99999999999999999999999",
        ] {
            assert_eq!(
                decode(text),
                None,
                "literal_eval({text:?}) raises in Python"
            );
            assert_eq!(decode_or_str(text), Value::Str(text.to_string()));
        }
    }

    proptest! {
        #[test]
        fn ints_round_trip(i in any::<i64>().prop_filter("i64::MIN has no literal", |i| *i != i64::MIN)) {
            prop_assert_eq!(decode(&i.to_string()), Some(Value::Int(i)));
        }

        #[test]
        fn float_reprs_round_trip(f in any::<f64>().prop_filter("finite", |f| f.is_finite())) {
            let text = super::super::value::float_repr(f);
            prop_assert_eq!(decode(&text), Some(Value::Float(f)));
        }

        #[test]
        fn string_reprs_round_trip(s in "\\PC{0,20}") {
            let text = super::super::value::str_repr(&s);
            prop_assert_eq!(decode(&text), Some(Value::Str(s)));
        }

        #[test]
        fn identifiers_stay_strings(s in "[a-zA-Z_][a-zA-Z0-9_]{0,12}") {
            prop_assume!(!matches!(s.as_str(), "True" | "False" | "None"));
            prop_assert_eq!(decode_or_str(&s), Value::Str(s));
        }

        #[test]
        fn tuples_of_ints_round_trip(v in proptest::collection::vec(-1000i64..1000, 0..6)) {
            let value = Value::Tuple(v.into_iter().map(Value::Int).collect());
            prop_assert_eq!(decode(&value.repr()), Some(value));
        }
    }
}
