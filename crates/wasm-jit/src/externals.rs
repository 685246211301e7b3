//! Memories, tables, globals, and the `Extern` that holds any importable item.

use anyhow::{Result, anyhow, bail};
use wasm_jit_backend::{LinearMemory, Table as RawTable, VMGlobal, VMTag};

use crate::Func;
use crate::store::{AsContext, AsContextMut, Stored};
use crate::trap::host_error;
use crate::types::{ExternType, FuncType, GlobalType, MemoryType, TableType, ValType};
use crate::values::Val;

/// Any item an instance can import or export.
#[derive(Clone, Debug)]
pub enum Extern {
    /// A function.
    Func(Func),
    /// A table.
    Table(Table),
    /// A linear memory.
    Memory(Memory),
    /// A global.
    Global(Global),
    /// An exception tag.
    Tag(Tag),
    /// A memory shared between threads (of no one store).
    SharedMemory(crate::SharedMemory),
}

impl Extern {
    /// Where the item lives: `None` for a shared memory, which belongs to
    /// no store.
    pub(crate) fn stored(&self) -> Option<crate::store::Stored> {
        Some(match self {
            Extern::Func(f) => f.0,
            Extern::Table(t) => t.0,
            Extern::Memory(m) => m.0,
            Extern::Global(g) => g.0,
            Extern::Tag(t) => t.0,
            Extern::SharedMemory(_) => return None,
        })
    }

    /// Whether the item may be used with the store `s`: it belongs to it,
    /// or (a shared memory) to its engine.
    pub(crate) fn usable_in(&self, s: &crate::store::StoreOpaque) -> bool {
        match (self, self.stored()) {
            (Extern::SharedMemory(m), _) => crate::Engine::same(m.engine(), &s.engine),
            (_, Some(stored)) => stored.store_id == s.id,
            (_, None) => false,
        }
    }
}

impl Extern {
    /// The function, if it is one.
    pub fn into_func(self) -> Option<Func> {
        match self {
            Extern::Func(f) => Some(f),
            _ => None,
        }
    }
    /// The table, if it is one.
    pub fn into_table(self) -> Option<Table> {
        match self {
            Extern::Table(t) => Some(t),
            _ => None,
        }
    }
    /// The memory, if it is one.
    pub fn into_memory(self) -> Option<Memory> {
        match self {
            Extern::Memory(m) => Some(m),
            _ => None,
        }
    }
    /// The shared memory, if it is one.
    pub fn into_shared_memory(self) -> Option<crate::SharedMemory> {
        match self {
            Extern::SharedMemory(m) => Some(m),
            _ => None,
        }
    }
    /// The global, if it is one.
    pub fn into_global(self) -> Option<Global> {
        match self {
            Extern::Global(g) => Some(g),
            _ => None,
        }
    }
    /// The tag, if it is one.
    pub fn into_tag(self) -> Option<Tag> {
        match self {
            Extern::Tag(t) => Some(t),
            _ => None,
        }
    }

    /// The item's type.
    pub fn ty(&self, store: impl AsContext) -> ExternType {
        self.ty_in(&store.as_context().0.opaque)
    }

    pub(crate) fn ty_in(&self, s: &crate::store::StoreOpaque) -> ExternType {
        match self {
            Extern::Func(f) => ExternType::Func(s.funcs[s.check(f.0)].ty.clone()),
            Extern::Table(t) => ExternType::Table(s.table(s.check(t.0)).ty()),
            Extern::Memory(m) => ExternType::Memory(s.memory(s.check(m.0)).ty()),
            Extern::Global(g) => ExternType::Global(s.globals[s.check(g.0)].ty),
            Extern::Tag(t) => ExternType::Tag(s.tags[s.check(t.0)].ty.clone()),
            Extern::SharedMemory(m) => ExternType::Memory(m.ty()),
        }
    }
}

impl From<crate::SharedMemory> for Extern {
    fn from(m: crate::SharedMemory) -> Extern {
        Extern::SharedMemory(m)
    }
}

impl From<Tag> for Extern {
    fn from(t: Tag) -> Extern {
        Extern::Tag(t)
    }
}

/// An exception tag. Two tags are the same tag only if they are the same
/// definition (importing a tag shares it); the payload's type is part of
/// the tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Tag(pub(crate) Stored);

impl Tag {
    /// A new tag owned by the store, whose payload has the parameters of
    /// `ty` (which must have no results).
    pub fn new(mut store: impl AsContextMut, ty: &FuncType) -> Result<Tag> {
        if !ty.result_types().is_empty() {
            bail!("a tag's type has no results, but {ty} has some");
        }
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let type_id = s.engine.inner().types.intern(ty.raw());
        let t = Box::new(VMTag { type_id });
        let ptr: *const VMTag = &*t;
        s.owned_tags.push(t);
        Ok(Tag(s.tag_for_ptr(ptr)))
    }

    /// The payload's type, as a function type's parameters.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let s = &store.as_context().0.opaque;
        s.tags[s.check(self.0)].ty.clone()
    }
}

impl From<Func> for Extern {
    fn from(f: Func) -> Extern {
        Extern::Func(f)
    }
}
impl From<Table> for Extern {
    fn from(t: Table) -> Extern {
        Extern::Table(t)
    }
}
impl From<Memory> for Extern {
    fn from(m: Memory) -> Extern {
        Extern::Memory(m)
    }
}
impl From<Global> for Extern {
    fn from(g: Global) -> Extern {
        Extern::Global(g)
    }
}

/// A host read or write of linear memory ([`Memory::read`],
/// [`Memory::write`]) that would reach past its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryAccessError(());

impl std::fmt::Display for MemoryAccessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("out of bounds memory access")
    }
}

impl std::error::Error for MemoryAccessError {}

impl MemoryAccessError {
    /// The `len` bytes at `offset` of a memory of `size` bytes, if they are
    /// all inside it.
    fn range(
        offset: usize,
        len: usize,
        size: usize,
    ) -> Result<std::ops::Range<usize>, MemoryAccessError> {
        match offset.checked_add(len) {
            Some(end) if end <= size => Ok(offset..end),
            _ => Err(MemoryAccessError(())),
        }
    }
}

/// A linear memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Memory(pub(crate) Stored);

impl Memory {
    /// A new memory owned by the store. (A shared memory is no store's:
    /// make one with [`SharedMemory::new`](crate::SharedMemory::new).)
    pub fn new(mut store: impl AsContextMut, ty: MemoryType) -> Result<Memory> {
        if ty.shared {
            bail!("a shared memory belongs to no store: make it with SharedMemory::new");
        }
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let config = s.engine.config();
        let mut m = Box::new(
            LinearMemory::new(
                &ty,
                s.engine.memory_style(),
                config.max_memory_pages,
                &s.engine.reservation(),
            )
            .map_err(|e| anyhow!(e))?,
        );
        let ptr: *mut LinearMemory = &mut *m;
        s.owned_memories.push(m);
        Ok(Memory(s.memory_for_ptr(ptr)))
    }

    /// The memory's type: current size as minimum, declared maximum.
    pub fn ty(&self, store: impl AsContext) -> MemoryType {
        let s = &store.as_context().0.opaque;
        s.memory(s.check(self.0)).ty()
    }

    /// Current size in pages.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let s = &store.as_context().0.opaque;
        s.memory(s.check(self.0)).pages()
    }

    /// Bytes in one of its pages (65536 unless the module declared a
    /// custom page size).
    pub fn page_size(&self, store: impl AsContext) -> u64 {
        self.ty(store).page_size()
    }

    /// The page size's base-2 logarithm.
    pub fn page_size_log2(&self, store: impl AsContext) -> u8 {
        self.ty(store).page_size_log2
    }

    /// Current size in bytes.
    pub fn data_size(&self, store: impl AsContext) -> usize {
        let s = &store.as_context().0.opaque;
        s.memory(s.check(self.0)).byte_size()
    }

    /// The memory's bytes.
    pub fn data<'a, T: 'a>(&self, store: impl Into<crate::StoreContext<'a, T>>) -> &'a [u8] {
        let s = &store.into().0.opaque;
        s.memory(s.check(self.0)).data()
    }

    /// The memory's bytes, mutably.
    pub fn data_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContextMut<'a, T>>,
    ) -> &'a mut [u8] {
        let s = &mut store.into().0.opaque;
        let i = s.check(self.0);
        s.memory_bytes_mut(i)
    }

    /// The address of the memory's first byte, for hosts that hand it to
    /// native code; [`data_size`](Memory::data_size) bytes are accessible
    /// from it. A memory with guard pages (a 32-bit memory of 64 KiB
    /// pages, by default) never moves; one whose accesses are checked
    /// explicitly (memory64, one-byte pages,
    /// [`Config::explicit_bounds_checks`](crate::Config::explicit_bounds_checks),
    /// a small [`Config::memory_reservation`](crate::Config::memory_reservation),
    /// or neither of those set in a process whose address-space limit is
    /// too small for guard pages: see `explicit_bounds_checks`)
    /// may move when it grows, so ask again after any growth, the guest's
    /// included, unless [`Config::memory_may_move`](crate::Config::memory_may_move)
    /// is off. Reading or writing through it while anything else borrows
    /// the bytes (say a slice from [`data_mut`](Memory::data_mut)) is the
    /// caller's to avoid.
    pub fn data_ptr(&self, store: impl AsContext) -> *mut u8 {
        let s = &store.as_context().0.opaque;
        s.memory(s.check(self.0)).base()
    }

    /// The memory's bytes and the store's data, both mutably (what a host
    /// function needs to serve a guest request).
    pub fn data_and_store_mut<'a, T: 'a>(
        &self,
        store: impl Into<crate::StoreContextMut<'a, T>>,
    ) -> (&'a mut [u8], &'a mut T) {
        let inner = store.into().0;
        let i = inner.opaque.check(self.0);
        // (The store's two parts are borrowed apart.)
        (inner.opaque.memory_bytes_mut(i), &mut inner.data)
    }

    /// Copies `buf.len()` bytes at `offset` into `buf`.
    pub fn read(
        &self,
        store: impl AsContext,
        offset: usize,
        buf: &mut [u8],
    ) -> Result<(), MemoryAccessError> {
        let s = &store.as_context().0.opaque;
        let data = s.memory(s.check(self.0)).data();
        buf.copy_from_slice(&data[MemoryAccessError::range(offset, buf.len(), data.len())?]);
        Ok(())
    }

    /// Copies `buf` into the memory at `offset`.
    pub fn write(
        &self,
        mut store: impl AsContextMut,
        offset: usize,
        buf: &[u8],
    ) -> Result<(), MemoryAccessError> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let i = s.check(self.0);
        let data = s.memory_bytes_mut(i);
        let range = MemoryAccessError::range(offset, buf.len(), data.len())?;
        data[range].copy_from_slice(buf);
        Ok(())
    }

    /// Grows by `delta` pages, returning the old size in pages.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64) -> Result<u64> {
        let ctx = store.as_context_mut();
        let i = ctx.0.opaque.check(self.0);
        ctx.0
            .enter(|store| {
                // SAFETY: `store` comes from `enter`; only its `opaque` part is
                // borrowed here, and the limiter (reached through the handed
                // down pointer) borrows only `limiter` and `data`.
                let s = unsafe { &mut (*store).opaque };
                // SAFETY: memory pointers stay valid while the store lives;
                // no reference to the memory is alive here (a shared one is
                // only reached through `&`).
                unsafe { wasm_jit_backend::grow_memory(s.memories[i], &s.limits, delta) }
            })
            .map_err(host_error)?
            .ok_or_else(|| anyhow!("failed to grow memory by {delta} pages"))
    }
}

/// A table of references.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Table(pub(crate) Stored);

fn ref_to_raw(s: &crate::store::StoreOpaque, ty: ValType, init: Val) -> Result<usize> {
    init.check_type(s, ty, "table element")?;
    Ok(init.to_raw(s).get_ref())
}

impl Table {
    /// A new table owned by the store, filled with `init`.
    pub fn new(mut store: impl AsContextMut, ty: TableType, init: Val) -> Result<Table> {
        // Kept in one spelling, as `TableType::new` makes it.
        let ty = TableType {
            element: ty.element.one_spelling(),
            ..ty
        };
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let raw = ref_to_raw(s, ty.element, init)?;
        let limit = s.engine.config().max_table_elements;
        let mut t = Box::new(RawTable::new(ty, raw, limit).map_err(|e| anyhow!(e))?);
        let ptr: *mut RawTable = &mut *t;
        s.owned_tables.push(t);
        Ok(Table(s.table_for_ptr(ptr)))
    }

    /// The table's type: current size as minimum, declared maximum.
    pub fn ty(&self, store: impl AsContext) -> TableType {
        let s = &store.as_context().0.opaque;
        s.table(s.check(self.0)).ty()
    }

    /// Current number of elements.
    pub fn size(&self, store: impl AsContext) -> u64 {
        let s = &store.as_context().0.opaque;
        s.table(s.check(self.0)).elements().len() as u64
    }

    /// Element `index`, or `None` when out of bounds.
    pub fn get(&self, mut store: impl AsContextMut, index: u64) -> Option<Val> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let i = s.check(self.0);
        let t = s.table(i);
        let ty = t.ty().element;
        let raw = *t.elements().get(index as usize)?;
        Some(Val::from_raw(
            s,
            wasm_jit_backend::ValRaw::reference(raw),
            ty,
        ))
    }

    /// Sets element `index`.
    pub fn set(&self, mut store: impl AsContextMut, index: u64, val: Val) -> Result<()> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let i = s.check(self.0);
        let raw = ref_to_raw(s, s.table(i).ty().element, val)?;
        match s.table_mut(i).elements_mut().get_mut(index as usize) {
            Some(slot) => {
                *slot = raw;
                Ok(())
            }
            None => bail!("out of bounds table access"),
        }
    }

    /// Sets `len` elements from `dst` to `val` (as `table.fill`): all of
    /// them, or none and a [`Trap::TableOutOfBounds`](crate::Trap) error
    /// when they are not all in bounds.
    pub fn fill(&self, mut store: impl AsContextMut, dst: u64, val: Val, len: u64) -> Result<()> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let i = s.check(self.0);
        let raw = ref_to_raw(s, s.table(i).ty().element, val)?;
        if !s.table_mut(i).fill(dst, raw, len) {
            return Err(crate::Trap::TableOutOfBounds.into());
        }
        Ok(())
    }

    /// Copies `len` elements of `src_table` from `src_index` to `dst_table`
    /// at `dst_index` (as `table.copy`: the ranges may overlap, even in one
    /// table). The source's element type must be a subtype of the
    /// destination's; nothing is copied and a
    /// [`Trap::TableOutOfBounds`](crate::Trap) error is returned when a
    /// range is out of bounds.
    pub fn copy(
        mut store: impl AsContextMut,
        dst_table: &Table,
        dst_index: u64,
        src_table: &Table,
        src_index: u64,
        len: u64,
    ) -> Result<()> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let (d, src) = (s.check(dst_table.0), s.check(src_table.0));
        let (dst_ty, src_ty) = (s.table(d).ty().element, s.table(src).ty().element);
        if !s.engine.inner().types.value_subtype(src_ty, dst_ty) {
            bail!("type mismatch: cannot copy {src_ty} elements into a table of {dst_ty}");
        }
        let (Some(from), Some(to)) = (
            s.table(src).range(src_index, len),
            s.table(d).range(dst_index, len),
        ) else {
            return Err(crate::Trap::TableOutOfBounds.into());
        };
        let values = s.table(src).elements()[from].to_vec();
        s.table_mut(d).elements_mut()[to].copy_from_slice(&values);
        Ok(())
    }

    /// Grows by `delta` elements set to `init`, returning the old size.
    pub fn grow(&self, mut store: impl AsContextMut, delta: u64, init: Val) -> Result<u64> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let i = s.check(self.0);
        let raw = ref_to_raw(s, s.table(i).ty().element, init)?;
        ctx.0
            .enter(|store| {
                // SAFETY: as in `Memory::grow`.
                let s = unsafe { &mut (*store).opaque };
                // SAFETY: table pointers stay valid while the store lives.
                let table = unsafe { &mut *s.tables[i] };
                wasm_jit_backend::grow_table(table, &s.limits, delta, raw)
            })
            .map_err(host_error)?
            .ok_or_else(|| anyhow!("failed to grow table by {delta}"))
    }
}

/// A global variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Global(pub(crate) Stored);

impl Global {
    /// A new global owned by the store.
    pub fn new(mut store: impl AsContextMut, ty: GlobalType, val: Val) -> Result<Global> {
        // Kept in one spelling, as `GlobalType::new` makes it.
        let ty = GlobalType {
            content: ty.content.one_spelling(),
            ..ty
        };
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        val.check_type(s, ty.content, "global initialiser")?;
        let mut g = Box::new(VMGlobal {
            value: val.to_raw(s),
        });
        let ptr: *mut VMGlobal = &mut *g;
        s.owned_globals.push(g);
        Ok(Global(s.global_for_ptr(ptr, ty)))
    }

    /// The global's type.
    pub fn ty(&self, store: impl AsContext) -> GlobalType {
        let s = &store.as_context().0.opaque;
        s.globals[s.check(self.0)].ty
    }

    /// The current value.
    pub fn get(&self, mut store: impl AsContextMut) -> Val {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let g = &s.globals[s.check(self.0)];
        let ty = g.ty.content;
        // SAFETY: global pointers stay valid while the store lives.
        let raw = unsafe { (*g.ptr).value };
        Val::from_raw(s, raw, ty)
    }

    /// Sets the value of a mutable global.
    pub fn set(&self, mut store: impl AsContextMut, val: Val) -> Result<()> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let g = &s.globals[s.check(self.0)];
        if !g.ty.mutable {
            bail!("cannot set an immutable global");
        }
        val.check_type(s, g.ty.content, "global")?;
        let ptr = g.ptr;
        let raw = val.to_raw(s);
        // SAFETY: global pointers stay valid while the store lives; `&mut`
        // on the store rules out concurrent access.
        unsafe { (*ptr).value = raw };
        Ok(())
    }
}
