//! JSON text from any `Serialize` value: how the JS API's answers cross into JS.
//!
//! The answer is written as one JSON string in wasm and turned into JS objects by the engine's
//! `JSON.parse` ([`crate::to_js`]). serde-wasm-bindgen made each value a JS object, array,
//! string or number with a call across the boundary per value (7% of a first `plan()` of a
//! 10k-Service cluster, issue 7), and its serializer was 7 KiB of the bundle (issue 12);
//! serde_json would bring a larger writer than this one. The values are those serde_json and
//! serde-wasm-bindgen's `json_compatible` give: `None` and `()` are `null`, maps are objects
//! (keys that serialize as numbers or booleans are quoted), enums are externally tagged,
//! bytes are arrays of numbers. A float that is not finite is `null`, as serde_json writes it.

use core::fmt::{self, Display, Write as _};

use serde::Serialize;
use serde::ser::{self, SerializeMap as _};

/// Why a value could not be written (a `Serialize` impl's own error: serde's derived ones
/// never fail).
#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Self {
        Error(msg.to_string())
    }
}

/// `value` as compact JSON text.
pub fn to_string<T: Serialize + ?Sized>(value: &T) -> Result<String, Error> {
    let mut w = Writer {
        out: String::with_capacity(256),
    };
    value.serialize(&mut w)?;
    Ok(w.out)
}

/// The JSON text being written.
struct Writer {
    out: String,
}

impl Writer {
    fn str(&mut self, s: &str) {
        self.out.push('"');
        if !s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            self.out.push_str(s);
            self.out.push('"');
            return;
        }
        let mut start = 0;
        for (i, b) in s.bytes().enumerate() {
            let esc = match b {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0..=0x1f => "",
                _ => continue,
            };
            self.out.push_str(&s[start..i]);
            if esc.is_empty() {
                let _ = write!(self.out, "\\u{:04x}", b);
            } else {
                self.out.push_str(esc);
            }
            start = i + 1;
        }
        self.out.push_str(&s[start..]);
        self.out.push('"');
    }

    fn uint(&mut self, mut v: u64) {
        let mut buf = [0u8; 20];
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
        self.out
            .push_str(core::str::from_utf8(&buf[i..]).unwrap_or_default());
    }

    fn int(&mut self, v: i64) {
        if v < 0 {
            self.out.push('-');
        }
        self.uint(v.unsigned_abs());
    }

    fn float(&mut self, v: f64) {
        if v.is_finite() {
            let _ = write!(self.out, "{v}");
        } else {
            self.out.push_str("null");
        }
    }
}

/// A sequence, map or struct being written: whether a comma comes before the next entry, and
/// whether an enum variant's `{"Variant": …}` wraps it.
struct Compound<'a> {
    w: &'a mut Writer,
    first: bool,
    close_variant: bool,
}

impl Compound<'_> {
    fn comma(&mut self) {
        if self.first {
            self.first = false;
        } else {
            self.w.out.push(',');
        }
    }

    fn end(self, close: char) {
        self.w.out.push(close);
        if self.close_variant {
            self.w.out.push('}');
        }
    }

    /// A map key: a string as is, any other scalar quoted (as serde_json quotes numbers).
    fn key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        self.comma();
        let start = self.w.out.len();
        key.serialize(&mut *self.w)?;
        if !self.w.out[start..].starts_with('"') {
            self.w.out.insert(start, '"');
            self.w.out.push('"');
        }
        self.w.out.push(':');
        Ok(())
    }
}

impl Writer {
    fn open(&mut self, open: char, variant: Option<&str>) -> Compound<'_> {
        if let Some(v) = variant {
            self.out.push('{');
            self.str(v);
            self.out.push(':');
        }
        self.out.push(open);
        Compound {
            w: self,
            first: true,
            close_variant: variant.is_some(),
        }
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

impl<'a> ser::Serializer for &'a mut Writer {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = Compound<'a>;
    type SerializeTupleStruct = Compound<'a>;
    type SerializeTupleVariant = Compound<'a>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = Compound<'a>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.out.push_str(if v { "true" } else { "false" });
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
        let mut seq = self.open('[', None);
        for b in v {
            seq.comma();
            seq.w.uint((*b).into());
        }
        seq.end(']');
        Ok(())
    }
    fn serialize_none(self) -> Result<(), Error> {
        self.out.push_str("null");
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
        let mut m = self.open('{', None);
        m.serialize_entry(variant, value)?;
        m.end('}');
        Ok(())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.open('[', None))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'a>, Error> {
        Ok(self.open('[', None))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.open('[', None))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.open('[', Some(variant)))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.open('{', None))
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'a>, Error> {
        Ok(self.open('{', None))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'a>, Error> {
        Ok(self.open('{', Some(variant)))
    }
}

/// The sequence-like compounds: `[…]`, an element at a time.
macro_rules! seq_like {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
                self.comma();
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
        impl ser::$tr for Compound<'_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<(), Error> {
                self.comma();
                self.w.str(key);
                self.w.out.push(':');
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

impl ser::SerializeMap for Compound<'_> {
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
    use std::collections::BTreeMap;

    use serde::Serialize;

    use super::to_string;

    /// Numbers as JS has them (one kind, a double).
    fn js(v: serde_json::Value) -> serde_json::Value {
        use serde_json::Value;
        match v {
            Value::Number(n) => n
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Value::Array(a) => Value::Array(a.into_iter().map(js).collect()),
            Value::Object(o) => Value::Object(o.into_iter().map(|(k, v)| (k, js(v))).collect()),
            other => other,
        }
    }

    fn same<T: Serialize>(v: &T) {
        let ours = to_string(v).expect("writes");
        let theirs: serde_json::Value = serde_json::to_value(v).expect("serde_json writes");
        let back: serde_json::Value = serde_json::from_str(&ours).expect("valid JSON");
        assert_eq!(js(back), js(theirs), "{ours}");
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    enum E {
        Unit,
        New(u8),
        Tuple(i32, String),
        Struct { a: Option<u8>, b: f64 },
    }

    #[derive(Serialize)]
    #[serde(tag = "op", rename_all = "camelCase")]
    enum Tagged {
        AddThing { name: String },
        Nothing,
    }

    #[derive(Serialize)]
    struct S<'a> {
        text: &'a str,
        list: Vec<E>,
        tagged: Vec<Tagged>,
        map: BTreeMap<u16, bool>,
        keys: BTreeMap<String, ()>,
        tuple: (i64, u64, f32),
        c: char,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        #[serde(flatten)]
        flat: BTreeMap<&'a str, i8>,
    }

    #[test]
    fn writes_what_serde_json_writes() {
        let mut map = BTreeMap::new();
        map.insert(8080, true);
        map.insert(0, false);
        let mut keys = BTreeMap::new();
        keys.insert("\"quoted\"\n".to_owned(), ());
        let mut flat = BTreeMap::new();
        flat.insert("extra", -3);
        same(&S {
            text: "a \"b\" \\ \u{1} \t é 中 😀",
            list: vec![
                E::Unit,
                E::New(7),
                E::Tuple(-1, "x".into()),
                E::Struct { a: None, b: 0.1 },
                E::Struct {
                    a: Some(255),
                    b: -1e300,
                },
            ],
            tagged: vec![Tagged::AddThing { name: "n".into() }, Tagged::Nothing],
            map,
            keys,
            tuple: (i64::MIN, u64::MAX, 1.1),
            c: '\'',
            skipped: None,
            flat,
        });
        same(&Vec::<u8>::new());
        same(&[1.5e-7, 1e21, -0.0, 3.0]);
        assert_eq!(to_string(&f64::NAN).expect("writes"), "null");
    }

    #[test]
    fn the_js_apis_answers_on_every_scenario() {
        use crate::api::{self, ClusterOptions, RouteOptions};
        use svcroute_core::plan;
        for s in &crate::scenarios::ALL {
            let text = s.manifest();
            let opts = ClusterOptions::default();
            let plan = api::plan(&text, &opts).expect("plans");
            same(&plan);
            let live = api::LiveCluster::new(&text, opts.clone()).expect("valid");
            let first = plan.virtual_servers.first();
            let to = first.map(|v| format!("{}:{}", plan::fmt_addr(&v.address), v.port));
            if let Some(to) = to {
                let (count, trace_rules) = (Some(4), Some(true));
                let req = RouteOptions {
                    to: Some(to),
                    count,
                    trace_rules,
                    ..Default::default()
                };
                same(&api::route(&text, &opts, &req).expect("routes"));
                same(&live.route(&req, None).expect("routes"));
            }
        }
    }
}
