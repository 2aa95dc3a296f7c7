#!/usr/bin/env python3
"""Generate `core/src/manifest/schema.rs`: every field Kubernetes' API schema knows
for the kinds svcroute reads, so the manifest reader can reject unknown fields the
way `kubectl apply --validate=strict` does while accepting all that `kubectl get -o yaml`
prints (status, managedFields, every Pod spec field, ...).

The schema comes from the official Python client (`pip install kubernetes`): each
model class in `kubernetes.client` carries `openapi_types` (python attribute -> type
string, e.g. 'List[V1ServicePort]', or 'list[V1ServicePort]' in older clients) and
`attribute_map` (python attribute -> JSON field name). Starting from the root kinds
below, the script walks every model reachable through those types and prints a
`no_std` Rust module of static tables, with types and fields sorted by name so the
output is deterministic.

Run from the repository root (the log of 'object'-typed fields goes to stderr):

    python3 xtask/schema/gen_k8s_schema.py > core/src/manifest/schema.rs
"""
import re
import string
import sys
import types
import typing

import kubernetes
from kubernetes import client

# (apiVersion, kind, model) of every root kind.
ROOTS = [
    ("v1", "Service", "V1Service"), ("v1", "Pod", "V1Pod"), ("v1", "Node", "V1Node"),
    ("v1", "Endpoints", "V1Endpoints"),
    ("discovery.k8s.io/v1", "EndpointSlice", "V1EndpointSlice"),
    ("apps/v1", "Deployment", "V1Deployment"), ("apps/v1", "ReplicaSet", "V1ReplicaSet"),
    ("apps/v1", "StatefulSet", "V1StatefulSet"), ("apps/v1", "DaemonSet", "V1DaemonSet"),
]

# Non-collection values: strings, numbers, booleans, timestamps, base64 bytes.
# Quantities (resources.limits, node capacity ...) are typed 'str' by the client.
SCALARS = {"str", "int", "bool", "float", "datetime", "date", "bytes"}

# The 'object'-typed fields, for clients whose models carry no pydantic annotation
# to tell them apart (see classify_object): IntOrString -> Scalar, the rest -> Any.
INT_OR_STRING = {
    ("V1ServicePort", "targetPort"), ("V1HTTPGetAction", "port"), ("V1TCPSocketAction", "port"),
    ("V1RollingUpdateDeployment", "maxSurge"), ("V1RollingUpdateDeployment", "maxUnavailable"),
    ("V1RollingUpdateDaemonSet", "maxSurge"), ("V1RollingUpdateDaemonSet", "maxUnavailable"),
    ("V1RollingUpdateStatefulSetStrategy", "maxUnavailable")}
FREE_FORM = {("V1ManagedFieldsEntry", "fieldsV1")}

LIST_RE = re.compile(r"^(?:list|List)\[(.*)\]$")
DICT_RE = re.compile(r"^(?:dict\(str, (.*)\)|Dict\[str, (.*)\])$")

UNIONS = (typing.Union, types.UnionType)  # Optional[X] / X | None
object_log = []  # (model, json field, classification, why) for the report


def model(name):
    """The model class called `name`, or None when `name` is not a model."""
    cls = getattr(client, name, None)
    return cls if isinstance(cls, type) and hasattr(cls, "openapi_types") else None


def strip(t):
    """Drop `Annotated[...]` wrappers from a typing annotation."""
    while typing.get_origin(t) is typing.Annotated:
        t = typing.get_args(t)[0]
    return t


def classify_object(owner, attr, field):
    """'Scalar' for an int-or-string field, 'Any' for a free-form object."""
    key, ann = (owner.__name__, field), getattr(owner, "model_fields", {}).get(attr)
    if ann is not None:  # pydantic clients: IntOrString is Union[int, str]
        args = {strip(a) for a in typing.get_args(ann.annotation)} - {type(None)}
        if typing.get_origin(ann.annotation) in UNIONS and args == {int, str}:
            verdict, why = "Scalar", "IntOrString (Union[int, str])"
        elif args and all(typing.get_origin(a) is dict or a is typing.Any for a in args):
            verdict, why = "Any", "free-form object (Dict[str, Any])"
        else:
            sys.exit(f"cannot classify {key}: {ann.annotation!r}")
    elif key in INT_OR_STRING or key in FREE_FORM:
        verdict, why = ("Scalar" if key in INT_OR_STRING else "Any"), "known list"
    else:
        sys.exit(f"new 'object' field {key}: add it to INT_OR_STRING or FREE_FORM")
    object_log.append((*key, verdict, why))
    return verdict


def shape(owner, attr, field, t):
    """The shape of one field: (variant,) or (variant, model name)."""
    def inner(item, of_model, of_scalar):  # the shape of a list's items or a map's values
        if item in SCALARS:
            return (of_scalar,)
        if model(item) and model(item).openapi_types:
            return (of_model, item)
        return ("Any",)  # list[list[...]], dict(str, list[str]), object, empty models

    if t in SCALARS:
        return ("Scalar",)
    if t == "object":
        return (classify_object(owner, attr, field),)
    if model(t):  # a model without attributes is a property-less, i.e. free-form, object
        return ("Object", t) if model(t).openapi_types else ("Any",)
    if m := LIST_RE.match(t):
        return inner(m.group(1), "ListOf", "ListOfScalar")
    if m := DICT_RE.match(t):
        return inner(m.group(1) or m.group(2), "MapOf", "MapOfScalar")
    sys.exit(f"unknown type string {t!r} in {owner.__name__}.{field}")


def walk():
    """Map every reachable model name -> sorted [(json field, shape)]."""
    found, todo = {}, [m for _, _, m in ROOTS]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        cls = model(name)
        fields = []
        for attr, t in cls.openapi_types.items():
            field = cls.attribute_map[attr]
            s = shape(cls, attr, field, t)
            fields.append((field, s))
            if len(s) == 2:
                todo.append(s[1])
        assert len({f for f, _ in fields}) == len(fields), f"duplicate JSON field in {name}"
        found[name] = sorted(fields)
    assert len(found) <= 0xFFFF, "Ty is a u16"
    return found


def api_version():
    """'X.Y' of the Kubernetes release the client was generated from."""
    m = re.search(r"release-(\d+\.\d+)", client.Configuration().to_debug_report())
    return m.group(1) if m else "unknown"


def words(name):
    """The first and the last four bytes of `name` as little-endian words; a name shorter than
    four bytes is both words, its bytes in one (what `TypeDef::field` loads)."""
    b = name.encode()
    if len(b) >= 4:
        return int.from_bytes(b[:4], "little"), int.from_bytes(b[-4:], "little")
    w = 0
    for c in b:
        w = (w << 8) | c
    return w, w


def field_key(name):
    """The 64-bit value `TypeDef::field` hashes: both words and the length. Every name of a
    type must have its own (checked below): the first and last four bytes and the length tell
    the fields of every type apart."""
    head, tail = words(name)
    return ((head << 32) | tail) ^ len(name.encode())


def slot(seed, key, size):
    """The slot of `key` in a table of `size` (a power of two) entries: one multiplication,
    the top bits of the product (a Fibonacci hash)."""
    h = ((key ^ (seed << 8)) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    return h >> (64 - (size.bit_length() - 1))


def perfect_hash(fields):
    """(seed, slots): the first seed under which every field name of a type lands in its own
    slot of a power-of-two table at least twice the number of fields (0xFFFF: empty)."""
    if not fields:
        return 0, []
    keys = [field_key(name) for name, _ in fields]
    assert len(set(keys)) == len(keys), f"two fields with the same key: {fields}"
    size = 2
    while size < 2 * len(fields):
        size *= 2
    for seed in range(1 << 20):
        slots = [0xFFFF] * size
        for i, key in enumerate(keys):
            h = slot(seed, key, size)
            if slots[h] != 0xFFFF:
                break
            slots[h] = i
        else:
            return seed, slots
    raise SystemExit(f"no perfect hash for {fields}")


def main():
    defs = walk()
    names = sorted(defs)
    index = {n: i for i, n in enumerate(names)}

    def entry(field, s):
        if len(s) == 1:
            return f'        ("{field}", Shape::{s[0]}),'
        return f'        ("{field}", Shape::{s[0]}(Ty({index[s[1]]}))), // {s[1]}'

    typedefs = []
    for n in names:
        seed, slots = perfect_hash(defs[n])
        slot_list = ", ".join(str(x) for x in slots)
        typedefs.append(f'    // {index[n]}\n    TypeDef {{ name: "{n}", seed: {seed}, slots: &[{slot_list}], fields: &[')
        typedefs.extend(entry(field, s) for field, s in defs[n])
        typedefs.append("    ] },")
    roots = [f'        ("{av}", "{kind}") => Some(Ty({index[m]})), // {m}'
             for av, kind, m in sorted(ROOTS)]
    kinds = [f'    ("{kind}", "{av}"),' for kind, av in sorted((k, a) for a, k, _ in ROOTS)]
    sys.stdout.write(RUST.substitute(
        version=kubernetes.__version__, api=api_version(), types="\n".join(typedefs),
        roots="\n".join(roots), kinds="\n".join(kinds)))

    nfields = sum(len(f) for f in defs.values())
    print(f"{len(names)} types, {nfields} fields; 'object'-typed fields:", file=sys.stderr)
    for owner, field, verdict, why in sorted(object_log):
        print(f"  {owner}.{field} -> {verdict}: {why}", file=sys.stderr)


# The whole Rust file; $-placeholders are filled by main(). The generated tables are
# `rustfmt::skip`ped (one entry a line) so `cargo fmt --check` accepts the file as printed.
RUST = string.Template('''\
//! Kubernetes' known fields for the kinds svcroute reads (generated: do not edit).
//!
//! Generated by `xtask/schema/gen_k8s_schema.py` from the `kubernetes` Python client $version
//! (Kubernetes API $api). Re-run it to follow a newer Kubernetes.

/// How a field's value is shaped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// A string, number, boolean, or an int-or-string / quantity / timestamp: any non-collection value.
    Scalar,
    /// Anything at all (free-form objects such as `fieldsV1`, raw extensions); not checked further.
    Any,
    /// An object of the given type.
    Object(Ty),
    /// A list whose items are objects of the given type.
    ListOf(Ty),
    /// A list of scalars.
    ListOfScalar,
    /// A map with free keys whose values are objects of the given type.
    MapOf(Ty),
    /// A map with free keys and scalar values (labels, annotations, selectors …).
    MapOfScalar,
}

/// Index of a type in [`TYPES`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ty(pub u16);

/// One object type of the API.
#[derive(Debug)]
pub struct TypeDef {
    /// The model's name, e.g. `V1ServiceSpec`.
    pub name: &'static str,
    /// Its JSON field names, sorted by name (byte order), with their shapes.
    pub fields: &'static [(&'static str, Shape)],
    /// Seed of the perfect hash of the field names (see [`TypeDef::field`]).
    pub seed: u32,
    /// Index into `fields` by hash slot (`u16::MAX`: no field), a power of two long.
    pub slots: &'static [u16],
}

/// Every type reachable from the root kinds.
#[rustfmt::skip]
pub static TYPES: &[TypeDef] = &[
$types
];

impl Ty {
    /// The type's definition.
    pub fn def(self) -> &'static TypeDef {
        &TYPES[self.0 as usize]
    }
}

impl TypeDef {
    /// The shape of field `name`, if the API knows it: a perfect hash (the name's first and
    /// last four bytes and its length, mixed with the type's seed by one multiplication; the
    /// generator chose the seed so that no two fields share a slot) and one comparison.
    #[cfg_attr(not(target_arch = "wasm32"), inline)]
    pub fn field(&self, name: &str) -> Option<Shape> {
        if self.slots.is_empty() {
            return None;
        }
        let b = name.as_bytes();
        let (head, tail) = words(b);
        let key = ((u64::from(head) << 32) | u64::from(tail)) ^ b.len() as u64;
        let h = (key ^ (u64::from(self.seed) << 8)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let bits = self.slots.len().trailing_zeros();
        let slot = *self.slots.get((h >> (64 - bits)) as usize)?;
        let (f, shape) = self.fields.get(usize::from(slot))?;
        // Natively compared by words; the browser build keeps its one `memcmp` (its size).
        #[cfg(not(target_arch = "wasm32"))]
        let found = same(f.as_bytes(), b);
        #[cfg(target_arch = "wasm32")]
        let found = *f == name;
        found.then_some(*shape)
    }
}

/// The first and the last four bytes of `b` as little-endian words; shorter than four bytes,
/// both are its bytes in one word.
fn words(b: &[u8]) -> (u32, u32) {
    match (b.first_chunk::<4>(), b.last_chunk::<4>()) {
        (Some(head), Some(tail)) => (u32::from_le_bytes(*head), u32::from_le_bytes(*tail)),
        _ => {
            let w = b.iter().fold(0, |w, &c| (w << 8) | u32::from(c));
            (w, w)
        }
    }
}

/// `a == b` for field names (most are 4 to 24 bytes): a few overlapping loads a side instead of
/// a call to `memcmp`.
#[cfg(not(target_arch = "wasm32"))]
#[inline]
fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let chunk = |s: &[u8], at: usize| s.get(at..).and_then(|s| s.first_chunk::<8>().copied());
    match (a.first_chunk::<8>(), a.last_chunk::<8>()) {
        (Some(a0), Some(a1)) if a.len() <= 24 => {
            b.first_chunk::<8>() == Some(a0)
                && b.last_chunk::<8>() == Some(a1)
                && (a.len() <= 16 || chunk(a, 8) == chunk(b, 8))
        }
        (None, _) if a.len() >= 4 => words(a) == words(b),
        _ => a == b,
    }
}

/// The root type of a kind, given the manifest's `apiVersion` and `kind` exactly as written
/// (e.g. `("v1", "Service")`, `("apps/v1", "Deployment")`, `("discovery.k8s.io/v1", "EndpointSlice")`).
#[rustfmt::skip]
pub fn root(api_version: &str, kind: &str) -> Option<Ty> {
    match (api_version, kind) {
$roots
        _ => None,
    }
}

/// `(kind, apiVersion)`: the `apiVersion` each root kind is served at, sorted by kind
/// (for messages like "did you mean apps/v1?").
#[rustfmt::skip]
pub static KINDS: &[(&str, &str)] = &[
$kinds
];
''')

if __name__ == "__main__":
    main()
