//! Wasm values as the host sees them.

use std::any::Any;

use anyhow::{Result, bail};
use wasm_jit_backend::{VMFuncRef, ValRaw};

use crate::Func;
use crate::store::{AsContext, AsContextMut, StoreContext, StoreOpaque, Stored};
use crate::types::ValType;
use wasm_jit_frontend::HeapType;
use wasm_jit_frontend::vmoffsets::gc;

/// An `externref`: a host value, created with [`ExternRef::new`], or a GC
/// value Wasm turned into one (`extern.convert_any`, see
/// [`ExternRef::convert_any`]). It lives as long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ExternRef {
    pub(crate) store_id: u64,
    /// The word compiled code holds (see `vmoffsets::gc`).
    pub(crate) raw: usize,
}

impl ExternRef {
    /// Wraps `value` so Wasm can hold it as an `externref`.
    pub fn new<T: Any + Send + Sync>(mut store: impl AsContextMut, value: T) -> ExternRef {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        s.externrefs.push(Box::new(value));
        ExternRef {
            store_id: s.id,
            raw: ((s.externrefs.len() - 1) << 2) | gc::HOST_TAG as usize,
        }
    }

    /// The wrapped host value; `None` for a GC value made an `externref`
    /// by `extern.convert_any`.
    pub fn data<'a, T: 'a>(
        &self,
        store: impl Into<StoreContext<'a, T>>,
    ) -> Option<&'a (dyn Any + Send + Sync)> {
        let s: &'a StoreOpaque = &store.into().0.opaque;
        s.check_id(self.store_id);
        (self.raw & 3 == gc::HOST_TAG as usize).then(|| &*s.externrefs[self.raw >> 2])
    }

    /// `extern.convert_any`: the GC value `r` as an `externref`.
    pub fn convert_any(r: AnyRef) -> ExternRef {
        ExternRef {
            store_id: r.store_id,
            raw: r.raw,
        }
    }
}

/// A GC value (`anyref` and below): an `i31`, a struct, an array, or a host
/// value Wasm turned into one (`any.convert_extern`). It lives as long as
/// its store (objects are never collected before; see the GC heap in
/// `backend/src/gc.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnyRef {
    pub(crate) store_id: u64,
    /// The word compiled code holds (see `vmoffsets::gc`).
    pub(crate) raw: usize,
}

/// A 31-bit integer as a GC value (`i31ref`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct I31(u32);

impl I31 {
    /// `value` if it fits in 31 bits unsigned.
    pub fn new_u32(value: u32) -> Option<I31> {
        (value < 1 << 31).then_some(I31(value))
    }

    /// `value` if it fits in 31 bits signed.
    pub fn new_i32(value: i32) -> Option<I31> {
        (-(1 << 30)..1 << 30)
            .contains(&value)
            .then_some(I31(value as u32 & 0x7fff_ffff))
    }

    /// The low 31 bits of `value` (as `ref.i31`).
    pub fn wrapping_u32(value: u32) -> I31 {
        I31(value & 0x7fff_ffff)
    }

    /// The low 31 bits of `value` (as `ref.i31`).
    pub fn wrapping_i32(value: i32) -> I31 {
        I31(value as u32 & 0x7fff_ffff)
    }

    /// Zero-extended (`i31.get_u`).
    pub fn get_u32(self) -> u32 {
        self.0
    }

    /// Sign-extended (`i31.get_s`).
    pub fn get_i32(self) -> i32 {
        ((self.0 << 1) as i32) >> 1
    }
}

impl AnyRef {
    /// The `i31ref` of `value`.
    pub fn from_i31(store: impl AsContext, value: I31) -> AnyRef {
        AnyRef {
            store_id: store.as_context().0.opaque.id,
            raw: ((value.0 << 1) | 1) as usize,
        }
    }

    /// `any.convert_extern`: the `externref` `r` as a GC value.
    pub fn convert_extern(r: ExternRef) -> AnyRef {
        AnyRef {
            store_id: r.store_id,
            raw: r.raw,
        }
    }

    /// The `i31`, if it is one.
    pub fn as_i31(&self) -> Option<I31> {
        (self.raw & 1 == 1).then_some(I31((self.raw >> 1) as u32))
    }

    /// Whether it is an `i31`.
    pub fn is_i31(&self) -> bool {
        self.as_i31().is_some()
    }

    /// Whether it is of type `eqref` (an `i31`, a struct or an array).
    pub fn is_eqref(&self) -> bool {
        self.raw & 3 != gc::HOST_TAG as usize
    }

    /// Whether it is a struct.
    pub fn is_struct(&self, store: impl AsContext) -> bool {
        self.is_object_of_kind(&store.as_context().0.opaque, gc::KIND_STRUCT)
    }

    /// Whether it is an array.
    pub fn is_array(&self, store: impl AsContext) -> bool {
        self.is_object_of_kind(&store.as_context().0.opaque, gc::KIND_ARRAY)
    }

    /// Whether it is an object of `kind` (`gc::KIND_STRUCT` or `KIND_ARRAY`).
    fn is_object_of_kind(&self, store: &StoreOpaque, kind: u32) -> bool {
        self.object(store).is_some_and(|(_, k)| k == kind)
    }

    /// The canonical type id and kind of the object it points to, if it is
    /// one.
    pub(crate) fn object(&self, store: &StoreOpaque) -> Option<(u32, u32)> {
        store.check_id(self.store_id);
        if self.raw & 3 != 0 {
            return None;
        }
        // SAFETY: an `AnyRef` of this store (checked) whose word is an
        // object's address came from its compiled code, and objects live
        // as long as their store.
        Some(unsafe { wasm_jit_backend::gc::object_header(self.raw) })
    }

    /// Whether it is of reference type `heap` (a heap type with canonical
    /// ids).
    pub(crate) fn is_of(&self, store: &StoreOpaque, heap: HeapType, exact: bool) -> bool {
        match heap {
            HeapType::Any => true,
            HeapType::Eq => self.is_eqref(),
            HeapType::I31 => self.is_i31(),
            HeapType::Struct => self.is_object_of_kind(store, gc::KIND_STRUCT),
            HeapType::Array => self.is_object_of_kind(store, gc::KIND_ARRAY),
            HeapType::Canonical(id) => self.object(store).is_some_and(|(t, _)| {
                if exact {
                    t == id
                } else {
                    store.engine.inner().types.is_subtype(t, id)
                }
            }),
            _ => false,
        }
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

/// Whether values of heap type `heap` (canonical ids) are GC values:
/// `any` and below, struct and array types included.
fn is_gc_heap(store: &StoreOpaque, heap: HeapType) -> bool {
    is_gc_heap_in(&store.engine, heap)
}

fn is_gc_heap_in(engine: &crate::Engine, heap: HeapType) -> bool {
    match heap {
        HeapType::Canonical(id) => engine.inner().types.kind(id) != wasm_jit_frontend::Kind::Func,
        h => h.is_any(),
    }
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
    /// `anyref` (and the other GC reference types), `None` for null.
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

/// For each reference kind: `From` its type (and `Option` of it, `None` the
/// null), and on `Val` its null, its accessor (`Some(None)` for null) and
/// its panicking unwrapper, by Wasmtime's names.
macro_rules! reference_kinds {
    ($($ty:ident $variant:ident $wasm:literal $a:literal $null:ident $get:ident $unwrap:ident;)*) => {
        $(
            impl From<$ty> for Val {
                fn from(r: $ty) -> Val {
                    Val::$variant(Some(r))
                }
            }
            impl From<Option<$ty>> for Val {
                fn from(r: Option<$ty>) -> Val {
                    Val::$variant(r)
                }
            }
        )*
        impl Val {
            $(
                #[doc = concat!("The null `", $wasm, "`.")]
                pub fn $null() -> Val {
                    Val::$variant(None)
                }

                #[doc = concat!("The `", $wasm, "` (`Some(None)` for null), if it is one.")]
                pub fn $get(&self) -> Option<Option<&$ty>> {
                    match self {
                        Val::$variant(r) => Some(r.as_ref()),
                        _ => None,
                    }
                }

                #[doc = concat!(
                    "The `", $wasm, "` (`None` for null); panics if the value is another type."
                )]
                pub fn $unwrap(&self) -> Option<&$ty> {
                    self.$get().expect(concat!("expected ", $a, " ", $wasm, " value"))
                }
            )*
        }
    };
}

reference_kinds! {
    Func FuncRef "funcref" "a" null_func_ref funcref unwrap_funcref;
    ExternRef ExternRef "externref" "an" null_extern_ref externref unwrap_externref;
    AnyRef AnyRef "anyref" "an" null_any_ref anyref unwrap_anyref;
    ExnRef ExnRef "exnref" "an" null_exn_ref exnref unwrap_exnref;
}

impl Val {
    /// The `v128`, if it is one.
    pub fn v128(&self) -> Option<V128> {
        match self {
            Val::V128(v) => Some(V128::from(*v)),
            _ => None,
        }
    }

    /// The `v128`; panics if the value is another type.
    pub fn unwrap_v128(&self) -> V128 {
        self.v128().expect("expected a v128 value")
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

    /// The value's precise type, as Wasmtime's `Val::ty`: a null reference
    /// has its hierarchy's bottom type (`(ref null nofunc)`, `(ref null
    /// noextern)`, `(ref null none)`, `(ref null noexn)`), a function its
    /// own type (`(ref $t)`, a canonical id), a GC object its struct or
    /// array type, an `i31` `(ref i31)`. An error for a reference into
    /// another store.
    pub fn ty(&self, store: impl AsContext) -> Result<ValType> {
        let s = &store.as_context().0.opaque;
        self.check_store(s, "the value")?;
        let heap = |nullable, heap| ValType::reference(nullable, heap);
        Ok(match self {
            Val::FuncRef(None) => heap(true, HeapType::NoFunc),
            Val::ExternRef(None) => heap(true, HeapType::NoExtern),
            Val::AnyRef(None) => heap(true, HeapType::None),
            Val::ExnRef(None) => heap(true, HeapType::NoExn),
            Val::FuncRef(Some(f)) => {
                heap(false, HeapType::Canonical(s.funcs[s.check(f.0)].type_id))
            }
            Val::ExternRef(Some(_)) => heap(false, HeapType::Extern),
            Val::ExnRef(Some(_)) => heap(false, HeapType::Exn),
            Val::AnyRef(Some(a)) if a.is_i31() => heap(false, HeapType::I31),
            Val::AnyRef(Some(a)) => match a.object(s) {
                Some((t, _)) => heap(false, HeapType::Canonical(t)),
                // An `externref` converted (`any.convert_extern`).
                None => heap(false, HeapType::Any),
            },
            other => other.kind(),
        })
    }

    /// Whether the value has type `ty` or a subtype of it, as Wasmtime's
    /// `Val::matches_ty` (a null reference matches every nullable type of
    /// its hierarchy); an error for a reference into another store.
    pub fn matches_ty(&self, store: impl AsContext, ty: &ValType) -> Result<bool> {
        let s = &store.as_context().0.opaque;
        self.check_store(s, "the value")?;
        Ok(self.has_type(s, *ty))
    }

    /// The value's type as its variant says (`funcref`, `externref`,
    /// `anyref`, `exnref` for references).
    fn kind(&self) -> ValType {
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

    /// The zero (or null) value of a type. A null of a concrete type is
    /// taken for a function reference, as the type's id alone does not say
    /// whether it is a function, struct or array type; the engine does, and
    /// the runtime asks it for the results of host functions.
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

    /// The default value of `ty`, as Wasmtime's `Val::default_for_ty`: zero,
    /// or null for a nullable reference type; `None` for a non-nullable
    /// reference type, which has no default. (A null of a concrete type is
    /// taken for a function reference, as for [`Val::default_for`].)
    pub fn default_for_ty(ty: &ValType) -> Option<Val> {
        match ty {
            ValType::Ref(r) if !r.nullable => None,
            &t => Some(Val::default_for(t)),
        }
    }

    /// [`Val::default_for`], with a null of a concrete struct or array type
    /// (types of `engine`) an [`AnyRef`] null.
    pub(crate) fn default_in(engine: &crate::Engine, ty: ValType) -> Val {
        match ty {
            ValType::Ref(r) if is_gc_heap_in(engine, r.heap) => Val::AnyRef(None),
            t => Val::default_for(t),
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

    /// Checks the value has type `ty` (see [`Val::has_type`]); the error
    /// names `what` was given it.
    pub(crate) fn check_type(&self, store: &StoreOpaque, ty: ValType, what: &str) -> Result<()> {
        self.check_store(store, what)?;
        if !self.has_type(store, ty) {
            bail!(
                "type mismatch: {what} expected a value of type {ty}, got {}",
                self.describe(store)
            );
        }
        Ok(())
    }

    /// Whether the value has type `ty` (references as canonical ids), or a
    /// subtype of it: a null reference has every nullable type of its
    /// hierarchy; a function, `func` and its own type.
    fn has_type(&self, store: &StoreOpaque, ty: ValType) -> bool {
        match (self, ty.as_ref_type()) {
            (Val::FuncRef(None), Some(r)) => {
                r.nullable && r.heap.is_func() && !is_gc_heap(store, r.heap)
            }
            (Val::ExternRef(None), Some(r)) => r.nullable && r.heap.is_extern(),
            (Val::AnyRef(None), Some(r)) => r.nullable && is_gc_heap(store, r.heap),
            (Val::ExnRef(None), Some(r)) => r.nullable && r.heap.is_exn(),
            (Val::ExnRef(Some(_)), Some(r)) => r.heap == HeapType::Exn,
            // (A GC value of another store is refused by `check_store`.)
            (Val::AnyRef(Some(a)), Some(r)) => {
                a.store_id != store.id || a.is_of(store, r.heap, r.exact)
            }
            (Val::FuncRef(Some(f)), Some(r)) => match r.heap {
                HeapType::Func => true,
                HeapType::Canonical(id) => {
                    f.0.store_id != store.id || {
                        // (A function of another store is refused by
                        // `check_store`, with its own message.)
                        // Its type, or (GC) a declared subtype; for an
                        // exact type, that type itself.
                        let t = store.funcs[store.check(f.0)].type_id;
                        if r.exact {
                            t == id
                        } else {
                            store.engine.inner().types.is_subtype(t, id)
                        }
                    }
                }
                _ => false,
            },
            (Val::ExternRef(Some(_)), Some(r)) => r.heap == HeapType::Extern,
            _ => self.kind() == ty,
        }
    }

    /// The value's type as an error message names it.
    fn describe(&self, store: &StoreOpaque) -> String {
        match self {
            Val::FuncRef(None) => "a null funcref".into(),
            Val::ExternRef(None) => "a null externref".into(),
            Val::FuncRef(Some(f)) if f.0.store_id == store.id => {
                format!("(ref (type {}))", store.funcs[store.check(f.0)].type_id)
            }
            other => other.kind().to_string(),
        }
    }

    /// Errors (rather than panicking later) when the value is a reference
    /// into another store.
    pub(crate) fn check_store(&self, store: &StoreOpaque, what: &str) -> Result<()> {
        let id = match self {
            Val::FuncRef(Some(f)) => f.0.store_id,
            Val::ExternRef(Some(e)) => e.store_id,
            Val::ExnRef(Some(e)) => e.0.store_id,
            Val::AnyRef(Some(a)) => a.store_id,
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
            Val::AnyRef(Some(a)) => {
                store.check_id(a.store_id);
                ValRaw::reference(a.raw)
            }
            Val::ExnRef(Some(e)) => ValRaw::reference(store.exnrefs[store.check(e.0)]),
            Val::FuncRef(Some(f)) => {
                ValRaw::reference(store.funcs[store.check(f.0)].funcref as usize)
            }
            Val::ExternRef(Some(e)) => {
                store.check_id(e.store_id);
                ValRaw::reference(e.raw)
            }
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
            ValType::Ref(r) if is_gc_heap(store, r.heap) => Val::AnyRef(match raw.get_ref() {
                0 => None,
                w => Some(AnyRef {
                    store_id: store.id,
                    raw: w,
                }),
            }),
            ValType::Ref(r) if r.heap.is_extern() => Val::ExternRef(match raw.get_ref() {
                0 => None,
                w => Some(ExternRef {
                    store_id: store.id,
                    raw: w,
                }),
            }),
            ValType::FuncRef | ValType::Ref(_) => Val::FuncRef(match raw.get_ref() {
                0 => None,
                p => Some(Func(store.func_for_ref(p as *const VMFuncRef))),
            }),
            ValType::ExternRef => Val::ExternRef(match raw.get_ref() {
                0 => None,
                w => Some(ExternRef {
                    store_id: store.id,
                    raw: w,
                }),
            }),
        }
    }
}
