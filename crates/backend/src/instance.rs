//! Instances: the `VMContext` of one instantiation of a compiled module,
//! the memories, tables and globals it defines, its segments, and the
//! builtins that compiled code calls for operations too large to inline.

use std::sync::Arc;

use wasm_jit_frontend::builtins::GROW_TRAPPED;
use wasm_jit_frontend::module::{ConstExpr, ConstOp, SegmentMode};
use wasm_jit_frontend::vmoffsets::gc;
use wasm_jit_frontend::vmoffsets::{self, Builtin};
use wasm_jit_frontend::{
    DefinedFuncIndex, FuncIndex, GcShape, GlobalIndex, MemoryIndex, StructLayout, TableIndex,
    TrapKind,
};

use crate::exceptions::VMException;
use crate::memory::LinearMemory;
use crate::module::CompiledModule;
use crate::traps::{TrapReason, set_pending};
use crate::vm::{HostError, ResourceKind, Table, VMFuncRef, VMGlobal, VMLimits, VMTag, ValRaw};

/// What an instance imports, in the module's import order per kind.
#[derive(Debug, Default)]
pub struct Imports {
    /// Functions.
    pub funcs: Vec<*const VMFuncRef>,
    /// Tables.
    pub tables: Vec<*mut Table>,
    /// Memories.
    pub memories: Vec<*mut LinearMemory>,
    /// Globals.
    pub globals: Vec<*mut VMGlobal>,
    /// Exception tags.
    pub tags: Vec<*const VMTag>,
}

/// Why an instance could not be made.
#[derive(Debug)]
pub enum InstanceError {
    /// A constant expression trapped (a GC allocation too large, or the
    /// embedder's limiter refused or failed it).
    Trap(TrapReason),
    /// A memory or table could not be created.
    Resource(String),
}

impl From<String> for InstanceError {
    fn from(e: String) -> Self {
        InstanceError::Resource(e)
    }
}

/// Caps on what an instance may allocate.
#[derive(Debug, Clone, Copy)]
pub struct InstanceLimits {
    /// Most pages any memory may have.
    pub memory_pages: u64,
    /// Most elements any table may have.
    pub table_elements: u64,
    /// How explicitly checked memories reserve address space.
    pub reservation: crate::memory::Reservation,
}

/// One instance. Owned (boxed) by a store; its address is in its context.
#[allow(clippy::vec_box)]
pub struct Instance {
    module: Arc<CompiledModule>,
    vmctx: Box<[usize]>,
    memories: Vec<*mut LinearMemory>,
    tables: Vec<*mut Table>,
    globals: Vec<*mut VMGlobal>,
    tags: Vec<*const VMTag>,
    funcs: Vec<*const VMFuncRef>,
    // Boxed so the addresses stored in the context stay valid as the
    // vectors grow.
    _owned_memories: Vec<Box<LinearMemory>>,
    /// Shared memories it defines: other stores (threads) may hold them too.
    shared_memories: Vec<Arc<LinearMemory>>,
    _owned_tables: Vec<Box<Table>>,
    _owned_globals: Vec<Box<VMGlobal>>,
    _owned_tags: Vec<Box<VMTag>>,
    /// Exceptions thrown by this instance's code; they live as long as it
    /// (an `exnref` may be kept anywhere in the store).
    exceptions: Vec<Box<VMException>>,
    /// Those of `exceptions` free for reuse: caught by a handler that took
    /// only the payload before any `exnref` to them existed.
    free_exceptions: Vec<*mut VMException>,
    /// Bytes held by `exceptions` (bounded by [`MAX_EXCEPTION_BYTES`]).
    exception_bytes: usize,
    /// At how many bytes it next looks for exceptions to reclaim.
    collect_at: usize,
    _owned_funcrefs: Box<[VMFuncRef]>,
    /// Element segments evaluated to references; `None` once dropped.
    elems: Vec<Option<Vec<usize>>>,
    dropped_data: Vec<bool>,
    /// The store's limits, which hold its GC heap.
    limits: *mut VMLimits,
}

// SAFETY: an instance and everything it points to belong to one store, which
// is used by one thread at a time.
unsafe impl Send for Instance {}

impl std::fmt::Debug for Instance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instance").finish_non_exhaustive()
    }
}

/// Size of a context slot: a host pointer (the runtime runs on the target).
const PTR: usize = std::mem::size_of::<usize>();

struct BuiltinTable([*const (); Builtin::COUNT]);
// SAFETY: function addresses are immutable and valid on every thread.
unsafe impl Sync for BuiltinTable {}

macro_rules! rust_type {
    (i32) => {
        u32
    };
    (i64) => {
        u64
    };
    (ptr) => {
        usize
    };
    (trap) => {
        u32
    };
    (none) => {
        ()
    };
}

/// The runtime table, in the order of `foreach_builtin!`: each entry is the
/// function of the builtin's name, whose type must match the list.
macro_rules! builtin_table {
    ($($name:ident $variant:ident($($arg:ident: $ty:ident),*) -> $ret:ident, $doc:literal;)*) => {
        static BUILTINS: BuiltinTable = BuiltinTable([
            $({
                let f: unsafe extern "C" fn(*mut u8 $(, rust_type!($ty))*) -> rust_type!($ret) = $name;
                f as *const ()
            },)*
        ]);
    };
}
wasm_jit_frontend::foreach_builtin!(builtin_table);

impl Instance {
    /// Allocates an instance: creates its memories, tables and globals,
    /// evaluates global initialisers and element segments, and fills the
    /// context. Segments are not applied yet: see [`Instance::initialize`].
    /// The embedder's limiter is not asked here: the caller asks it about
    /// each defined memory's and table's initial size first.
    ///
    /// # Safety
    /// Every import must be valid for the instance's lifetime and match the
    /// module's import types; `limits` must outlive the instance.
    pub unsafe fn new(
        module: Arc<CompiledModule>,
        imports: Imports,
        limits: *mut VMLimits,
        caps: InstanceLimits,
    ) -> Result<Box<Instance>, InstanceError> {
        let info = &module.info;
        let offsets = module.offsets;
        if !info.exnrefs_stay_in_frames() {
            // SAFETY: `limits` is valid (the contract); nothing else uses
            // it during instantiation.
            unsafe { (*limits).exn_roots.unreachable = true };
        }
        let mut inst = Box::new(Instance {
            vmctx: vec![0usize; offsets.size() / PTR].into_boxed_slice(),
            memories: imports.memories,
            tables: imports.tables,
            globals: imports.globals,
            tags: imports.tags,
            funcs: imports.funcs,
            _owned_memories: Vec::new(),
            shared_memories: Vec::new(),
            _owned_tables: Vec::new(),
            _owned_globals: Vec::new(),
            _owned_tags: Vec::new(),
            exceptions: Vec::new(),
            free_exceptions: Vec::new(),
            exception_bytes: 0,
            collect_at: FIRST_COLLECTION,
            _owned_funcrefs: Box::new([]),
            elems: Vec::new(),
            dropped_data: vec![false; info.datas.len()],
            module: module.clone(),
            limits,
        });
        let vmctx = inst.vmctx.as_mut_ptr() as *mut u8;

        // Functions: one VMFuncRef per defined function.
        let funcrefs: Box<[VMFuncRef]> = (0..info.num_defined_funcs())
            .map(|i| {
                let defined = DefinedFuncIndex(i);
                let ty = info.func_type_index(info.func_of_defined(defined));
                VMFuncRef {
                    func_ptr: module.func_ptr(defined),
                    type_id: module.type_ids[ty.index()],
                    def_index: i,
                    vmctx,
                }
            })
            .collect();
        inst._owned_funcrefs = funcrefs;
        // Mutable pointers: `lazy_funcref` stores the code once compiled.
        let defined: Vec<*const VMFuncRef> = inst
            ._owned_funcrefs
            .iter_mut()
            .map(|f| f as *mut VMFuncRef as *const VMFuncRef)
            .collect();
        inst.funcs.extend(defined);

        // Tags: each defined one is a new identity.
        for ty in &info.tags[info.num_imported_tags as usize..] {
            let t = Box::new(VMTag {
                type_id: module.type_ids[ty.index()],
            });
            inst.tags.push(&*t);
            inst._owned_tags.push(t);
        }

        // Globals, in order: an initialiser may read earlier globals.
        for init in &info.global_inits {
            let value = inst.eval(init).map_err(InstanceError::Trap)?;
            let mut g = Box::new(VMGlobal { value });
            inst.globals.push(&mut *g);
            inst._owned_globals.push(g);
        }

        // Memories (the embedder's limiter has allowed their initial sizes).
        for (i, ty) in info.memories[info.num_imported_memories as usize..]
            .iter()
            .enumerate()
        {
            let mut m = LinearMemory::new(
                ty,
                module.memory_style,
                caps.memory_pages,
                &caps.reservation,
            )?;
            if i == 0
                && let Some((image, _)) = &module.memory_image
            {
                m.map_image(image)?;
            }
            if m.is_shared() {
                let m = Arc::new(m);
                inst.memories.push(Arc::as_ptr(&m).cast_mut());
                inst.shared_memories.push(m);
            } else {
                let mut m = Box::new(m);
                inst.memories.push(&mut *m);
                inst._owned_memories.push(m);
            }
        }

        // Tables.
        for (i, ty) in info.tables[info.num_imported_tables as usize..]
            .iter()
            .enumerate()
        {
            let init = match &info.table_inits[i] {
                Some(e) => inst.eval(e).map_err(InstanceError::Trap)?.get_ref(),
                None => 0,
            };
            let ty = module.canonical_table(*ty);
            let mut t = Box::new(Table::new(ty, init, caps.table_elements)?);
            inst.tables.push(&mut *t);
            inst._owned_tables.push(t);
        }

        // Element segments, evaluated once.
        let mut elems = Vec::with_capacity(info.elems.len());
        for seg in &info.elems {
            let items = seg
                .items
                .iter()
                .map(|e| inst.eval(e).map(|v| v.get_ref()))
                .collect::<Result<Vec<usize>, TrapReason>>()
                .map_err(InstanceError::Trap)?;
            elems.push(Some(items));
        }
        inst.elems = elems;

        // The context.
        inst.vmctx[vmoffsets::VMCTX_INSTANCE as usize / PTR] = &*inst as *const Instance as usize;
        inst.vmctx[vmoffsets::VMCTX_BUILTINS as usize / PTR] = BUILTINS.0.as_ptr() as usize;
        inst.vmctx[vmoffsets::VMCTX_LIMITS as usize / PTR] = limits as usize;
        inst.vmctx[vmoffsets::VMCTX_FUNC_SLOTS as usize / PTR] = module.slots_ptr() as usize;
        inst.vmctx[vmoffsets::VMCTX_TYPE_IDS as usize / PTR] = module.type_ids.as_ptr() as usize;
        for i in 0..inst.memories.len() {
            // SAFETY: imported memories are valid (caller's contract), defined
            // ones are owned by the instance.
            let def = unsafe { (*inst.memories[i]).definition() };
            inst.vmctx[offsets.memory(MemoryIndex(i as u32)) as usize / PTR] = def as usize;
            // SAFETY: `def` is valid, as above. Code reads this copy only
            // for guarded memories, whose base never changes.
            let base = unsafe { (*def).base };
            inst.vmctx[offsets.memory_base(MemoryIndex(i as u32)) as usize / PTR] = base as usize;
        }
        for i in 0..inst.tables.len() {
            // SAFETY: as for memories.
            let def = unsafe { (*inst.tables[i]).definition() };
            inst.vmctx[offsets.table(TableIndex(i as u32)) as usize / PTR] = def as usize;
        }
        for i in 0..inst.globals.len() {
            inst.vmctx[offsets.global(GlobalIndex(i as u32)) as usize / PTR] =
                inst.globals[i] as usize;
        }
        for i in 0..inst.funcs.len() {
            inst.vmctx[offsets.funcref(FuncIndex(i as u32)) as usize / PTR] =
                inst.funcs[i] as usize;
        }
        for i in 0..inst.tags.len() {
            inst.vmctx[offsets.tag(i as u32) as usize / PTR] = inst.tags[i] as usize;
        }
        Ok(inst)
    }

    /// Evaluates a constant expression (a GC allocation in it may trap).
    fn eval(&self, expr: &ConstExpr) -> Result<ValRaw, TrapReason> {
        let mut stack: Vec<ValRaw> = Vec::with_capacity(2);
        for op in &expr.0 {
            let v = match *op {
                ConstOp::RefI31 => {
                    let x = stack.pop().unwrap().get_i32() as u32;
                    ValRaw::reference(((x << 1) | 1) as usize)
                }
                ConstOp::ConvertRef => stack.pop().unwrap(),
                ConstOp::StructNew(ty)
                | ConstOp::StructNewDefault(ty)
                | ConstOp::StructNewDesc(ty)
                | ConstOp::StructNewDefaultDesc(ty) => {
                    let desc = match op {
                        ConstOp::StructNewDesc(_) | ConstOp::StructNewDefaultDesc(_) => {
                            match stack.pop().unwrap().get_ref() {
                                0 => {
                                    return Err(TrapReason::Wasm(
                                        TrapKind::NullDescriptorReference,
                                    ));
                                }
                                d => Some(d),
                            }
                        }
                        _ => None,
                    };
                    let obj = self.gc_new(ty, 0)?;
                    if let (
                        ConstOp::StructNew(_) | ConstOp::StructNewDesc(_),
                        Some(GcShape::Struct(fields)),
                    ) = (op, &self.module.info.gc_shapes[ty as usize])
                    {
                        let values = stack.split_off(stack.len() - fields.len());
                        let layout = StructLayout::new(fields);
                        for ((f, v), off) in fields.iter().zip(values).zip(layout.offsets) {
                            // SAFETY: the field lies within the new object.
                            unsafe {
                                write_storage(obj.add(off as usize), f.storage.size() as usize, v)
                            };
                        }
                    }
                    if let Some(desc) = desc {
                        // SAFETY: a struct's descriptor slot lies within
                        // its header.
                        unsafe { obj.add(gc::DESCRIPTOR as usize).cast::<usize>().write(desc) };
                    }
                    ValRaw::reference(obj as usize)
                }
                ConstOp::ArrayNew(ty) => {
                    let len = stack.pop().unwrap().get_i32() as u32;
                    let v = stack.pop().unwrap();
                    let obj = self.gc_new(ty, len)?;
                    let size = self.elem_size(ty);
                    for i in 0..len as usize {
                        // SAFETY: element `i` lies within the new array.
                        unsafe { write_storage(elem_ptr(obj, i, size), size, v) };
                    }
                    ValRaw::reference(obj as usize)
                }
                ConstOp::ArrayNewDefault(ty) => {
                    let len = stack.pop().unwrap().get_i32() as u32;
                    ValRaw::reference(self.gc_new(ty, len)? as usize)
                }
                ConstOp::ArrayNewFixed(ty, n) => {
                    let values = stack.split_off(stack.len() - n as usize);
                    let obj = self.gc_new(ty, n)?;
                    let size = self.elem_size(ty);
                    for (i, v) in values.into_iter().enumerate() {
                        // SAFETY: element `i` lies within the new array.
                        unsafe { write_storage(elem_ptr(obj, i, size), size, v) };
                    }
                    ValRaw::reference(obj as usize)
                }
                ConstOp::I32(v) => ValRaw::i32(v),
                ConstOp::I64(v) => ValRaw::i64(v),
                ConstOp::F32(b) => ValRaw::f32(b),
                ConstOp::F64(b) => ValRaw::f64(b),
                ConstOp::V128(v) => ValRaw::v128(v),
                ConstOp::RefNull(_) => ValRaw::reference(0),
                ConstOp::RefFunc(f) => ValRaw::reference(self.funcs[f.index()] as usize),
                // SAFETY: global pointers are valid for the instance's life.
                ConstOp::GlobalGet(g) => unsafe { (*self.globals[g.index()]).value },
                ConstOp::I32Add | ConstOp::I32Sub | ConstOp::I32Mul => {
                    let b = stack.pop().unwrap().get_i32();
                    let a = stack.pop().unwrap().get_i32();
                    ValRaw::i32(match op {
                        ConstOp::I32Add => a.wrapping_add(b),
                        ConstOp::I32Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
                ConstOp::I64Add | ConstOp::I64Sub | ConstOp::I64Mul => {
                    let b = stack.pop().unwrap().get_i64();
                    let a = stack.pop().unwrap().get_i64();
                    ValRaw::i64(match op {
                        ConstOp::I64Add => a.wrapping_add(b),
                        ConstOp::I64Sub => a.wrapping_sub(b),
                        _ => a.wrapping_mul(b),
                    })
                }
            };
            stack.push(v);
        }
        Ok(stack.pop().unwrap_or_default())
    }

    /// A new zeroed struct, or array of `len` elements, of module type `ty`.
    /// The GC heap's growth is the embedder's to allow (as a memory's);
    /// its refusal, or a full heap, is the `HeapFull` host error, an
    /// object larger than the heap's limit traps with `AllocationTooLarge`,
    /// and the embedder's error is passed on.
    fn gc_new(&self, ty: u32, len: u32) -> Result<*mut u8, TrapReason> {
        let module = &self.module;
        let (size, kind) = match &module.info.gc_shapes[ty as usize] {
            Some(GcShape::Struct(fields)) => {
                (StructLayout::size_of(fields) as u64, gc::KIND_STRUCT)
            }
            Some(GcShape::Array(f)) => (
                gc::HEADER_SIZE as u64 + len as u64 * f.storage.size() as u64,
                gc::KIND_ARRAY,
            ),
            None => unreachable!("the validator checked type {ty} is a struct or array type"),
        };
        // SAFETY: the store's limits outlive its instances.
        let limits = unsafe { &*self.limits };
        match limits.gc_alloc(size, module.type_ids[ty as usize], kind, len) {
            Ok(Some(p)) => Ok(p),
            Ok(None) => Err(TrapReason::Wasm(TrapKind::AllocationTooLarge)),
            Err(e) => Err(TrapReason::Host(e)),
        }
    }

    /// Bytes of an element of array type `ty`.
    fn elem_size(&self, ty: u32) -> usize {
        match &self.module.info.gc_shapes[ty as usize] {
            Some(GcShape::Array(f)) => f.storage.size() as usize,
            _ => unreachable!("the validator checked type {ty} is an array type"),
        }
    }

    /// Bytes `[offset, offset + len)` of data segment `data` (a dropped
    /// segment has none), or the trap for a range outside it.
    fn data_range(&self, data: u32, offset: u32, len: u64) -> Result<&[u8], TrapKind> {
        let bytes: &[u8] = if self.dropped_data[data as usize] {
            &[]
        } else {
            &self.module.info.datas[data as usize].data
        };
        let end = offset as u64 + len;
        if end > bytes.len() as u64 {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        Ok(&bytes[offset as usize..end as usize])
    }

    /// References `[offset, offset + len)` of element segment `elem` (a
    /// dropped segment has none), or the trap for a range outside it.
    fn elem_range(&self, elem: u32, offset: u32, len: u32) -> Result<&[usize], TrapKind> {
        let items = self.elems[elem as usize].as_deref().unwrap_or(&[]);
        let end = offset as u64 + len as u64;
        if end > items.len() as u64 {
            return Err(TrapKind::TableOutOfBounds);
        }
        Ok(&items[offset as usize..end as usize])
    }

    /// Applies active element and data segments in order, as instantiation
    /// requires. On a trap, the writes made before it stay (Wasm 2.0).
    pub fn initialize(&mut self) -> Result<(), TrapKind> {
        let module = self.module.clone();
        for (i, seg) in module.info.elems.iter().enumerate() {
            match &seg.mode {
                SegmentMode::Active { index, offset } => {
                    let at = self.eval(offset).map_err(offset_trap)?;
                    let dst = if module.info.tables[*index as usize].table64 {
                        at.get_i64() as u64
                    } else {
                        at.get_i32() as u32 as u64
                    };
                    let len = self.elems[i].as_ref().map_or(0, |e| e.len()) as u32;
                    self.table_init(*index, i as u32, dst, 0, len)?;
                    self.elems[i] = None;
                }
                SegmentMode::Declared => self.elems[i] = None,
                SegmentMode::Passive => {}
            }
        }
        let in_image = module.memory_image.as_ref().map(|(_, covered)| covered);
        for (i, seg) in module.info.datas.iter().enumerate() {
            if in_image.is_some_and(|c| c[i]) {
                // Already there: the memory was mapped from the image.
                self.dropped_data[i] = true;
                continue;
            }
            if let SegmentMode::Active { index, offset } = &seg.mode {
                let at = self.eval(offset).map_err(offset_trap)?;
                let dst = if module.info.memories[*index as usize].memory64 {
                    at.get_i64() as u64
                } else {
                    at.get_i32() as u32 as u64
                };
                self.memory_init(*index, i as u32, dst, 0, seg.data.len() as u32)?;
                self.dropped_data[i] = true;
            }
        }
        Ok(())
    }

    /// The compiled module.
    pub fn module(&self) -> &Arc<CompiledModule> {
        &self.module
    }

    /// The context pointer.
    pub fn vmctx(&self) -> *mut u8 {
        self.vmctx.as_ptr() as *mut u8
    }

    /// Function `index` (imported or defined).
    pub fn func(&self, index: FuncIndex) -> *const VMFuncRef {
        self.funcs[index.index()]
    }

    /// Memory `index`.
    pub fn memory(&self, index: MemoryIndex) -> *mut LinearMemory {
        self.memories[index.index()]
    }

    /// Table `index`.
    pub fn table(&self, index: TableIndex) -> *mut Table {
        self.tables[index.index()]
    }

    /// Global `index`.
    pub fn global(&self, index: GlobalIndex) -> *mut VMGlobal {
        self.globals[index.index()]
    }

    /// How many exception objects this instance has made (recycled ones
    /// count once).
    pub fn exceptions_made(&self) -> usize {
        self.exceptions.len()
    }

    /// Exception tag `index` (imported ones first).
    pub fn tag(&self, index: u32) -> *const VMTag {
        self.tags[index as usize]
    }

    /// The shared memory this instance defines at `ptr`, if it is one.
    pub fn defined_shared_memory(&self, ptr: *const LinearMemory) -> Option<Arc<LinearMemory>> {
        self.shared_memories
            .iter()
            .find(|m| std::ptr::eq(Arc::as_ptr(m), ptr))
            .cloned()
    }

    fn mem(&self, index: u32) -> &LinearMemory {
        // SAFETY: memory pointers are valid for the instance's life; a
        // memory is reached through `&mut` only when unshared, and then
        // not while a builtin runs.
        unsafe { &*self.memories[index as usize] }
    }

    fn tab(&mut self, index: u32) -> &mut Table {
        // SAFETY: as for `mem`.
        unsafe { &mut *self.tables[index as usize] }
    }

    fn memory_init(
        &mut self,
        mem: u32,
        data: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let from = self.data_range(data, src, len as u64)?;
        let memory = self.mem(mem);
        // A 64-bit memory's `dst` may be anywhere in the 64-bit range.
        let dst_end = dst
            .checked_add(len as u64)
            .ok_or(TrapKind::MemoryOutOfBounds)?;
        if dst_end > memory.byte_size() as u64 {
            return Err(TrapKind::MemoryOutOfBounds);
        }
        // SAFETY: [dst, dst_end) is inside the memory, a separate mapping
        // from the segment's bytes; through raw pointers, as other threads
        // may use a shared memory meanwhile (as Wasm's own stores race).
        unsafe {
            std::ptr::copy_nonoverlapping(
                from.as_ptr(),
                memory.base().add(dst as usize),
                from.len(),
            )
        };
        Ok(())
    }

    fn table_init(
        &mut self,
        table: u32,
        elem: u32,
        dst: u64,
        src: u32,
        len: u32,
    ) -> Result<(), TrapKind> {
        let table = self.tables[table as usize];
        let items = self.elem_range(elem, src, len)?;
        // SAFETY: the table is a separate allocation, valid for the
        // instance's life, with no other reference alive.
        let t = unsafe { &mut *table };
        // A 64-bit table's `dst` may be anywhere in the 64-bit range.
        let range = t.range(dst, len as u64).ok_or(TrapKind::TableOutOfBounds)?;
        t.elements_mut()[range].copy_from_slice(items);
        Ok(())
    }
}

/// The instance whose context is `vmctx`.
///
/// # Safety
/// `vmctx` must be the context of a live instance, and no other reference to
/// that instance may be in use (true while its Wasm code runs a builtin).
unsafe fn instance<'a>(vmctx: *mut u8) -> &'a mut Instance {
    // SAFETY: per the contract, slot 0 holds the instance pointer.
    unsafe { &mut **(vmctx.add(vmoffsets::VMCTX_INSTANCE as usize) as *mut *mut Instance) }
}

fn trap_flag(r: Result<(), TrapKind>) -> u32 {
    match r {
        Ok(()) => 0,
        Err(kind) => {
            set_pending(TrapReason::Wasm(kind));
            1
        }
    }
}

/// The store's limits, from an instance context.
///
/// # Safety
/// `vmctx` must be the context of a live instance.
unsafe fn limits<'a>(vmctx: *mut u8) -> &'a VMLimits {
    // SAFETY: per the contract, the limits slot holds the store's limits.
    unsafe { &**(vmctx.add(vmoffsets::VMCTX_LIMITS as usize) as *const *const VMLimits) }
}

/// Grows a memory by `delta` pages if the embedder allows it: the old size
/// in pages, or `None` when it cannot grow; `Err` is the embedder's error
/// (its hook decided to trap).
///
/// As in Wasmtime, the embedder is asked first (with the size the growth
/// wants, even past the maximum), and told when a growth it allowed fails.
///
/// # Safety
/// `memory` must be live. An unshared memory must have no other reference
/// alive (it grows through `&mut`, and may move); a shared one is only
/// reached through `&` (it grows in place, under its lock).
pub unsafe fn grow_memory(
    memory: *mut LinearMemory,
    limits: &VMLimits,
    delta: u64,
) -> Result<Option<u64>, HostError> {
    // SAFETY: per the contract; this reference ends before the growth.
    let (current, ty, maximum_pages, shared) = unsafe {
        let m = &*memory;
        (m.byte_size(), m.ty(), m.maximum_pages(), m.is_shared())
    };
    let page = ty.page_size();
    if delta == 0 {
        return Ok(Some(current as u64 / page));
    }
    let desired = delta
        .checked_mul(page)
        .and_then(|d| d.checked_add(current as u64))
        .map_or(usize::MAX, |d| usize::try_from(d).unwrap_or(usize::MAX));
    let declared = ty.maximum.map(|m| m.saturating_mul(page) as usize);
    if !limits.allows(ResourceKind::Memory, current, desired, declared)? {
        return Ok(None);
    }
    let maximum = maximum_pages.saturating_mul(page);
    if desired as u64 > maximum {
        limits.grow_failed(
            ResourceKind::Memory,
            format!("memory maximum size exceeded: {desired} bytes wanted, at most {maximum}"),
        )?;
        return Ok(None);
    }
    // SAFETY: per the contract.
    let grown = unsafe {
        if shared {
            (*memory).grow_shared(delta)
        } else {
            (*memory).grow(delta)
        }
    };
    match grown {
        Some(old) => Ok(Some(old)),
        None => {
            limits.grow_failed(
                ResourceKind::Memory,
                format!("cannot provide {desired} bytes of memory"),
            )?;
            Ok(None)
        }
    }
}

/// Grows a table by `delta` elements set to `init` if the embedder allows
/// it: the old size, or `None`; `Err` as for [`grow_memory`].
pub fn grow_table(
    table: &mut Table,
    limits: &VMLimits,
    delta: u64,
    init: usize,
) -> Result<Option<u64>, HostError> {
    let current = table.elements().len();
    if delta == 0 {
        return Ok(Some(current as u64));
    }
    let desired = (current as u64)
        .checked_add(delta)
        .map_or(usize::MAX, |d| usize::try_from(d).unwrap_or(usize::MAX));
    let declared = table.ty().maximum.map(|m| m as usize);
    if !limits.allows(ResourceKind::Table, current, desired, declared)? {
        return Ok(None);
    }
    if desired as u64 > table.maximum() {
        limits.grow_failed(
            ResourceKind::Table,
            format!(
                "table maximum size exceeded: {desired} elements wanted, at most {}",
                table.maximum()
            ),
        )?;
        return Ok(None);
    }
    match table.grow(delta, init) {
        Some(old) => Ok(Some(old)),
        None => {
            limits.grow_failed(
                ResourceKind::Table,
                format!("cannot provide a table of {desired} elements"),
            )?;
            Ok(None)
        }
    }
}

/// What a grow builtin returns: the old size, -1 (`u64::MAX`) when it
/// cannot grow, or [`GROW_TRAPPED`] after recording the embedder's error.
fn grow_result(r: Result<Option<u64>, HostError>) -> u64 {
    match r {
        Ok(Some(old)) => old,
        Ok(None) => u64::MAX,
        Err(e) => {
            set_pending(TrapReason::Host(e));
            GROW_TRAPPED
        }
    }
}

unsafe extern "C" fn lazy_compile(vmctx: *mut u8, func: u32) -> usize {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    code_or_trap(crate::lazy::code(&inst.module, DefinedFuncIndex(func)))
}

unsafe extern "C" fn osr_code(vmctx: *mut u8, func: u32, loop_index: u32) -> usize {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    crate::lazy::osr_code(&inst.module, DefinedFuncIndex(func), loop_index) as usize
}

/// Most bytes of exception objects one instance may hold. An exception
/// that became an `exnref` is reclaimed once nothing reaches it
/// (`Instance::collect_exceptions`), but only where the store's `exnref`s
/// can all be found on the stack; elsewhere, or while the guest keeps them,
/// they stay, so past this, throwing fails rather than grow the host
/// without bound.
pub const MAX_EXCEPTION_BYTES: usize = 64 << 20;

/// How many bytes of exceptions an instance makes before it first looks
/// for ones to reclaim (`Instance::collect_exceptions`).
const FIRST_COLLECTION: usize = 1 << 20;

impl Instance {
    /// A new exception of tag `tag` (an index of this instance's tags)
    /// whose payload is at `payload`; `None` (with the error recorded for
    /// the trap path) past [`MAX_EXCEPTION_BYTES`].
    ///
    /// # Safety
    /// `payload` must hold as many 16-byte slots as the tag has parameters.
    unsafe fn new_exception(
        &mut self,
        tag: u32,
        payload: *const ValRaw,
    ) -> Option<*const VMException> {
        let info = &self.module.info;
        let n = info.types[info.tags[tag as usize].index()].params().len();
        let values: &[ValRaw] = if n == 0 {
            &[]
        } else {
            // SAFETY: per the contract.
            unsafe { std::slice::from_raw_parts(payload, n) }
        };
        let tag = self.tags[tag as usize];
        let bytes = std::mem::size_of::<VMException>() + std::mem::size_of_val(values);
        // What this adds: a reused object grows by its new payload's excess.
        let adds = match self.free_exceptions.last() {
            // SAFETY: the free list holds live exceptions of this instance.
            Some(&e) => std::mem::size_of_val(values)
                .saturating_sub(unsafe { std::mem::size_of_val((*e).values()) }),
            None => bytes,
        };
        // Once the free list is used up and twice what was in use at the
        // last look is made; and before the limit would stop the guest.
        if (self.free_exceptions.is_empty() && self.exception_bytes + bytes > self.collect_at)
            || self.exception_bytes + adds > MAX_EXCEPTION_BYTES
        {
            // SAFETY: called by compiled code of this instance's store
            // (a builtin), on the thread running it.
            unsafe { self.collect_exceptions() };
            // Next time at twice as many bytes as are in use now.
            // SAFETY: the free list holds live exceptions of this instance.
            let free: usize = self
                .free_exceptions
                .iter()
                .map(|&e| unsafe { std::mem::size_of_val((*e).values()) })
                .sum::<usize>()
                + self.free_exceptions.len() * std::mem::size_of::<VMException>();
            let in_use = self.exception_bytes - free;
            self.collect_at = (2 * in_use).clamp(FIRST_COLLECTION, MAX_EXCEPTION_BYTES);
        }
        let limit_error = || {
            crate::traps::set_pending(TrapReason::Host(Box::new(format!(
                "resource limit exceeded: the exceptions this instance made hold more than {} MiB \
                 (exceptions the guest keeps as exnref, or all once its store can keep exnrefs \
                 outside function frames, live as long as their instance)",
                MAX_EXCEPTION_BYTES >> 20
            ))));
        };
        if let Some(free) = self.free_exceptions.pop() {
            // SAFETY: a recycled exception of ours: live (boxed in
            // `exceptions`), and no reference to it exists.
            let old = unsafe { std::mem::size_of_val((*free).values()) };
            // A larger payload grows it: within the limit too.
            let total = self.exception_bytes - old + std::mem::size_of_val(values);
            if total > MAX_EXCEPTION_BYTES {
                self.free_exceptions.push(free);
                limit_error();
                return None;
            }
            self.exception_bytes = total;
            // SAFETY: as above.
            unsafe { (*free).refill(tag, values) };
            return Some(free);
        }
        if self.exception_bytes + bytes > MAX_EXCEPTION_BYTES {
            limit_error();
            return None;
        }
        self.exception_bytes += bytes;
        let mut exn = VMException::new(tag, values);
        exn.escaped = 0;
        exn.owner = self;
        let ptr: *const VMException = &*exn;
        self.exceptions.push(exn);
        Some(ptr)
    }
}

impl Instance {
    /// Puts back on the free list this instance's exceptions that became
    /// `exnref`s which nothing reaches any more (the host never saw them,
    /// and no word on the stack of the store's running Wasm points into
    /// them); how many.
    ///
    /// Sound only where every `exnref` of the store is in a Wasm frame on
    /// this thread's stack, below the outermost entry: no module of the
    /// store can put one in a global, table, GC object or exception payload,
    /// and no other thread runs the store's Wasm (`ExnRoots::unreachable`).
    /// Frames keep references in stack slots, or in callee-saved registers
    /// across the builtin call that got here, which the scan reads too; the
    /// scan is conservative (any word that points into an exception or its
    /// payload keeps it).
    ///
    /// # Safety
    /// Compiled code of this instance's store must be running on this
    /// thread, calling the runtime (a builtin).
    unsafe fn collect_exceptions(&mut self) -> usize {
        // SAFETY: `limits` outlives the instance (see `Instance::new`).
        let roots = unsafe { &(*self.limits).exn_roots };
        if roots.unreachable || roots.depth == 0 || roots.thread != crate::traps::thread_token() {
            return 0;
        }
        // Only on the stack below the outermost entry, where the scan reads
        // (a host function may have switched to a stack of its own).
        let here = &roots as *const _ as usize;
        // SAFETY: as above.
        let stack_limit = unsafe { (*self.limits).stack_limit };
        if here >= roots.stack_top || here < stack_limit {
            return 0;
        }
        // Candidates: the exnrefs the host never saw (an object on the free
        // list is never escaped).
        let candidate: Vec<bool> = self
            .exceptions
            .iter()
            .map(|e| e.escaped != 0 && !e.pinned)
            .collect();
        // (start, end, index) of the memory of each candidate.
        let mut ranges: Vec<(usize, usize, usize)> = Vec::new();
        for (i, e) in self.exceptions.iter().enumerate() {
            if candidate[i] {
                for r in e.ranges() {
                    if !r.is_empty() {
                        ranges.push((r.start, r.end, i));
                    }
                }
            }
        }
        if ranges.is_empty() {
            return 0;
        }
        ranges.sort_unstable();
        let mut live = vec![false; self.exceptions.len()];
        // SAFETY: the store's Wasm runs on this thread below `stack_top`
        // (the contract and the checks above).
        unsafe {
            crate::exceptions::scan_stack(roots.stack_top, |word| {
                let k = ranges.partition_point(|r| r.0 <= word);
                if k > 0 && word < ranges[k - 1].1 {
                    live[ranges[k - 1].2] = true;
                }
            })
        };
        let mut freed = 0;
        for (i, e) in self.exceptions.iter_mut().enumerate() {
            if candidate[i] && !live[i] {
                // Its payload's memory goes back too: what it holds next
                // counts anew.
                self.exception_bytes -= e.clear();
                self.free_exceptions.push(&mut **e);
                freed += 1;
            }
        }
        freed
    }
}

unsafe extern "C" fn throw(vmctx: *mut u8, tag: u32, payload: usize, fp: usize) {
    // SAFETY: called by compiled code with its own context, the payload it
    // spilled for this tag, and its own frame pointer.
    unsafe {
        match instance(vmctx).new_exception(tag, payload as *const ValRaw) {
            Some(exn) => crate::exceptions::unwind(exn, fp),
            None => crate::traps::leave_wasm(&[]),
        }
    }
}

unsafe extern "C" fn throw_ref(_vmctx: *mut u8, exn: usize, fp: usize) {
    // SAFETY: called by compiled code with a non-null exception reference
    // (checked before the call) and its own frame pointer.
    unsafe { crate::exceptions::unwind(exn as *const VMException, fp) }
}

unsafe extern "C" fn exn_new(vmctx: *mut u8, tag: u32, payload: usize) -> usize {
    // SAFETY: as for `throw`; the exnref made here exists from now on.
    unsafe {
        match instance(vmctx).new_exception(tag, payload as *const ValRaw) {
            Some(exn) => {
                (*exn.cast_mut()).escaped = 1;
                exn as usize
            }
            None => crate::traps::leave_wasm(&[]),
        }
    }
}

unsafe extern "C" fn exn_release(_vmctx: *mut u8, exn: usize) {
    let exn = exn as *mut VMException;
    // SAFETY: compiled code passes an exception it holds (one a handler
    // just received, or one a legacy handler held until now): live, and
    // (when not escaped) referenced by no one but its `holds + 1` holders.
    unsafe {
        if (*exn).escaped == 0 && !(*exn).owner.is_null() {
            if (*exn).holds > 0 {
                (*exn).holds -= 1;
            } else {
                (*(*exn).owner).free_exceptions.push(exn);
            }
        }
    }
}

/// `memory.atomic.notify` at a checked, aligned effective address.
unsafe extern "C" fn memory_atomic_notify(vmctx: *mut u8, mem: u32, addr: u64, count: u32) -> u32 {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    inst.mem(mem).atomic_notify(addr, count)
}

/// `memory.atomic.wait32/64` at a checked, aligned effective address.
unsafe extern "C" fn memory_atomic_wait(
    vmctx: *mut u8,
    mem: u32,
    addr: u64,
    expected: u64,
    timeout: u64,
    size: u32,
) -> u64 {
    use crate::memory::{WaitError, WaitOutcome};
    // Nanoseconds; negative: no timeout.
    let timeout = timeout as i64;
    // A timeout past what the clock can represent is as good as none.
    let deadline = u64::try_from(timeout)
        .ok()
        .and_then(|ns| std::time::Instant::now().checked_add(std::time::Duration::from_nanos(ns)));
    let expected = if size == 4 {
        expected & 0xffff_ffff
    } else {
        expected
    };
    // SAFETY: called by compiled code with its own context. The memory
    // outlives the call; the reference to the instance ends here, before
    // the epoch hook (which may reach the store) can run.
    let inst = unsafe { instance(vmctx) };
    let memory: *const LinearMemory = inst.memories[mem as usize];
    // An imported shared memory is held by this store, which cannot
    // notify while this thread waits.
    let own = usize::from(mem < inst.module.info.num_imported_memories);
    // SAFETY: a shared memory is only ever reached through `&` (an
    // unshared one makes `atomic_wait` return at once, before any hook).
    let memory = unsafe { &*memory };
    let interrupted = || {
        // SAFETY: the context's limits slot points at the store's limits;
        // only two fields are copied out.
        let passed = unsafe {
            let limits = *(vmctx.add(vmoffsets::VMCTX_LIMITS as usize) as *const *const VMLimits);
            (*(*limits).epoch_ptr).load(std::sync::atomic::Ordering::Relaxed)
                >= (*limits).epoch_deadline
        };
        // SAFETY: as compiled code would call it.
        if passed && unsafe { epoch_reached(vmctx) } != 0 {
            return Err(());
        }
        Ok(())
    };
    match memory.atomic_wait(addr, expected, size, deadline, own, interrupted) {
        Ok(WaitOutcome::Woken) => 0,
        Ok(WaitOutcome::Mismatch) => 1,
        Ok(WaitOutcome::TimedOut) => 2,
        Err(WaitError::Unshared) => {
            set_pending(TrapReason::Wasm(TrapKind::AtomicWaitNonSharedMemory));
            u64::MAX
        }
        Err(WaitError::OutOfBounds) => {
            set_pending(TrapReason::Wasm(TrapKind::MemoryOutOfBounds));
            u64::MAX
        }
        // (Compiled code checked alignment first.)
        Err(WaitError::Misaligned) => {
            set_pending(TrapReason::Wasm(TrapKind::HeapMisaligned));
            u64::MAX
        }
        Err(WaitError::Forever) => {
            set_pending(TrapReason::Host(Box::new(
                "memory.atomic.wait with no timeout would wait forever: no other thread can notify it (the shared memory is used by one store only)"
                    .to_string(),
            )));
            u64::MAX
        }
        // `epoch_reached` recorded why.
        Err(WaitError::Interrupted(())) => u64::MAX,
    }
}

unsafe extern "C" fn epoch_reached(vmctx: *mut u8) -> u32 {
    // SAFETY: called by compiled code with its own context, whose limits
    // slot points at the store's limits. Only the two fields are copied
    // out: the hook may change the limits (through the store).
    let (hook, store) = unsafe {
        let limits = *(vmctx.add(vmoffsets::VMCTX_LIMITS as usize) as *const *const VMLimits);
        ((*limits).epoch_hook, (*limits).store)
    };
    let answer = match hook {
        // SAFETY: the hook was installed by the store that owns these
        // limits, and `store` is that store, handed down for the call in
        // progress; compiled code holds no reference into it.
        Some(hook) if !store.is_null() => unsafe { hook(store) },
        _ => Ok(false),
    };
    match answer {
        Ok(true) => 0,
        Ok(false) => trap_flag(Err(TrapKind::Interrupted)),
        Err(e) => {
            set_pending(TrapReason::Host(e));
            1
        }
    }
}

unsafe extern "C" fn lazy_funcref(_vmctx: *mut u8, funcref: usize) -> usize {
    // SAFETY: compiled code passes a live `VMFuncRef` of its store.
    code_or_trap(unsafe { resolve_funcref(funcref as *mut VMFuncRef) })
}

/// What the lazy builtins return: the code, or 0 after recording why there
/// is none (compiled code then traps).
fn code_or_trap(code: Result<*const u8, String>) -> usize {
    match code {
        Ok(code) => code as usize,
        Err(e) => {
            set_pending(TrapReason::Host(Box::new(e)));
            0
        }
    }
}

/// The code of the function `funcref` names, compiling it first if it is a
/// lazily compiled function not compiled yet (and then storing the code in
/// the `VMFuncRef`, so the next call through it goes straight there).
///
/// # Safety
/// `funcref` must be a live `VMFuncRef` of the store the calling thread
/// runs, and no reference to it may be live.
pub unsafe fn resolve_funcref(funcref: *mut VMFuncRef) -> Result<*const u8, String> {
    // SAFETY: per the contract, `funcref` is live.
    let (code, vmctx, def_index) =
        unsafe { ((*funcref).func_ptr, (*funcref).vmctx, (*funcref).def_index) };
    if !code.is_null() {
        return Ok(code);
    }
    // Only the `VMFuncRef` of a defined function has a null code pointer,
    // and its context is its instance's; the instance's module is only
    // read (the `Arc` cloned).
    // SAFETY: slot 0 of that context holds the live instance.
    let module = unsafe {
        let inst = *(vmctx.add(vmoffsets::VMCTX_INSTANCE as usize) as *const *const Instance);
        (*inst).module.clone()
    };
    let index = DefinedFuncIndex(def_index);
    let code = crate::lazy::code(&module, index)?;
    // Quick first-tier code is replaced later: calls through this
    // `VMFuncRef` keep coming here until they find the code that stays.
    if module.lazy().is_some_and(|lazy| lazy.is_quick(index, code)) {
        return Ok(code);
    }
    // SAFETY: per the contract, no reference to the `VMFuncRef` is live, and
    // its store runs on this thread only.
    unsafe { (*funcref).func_ptr = code };
    Ok(code)
}

unsafe extern "C" fn memory_grow(vmctx: *mut u8, mem: u32, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own context.
    let (inst, limits) = unsafe { (instance(vmctx), limits(vmctx)) };
    let memory = inst.memories[mem as usize];
    // SAFETY: memory pointers are valid for the instance's life; an
    // unshared memory has no other reference while a builtin runs, a
    // shared one is only reached through `&`.
    grow_result(unsafe { grow_memory(memory, limits, delta) })
}

unsafe extern "C" fn memory_fill(vmctx: *mut u8, mem: u32, dst: u64, val: u32, len: u64) -> u32 {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    let memory = inst.mem(mem);
    trap_flag(match dst.checked_add(len) {
        Some(end) if end <= memory.byte_size() as u64 => {
            // SAFETY: [dst, end) is inside the memory; through a raw
            // pointer, as other threads may use a shared memory meanwhile.
            unsafe {
                std::ptr::write_bytes(memory.base().add(dst as usize), val as u8, len as usize)
            };
            Ok(())
        }
        _ => Err(TrapKind::MemoryOutOfBounds),
    })
}

unsafe extern "C" fn memory_copy(
    vmctx: *mut u8,
    dst_mem: u32,
    src_mem: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    let (dst_len, dst_base) = {
        let m = inst.mem(dst_mem);
        (m.byte_size() as u64, m.base())
    };
    let (src_len, src_base) = {
        let m = inst.mem(src_mem);
        (m.byte_size() as u64, m.base())
    };
    // 64-bit memories take addresses and lengths from the whole 64-bit range.
    let in_bounds = |at: u64, size: u64| at.checked_add(len).is_some_and(|end| end <= size);
    if !in_bounds(src, src_len) || !in_bounds(dst, dst_len) {
        return trap_flag(Err(TrapKind::MemoryOutOfBounds));
    }
    // SAFETY: both ranges were checked against their memories; `copy`
    // handles overlap when both are in the same memory.
    unsafe {
        std::ptr::copy(
            src_base.add(src as usize),
            dst_base.add(dst as usize),
            len as usize,
        )
    };
    0
}

unsafe extern "C" fn memory_init(
    vmctx: *mut u8,
    mem: u32,
    data: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    trap_flag(inst.memory_init(mem, data, dst, src, len))
}

unsafe extern "C" fn data_drop(vmctx: *mut u8, data: u32) {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    inst.dropped_data[data as usize] = true;
}

unsafe extern "C" fn table_grow(vmctx: *mut u8, table: u32, init: usize, delta: u64) -> u64 {
    // SAFETY: called by compiled code with its own context.
    let (inst, limits) = unsafe { (instance(vmctx), limits(vmctx)) };
    grow_result(grow_table(inst.tab(table), limits, delta, init))
}

unsafe extern "C" fn table_fill(vmctx: *mut u8, table: u32, dst: u64, val: usize, len: u64) -> u32 {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    trap_flag(if inst.tab(table).fill(dst, val, len) {
        Ok(())
    } else {
        Err(TrapKind::TableOutOfBounds)
    })
}

unsafe extern "C" fn table_copy(
    vmctx: *mut u8,
    dst_table: u32,
    src_table: u32,
    dst: u64,
    src: u64,
    len: u64,
) -> u32 {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    let (Some(from), Some(to)) = (
        inst.tab(src_table).range(src, len),
        inst.tab(dst_table).range(dst, len),
    ) else {
        return trap_flag(Err(TrapKind::TableOutOfBounds));
    };
    let items: Vec<usize> = inst.tab(src_table).elements()[from].to_vec();
    inst.tab(dst_table).elements_mut()[to].copy_from_slice(&items);
    0
}

unsafe extern "C" fn table_init(
    vmctx: *mut u8,
    table: u32,
    elem: u32,
    dst: u64,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    trap_flag(inst.table_init(table, elem, dst, src, len))
}

unsafe extern "C" fn elem_drop(vmctx: *mut u8, elem: u32) {
    // SAFETY: called by compiled code with its own context.
    let inst = unsafe { instance(vmctx) };
    inst.elems[elem as usize] = None;
}

/// Writes the low `size` bytes of `v` (a field or element's storage) at `p`.
///
/// # Safety
/// `p` must be valid for writing `size` bytes.
unsafe fn write_storage(p: *mut u8, size: usize, v: ValRaw) {
    let bytes = v.get_v128().to_le_bytes();
    // SAFETY: per the contract; `size` is at most 16.
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, size) };
}

/// The address of element `i` of array `arr` whose elements take `size`
/// bytes.
fn elem_ptr(arr: *mut u8, i: usize, size: usize) -> *mut u8 {
    arr.wrapping_add(gc::HEADER_SIZE as usize + i * size)
}

/// The length of non-null array `arr`.
///
/// # Safety
/// `arr` must be a live array.
unsafe fn array_len(arr: usize) -> u32 {
    // SAFETY: per the contract, the header is readable.
    unsafe { *((arr + gc::LENGTH as usize) as *const u32) }
}

/// Checks elements `[start, start + len)` are within array `arr`.
///
/// # Safety
/// `arr` must be a live array.
unsafe fn array_range(arr: usize, start: u32, len: u32) -> Result<(), TrapKind> {
    // SAFETY: per the contract.
    let n = unsafe { array_len(arr) };
    if start as u64 + len as u64 > n as u64 {
        return Err(TrapKind::ArrayOutOfBounds);
    }
    Ok(())
}

/// Records `r`'s trap and returns 0, or returns the object's address.
fn object_or_trap(r: Result<*mut u8, TrapReason>) -> usize {
    match r {
        Ok(p) => p as usize,
        Err(reason) => {
            set_pending(reason);
            0
        }
    }
}

/// A segment offset is a constant expression without allocation (the
/// validator allows only numbers and globals there), so it cannot trap.
fn offset_trap(r: TrapReason) -> TrapKind {
    match r {
        TrapReason::Wasm(kind) => kind,
        _ => unreachable!("a segment offset does not allocate"),
    }
}

unsafe extern "C" fn gc_alloc(vmctx: *mut u8, ty: u32, len: u32) -> usize {
    // SAFETY: called by compiled code of a live instance.
    let inst = unsafe { instance(vmctx) };
    object_or_trap(inst.gc_new(ty, len))
}

unsafe extern "C" fn gc_subtype(vmctx: *mut u8, actual: u32, expected: u32) -> u32 {
    // SAFETY: called by compiled code of a live instance.
    let limits = unsafe { limits(vmctx) };
    limits.gc.types.is_subtype(actual, expected) as u32
}

unsafe extern "C" fn array_fill(
    vmctx: *mut u8,
    ty: u32,
    arr: usize,
    dst: u32,
    lo: u64,
    hi: u64,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code of a live instance, with a live array
    // of type `ty` (the validator checked the type, the code null).
    let inst = unsafe { instance(vmctx) };
    trap_flag((|| {
        // SAFETY: as above.
        unsafe { array_range(arr, dst, len)? };
        let size = inst.elem_size(ty);
        let v = ValRaw::v128(lo as u128 | (hi as u128) << 64);
        let bytes = v.get_v128().to_le_bytes();
        if bytes[..size].iter().all(|&b| b == bytes[0]) {
            // Every byte the same (zero, -1, any `i8`): one `memset`.
            // SAFETY: the elements are within the array (checked above).
            unsafe {
                std::ptr::write_bytes(
                    elem_ptr(arr as *mut u8, dst as usize, size),
                    bytes[0],
                    len as usize * size,
                )
            };
            return Ok(());
        }
        for i in dst as usize..dst as usize + len as usize {
            // SAFETY: element `i` is within the array (checked above).
            unsafe { write_storage(elem_ptr(arr as *mut u8, i, size), size, v) };
        }
        Ok(())
    })())
}

unsafe extern "C" fn array_copy(
    vmctx: *mut u8,
    ty: u32,
    dst: usize,
    dst_index: u32,
    src: usize,
    src_index: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code of a live instance, with live arrays
    // whose elements have the layout of type `ty`'s (the validator checked).
    let inst = unsafe { instance(vmctx) };
    trap_flag((|| {
        // SAFETY: as above.
        unsafe {
            array_range(dst, dst_index, len)?;
            array_range(src, src_index, len)?;
        }
        let size = inst.elem_size(ty);
        // SAFETY: both ranges are within their arrays (checked above);
        // `copy` allows them to overlap.
        unsafe {
            std::ptr::copy(
                elem_ptr(src as *mut u8, src_index as usize, size),
                elem_ptr(dst as *mut u8, dst_index as usize, size),
                len as usize * size,
            )
        };
        Ok(())
    })())
}

unsafe extern "C" fn array_new_data(
    vmctx: *mut u8,
    ty: u32,
    data: u32,
    offset: u32,
    len: u32,
) -> usize {
    // SAFETY: called by compiled code of a live instance.
    let inst = unsafe { instance(vmctx) };
    object_or_trap((|| {
        let size = inst.elem_size(ty);
        let src = inst
            .data_range(data, offset, len as u64 * size as u64)
            .map_err(TrapReason::Wasm)?;
        let arr = inst.gc_new(ty, len)?;
        // SAFETY: the new array has room for `len` elements of `size` bytes.
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), elem_ptr(arr, 0, size), src.len()) };
        Ok(arr)
    })())
}

unsafe extern "C" fn array_new_elem(
    vmctx: *mut u8,
    ty: u32,
    elem: u32,
    offset: u32,
    len: u32,
) -> usize {
    // SAFETY: called by compiled code of a live instance.
    let inst = unsafe { instance(vmctx) };
    object_or_trap((|| {
        let items = inst
            .elem_range(elem, offset, len)
            .map_err(TrapReason::Wasm)?;
        let arr = inst.gc_new(ty, len)?;
        for (i, &r) in items.iter().enumerate() {
            // SAFETY: the new array has room for `len` references.
            unsafe { write_storage(elem_ptr(arr, i, 8), 8, ValRaw::reference(r)) };
        }
        Ok(arr)
    })())
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn array_init_data(
    vmctx: *mut u8,
    ty: u32,
    data: u32,
    arr: usize,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code of a live instance, with a live array
    // of type `ty`.
    let inst = unsafe { instance(vmctx) };
    trap_flag((|| {
        // SAFETY: as above.
        unsafe { array_range(arr, dst, len)? };
        let size = inst.elem_size(ty);
        let from = inst.data_range(data, src, len as u64 * size as u64)?;
        // SAFETY: the destination range is within the array (checked).
        unsafe {
            std::ptr::copy_nonoverlapping(
                from.as_ptr(),
                elem_ptr(arr as *mut u8, dst as usize, size),
                from.len(),
            )
        };
        Ok(())
    })())
}

#[allow(clippy::too_many_arguments)]
unsafe extern "C" fn array_init_elem(
    vmctx: *mut u8,
    _ty: u32,
    elem: u32,
    arr: usize,
    dst: u32,
    src: u32,
    len: u32,
) -> u32 {
    // SAFETY: called by compiled code of a live instance, with a live array
    // of references.
    let inst = unsafe { instance(vmctx) };
    trap_flag((|| {
        // SAFETY: as above.
        unsafe { array_range(arr, dst, len)? };
        for (i, &r) in inst.elem_range(elem, src, len)?.iter().enumerate() {
            let p = elem_ptr(arr as *mut u8, dst as usize + i, 8);
            // SAFETY: within the array (checked above).
            unsafe { write_storage(p, 8, ValRaw::reference(r)) };
        }
        Ok(())
    })())
}
