//! Structs and arrays (GC objects) as the host sees them: [`StructRef`] and
//! [`ArrayRef`], read and written field by field as Wasm would, got from an
//! [`AnyRef`] with [`AnyRef::as_struct`] / [`AnyRef::as_array`], or made by
//! the host ([`StructRef::new`], [`ArrayRef::new`]) of a [`StructType`] or
//! [`ArrayType`] it describes (the same type as a module's of the same
//! fields, as `(type (struct ...))` declares it).

use anyhow::{Result, anyhow, bail};
use wasm_jit_backend::ValRaw;
use wasm_jit_backend::gc as heap;
use wasm_jit_frontend::vmoffsets::gc;
use wasm_jit_frontend::{Field, GcShape, StructLayout};

use crate::Engine;
use crate::store::{AsContext, AsContextMut, StoreOpaque};
use crate::trap::host_error;
use crate::types::{HeapType, Mutability, ValType};
use crate::values::{AnyRef, Val};
use wasm_jit_frontend::Storage;

/// What a struct field or array element stores: a packed integer, or a
/// value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StorageType {
    /// An 8-bit integer (read as an `i32`).
    I8,
    /// A 16-bit integer (read as an `i32`).
    I16,
    /// A value of this type (references to concrete types by
    /// [`StructType::heap_type`] / [`ArrayType::heap_type`]).
    ValType(ValType),
}

/// A struct field's or array element's type: what it stores and whether it
/// may change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FieldType {
    mutability: Mutability,
    element_type: StorageType,
}

impl FieldType {
    /// A field of `element_type`, mutable when `mutability` is `Var`.
    pub fn new(mutability: Mutability, element_type: StorageType) -> FieldType {
        FieldType {
            mutability,
            element_type,
        }
    }

    /// Whether it may change.
    pub fn mutability(&self) -> Mutability {
        self.mutability
    }

    /// What it stores.
    pub fn element_type(&self) -> &StorageType {
        &self.element_type
    }

    fn to_field(self) -> Field {
        Field {
            storage: match self.element_type {
                StorageType::I8 => Storage::I8,
                StorageType::I16 => Storage::I16,
                // As a module's types are spelled, so that equal types
                // are one.
                StorageType::ValType(t) => Storage::Val(t.one_spelling()),
            },
            mutable: self.mutability == Mutability::Var,
        }
    }

    fn of(field: Field) -> FieldType {
        FieldType {
            mutability: if field.mutable {
                Mutability::Var
            } else {
                Mutability::Const
            },
            element_type: match field.storage {
                Storage::I8 => StorageType::I8,
                Storage::I16 => StorageType::I16,
                Storage::Val(t) => StorageType::ValType(t),
            },
        }
    }
}

/// Registers `shape` with `engine`: its id.
fn intern(engine: &Engine, shape: &GcShape) -> Result<u32> {
    engine.inner().types.intern_shape(shape).ok_or_else(|| {
        anyhow!("a field refers to a type that is not one of this engine's (use StructType::heap_type or ArrayType::heap_type)")
    })
}

/// A struct type, made by the host or read from a struct
/// ([`StructRef::ty`]).
#[derive(Clone, Debug)]
pub struct StructType {
    engine: Engine,
    id: u32,
    fields: Box<[Field]>,
}

impl StructType {
    /// The struct type of `fields` in `engine` (final, with no supertype:
    /// the same type as a module's `(type (struct ...))` of these fields).
    pub fn new(engine: &Engine, fields: impl IntoIterator<Item = FieldType>) -> Result<StructType> {
        let fields: Box<[Field]> = fields.into_iter().map(FieldType::to_field).collect();
        let id = intern(engine, &GcShape::Struct(fields.clone()))?;
        Ok(StructType {
            engine: engine.clone(),
            id,
            fields,
        })
    }

    /// Its engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Its fields.
    pub fn fields(&self) -> impl ExactSizeIterator<Item = FieldType> + '_ {
        self.fields.iter().map(|f| FieldType::of(*f))
    }

    /// Field `index`, if there is one.
    pub fn field(&self, index: usize) -> Option<FieldType> {
        self.fields.get(index).map(|f| FieldType::of(*f))
    }

    /// The heap type of references to it (`(ref $t)`).
    pub fn heap_type(&self) -> HeapType {
        HeapType::Canonical(self.id)
    }
}

/// An array type, made by the host or read from an array
/// ([`ArrayRef::ty`]).
#[derive(Clone, Debug)]
pub struct ArrayType {
    engine: Engine,
    id: u32,
    element: Field,
}

impl ArrayType {
    /// The array type of elements of `element` in `engine` (final, with no
    /// supertype: the same type as a module's `(type (array ...))`).
    pub fn new(engine: &Engine, element: FieldType) -> Result<ArrayType> {
        let element = element.to_field();
        let id = intern(engine, &GcShape::Array(element))?;
        Ok(ArrayType {
            engine: engine.clone(),
            id,
            element,
        })
    }

    /// Its engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Its elements' type.
    pub fn field_type(&self) -> FieldType {
        FieldType::of(self.element)
    }

    /// The heap type of references to it (`(ref $t)`).
    pub fn heap_type(&self) -> HeapType {
        HeapType::Canonical(self.id)
    }
}

/// Fails unless a type of `engine` may be used in `store` (before its
/// values are checked against it: its ids are `engine`'s).
fn same_engine(store: &StoreOpaque, engine: &Engine) -> Result<()> {
    if !Engine::same(engine, &store.engine) {
        bail!("the type belongs to another engine than the store's");
    }
    Ok(())
}

/// Allocates an object of `size` bytes of type `id` in the store's GC heap
/// (asking the store's limiter for each step the heap takes, as Wasm's
/// allocations do), its header filled and the rest zero.
fn allocate<T>(
    store: &mut crate::store::StoreInner<T>,
    size: u64,
    id: u32,
    kind: u32,
    len: u32,
) -> Result<AnyRef> {
    let p = store
        .enter(|store| {
            // SAFETY: `store` comes from `enter`; only its `opaque` part is
            // borrowed here, and the limiter (reached through the handed
            // down pointer) borrows only `limiter` and `data`.
            let s = unsafe { &(*store).opaque };
            s.limits.gc_alloc(size, id, kind, len)
        })
        .map_err(host_error)?
        .ok_or_else(|| anyhow::Error::new(crate::Trap::AllocationTooLarge))?;
    Ok(AnyRef {
        store_id: store.opaque.id,
        raw: p as usize,
    })
}

/// The error of an allocation, by Wasm or by the host, that the store's GC
/// heap has no room for: its objects fill the heap's limit (1 GiB), the
/// store's limiter refused it more memory, or the system had none. Objects
/// are freed only when their store is dropped (there is no garbage
/// collector yet), so a program that keeps allocating ends here. `inner`
/// is what was to be allocated (`()` when there is nothing to give back).
/// This is what Wasmtime's default collector reports when its heap cannot
/// grow; Wasmtime's null collector, which this heap is otherwise like,
/// traps with `allocation size too large` on Wasm's allocations instead.
/// One object larger than the limit itself is
/// [`Trap::AllocationTooLarge`](crate::Trap::AllocationTooLarge).
pub struct GcHeapOutOfMemory<T> {
    inner: T,
    full: heap::HeapFull,
}

impl<T> GcHeapOutOfMemory<T> {
    pub(crate) fn new(inner: T, full: heap::HeapFull) -> Self {
        GcHeapOutOfMemory { inner, full }
    }

    /// Bytes the allocation needed.
    pub fn bytes_needed(&self) -> u64 {
        self.full.bytes
    }

    /// What was to be allocated.
    pub fn inner(&self) -> &T {
        &self.inner
    }

    /// What was to be allocated, given back.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> std::fmt::Display for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "GC heap out of memory: no room for {} more bytes: ",
            self.full.bytes
        )?;
        match self.full.cause {
            heap::FullCause::Limit => write!(
                f,
                "the heap is at its limit of {} MiB (objects are freed only when their \
                 store is dropped: there is no garbage collector yet)",
                self.full.limit >> 20
            ),
            heap::FullCause::Refused => {
                f.write_str("the store's resource limiter refused the heap more memory")
            }
            heap::FullCause::NoMemory => f.write_str("the system has no memory to map for it"),
        }
    }
}

impl<T> std::fmt::Debug for GcHeapOutOfMemory<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

impl<T> std::error::Error for GcHeapOutOfMemory<T> {}

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
/// `obj`, after checking that it is mutable (unless it is being
/// initialized) and that the value has its type (a packed one takes an
/// `i32` and keeps its low bits).
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
    initialize(store, obj, offset, field, value, what)
}

/// Whether `value` may be stored in `field` (`what`): of this store, and
/// of its type.
fn check(store: &StoreOpaque, field: Field, value: Val, what: &str) -> Result<()> {
    value.check_store(store, what)?;
    value.check_type(store, read_type(field.storage), what)
}

/// Writes `value` to a field or element, checking its type (see `write`).
fn initialize(
    store: &StoreOpaque,
    obj: AnyRef,
    offset: usize,
    field: Field,
    value: Val,
    what: &str,
) -> Result<()> {
    check(store, field, value, what)?;
    let raw = value.to_raw(store).get_v128().to_le_bytes();
    let size = field.storage.size() as usize;
    // SAFETY: as in `read`; the store is borrowed exclusively, so nothing
    // else reads or writes the object meanwhile.
    unsafe { heap::write_object_bytes(obj.raw, offset, &raw[..size]) };
    Ok(())
}

/// The canonical type id and shape of the object `obj` (of this store, an
/// object: checked).
fn type_of(store: &StoreOpaque, obj: AnyRef) -> (u32, GcShape) {
    let (id, _) = obj.object(store).expect("a struct or array");
    let shape = store
        .engine
        .inner()
        .types
        .shape(id)
        .expect("an object's type is a struct or array type");
    (id, shape)
}

/// Where element `index` of an array of `elem` starts.
fn element_offset(elem: Field, index: u32) -> usize {
    gc::HEADER_SIZE as usize + index as usize * elem.storage.size() as usize
}

impl StructRef {
    /// A new struct of type `ty` with these field values (each of its
    /// field's type; an `i32` for a packed field, which keeps its low
    /// bits), as `struct.new` makes one. Its memory is asked of the store's
    /// limiter as Wasm's allocations are; refused, or past the store's GC
    /// heap, the error is a [`GcHeapOutOfMemory<()>`](crate::GcHeapOutOfMemory).
    pub fn new(mut store: impl AsContextMut, ty: &StructType, fields: &[Val]) -> Result<StructRef> {
        if fields.len() != ty.fields.len() {
            bail!(
                "a struct of {} fields given {} values",
                ty.fields.len(),
                fields.len()
            );
        }
        let inner = &mut *store.as_context_mut().0;
        same_engine(&inner.opaque, &ty.engine)?;
        // Checked before allocating: a refused value wastes no heap.
        for (i, (field, value)) in ty.fields.iter().zip(fields).enumerate() {
            check(&inner.opaque, *field, *value, &format!("field {i}"))?;
        }
        let layout = StructLayout::new(&ty.fields);
        let obj = allocate(inner, layout.size.into(), ty.id, gc::KIND_STRUCT, 0)?;
        for (i, (field, value)) in ty.fields.iter().zip(fields).enumerate() {
            let at = layout.offsets[i] as usize;
            initialize(
                &inner.opaque,
                obj,
                at,
                *field,
                *value,
                &format!("field {i}"),
            )?;
        }
        Ok(StructRef(obj))
    }

    /// As an `anyref`.
    pub fn to_anyref(self) -> AnyRef {
        self.0
    }

    /// Its type.
    pub fn ty(&self, store: impl AsContext) -> StructType {
        let store = &store.as_context().0.opaque;
        let (id, fields) = self.type_of(store);
        StructType {
            engine: store.engine.clone(),
            id,
            fields,
        }
    }

    fn type_of(&self, store: &StoreOpaque) -> (u32, Box<[Field]>) {
        match type_of(store, self.0) {
            (id, GcShape::Struct(fields)) => (id, fields),
            (_, GcShape::Array(_)) => unreachable!("a struct has a struct type"),
        }
    }

    fn fields(&self, store: &StoreOpaque) -> Box<[Field]> {
        self.type_of(store).1
    }

    /// Field `index` and its offset, or the error that there is none.
    fn field_at(&self, store: &StoreOpaque, index: usize) -> Result<(Field, usize)> {
        let fields = self.fields(store);
        let Some(&field) = fields.get(index) else {
            bail!("field {index} of a struct with {} fields", fields.len());
        };
        Ok((field, StructLayout::new(&fields).offsets[index] as usize))
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
        let (field, offset) = self.field_at(store, index)?;
        Ok(read(store, self.0, offset, field.storage))
    }

    /// Sets field `index` to `value`, as `struct.set` would: the field must
    /// be mutable and the value of its type (an `i32` for a packed field,
    /// which keeps its low bits).
    pub fn set_field(&self, mut store: impl AsContextMut, index: usize, value: Val) -> Result<()> {
        let store = &mut store.as_context_mut().0.opaque;
        let (field, offset) = self.field_at(store, index)?;
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
    /// A new array of type `ty` of `len` elements, each `elem`, as
    /// `array.new` makes one (see [`StructRef::new`] for its memory).
    pub fn new(
        mut store: impl AsContextMut,
        ty: &ArrayType,
        elem: &Val,
        len: u32,
    ) -> Result<ArrayRef> {
        let inner = &mut *store.as_context_mut().0;
        same_engine(&inner.opaque, &ty.engine)?;
        check(&inner.opaque, ty.element, *elem, "the element")?;
        let array = ArrayRef::allocate(inner, ty, len)?;
        let size = ty.element.storage.size() as usize;
        let bytes = elem.to_raw(&inner.opaque).get_v128().to_le_bytes();
        let bytes = &bytes[..size];
        // A new object's bytes are zero already.
        if bytes.iter().any(|&b| b != 0) {
            for i in 0..len {
                // SAFETY: an array of `len` elements of `size` bytes just
                // allocated in this store, which is borrowed exclusively.
                unsafe {
                    heap::write_object_bytes(array.0.raw, element_offset(ty.element, i), bytes)
                };
            }
        }
        Ok(array)
    }

    /// A new array of type `ty` of these elements, as `array.new_fixed`
    /// makes one.
    pub fn new_fixed(
        mut store: impl AsContextMut,
        ty: &ArrayType,
        elems: &[Val],
    ) -> Result<ArrayRef> {
        let len = u32::try_from(elems.len())
            .map_err(|_| anyhow!("{} elements is too many for an array", elems.len()))?;
        let inner = &mut *store.as_context_mut().0;
        same_engine(&inner.opaque, &ty.engine)?;
        for (i, elem) in elems.iter().enumerate() {
            check(&inner.opaque, ty.element, *elem, &format!("element {i}"))?;
        }
        let array = ArrayRef::allocate(inner, ty, len)?;
        for (i, elem) in (0..len).zip(elems) {
            array.init(&inner.opaque, ty, i, *elem)?;
        }
        Ok(array)
    }

    fn allocate<T>(
        inner: &mut crate::store::StoreInner<T>,
        ty: &ArrayType,
        len: u32,
    ) -> Result<ArrayRef> {
        // (The end of element `len`: at most 2^32 × 16 bytes, so no
        // overflow on the 64-bit hosts the engine runs on.)
        let size = element_offset(ty.element, len) as u64;
        let obj = allocate(inner, size, ty.id, gc::KIND_ARRAY, len)?;
        Ok(ArrayRef(obj))
    }

    fn init(&self, store: &StoreOpaque, ty: &ArrayType, index: u32, elem: Val) -> Result<()> {
        initialize(
            store,
            self.0,
            element_offset(ty.element, index),
            ty.element,
            elem,
            &format!("element {index}"),
        )
    }

    /// As an `anyref`.
    pub fn to_anyref(self) -> AnyRef {
        self.0
    }

    /// Its type.
    pub fn ty(&self, store: impl AsContext) -> ArrayType {
        let store = &store.as_context().0.opaque;
        let (id, element) = self.type_of(store);
        ArrayType {
            engine: store.engine.clone(),
            id,
            element,
        }
    }

    fn type_of(&self, store: &StoreOpaque) -> (u32, Field) {
        match type_of(store, self.0) {
            (id, GcShape::Array(f)) => (id, f),
            (_, GcShape::Struct(_)) => unreachable!("an array has an array type"),
        }
    }

    fn element(&self, store: &StoreOpaque) -> Field {
        self.type_of(store).1
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
        Ok(element_offset(elem, index))
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
