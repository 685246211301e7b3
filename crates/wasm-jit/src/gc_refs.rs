//! Structs and arrays (GC objects) as the host sees them: [`StructRef`] and
//! [`ArrayRef`], read and written field by field as Wasm would (creating
//! objects from the host is not supported yet). Got from an [`AnyRef`]
//! with [`AnyRef::as_struct`] / [`AnyRef::as_array`].

use anyhow::{Result, bail};
use wasm_jit_backend::ValRaw;
use wasm_jit_backend::gc as heap;
use wasm_jit_frontend::vmoffsets::gc;
use wasm_jit_frontend::{Field, GcShape, StructLayout};

use crate::store::{AsContext, AsContextMut, StoreOpaque};
use crate::types::ValType;
use crate::values::{AnyRef, Val};
use wasm_jit_frontend::Storage;

/// A struct (a GC object of a struct type). It lives as long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StructRef(AnyRef);

/// An array (a GC object of an array type). It lives as long as its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ArrayRef(AnyRef);

impl AnyRef {
    /// The struct it is, if it is one.
    pub fn as_struct(&self, store: impl AsContext) -> Option<StructRef> {
        self.is_struct(store).then_some(StructRef(*self))
    }

    /// The array it is, if it is one.
    pub fn as_array(&self, store: impl AsContext) -> Option<ArrayRef> {
        self.is_array(store).then_some(ArrayRef(*self))
    }
}

/// The value type a field of `storage` reads as: a packed field reads as
/// an `i32`.
fn read_type(storage: Storage) -> ValType {
    match storage {
        Storage::I8 | Storage::I16 => ValType::I32,
        Storage::Val(t) => t,
    }
}

/// The field or element of `storage` at `offset` in the object `obj`, as a
/// value (a packed one zero-extended, as `struct.get_u` reads it).
fn read(store: &mut StoreOpaque, obj: AnyRef, offset: usize, storage: Storage) -> Val {
    let mut raw = [0u8; 16];
    let size = storage.size() as usize;
    // SAFETY: `obj` is an object of this store (its caller checked the
    // store and the kind), objects live as long as their store, and the
    // field or element of `size` bytes at `offset` is inside it (from its
    // type's layout, and for an element, the index checked against the
    // length). The store is borrowed, so no Wasm runs meanwhile.
    unsafe { heap::read_object_bytes(obj.raw, offset, &mut raw[..size]) };
    let raw = ValRaw::v128(u128::from_le_bytes(raw));
    Val::from_raw(store, raw, read_type(storage))
}

/// Writes `value` to the field or element `what` of `field` at `offset` in
/// `obj`, after checking that it is mutable and that the value has its
/// type (a packed one takes an `i32` and keeps its low bits).
fn write(
    store: &StoreOpaque,
    obj: AnyRef,
    offset: usize,
    field: Field,
    value: Val,
    what: &str,
) -> Result<()> {
    if !field.mutable {
        bail!("{what} is immutable");
    }
    value.check_store(store, what)?;
    value.check_type(store, read_type(field.storage), what)?;
    let raw = value.to_raw(store).get_v128().to_le_bytes();
    let size = field.storage.size() as usize;
    // SAFETY: as in `read`; the store is borrowed exclusively, so nothing
    // else reads or writes the object meanwhile.
    unsafe { heap::write_object_bytes(obj.raw, offset, &raw[..size]) };
    Ok(())
}

/// The shape of the object `obj` (of this store, an object: checked).
fn shape(store: &StoreOpaque, obj: AnyRef) -> GcShape {
    let (id, _) = obj.object(store).expect("a struct or array");
    store
        .engine
        .inner()
        .types
        .shape(id)
        .expect("an object's type is a struct or array type")
}

impl StructRef {
    /// As an `anyref`.
    pub fn to_anyref(self) -> AnyRef {
        self.0
    }

    fn fields(&self, store: &StoreOpaque) -> Box<[Field]> {
        match shape(store, self.0) {
            GcShape::Struct(fields) => fields,
            GcShape::Array(_) => unreachable!("a struct has a struct type"),
        }
    }

    /// How many fields it has.
    pub fn field_count(&self, store: impl AsContext) -> usize {
        self.fields(&store.as_context().0.opaque).len()
    }

    /// Field `index` (a packed `i8` or `i16` field zero-extended to an
    /// `i32`, as `struct.get_u` reads it). Errors when there is no such
    /// field.
    pub fn field(&self, mut store: impl AsContextMut, index: usize) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let fields = self.fields(store);
        let Some(&field) = fields.get(index) else {
            bail!("field {index} of a struct with {} fields", fields.len());
        };
        let offset = StructLayout::new(&fields).offsets[index] as usize;
        Ok(read(store, self.0, offset, field.storage))
    }

    /// Sets field `index` to `value`, as `struct.set` would: the field must
    /// be mutable and the value of its type (an `i32` for a packed field,
    /// which keeps its low bits).
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let fields = self.fields(store);
        let Some(&field) = fields.get(index) else {
            bail!("field {index} of a struct with {} fields", fields.len());
        };
        let offset = StructLayout::new(&fields).offsets[index] as usize;
        write(
            store,
            self.0,
            offset,
            field,
            value,
            &format!("field {index}"),
        )
    }
}

impl ArrayRef {
    /// As an `anyref`.
    pub fn to_anyref(self) -> AnyRef {
        self.0
    }

    fn element(&self, store: &StoreOpaque) -> Field {
        match shape(store, self.0) {
            GcShape::Array(f) => f,
            GcShape::Struct(_) => unreachable!("an array has an array type"),
        }
    }

    /// How many elements it has.
    pub fn len(&self, store: impl AsContext) -> u32 {
        let store = &store.as_context().0.opaque;
        store.check_id(self.0.store_id);
        // SAFETY: an array of this store (checked when it was made one),
        // which lives as long as its store.
        unsafe { heap::array_length(self.0.raw) }
    }

    /// Whether it has no elements.
    pub fn is_empty(&self, store: impl AsContext) -> bool {
        self.len(store) == 0
    }

    /// The offset of element `index` of `elem`, if there is one.
    fn offset(&self, store: &StoreOpaque, elem: Field, index: u32) -> Result<usize> {
        store.check_id(self.0.store_id);
        // SAFETY: as in `len`.
        let len = unsafe { heap::array_length(self.0.raw) };
        if index >= len {
            bail!("element {index} of an array of {len}");
        }
        Ok(gc::HEADER_SIZE as usize + index as usize * elem.storage.size() as usize)
    }

    /// Element `index` (a packed `i8` or `i16` element zero-extended to an
    /// `i32`, as `array.get_u` reads it). Errors when the index is out of
    /// bounds.
    pub fn get(&self, mut store: impl AsContextMut, index: u32) -> Result<Val> {
        let store = &mut store.as_context_mut().0.opaque;
        let elem = self.element(store);
        let offset = self.offset(store, elem, index)?;
        Ok(read(store, self.0, offset, elem.storage))
    }

    /// Sets element `index` to `value`, as `array.set` would: the array
    /// must be mutable, the index in bounds and the value of its element
    /// type (an `i32` for a packed one, which keeps its low bits).
    pub fn set(&self, mut store: impl AsContextMut, index: u32, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let elem = self.element(store);
        let offset = self.offset(store, elem, index)?;
        write(
            store,
            self.0,
            offset,
            elem,
            value,
            &format!("element {index}"),
        )
    }
}
