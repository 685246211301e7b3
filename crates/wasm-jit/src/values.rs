//! Wasm values as the host sees them.

use std::any::Any;

use anyhow::{Result, bail};
use wasm_jit_backend::{VMFuncRef, ValRaw};

use crate::Func;
use crate::store::{AsContextMut, StoreContext, StoreOpaque, Stored};
use crate::types::ValType;
use wasm_jit_frontend::HeapType;

/// A reference to a host value, created with [`ExternRef::new`]. It lives as
/// long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef(pub(crate) Stored);

impl ExternRef {
    /// Wraps `value` so Wasm can hold it as an `externref`.
    pub fn new<T: Any + Send + Sync>(mut store: impl AsContextMut, value: T) -> ExternRef {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        s.externrefs.push(Box::new(value));
        ExternRef(s.stored(s.externrefs.len() - 1))
    }

    /// The wrapped value.
    pub fn data<'a, T: 'a>(
        &self,
        store: impl Into<StoreContext<'a, T>>,
    ) -> &'a (dyn Any + Send + Sync) {
        let s: &'a StoreOpaque = &store.into().0.opaque;
        &*s.externrefs[s.check(self.0)]
    }

    fn to_raw(self, store: &StoreOpaque) -> usize {
        store.check(self.0) + 1
    }
}

/// A `v128` value: 16 bytes, lane 0 in the lowest (little-endian) bits of
/// the `u128`. Typed functions take and return it (or a plain `u128`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct V128(u128);

impl V128 {
    /// The value as a `u128` (lane 0 in the low bits).
    pub fn as_u128(self) -> u128 {
        self.0
    }

    /// From its 16 bytes in memory order.
    pub fn from_bytes(bytes: [u8; 16]) -> V128 {
        V128(u128::from_le_bytes(bytes))
    }

    /// Its 16 bytes in memory order.
    pub fn to_bytes(self) -> [u8; 16] {
        self.0.to_le_bytes()
    }
}

impl From<u128> for V128 {
    fn from(v: u128) -> V128 {
        V128(v)
    }
}

impl From<V128> for u128 {
    fn from(v: V128) -> u128 {
        v.0
    }
}

impl From<V128> for Val {
    fn from(v: V128) -> Val {
        Val::V128(v.0)
    }
}

/// A GC value (`anyref` and below). GC instructions are not supported
/// yet, so no such value can exist: this type has none, and only the null
/// `Val::AnyRef(None)` is ever seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnyRef {
    never: std::convert::Infallible,
}

/// A reference to a Wasm exception (`exnref`) that reached the host (for
/// example as a result). It lives as long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExnRef(pub(crate) Stored);

/// A Wasm value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Val {
    /// `i32`
    I32(i32),
    /// `i64`
    I64(i64),
    /// `f32`, as its bits (so NaN payloads survive).
    F32(u32),
    /// `f64`, as its bits.
    F64(u64),
    /// `v128`
    V128(u128),
    /// `funcref`, `None` for null.
    FuncRef(Option<Func>),
    /// `externref`, `None` for null.
    ExternRef(Option<ExternRef>),
    /// `anyref` (and the other GC reference types): always null for now.
    AnyRef(Option<AnyRef>),
    /// `exnref`, `None` for null.
    ExnRef(Option<ExnRef>),
}

impl From<i32> for Val {
    fn from(v: i32) -> Val {
        Val::I32(v)
    }
}
impl From<i64> for Val {
    fn from(v: i64) -> Val {
        Val::I64(v)
    }
}
impl From<f32> for Val {
    fn from(v: f32) -> Val {
        Val::F32(v.to_bits())
    }
}
impl From<f64> for Val {
    fn from(v: f64) -> Val {
        Val::F64(v.to_bits())
    }
}

impl From<Func> for Val {
    fn from(f: Func) -> Val {
        Val::FuncRef(Some(f))
    }
}
impl From<Option<Func>> for Val {
    fn from(f: Option<Func>) -> Val {
        Val::FuncRef(f)
    }
}
impl From<ExternRef> for Val {
    fn from(r: ExternRef) -> Val {
        Val::ExternRef(Some(r))
    }
}
impl From<Option<ExternRef>> for Val {
    fn from(r: Option<ExternRef>) -> Val {
        Val::ExternRef(r)
    }
}

impl Val {
    /// The null `funcref`.
    pub fn null_func_ref() -> Val {
        Val::FuncRef(None)
    }

    /// The null `externref`.
    pub fn null_extern_ref() -> Val {
        Val::ExternRef(None)
    }

    /// The `funcref` (`Some(None)` for null), if it is one.
    pub fn funcref(&self) -> Option<Option<&Func>> {
        match self {
            Val::FuncRef(f) => Some(f.as_ref()),
            _ => None,
        }
    }

    /// The `externref` (`Some(None)` for null), if it is one.
    pub fn externref(&self) -> Option<Option<&ExternRef>> {
        match self {
            Val::ExternRef(r) => Some(r.as_ref()),
            _ => None,
        }
    }

    /// The `i32`; panics if the value is another type.
    pub fn unwrap_i32(&self) -> i32 {
        self.i32().expect("expected an i32 value")
    }

    /// The `i64`; panics if the value is another type.
    pub fn unwrap_i64(&self) -> i64 {
        self.i64().expect("expected an i64 value")
    }

    /// The `f32`; panics if the value is another type.
    pub fn unwrap_f32(&self) -> f32 {
        self.f32().expect("expected an f32 value")
    }

    /// The `f64`; panics if the value is another type.
    pub fn unwrap_f64(&self) -> f64 {
        self.f64().expect("expected an f64 value")
    }

    /// The value's type.
    pub fn ty(&self) -> ValType {
        match self {
            Val::I32(_) => ValType::I32,
            Val::I64(_) => ValType::I64,
            Val::F32(_) => ValType::F32,
            Val::F64(_) => ValType::F64,
            Val::V128(_) => ValType::V128,
            Val::FuncRef(_) => ValType::FuncRef,
            Val::ExternRef(_) => ValType::ExternRef,
            Val::AnyRef(_) => ValType::reference(true, HeapType::Any),
            Val::ExnRef(_) => ValType::reference(true, HeapType::Exn),
        }
    }

    /// The zero (or null) value of a type.
    pub fn default_for(ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(0),
            ValType::I64 => Val::I64(0),
            ValType::F32 => Val::F32(0),
            ValType::F64 => Val::F64(0),
            ValType::V128 => Val::V128(0),
            ValType::FuncRef => Val::FuncRef(None),
            ValType::ExternRef => Val::ExternRef(None),
            ValType::Ref(r) if r.heap.is_func() => Val::FuncRef(None),
            ValType::Ref(r) if r.heap.is_exn() => Val::ExnRef(None),
            ValType::Ref(r) if r.heap.is_any() => Val::AnyRef(None),
            ValType::Ref(_) => Val::ExternRef(None),
        }
    }

    /// The `i32`, if it is one.
    pub fn i32(&self) -> Option<i32> {
        match self {
            Val::I32(v) => Some(*v),
            _ => None,
        }
    }

    /// The `i64`, if it is one.
    pub fn i64(&self) -> Option<i64> {
        match self {
            Val::I64(v) => Some(*v),
            _ => None,
        }
    }

    /// The `f32`, if it is one.
    pub fn f32(&self) -> Option<f32> {
        match self {
            Val::F32(v) => Some(f32::from_bits(*v)),
            _ => None,
        }
    }

    /// The `f64`, if it is one.
    pub fn f64(&self) -> Option<f64> {
        match self {
            Val::F64(v) => Some(f64::from_bits(*v)),
            _ => None,
        }
    }

    /// Checks the value has type `ty` (references as canonical ids), or a
    /// subtype of it: a null reference has every nullable type of its
    /// hierarchy; a function, `func` and its own type.
    pub(crate) fn check_type(&self, store: &StoreOpaque, ty: ValType, what: &str) -> Result<()> {
        let ok = match (self, ty.as_ref_type()) {
            (Val::FuncRef(None), Some(r)) => r.nullable && r.heap.is_func(),
            (Val::ExternRef(None), Some(r)) => r.nullable && r.heap.is_extern(),
            (Val::AnyRef(None), Some(r)) => r.nullable && r.heap.is_any(),
            (Val::ExnRef(None), Some(r)) => r.nullable && r.heap.is_exn(),
            (Val::ExnRef(Some(_)), Some(r)) => r.heap == HeapType::Exn,
            (Val::AnyRef(Some(a)), _) => match a.never {},
            (Val::FuncRef(Some(f)), Some(r)) => match r.heap {
                HeapType::Func => true,
                HeapType::Canonical(id) => {
                    f.0.store_id != store.id || {
                        // (A function of another store is refused by
                        // `check_store`, with its own message.)
                        store.funcs[store.check(f.0)].type_id == id
                    }
                }
                _ => false,
            },
            (Val::ExternRef(Some(_)), Some(r)) => r.heap == HeapType::Extern,
            _ => self.ty() == ty,
        };
        if !ok {
            bail!(
                "type mismatch: {what} expected a value of type {ty}, got {}",
                self.describe(store)
            );
        }
        Ok(())
    }

    /// The value's type as an error message names it.
    fn describe(&self, store: &StoreOpaque) -> String {
        match self {
            Val::FuncRef(None) => "a null funcref".into(),
            Val::ExternRef(None) => "a null externref".into(),
            Val::FuncRef(Some(f)) if f.0.store_id == store.id => {
                format!("(ref (type {}))", store.funcs[store.check(f.0)].type_id)
            }
            other => other.ty().to_string(),
        }
    }

    /// Errors (rather than panicking later) when the value is a reference
    /// into another store.
    pub(crate) fn check_store(&self, store: &StoreOpaque, what: &str) -> Result<()> {
        let id = match self {
            Val::FuncRef(Some(f)) => f.0.store_id,
            Val::ExternRef(Some(e)) => e.0.store_id,
            Val::ExnRef(Some(e)) => e.0.store_id,
            _ => return Ok(()),
        };
        if id != store.id {
            bail!("{what} is a reference that belongs to another store");
        }
        Ok(())
    }

    pub(crate) fn to_raw(self, store: &StoreOpaque) -> ValRaw {
        match self {
            Val::I32(v) => ValRaw::i32(v),
            Val::I64(v) => ValRaw::i64(v),
            Val::F32(b) => ValRaw::f32(b),
            Val::F64(b) => ValRaw::f64(b),
            Val::V128(v) => ValRaw::v128(v),
            Val::FuncRef(None) | Val::ExternRef(None) | Val::AnyRef(None) | Val::ExnRef(None) => {
                ValRaw::reference(0)
            }
            Val::AnyRef(Some(a)) => match a.never {},
            Val::ExnRef(Some(e)) => ValRaw::reference(store.exnrefs[store.check(e.0)]),
            Val::FuncRef(Some(f)) => {
                ValRaw::reference(store.funcs[store.check(f.0)].funcref as usize)
            }
            Val::ExternRef(Some(e)) => ValRaw::reference(e.to_raw(store)),
        }
    }

    pub(crate) fn from_raw(store: &mut StoreOpaque, raw: ValRaw, ty: ValType) -> Val {
        match ty {
            ValType::I32 => Val::I32(raw.get_i32()),
            ValType::I64 => Val::I64(raw.get_i64()),
            ValType::F32 => Val::F32(raw.get_f32()),
            ValType::F64 => Val::F64(raw.get_f64()),
            ValType::V128 => Val::V128(raw.get_v128()),
            ValType::Ref(r) if r.heap.is_exn() => Val::ExnRef(match raw.get_ref() {
                0 => None,
                p => Some(ExnRef(store.exnref_for_ptr(p))),
            }),
            // No GC value can exist yet: only null.
            ValType::Ref(r) if r.heap.is_any() => Val::AnyRef(None),
            ValType::Ref(r) if r.heap.is_extern() => Val::ExternRef(match raw.get_ref() {
                0 => None,
                h => Some(ExternRef(store.stored(h - 1))),
            }),
            ValType::FuncRef | ValType::Ref(_) => Val::FuncRef(match raw.get_ref() {
                0 => None,
                p => Some(Func(store.func_for_ref(p as *const VMFuncRef))),
            }),
            ValType::ExternRef => Val::ExternRef(match raw.get_ref() {
                0 => None,
                h => Some(ExternRef(store.stored(h - 1))),
            }),
        }
    }
}
