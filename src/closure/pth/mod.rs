//! Reader for PyTorch state dicts saved with `torch.save(model.state_dict(), path)` (the
//! zip container PyTorch has written since 1.6), complex tensors included.
//!
//! Why not burn's own PyTorch reader: the published score networks keep their spectral
//! weights as `torch.cfloat`, and burn 0.22's reader (`pytorch-reader`) refuses complex
//! storages when it parses the file; `serde-pickle` has no persistent ids (how a torch
//! pickle points at its tensor data) and candle's pickle module would bring a tokenizer
//! library along. So the container is read with the `zip` crate and the pickle program
//! is interpreted here, restricted to the opcodes and callables a state dict uses
//! (`collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`,
//! `torch._utils._rebuild_parameter`); anything else is an error naming it.
//!
//! Every size is checked before it is allocated: the pickle, each storage (its declared
//! element count against the zip entry's real size) and each tensor view (its last
//! element must lie inside its storage).

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek};
use std::path::Path;

/// Element data of one tensor, row-major.
#[derive(Clone, Debug, PartialEq)]
pub enum PthData {
    Real(Vec<f32>),
    /// Interleaved (re, im) pairs.
    Complex(Vec<f32>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct PthTensor {
    pub shape: Vec<usize>,
    pub data: PthData,
}

impl PthTensor {
    pub(crate) fn is_complex(&self) -> bool {
        matches!(self.data, PthData::Complex(_))
    }
}

/// The largest pickle program and tensor this reader accepts.
const MAX_PICKLE_BYTES: u64 = 64 << 20;
const MAX_STORAGE_BYTES: u64 = 2 << 30;
const MAX_STACK: usize = 1 << 20;

mod shape;
use shape::{dims, non_overlapping, shallow};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Elem {
    F32,
    F64,
    C64,
    C128,
}

impl Elem {
    fn from_storage(class: &str) -> Result<Self, String> {
        Ok(match class {
            "FloatStorage" => Elem::F32,
            "DoubleStorage" => Elem::F64,
            "ComplexFloatStorage" => Elem::C64,
            "ComplexDoubleStorage" => Elem::C128,
            other => return Err(format!("tensor type torch.{other} is not supported")),
        })
    }
    fn bytes(self) -> usize {
        match self {
            Elem::F32 => 4,
            Elem::F64 | Elem::C64 => 8,
            Elem::C128 => 16,
        }
    }
}

/// A value of the pickle machine (only what a state dict needs).
#[derive(Clone, Debug)]
enum Value {
    /// None, a bool or a float: read past, never used.
    Scalar,
    Int(i64),
    Str(String),
    Mark,
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    Storage {
        elem: Elem,
        key: String,
        numel: usize,
    },
    Tensor {
        elem: Elem,
        key: String,
        storage_numel: usize,
        offset: usize,
        shape: Vec<usize>,
        stride: Vec<usize>,
    },
    /// An object the reader does not interpret (its type name); an error only if used.
    Other(String),
}

/// Call one of the callables a state dict pickles.
fn reduce(module: &str, name: &str, args: Vec<Value>) -> Result<Value, String> {
    Ok(match (module, name) {
        ("collections", "OrderedDict") => Value::Dict(Vec::new()),
        ("torch._utils", "_rebuild_tensor_v2") => match args.as_slice() {
            [
                Value::Storage { elem, key, numel },
                Value::Int(offset),
                shape,
                stride,
                ..,
            ] => {
                let (shape, stride) = (dims(shape, "shape")?, dims(stride, "stride")?);
                if shape.len() != stride.len() || *offset < 0 {
                    return Err("tensor view with mismatched shape and stride".into());
                }
                let offset = *offset as usize;
                // the last element of the view must lie inside the storage
                let mut last = offset;
                for (&d, &s) in shape.iter().zip(&stride) {
                    if d == 0 {
                        last = 0;
                        break;
                    }
                    last = (d - 1)
                        .checked_mul(s)
                        .and_then(|x| x.checked_add(last))
                        .ok_or("tensor view overflows")?;
                }
                let numel_view = shape
                    .iter()
                    .try_fold(1usize, |a, &d| a.checked_mul(d))
                    .ok_or("tensor shape overflows")?;
                if numel_view > 0 && last >= *numel {
                    return Err(format!(
                        "tensor view reaches element {last} of a storage of {numel}"
                    ));
                }
                if !non_overlapping(&shape, &stride) {
                    // torch.save writes parameters as plain views; a view that visits an
                    // element twice (stride 0: a broadcast) is not a trained weight, and
                    // its element count is not bounded by its storage
                    return Err(format!(
                        "tensor view of shape {shape:?} and stride {stride:?} repeats elements"
                    ));
                }
                Value::Tensor {
                    elem: *elem,
                    key: key.clone(),
                    storage_numel: *numel,
                    offset,
                    shape,
                    stride,
                }
            }
            _ => return Err("malformed _rebuild_tensor_v2 call".into()),
        },
        ("torch._utils", "_rebuild_parameter") => args
            .into_iter()
            .next()
            .ok_or("malformed _rebuild_parameter call")?,
        _ => Value::Other(format!("{module}.{name}")),
    })
}

struct Machine<'a> {
    buf: &'a [u8],
    pos: usize,
    stack: Vec<Value>,
    memo: HashMap<u32, Value>,
}

impl<'a> Machine<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], String> {
        let end = self.pos.checked_add(n).ok_or("truncated pickle")?;
        let s = self.buf.get(self.pos..end).ok_or("truncated pickle")?;
        self.pos = end;
        Ok(s)
    }
    fn byte(&mut self) -> Result<u8, String> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, String> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn line(&mut self) -> Result<String, String> {
        let rest = &self.buf[self.pos.min(self.buf.len())..];
        let end = rest
            .iter()
            .position(|&c| c == b'\n')
            .ok_or("truncated pickle")?;
        let s = String::from_utf8_lossy(&rest[..end]).into_owned();
        self.pos += end + 1;
        Ok(s)
    }
    fn text(&mut self, n: usize) -> Result<Value, String> {
        Ok(Value::Str(
            String::from_utf8_lossy(self.take(n)?).into_owned(),
        ))
    }
    fn pop(&mut self) -> Result<Value, String> {
        self.stack
            .pop()
            .ok_or_else(|| "pickle stack underflow".into())
    }
    fn pop_mark(&mut self) -> Result<Vec<Value>, String> {
        let i = self
            .stack
            .iter()
            .rposition(|v| matches!(v, Value::Mark))
            .ok_or("pickle has no mark")?;
        let items = self.stack.split_off(i + 1);
        self.stack.pop();
        Ok(items)
    }
    fn push(&mut self, v: Value) -> Result<(), String> {
        if self.stack.len() >= MAX_STACK {
            return Err("pickle stack too deep".into());
        }
        self.stack.push(v);
        Ok(())
    }
    fn memoize(&mut self, key: u32) -> Result<(), String> {
        let top = self.stack.last().cloned().ok_or("pickle stack underflow")?;
        self.memo.insert(key, top);
        Ok(())
    }
    fn recall(&mut self, key: u32) -> Result<(), String> {
        let v = self.memo.get(&key).cloned().ok_or("pickle memo miss")?;
        self.push(v)
    }

    /// Run the program to STOP and return its result.
    fn run(mut self) -> Result<Value, String> {
        loop {
            let at = self.pos;
            let op = self.byte()?;
            match op {
                0x80 => drop(self.byte()?),  // PROTO
                0x95 => drop(self.take(8)?), // FRAME
                b'.' => return self.pop(),   // STOP
                b'c' => {
                    let (m, n) = (self.line()?, self.line()?);
                    self.push(Value::Global(m, n))?
                }
                b'X' | 0x8c | b'J' | b'K' | b'M' | 0x8a | b'G' | b'N' | 0x88 | 0x89 => {
                    let v = self.literal(op)?;
                    self.push(v)?
                }
                b')' => self.push(Value::Tuple(Vec::new()))?,
                b']' => self.push(Value::List(Vec::new()))?,
                b'}' => self.push(Value::Dict(Vec::new()))?,
                b'(' => self.push(Value::Mark)?,
                b't' | 0x85..=0x87 | b'a' | b'e' | b's' | b'u' => self.fill(op)?,
                b'q' | b'r' | 0x94 | b'h' | b'j' => self.memo_op(op)?,
                b'Q' => {
                    let v = self.persistent_id()?;
                    self.push(v)?
                }
                b'R' | 0x81 => {
                    // REDUCE f(*args) / NEWOBJ cls.__new__(cls, *args)
                    let args = self.pop()?;
                    let f = self.pop()?;
                    let (Value::Global(m, n), Value::Tuple(a)) = (&f, args) else {
                        return Err("pickle calls something that is not a global".into());
                    };
                    let v = reduce(m, n, a)?;
                    self.push(v)?
                }
                b'b' => drop(self.pop()?), // BUILD: object state (OrderedDict._metadata)
                _ => return Err(format!("unsupported pickle opcode 0x{op:02x} at byte {at}")),
            }
        }
    }

    /// The value of a literal opcode: a string, an integer, or a float/None/bool (which
    /// a state dict's metadata holds and the importer never reads).
    fn literal(&mut self, op: u8) -> Result<Value, String> {
        Ok(match op {
            b'X' => {
                let n = self.u32()? as usize;
                self.text(n)?
            }
            0x8c => {
                let n = self.byte()? as usize;
                self.text(n)?
            }
            b'J' => {
                let b = self.take(4)?;
                Value::Int(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
            }
            b'K' => Value::Int(self.byte()? as i64),
            b'M' => {
                let b = self.take(2)?;
                Value::Int(u16::from_le_bytes([b[0], b[1]]) as i64)
            }
            0x8a => {
                // LONG1: little-endian two's complement of n ≤ 8 bytes
                let n = self.byte()? as usize;
                if n > 8 {
                    return Err("pickle integer wider than 64 bits".into());
                }
                let b = self.take(n)?;
                let mut v: i64 = 0;
                for (i, &x) in b.iter().enumerate() {
                    v |= (x as i64) << (8 * i);
                }
                if (1..8).contains(&n) && b[n - 1] & 0x80 != 0 {
                    v -= 1i64 << (8 * n);
                }
                Value::Int(v)
            }
            b'G' => {
                self.take(8)?;
                Value::Scalar
            }
            _ => Value::Scalar, // None, True, False
        })
    }

    /// The opcodes that build a container: a tuple from the mark or the top 1–3 items,
    /// appends to the list below and items set on the dict below.
    fn fill(&mut self, op: u8) -> Result<(), String> {
        match op {
            b't' => {
                let xs = self.pop_mark()?;
                shallow(&xs)?;
                self.push(Value::Tuple(xs))
            }
            0x85..=0x87 => {
                let k = (op - 0x84) as usize;
                if self.stack.len() < k {
                    return Err("pickle stack underflow".into());
                }
                let xs = self.stack.split_off(self.stack.len() - k);
                shallow(&xs)?;
                self.push(Value::Tuple(xs))
            }
            b'a' | b'e' => {
                let xs = if op == b'a' {
                    vec![self.pop()?]
                } else {
                    self.pop_mark()?
                };
                shallow(&xs)?;
                match self.stack.last_mut() {
                    Some(Value::List(l)) => {
                        l.extend(xs);
                        Ok(())
                    }
                    _ => Err("pickle appends to a non-list".into()),
                }
            }
            _ => {
                // s, u: one key and value, or pairs from the mark
                let xs = if op == b's' {
                    let v = self.pop()?;
                    let k = self.pop()?;
                    vec![k, v]
                } else {
                    self.pop_mark()?
                };
                shallow(&xs)?;
                match self.stack.last_mut() {
                    Some(Value::Dict(d)) => {
                        let mut it = xs.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            d.push((k, v));
                        }
                        Ok(())
                    }
                    _ => Err("pickle sets an item of a non-dict".into()),
                }
            }
        }
    }

    /// The memo opcodes: store the top under a 1- or 4-byte key (or the next free one),
    /// recall by a 1- or 4-byte key.
    fn memo_op(&mut self, op: u8) -> Result<(), String> {
        match op {
            b'q' => {
                let k = self.byte()? as u32;
                self.memoize(k)
            }
            b'r' => {
                let k = self.u32()?;
                self.memoize(k)
            }
            0x94 => {
                let k = self.memo.len() as u32;
                self.memoize(k)
            }
            b'h' => {
                let k = self.byte()? as u32;
                self.recall(k)
            }
            _ => {
                let k = self.u32()?;
                self.recall(k)
            }
        }
    }

    /// BINPERSID: a tensor storage, `('storage', torch.<Type>Storage, key, location,
    /// numel)`.
    fn persistent_id(&mut self) -> Result<Value, String> {
        let Value::Tuple(f) = self.pop()? else {
            return Err("persistent id is not a tuple".into());
        };
        match (f.get(1), f.get(2), f.get(4)) {
            (Some(Value::Global(_, class)), Some(Value::Str(key)), Some(Value::Int(n)))
                if *n >= 0 =>
            {
                Ok(Value::Storage {
                    elem: Elem::from_storage(class)?,
                    key: key.clone(),
                    numel: *n as usize,
                })
            }
            _ => Err("unexpected persistent id".into()),
        }
    }
}

fn unpickle(buf: &[u8]) -> Result<Value, String> {
    Machine {
        buf,
        pos: 0,
        stack: Vec::new(),
        memo: HashMap::new(),
    }
    .run()
}

/// Read every tensor of a state-dict file, keyed by its dotted name.
pub fn read(path: &Path) -> Result<BTreeMap<String, PthTensor>, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("cannot open ({e})"))?;
    read_from(f)
}

/// Read a state dict from any seekable source (a file, or bytes in a cursor).
pub fn read_from<R: Read + Seek>(src: R) -> Result<BTreeMap<String, PthTensor>, String> {
    let mut zip = zip::ZipArchive::new(src).map_err(|_| {
        "not a PyTorch zip checkpoint (files from torch.save since PyTorch 1.6 are zip archives)"
            .to_string()
    })?;
    let pkl = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with("data.pkl"))
        .ok_or("no data.pkl in the archive")?
        .into_owned();
    let prefix = pkl.trim_end_matches("data.pkl").to_string();
    let mut entry = |name: &str, expect: Option<u64>, max: u64| -> Result<Vec<u8>, String> {
        let mut e = zip
            .by_name(name)
            .map_err(|_| format!("archive entry {name} is missing"))?;
        let size = e.size();
        if size > max || expect.is_some_and(|x| x != size) {
            return Err(format!(
                "archive entry {name} holds {size} bytes{}",
                expect.map_or(String::new(), |x| format!(", its tensor needs {x}"))
            ));
        }
        let mut buf = Vec::with_capacity(size as usize);
        e.read_to_end(&mut buf)
            .map_err(|err| format!("cannot read {name} ({err})"))?;
        Ok(buf)
    };
    let root = unpickle(&entry(&pkl, None, MAX_PICKLE_BYTES)?)?;
    if let Value::Other(what) = &root {
        return Err(format!(
            "the file pickles a {what}, not a state dict (save model.state_dict())"
        ));
    }
    let mut flat = Vec::new();
    flatten(root, String::new(), &mut flat, 0)?;
    let mut storages: HashMap<(String, Elem), Vec<u8>> = HashMap::new();
    let mut out = BTreeMap::new();
    for (name, v) in flat {
        let Value::Tensor {
            elem,
            key,
            storage_numel,
            offset,
            shape,
            stride,
        } = v
        else {
            continue;
        };
        if !storages.contains_key(&(key.clone(), elem)) {
            // the view was checked against the declared storage size in `reduce`; the
            // entry must hold exactly that many elements
            let expect = (storage_numel as u64).saturating_mul(elem.bytes() as u64);
            let raw = entry(
                &format!("{prefix}data/{key}"),
                Some(expect),
                MAX_STORAGE_BYTES,
            )?;
            storages.insert((key.clone(), elem), raw);
        }
        let raw = &storages[&(key, elem)];
        let es = elem.bytes();
        let numel: usize = shape.iter().product();
        let mut vals = Vec::with_capacity(
            numel
                * if matches!(elem, Elem::C64 | Elem::C128) {
                    2
                } else {
                    1
                },
        );
        let mut idx = vec![0usize; shape.len()];
        for _ in 0..numel {
            let e = offset + idx.iter().zip(&stride).map(|(i, s)| i * s).sum::<usize>();
            let b = raw
                .get(e * es..(e + 1) * es)
                .ok_or_else(|| format!("{name}: its storage is shorter than the tensor"))?;
            let f4 = |o: usize| f32::from_le_bytes([b[o], b[o + 1], b[o + 2], b[o + 3]]);
            let f8 = |o: usize| {
                let mut a = [0u8; 8];
                a.copy_from_slice(&b[o..o + 8]);
                f64::from_le_bytes(a) as f32
            };
            match elem {
                Elem::F32 => vals.push(f4(0)),
                Elem::F64 => vals.push(f8(0)),
                Elem::C64 => vals.extend([f4(0), f4(4)]),
                Elem::C128 => vals.extend([f8(0), f8(8)]),
            }
            for d in (0..shape.len()).rev() {
                idx[d] += 1;
                if idx[d] < shape[d] {
                    break;
                }
                idx[d] = 0;
            }
        }
        let data = match elem {
            Elem::F32 | Elem::F64 => PthData::Real(vals),
            Elem::C64 | Elem::C128 => PthData::Complex(vals),
        };
        out.insert(name, PthTensor { shape, data });
    }
    if out.is_empty() {
        return Err("the archive holds no tensors (is it a state dict?)".into());
    }
    Ok(out)
}

/// Nested dicts of tensors → `(dotted.name, tensor)`; other values are skipped.
fn flatten(
    v: Value,
    name: String,
    out: &mut Vec<(String, Value)>,
    depth: usize,
) -> Result<(), String> {
    if depth > 32 {
        return Err("state dict nested too deeply".into());
    }
    match v {
        Value::Dict(items) => {
            for (k, v) in items {
                if let Value::Str(k) = k {
                    let full = if name.is_empty() {
                        k
                    } else {
                        format!("{name}.{k}")
                    };
                    flatten(v, full, out, depth + 1)?;
                }
            }
        }
        t @ Value::Tensor { .. } => out.push((name, t)),
        _ => {}
    }
    Ok(())
}
