//! JSON text from any `Serialize` value, compact or pretty: the CLI's `-o json` (`plan`, `route`,
//! `diff`) and the JS API's answers (`svcroute-web`), one writer for both.
//!
//! The text is byte for byte what serde_json writes: [`to_string`] is `serde_json::to_string`,
//! [`to_string_pretty`] and [`write_pretty`] are `serde_json::to_string_pretty` /
//! `to_writer_pretty` (two-space indent). `None` and `()` are `null`, maps are objects (keys that
//! serialize as numbers or booleans are quoted), enums are externally tagged, bytes are arrays of
//! numbers, a float that is not finite is `null`, and floats are written as serde_json writes them
//! (shortest round trip; `1e+16`, `1.5e-7`: an exponent outside `1e-5 .. 1e16`). One difference: an `f32`
//! is widened to `f64` first (as serde-wasm-bindgen gave it to JS, and serde_json's `to_value`);
//! no type svcroute writes has one. A map key that is not a string, number, boolean or char is
//! written (quoted) where serde_json refuses it.
//!
//! It is faster than serde_json's writer for svcroute's output (issue 7): its text goes to a
//! `String` and out in 64 KiB chunks with no `io::Write` error path per token, integers are
//! written without `fmt`, and a string is copied whole when it needs no escape (serde_json copies
//! it between escapes after a byte-by-byte table lookup). Whether the text is pretty is a const
//! parameter: the web crate uses only the compact writer, so the pretty one costs its bundle
//! nothing.

use alloc::string::{String, ToString as _};
use core::fmt::{self, Display, Write as _};

use serde::Serialize;
use serde::ser::{self, SerializeMap as _};

/// Why a value could not be written: a `Serialize` impl's own error (serde's derived ones never
/// fail), or the sink of [`write_pretty`] refused its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error(String);

impl Error {
    /// An error with this message (for a sink of [`write_pretty`]).
    pub fn new(msg: impl Display) -> Self {
        Error(msg.to_string())
    }
}

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error::new(msg)
    }
}

/// `value` as compact JSON text (`serde_json::to_string`).
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut w = Writer::<false>::new(None);
    value.serialize(&mut w)?;
    Ok(w.out)
}

/// `value` as pretty JSON text, indented by two spaces (`serde_json::to_string_pretty`).
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut w = Writer::<true>::new(None);
    value.serialize(&mut w)?;
    Ok(w.out)
}

/// `value` as pretty JSON text (`serde_json::to_writer_pretty`), handed to `sink` in pieces of
/// about [`CHUNK`] bytes as it is written: the text of a large plan is never held whole. The
/// first error of `sink` ends the writing and is returned.
pub fn write_pretty<T: Serialize + ?Sized>(value: &T, sink: Sink<'_>) -> Result<(), Error> {
    let mut w = Writer::<true>::new(Some(sink));
    value.serialize(&mut w)?;
    w.flush()
}

/// Where [`write_pretty`] hands its text: a piece at a time, and an error to stop.
pub type Sink<'s> = &'s mut dyn FnMut(&str) -> Result<(), Error>;

/// The size of the pieces [`write_pretty`] hands out (at least; a piece ends between values).
pub const CHUNK: usize = 1 << 16;

/// The JSON text being written: compact, or pretty with `depth` levels of indentation.
struct Writer<'s, const PRETTY: bool> {
    out: String,
    depth: usize,
    /// Writing a map key: numbers and booleans are quoted.
    key: bool,
    sink: Option<Sink<'s>>,
}

/// serde_json's escapes for the bytes below 0x20 that have a short one (0 for `\u00XX`).
const SHORT_ESCAPE: [u8; 32] = {
    let mut t = [0u8; 32];
    t[0x08] = b'b';
    t[0x09] = b't';
    t[0x0a] = b'n';
    t[0x0c] = b'f';
    t[0x0d] = b'r';
    t
};

impl<'s, const PRETTY: bool> Writer<'s, PRETTY> {
    fn new(sink: Option<Sink<'s>>) -> Self {
        let cap = if sink.is_some() {
            CHUNK + CHUNK / 4
        } else {
            256
        };
        Writer {
            out: String::with_capacity(cap),
            depth: 0,
            key: false,
            sink,
        }
    }

    /// Hands the text written so far to the sink (if there is one).
    fn flush(&mut self) -> Result<(), Error> {
        if let Some(sink) = &mut self.sink {
            sink(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Before an array element or an object key: the comma, and in pretty text the new line and
    /// indentation. A full buffer goes to the sink first.
    fn entry(&mut self, first: bool) -> Result<(), Error> {
        if self.out.len() >= CHUNK {
            self.flush()?;
        }
        if !first {
            self.out.push(',');
        }
        if PRETTY {
            self.newline();
        }
        Ok(())
    }

    fn newline(&mut self) {
        /// A new line and the indentation of up to 31 levels, written with one copy.
        const INDENT: &str = "\n                                                              ";
        match INDENT.get(..1 + 2 * self.depth) {
            Some(indent) => self.out.push_str(indent),
            None => {
                self.out.push_str(INDENT);
                for _ in INDENT.len() / 2..self.depth {
                    self.out.push_str("  ");
                }
            }
        }
    }

    fn colon(&mut self) {
        self.out.push_str(if PRETTY { ": " } else { ":" });
    }

    /// A struct's field name: a Rust identifier or a `serde(rename)` of ours, never anything
    /// to escape (the tests' debug builds check it), so not scanned for escapes.
    fn field_name(&mut self, name: &'static str) {
        debug_assert!(!needs_escape(name.as_bytes()), "{name:?}");
        self.out.reserve(name.len() + 2);
        self.out.push('"');
        self.out.push_str(name);
        self.out.push('"');
    }

    fn str(&mut self, s: &str) {
        self.out.reserve(s.len() + 2);
        self.out.push('"');
        if !needs_escape(s.as_bytes()) {
            self.out.push_str(s);
            self.out.push('"');
            return;
        }
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let short = match b {
                b'"' => b'"',
                b'\\' => b'\\',
                0..=0x1f => SHORT_ESCAPE[usize::from(b)],
                _ => continue,
            };
            self.out.push_str(&s[start..i]);
            self.out.push('\\');
            if short == 0 {
                let _ = write!(self.out, "u{b:04x}");
            } else {
                self.out.push(char::from(short));
            }
            start = i + 1;
        }
        self.out.push_str(&s[start..]);
        self.out.push('"');
    }

    /// A number, boolean or `null` as it is, or quoted as a map key.
    fn scalar(&mut self, text: &str) {
        if self.key {
            self.out.push('"');
            self.out.push_str(text);
            self.out.push('"');
        } else {
            self.out.push_str(text);
        }
    }

    fn uint(&mut self, v: u64) {
        let mut buf = [0u8; 20];
        let digits = uint_digits(v, &mut buf);
        self.scalar(digits);
    }

    fn int(&mut self, v: i64) {
        let mut buf = [0u8; 20];
        let digits = uint_digits(v.unsigned_abs(), &mut buf);
        if self.key {
            self.out.push('"');
        }
        if v < 0 {
            self.out.push('-');
        }
        self.out.push_str(digits);
        if self.key {
            self.out.push('"');
        }
    }

    fn float(&mut self, v: f64) {
        if !v.is_finite() {
            // serde_json writes `null` (and refuses one as a map key).
            self.out.push_str("null");
            return;
        }
        let mut text = String::new();
        let abs = v.abs();
        if abs == 0.0 || (1e-5..1e16).contains(&abs) {
            let _ = write!(text, "{v}");
            if !text.contains('.') {
                text.push_str(".0");
            }
        } else {
            let _ = write!(text, "{v:e}");
            // `1e+16` and `1.5e-7`, as serde_json writes them.
            if let Some(e) = text.find('e')
                && text.as_bytes().get(e + 1) != Some(&b'-')
            {
                text.insert(e + 1, '+');
            }
        }
        self.scalar(&text);
    }

    fn open(
        &mut self,
        open: char,
        variant: Option<&str>,
    ) -> Result<Compound<'_, 's, PRETTY>, Error> {
        if let Some(v) = variant {
            self.out.push('{');
            self.depth += 1;
            self.entry(true)?;
            self.str(v);
            self.colon();
        }
        self.out.push(open);
        self.depth += 1;
        Ok(Compound {
            w: self,
            first: true,
            close_variant: variant.is_some(),
        })
    }
}

/// Whether `s` has a byte serde_json escapes (`"`, `\\`, or one below 0x20), eight bytes at a
/// time (the exact tests of "Bit Twiddling Hacks": a byte less than n, a zero byte).
fn needs_escape(s: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    let has_zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH != 0;
    let mut chunks = s.chunks_exact(8);
    for c in &mut chunks {
        let x = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        if x.wrapping_sub(ONES * 0x20) & !x & HIGH != 0
            || has_zero(x ^ (ONES * u64::from(b'"')))
            || has_zero(x ^ (ONES * u64::from(b'\\')))
        {
            return true;
        }
    }
    chunks
        .remainder()
        .iter()
        .any(|&b| b < 0x20 || b == b'"' || b == b'\\')
}

/// `v`'s decimal digits, at the end of `buf`.
pub(crate) fn uint_digits(mut v: u64, buf: &mut [u8; 20]) -> &str {
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    // ASCII digits: never the empty fallback.
    core::str::from_utf8(&buf[i..]).unwrap_or_default()
}

/// A sequence, map or struct being written: whether a comma comes before the next entry, and
/// whether an enum variant's `{"Variant": …}` wraps it.
struct Compound<'a, 's, const PRETTY: bool> {
    w: &'a mut Writer<'s, PRETTY>,
    first: bool,
    close_variant: bool,
}

impl<const PRETTY: bool> Compound<'_, '_, PRETTY> {
    fn entry(&mut self) -> Result<(), Error> {
        let first = self.first;
        self.first = false;
        self.w.entry(first)
    }

    fn end(self, close: char) {
        self.w.depth -= 1;
        if PRETTY && !self.first {
            self.w.newline();
        }
        self.w.out.push(close);
        if self.close_variant {
            self.w.depth -= 1;
            if PRETTY {
                self.w.newline();
            }
            self.w.out.push('}');
        }
    }

    /// A map key: a string as is, a number, boolean or char quoted (as serde_json quotes them).
    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.entry()?;
        self.w.key = true;
        let written = key.serialize(&mut *self.w);
        self.w.key = false;
        written?;
        self.w.colon();
        Ok(())
    }
}

/// `serialize_i8` … `serialize_u64`: each widened to `i64`/`u64` and written as digits.
macro_rules! int_methods {
    ($($method:ident: $ty:ty => $write:ident),* $(,)?) => {$(
        fn $method(self, v: $ty) -> Result<(), Error> {
            self.$write(v.into());
            Ok(())
        }
    )*};
}

impl<'a, 's, const PRETTY: bool> ser::Serializer for &'a mut Writer<'s, PRETTY> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 's, PRETTY>;
    type SerializeTuple = Compound<'a, 's, PRETTY>;
    type SerializeTupleStruct = Compound<'a, 's, PRETTY>;
    type SerializeTupleVariant = Compound<'a, 's, PRETTY>;
    type SerializeMap = Compound<'a, 's, PRETTY>;
    type SerializeStruct = Compound<'a, 's, PRETTY>;
    type SerializeStructVariant = Compound<'a, 's, PRETTY>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(if v { "true" } else { "false" });
        Ok(())
    }
    int_methods! {
        serialize_i8: i8 => int,
        serialize_i16: i16 => int,
        serialize_i32: i32 => int,
        serialize_i64: i64 => int,
        serialize_u8: u8 => uint,
        serialize_u16: u16 => uint,
        serialize_u32: u32 => uint,
        serialize_u64: u64 => uint,
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        // Widened, as serde-wasm-bindgen gave it to JS (and serde_json's `to_value`).
        self.float(v.into());
        Ok(())
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.float(v);
        Ok(())
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.str(v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.str(v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Error> {
        let mut seq = self.open('[', None)?;
        for b in v {
            seq.entry()?;
            seq.w.uint((*b).into());
        }
        seq.end(']');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.scalar("null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Error> {
        self.serialize_none()
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<(), Error> {
        self.str(variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        let mut m = self.open('{', None)?;
        m.serialize_entry(variant, value)?;
        m.end('}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, Error> {
        self.open('[', None)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, Error> {
        self.open('[', None)
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        self.open('[', None)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        self.open('[', Some(variant))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, Error> {
        self.open('{', None)
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, Error> {
        self.open('{', None)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        self.open('{', Some(variant))
    }
}

/// The sequence-like compounds: `[…]`, an element at a time.
macro_rules! seq_like {
    ($($tr:ident :: $method:ident),*) => {$(
        impl<const PRETTY: bool> ser::$tr for Compound<'_, '_, PRETTY> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.entry()?;
                value.serialize(&mut *self.w)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self, ']');
                Ok(())
            }
        }
    )*};
}

seq_like!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// The struct-like compounds: `{…}`, a named field at a time.
macro_rules! struct_like {
    ($($tr:ident),*) => {$(
        impl<const PRETTY: bool> ser::$tr for Compound<'_, '_, PRETTY> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.entry()?;
                self.w.field_name(key);
                self.w.colon();
                value.serialize(&mut *self.w)
            }
            fn end(self) -> Result<(), Error> {
                Compound::end(self, '}');
                Ok(())
            }
        }
    )*};
}

struct_like!(SerializeStruct, SerializeStructVariant);

impl<const PRETTY: bool> ser::SerializeMap for Compound<'_, '_, PRETTY> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.key(key)
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<(), Error> {
        Compound::end(self, '}');
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use alloc::borrow::ToOwned as _;
    use alloc::collections::BTreeMap;
    use alloc::string::String;
    use alloc::vec;
    use alloc::vec::Vec;

    use serde::Serialize;

    use super::{CHUNK, Error, to_string, to_string_pretty, write_pretty};

    /// Byte for byte what serde_json writes, compact, pretty and pretty through a sink.
    fn same<T: Serialize + ?Sized>(v: &T) {
        let theirs = serde_json::to_string(v).expect("serde_json writes");
        assert_eq!(to_string(v).expect("writes"), theirs);
        let theirs = serde_json::to_string_pretty(v).expect("serde_json writes");
        assert_eq!(to_string_pretty(v).expect("writes"), theirs);
        let mut pieces = String::new();
        write_pretty(v, &mut |s| {
            pieces.push_str(s);
            Ok(())
        })
        .expect("writes");
        assert_eq!(pieces, theirs);
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    enum E {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { a: Option<u8>, b: f64 },
        EmptyStruct {},
        EmptyTuple(),
    }

    #[derive(Serialize)]
    #[serde(tag = "op", rename_all = "camelCase")]
    enum Tagged {
        AddThing { name: String },
        Nothing,
    }

    #[derive(Serialize)]
    struct Unit;

    #[derive(Serialize)]
    struct Empty {}

    #[derive(Serialize)]
    struct S<'a> {
        text: &'a str,
        list: Vec<E>,
        tagged: Vec<Tagged>,
        map: BTreeMap<u16, bool>,
        signed: BTreeMap<i64, Vec<u8>>,
        bools: BTreeMap<bool, Unit>,
        keys: BTreeMap<String, ()>,
        tuple: (i64, u64, f64, i8),
        c: char,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        empty: Empty,
        nested: Vec<Vec<Option<Empty>>>,
        #[serde(with = "serde_bytes_like")]
        bytes: Vec<u8>,
        #[serde(flatten)]
        flat: BTreeMap<&'a str, i8>,
    }

    /// `serialize_bytes`, which serde_json writes as an array of numbers.
    mod serde_bytes_like {
        pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
            s.serialize_bytes(v)
        }
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut map = BTreeMap::new();
        map.insert(8080, true);
        map.insert(0, false);
        let mut signed = BTreeMap::new();
        signed.insert(-5, vec![]);
        signed.insert(i64::MIN, vec![1, 2]);
        let mut bools = BTreeMap::new();
        bools.insert(true, Unit);
        let mut keys = BTreeMap::new();
        keys.insert("\"quoted\"\n".to_owned(), ());
        let mut flat = BTreeMap::new();
        flat.insert("extra", -3);
        let all_bytes: String = (0u8..0x80).map(char::from).collect();
        same(&S {
            text: "a \"b\" \\ \u{1} \t é 中 😀 \u{7f}",
            list: vec![
                E::Unit,
                E::New(7),
                E::Tuple(-1, "x".into()),
                E::Struct { a: None, b: 0.1 },
                E::Struct {
                    a: Some(255),
                    b: -1e300,
                },
                E::EmptyStruct {},
                E::EmptyTuple(),
            ],
            tagged: vec![Tagged::AddThing { name: "n".into() }, Tagged::Nothing],
            map,
            signed,
            bools,
            keys,
            tuple: (i64::MIN, u64::MAX, 1.1, -128),
            c: '\'',
            skipped: None,
            empty: Empty {},
            nested: vec![vec![], vec![None, Some(Empty {})]],
            bytes: vec![0, 255],
            flat,
        });
        same(&all_bytes);
        let mut deep = serde_json::json!([1, {"k": []}]);
        for i in 0..40 {
            deep = serde_json::json!([i, {"k": deep}]);
        }
        same(&deep);
        same(&Vec::<u8>::new());
        same(&BTreeMap::<String, u8>::new());
        same(&());
        same(&Some(E::New(1)));
    }

    #[test]
    fn escapes_are_found_at_every_place() {
        for len in 0..20 {
            let plain = "a".repeat(len);
            assert!(!super::needs_escape(plain.as_bytes()));
            for at in 0..len {
                for b in (0u8..0x20).chain([b'"', b'\\']) {
                    let mut s = plain.clone().into_bytes();
                    s[at] = b;
                    assert!(super::needs_escape(&s), "{s:?}");
                }
                for b in [0x20u8, 0x21, 0x23, 0x5b, 0x5d, 0x7f, 0x80, 0xff] {
                    let mut s = plain.clone().into_bytes();
                    s[at] = b;
                    assert!(!super::needs_escape(&s), "{s:?}");
                }
            }
        }
    }

    #[test]
    fn floats_as_serde_json_writes_them() {
        let mut floats = vec![
            0.0,
            -0.0,
            1.0,
            3.0,
            0.1,
            0.001,
            1.5e-7,
            1e-5,
            9.99e-6,
            1e-4,
            1.234e-5,
            1e15,
            1e16,
            9.999e15,
            1.5e16,
            1e21,
            1e300,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            31_536_000.0,
            123456.789,
            0.30000000000000004,
        ];
        floats.extend(floats.clone().iter().map(|f| -f));
        for e in -330..310 {
            floats.push(1.7 * 10f64.powi(e));
        }
        for f in &floats {
            same(f);
        }
        assert_eq!(to_string(&f64::NAN).expect("writes"), "null");
        assert_eq!(to_string(&[f64::INFINITY]).expect("writes"), "[null]");
    }

    #[test]
    fn the_sink_gets_pieces_and_its_error_ends_the_writing() {
        let big: Vec<u32> = (0..100_000).collect();
        let mut sizes = Vec::new();
        write_pretty(&big, &mut |s| {
            sizes.push(s.len());
            Ok(())
        })
        .expect("writes");
        assert!(
            sizes.len() > 2 && sizes.iter().all(|&n| n < 2 * CHUNK),
            "{sizes:?}"
        );
        let mut calls = 0;
        let refused = write_pretty(&big, &mut |_| {
            calls += 1;
            Err(Error::new("closed"))
        });
        assert_eq!(refused, Err(Error::new("closed")));
        assert_eq!(calls, 1);
    }
}
