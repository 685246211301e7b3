//! Wasm types as the rest of the engine sees them: small, owned, hashable.

use std::fmt;

use crate::error::{FrontendError, unsupported};

/// A value type the engine can hold in a local, global, table or on the stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum WasmType {
    /// 32-bit integer.
    I32,
    /// 64-bit integer.
    I64,
    /// 32-bit IEEE float.
    F32,
    /// 64-bit IEEE float.
    F64,
    /// 128-bit vector (SIMD).
    V128,
    /// Nullable reference to a function: `funcref`, `(ref null func)`.
    FuncRef,
    /// Nullable reference to a host value: `externref`, `(ref null extern)`.
    ExternRef,
    /// Any other reference type (typed function references): never
    /// `(ref null func)` or `(ref null extern)`, which are spelled
    /// [`WasmType::FuncRef`] and [`WasmType::ExternRef`] so that equal types
    /// compare equal.
    Ref(RefType),
}

/// A reference type: nullability, heap type and exactness. As a
/// [`WasmType`], `(ref null func)` and `(ref null extern)` are spelled
/// [`WasmType::FuncRef`] and [`WasmType::ExternRef`] (`From` does that).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefType {
    /// Whether null is a value of the type.
    pub nullable: bool,
    /// What it refers to.
    pub heap: HeapType,
    /// Only values of exactly this concrete type, none of its subtypes
    /// (custom descriptors' `(ref (exact $t))`).
    pub exact: bool,
}

impl RefType {
    /// `funcref`, `(ref null func)`.
    pub const FUNCREF: RefType = RefType::new(true, HeapType::Func);
    /// `externref`, `(ref null extern)`.
    pub const EXTERNREF: RefType = RefType::new(true, HeapType::Extern);

    /// A reference type (not exact).
    pub const fn new(nullable: bool, heap: HeapType) -> RefType {
        RefType {
            nullable,
            heap,
            exact: false,
        }
    }

    /// Whether null is a value of the type.
    pub fn is_nullable(&self) -> bool {
        self.nullable
    }

    /// What it refers to.
    pub fn heap_type(&self) -> &HeapType {
        &self.heap
    }
}

/// A reference type as a value type, in its one spelling (`funcref` for
/// [`RefType::FUNCREF`]).
impl From<RefType> for WasmType {
    fn from(r: RefType) -> WasmType {
        WasmType::Ref(r).one_spelling()
    }
}

/// What a reference refers to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum HeapType {
    /// Any function.
    Func,
    /// Any host value.
    Extern,
    /// No function (only null has this type).
    NoFunc,
    /// No host value (only null).
    NoExtern,
    /// Any exception (`exnref`).
    Exn,
    /// No exception (only null).
    NoExn,
    /// Any GC value (`anyref`). GC instructions are refused, so values of
    /// this hierarchy are always null for now.
    Any,
    /// `eqref`.
    Eq,
    /// `i31ref`.
    I31,
    /// `structref`.
    Struct,
    /// `arrayref`.
    Array,
    /// No GC value (`nullref`).
    None,
    /// A function of the module's type with this index (types as a module
    /// declares them).
    Concrete(u32),
    /// A function of the engine's canonical type with this id (types as
    /// the embedding API shows them, comparable across modules).
    Canonical(u32),
    /// A function of the type at this position of the recursion group
    /// being canonicalised (only inside the engine's type registry).
    RecGroup(u32),
}

impl HeapType {
    /// Whether values of this heap type are functions (or null ones).
    pub fn is_func(self) -> bool {
        !self.is_extern() && !self.is_exn() && !self.is_any()
    }

    /// Whether values of this heap type are host values (or null ones).
    pub fn is_extern(self) -> bool {
        matches!(self, HeapType::Extern | HeapType::NoExtern)
    }

    /// Whether values of this heap type are GC values (or null ones).
    pub fn is_any(self) -> bool {
        matches!(
            self,
            HeapType::Any
                | HeapType::Eq
                | HeapType::I31
                | HeapType::Struct
                | HeapType::Array
                | HeapType::None
        )
    }

    /// Whether values of this heap type are exceptions (or null ones).
    pub fn is_exn(self) -> bool {
        matches!(self, HeapType::Exn | HeapType::NoExn)
    }
}

impl WasmType {
    /// `funcref` (Wasmtime's name for [`WasmType::FuncRef`]).
    pub const FUNCREF: WasmType = WasmType::FuncRef;
    /// `externref` (Wasmtime's name for [`WasmType::ExternRef`]).
    pub const EXTERNREF: WasmType = WasmType::ExternRef;

    /// Whether this is `funcref`, in either spelling.
    pub fn is_funcref(&self) -> bool {
        self.one_spelling() == WasmType::FuncRef
    }

    /// Whether this is `externref`, in either spelling.
    pub fn is_externref(&self) -> bool {
        self.one_spelling() == WasmType::ExternRef
    }

    /// Converts a wasmparser value type, refusing the ones we do not run yet.
    pub(crate) fn from_wasmparser(ty: wasmparser::ValType) -> Result<Self, FrontendError> {
        Ok(match ty {
            wasmparser::ValType::I32 => WasmType::I32,
            wasmparser::ValType::I64 => WasmType::I64,
            wasmparser::ValType::F32 => WasmType::F32,
            wasmparser::ValType::F64 => WasmType::F64,
            wasmparser::ValType::V128 => WasmType::V128,
            wasmparser::ValType::Ref(r) => Self::from_ref_type(r)?,
        })
    }

    /// Converts a wasmparser reference type: function and extern
    /// references of every kind; GC and exception references are refused.
    pub(crate) fn from_ref_type(r: wasmparser::RefType) -> Result<Self, FrontendError> {
        use wasmparser::AbstractHeapType as A;
        let heap = match r.heap_type() {
            wasmparser::HeapType::Abstract { shared: false, ty } => match ty {
                A::Func => Some(HeapType::Func),
                A::Extern => Some(HeapType::Extern),
                A::NoFunc => Some(HeapType::NoFunc),
                A::NoExtern => Some(HeapType::NoExtern),
                A::Exn => Some(HeapType::Exn),
                A::NoExn => Some(HeapType::NoExn),
                A::Any => Some(HeapType::Any),
                A::Eq => Some(HeapType::Eq),
                A::I31 => Some(HeapType::I31),
                A::Struct => Some(HeapType::Struct),
                A::Array => Some(HeapType::Array),
                A::None => Some(HeapType::None),
                _ => None,
            },
            wasmparser::HeapType::Concrete(i) => i.as_module_index().map(HeapType::Concrete),
            wasmparser::HeapType::Exact(i) => {
                if let Some(i) = i.as_module_index() {
                    return Ok(WasmType::Ref(RefType {
                        nullable: r.is_nullable(),
                        heap: HeapType::Concrete(i),
                        exact: true,
                    }));
                }
                None
            }
            _ => None,
        };
        match heap {
            Some(heap) => Ok(WasmType::reference(r.is_nullable(), heap)),
            None => {
                let abs = r.as_non_null();
                let feature = match r.heap_type() {
                    wasmparser::HeapType::Abstract { shared: true, .. } => {
                        "shared-everything threads (shared references)"
                    }
                    wasmparser::HeapType::Abstract {
                        ty: A::Cont | A::NoCont,
                        ..
                    } => "stack switching (continuation references)",
                    _ if abs == wasmparser::RefType::EXN || abs == wasmparser::RefType::NOEXN => {
                        "exception handling"
                    }
                    _ => "GC",
                };
                Err(unsupported(format!("{feature} (reference type `{r}`)")))
            }
        }
    }

    /// The reference type to `heap`, in its one spelling.
    pub fn reference(nullable: bool, heap: HeapType) -> WasmType {
        match (nullable, heap) {
            (true, HeapType::Func) => WasmType::FuncRef,
            (true, HeapType::Extern) => WasmType::ExternRef,
            _ => WasmType::Ref(RefType::new(nullable, heap)),
        }
    }

    /// This type in its one spelling (`funcref` for `(ref null func)`, as
    /// modules have it), so that equal types compare equal; an exact
    /// reference is left as it is.
    pub fn one_spelling(self) -> WasmType {
        match self {
            WasmType::Ref(r) if !r.exact => WasmType::reference(r.nullable, r.heap),
            other => other,
        }
    }

    /// Whether this is a reference type.
    pub fn is_ref(self) -> bool {
        matches!(
            self,
            WasmType::FuncRef | WasmType::ExternRef | WasmType::Ref(_)
        )
    }

    /// A reference type's nullability and heap type.
    pub fn as_ref_type(self) -> Option<RefType> {
        match self {
            WasmType::FuncRef => Some(RefType::new(true, HeapType::Func)),
            WasmType::ExternRef => Some(RefType::new(true, HeapType::Extern)),
            WasmType::Ref(r) => Some(r),
            _ => None,
        }
    }

    /// This type with every module type index replaced by the id `ids`
    /// gives it.
    pub fn map_concrete(self, ids: impl Fn(u32) -> HeapType) -> WasmType {
        match self {
            WasmType::Ref(RefType {
                nullable,
                heap: HeapType::Concrete(i),
                exact,
            }) => WasmType::Ref(RefType {
                nullable,
                heap: ids(i),
                exact,
            }),
            other => other,
        }
    }

    /// Whether a value of type `self` is also of type `other` (subtyping
    /// of canonical types: non-null below nullable; the bottom types
    /// below every type of their hierarchy; concrete function types below
    /// `func`).
    ///
    /// `shape` tells what a canonical type id is: `None` for a function
    /// type, the shape of a struct or array type.
    pub fn is_subtype_of(self, other: WasmType, shape: impl Fn(u32) -> Option<Kind>) -> bool {
        if self == other {
            return true;
        }
        let (Some(a), Some(b)) = (self.as_ref_type(), other.as_ref_type()) else {
            return false;
        };
        if a.nullable && !b.nullable {
            return false;
        }
        if b.exact {
            // Exactly the same type, or a bottom type of its hierarchy.
            return (a.heap == b.heap && a.exact)
                || matches!(a.heap, HeapType::NoFunc | HeapType::None)
                    && WasmType::Ref(RefType::new(a.nullable, a.heap))
                        .is_subtype_of(WasmType::Ref(RefType::new(b.nullable, b.heap)), shape);
        }
        // A canonical type's kind: function, struct or array.
        let kind = |h: HeapType| match h {
            HeapType::Canonical(id) => shape(id).unwrap_or(Kind::Func),
            _ => Kind::Func,
        };
        let concrete = |h: HeapType| matches!(h, HeapType::Canonical(_));
        match (a.heap, b.heap) {
            (x, y) if x == y => true,
            (HeapType::NoFunc, y) if concrete(y) => kind(y) == Kind::Func,
            (HeapType::NoFunc, y) => y == HeapType::Func,
            (HeapType::NoExtern, HeapType::Extern) => true,
            (HeapType::NoExn, HeapType::Exn) => true,
            (HeapType::None, y) if concrete(y) => kind(y) != Kind::Func,
            (HeapType::None, y) => y.is_any(),
            (HeapType::I31 | HeapType::Struct | HeapType::Array, HeapType::Eq | HeapType::Any) => {
                true
            }
            (HeapType::Eq, HeapType::Any) => true,
            (x, HeapType::Func) if concrete(x) => kind(x) == Kind::Func,
            (x, y) if concrete(x) && (y == HeapType::Eq || y == HeapType::Any) => {
                kind(x) != Kind::Func
            }
            (x, HeapType::Struct) if concrete(x) => kind(x) == Kind::Struct,
            (x, HeapType::Array) if concrete(x) => kind(x) == Kind::Array,
            _ => false,
        }
    }
}

/// What a concrete type is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A function type.
    Func,
    /// A struct type.
    Struct,
    /// An array type.
    Array,
}

impl Storage {
    /// Bytes a field of this storage takes in a GC object (references are
    /// pointer-sized; the engine targets 64-bit hosts only).
    pub fn size(self) -> u32 {
        match self {
            Storage::I8 => 1,
            Storage::I16 => 2,
            Storage::Val(WasmType::I32 | WasmType::F32) => 4,
            Storage::Val(WasmType::V128) => 16,
            Storage::Val(_) => 8,
        }
    }
}

/// Where a struct type's fields live in its objects, after the
/// [`gc`](crate::vmoffsets::gc) header: each field at the next offset
/// aligned to its size, in declaration order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StructLayout {
    /// Offset of each field from the object's start.
    pub offsets: Vec<u32>,
    /// Size of an object, header included (a multiple of 16).
    pub size: u32,
}

impl StructLayout {
    /// The size of an object of a struct with these fields (what `new`
    /// gives as `size`), without allocating.
    pub fn size_of(fields: &[Field]) -> u32 {
        let mut at = crate::vmoffsets::gc::HEADER_SIZE;
        for f in fields {
            let size = f.storage.size();
            at = at.next_multiple_of(size) + size;
        }
        at.next_multiple_of(16)
    }

    /// The layout of a struct with these fields.
    pub fn new(fields: &[Field]) -> StructLayout {
        let mut at = crate::vmoffsets::gc::HEADER_SIZE;
        let offsets = fields
            .iter()
            .map(|f| {
                let size = f.storage.size();
                at = at.next_multiple_of(size);
                let offset = at;
                at += size;
                offset
            })
            .collect();
        StructLayout {
            offsets,
            size: at.next_multiple_of(16),
        }
    }
}

impl GcShape {
    /// Whether this is a struct or an array type.
    pub fn kind(&self) -> Kind {
        match self {
            GcShape::Struct(_) => Kind::Struct,
            GcShape::Array(_) => Kind::Array,
        }
    }
}

impl fmt::Display for HeapType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HeapType::Func => f.write_str("func"),
            HeapType::Extern => f.write_str("extern"),
            HeapType::NoFunc => f.write_str("nofunc"),
            HeapType::NoExtern => f.write_str("noextern"),
            HeapType::Exn => f.write_str("exn"),
            HeapType::NoExn => f.write_str("noexn"),
            HeapType::Any => f.write_str("any"),
            HeapType::Eq => f.write_str("eq"),
            HeapType::I31 => f.write_str("i31"),
            HeapType::Struct => f.write_str("struct"),
            HeapType::Array => f.write_str("array"),
            HeapType::None => f.write_str("none"),
            HeapType::Concrete(i) => write!(f, "{i}"),
            HeapType::Canonical(i) => write!(f, "(type {i})"),
            HeapType::RecGroup(i) => write!(f, "(rec {i})"),
        }
    }
}

impl fmt::Display for WasmType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WasmType::I32 => f.write_str("i32"),
            WasmType::I64 => f.write_str("i64"),
            WasmType::F32 => f.write_str("f32"),
            WasmType::F64 => f.write_str("f64"),
            WasmType::V128 => f.write_str("v128"),
            WasmType::FuncRef => f.write_str("funcref"),
            WasmType::ExternRef => f.write_str("externref"),
            WasmType::Ref(r) => {
                let null = if r.nullable { "null " } else { "" };
                if r.exact {
                    write!(f, "(ref {null}(exact {}))", r.heap)
                } else {
                    write!(f, "(ref {null}{})", r.heap)
                }
            }
        }
    }
}

/// The shape of a struct or array type (GC). Such types are declared,
/// canonicalised and compared like function types, so modules that only
/// declare them run; their instructions are refused (`not supported yet:
/// GC`), so no value of them ever exists.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum GcShape {
    /// A struct's fields.
    Struct(Box<[Field]>),
    /// An array's element.
    Array(Field),
}

/// A struct field or array element.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// What it stores.
    pub storage: Storage,
    /// Whether it may change.
    pub mutable: bool,
}

/// What a field stores: a packed integer or a value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Storage {
    /// 8-bit packed integer.
    I8,
    /// 16-bit packed integer.
    I16,
    /// A value.
    Val(WasmType),
}

impl Field {
    fn from_wasmparser(f: &wasmparser::FieldType) -> Result<Field, FrontendError> {
        Ok(Field {
            storage: match f.element_type {
                wasmparser::StorageType::I8 => Storage::I8,
                wasmparser::StorageType::I16 => Storage::I16,
                wasmparser::StorageType::Val(v) => Storage::Val(WasmType::from_wasmparser(v)?),
            },
            mutable: f.mutable,
        })
    }

    fn map_concrete(self, ids: &impl Fn(u32) -> HeapType) -> Field {
        Field {
            storage: match self.storage {
                Storage::Val(t) => Storage::Val(t.map_concrete(ids)),
                packed => packed,
            },
            ..self
        }
    }
}

impl GcShape {
    /// The shape of a struct or array type; `None` for a function type.
    pub(crate) fn from_wasmparser(
        t: &wasmparser::CompositeInnerType,
    ) -> Result<Option<GcShape>, FrontendError> {
        Ok(match t {
            wasmparser::CompositeInnerType::Func(_) => None,
            wasmparser::CompositeInnerType::Struct(s) => Some(GcShape::Struct(
                s.fields
                    .iter()
                    .map(Field::from_wasmparser)
                    .collect::<Result<_, _>>()?,
            )),
            wasmparser::CompositeInnerType::Array(a) => {
                Some(GcShape::Array(Field::from_wasmparser(&a.0)?))
            }
            wasmparser::CompositeInnerType::Cont(_) => {
                return Err(unsupported("stack switching (continuation types)"));
            }
        })
    }

    /// This shape with every module type index mapped by `ids`.
    pub fn map_concrete(&self, ids: impl Fn(u32) -> HeapType) -> GcShape {
        match self {
            GcShape::Struct(fields) => {
                GcShape::Struct(fields.iter().map(|f| f.map_concrete(&ids)).collect())
            }
            GcShape::Array(f) => GcShape::Array(f.map_concrete(&ids)),
        }
    }
}

/// A function signature.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncType {
    params: Box<[WasmType]>,
    results: Box<[WasmType]>,
}

impl FuncType {
    /// Builds a function type from its parameter and result types.
    pub fn new(
        params: impl IntoIterator<Item = WasmType>,
        results: impl IntoIterator<Item = WasmType>,
    ) -> Self {
        FuncType {
            params: params.into_iter().collect(),
            results: results.into_iter().collect(),
        }
    }

    /// Parameter types.
    pub fn params(&self) -> &[WasmType] {
        &self.params
    }

    /// Result types.
    pub fn results(&self) -> &[WasmType] {
        &self.results
    }

    /// This type with every module type index mapped by `ids`.
    pub fn map_concrete(&self, ids: impl Fn(u32) -> HeapType) -> FuncType {
        FuncType::new(
            self.params.iter().map(|t| t.map_concrete(&ids)),
            self.results.iter().map(|t| t.map_concrete(&ids)),
        )
    }

    pub(crate) fn from_wasmparser(ty: &wasmparser::FuncType) -> Result<Self, FrontendError> {
        let params = ty
            .params()
            .iter()
            .map(|t| WasmType::from_wasmparser(*t))
            .collect::<Result<Vec<_>, _>>()?;
        let results = ty
            .results()
            .iter()
            .map(|t| WasmType::from_wasmparser(*t))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(FuncType::new(params, results))
    }
}

impl fmt::Display for FuncType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(func")?;
        if !self.params.is_empty() {
            write!(f, " (param")?;
            for p in self.params.iter() {
                write!(f, " {p}")?;
            }
            write!(f, ")")?;
        }
        if !self.results.is_empty() {
            write!(f, " (result")?;
            for r in self.results.iter() {
                write!(f, " {r}")?;
            }
            write!(f, ")")?;
        }
        write!(f, ")")
    }
}

/// Limits and element type of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TableType {
    /// The element type: a reference type (`FuncRef`, `ExternRef` or a
    /// `Ref`).
    pub element: WasmType,
    /// Initial number of elements.
    pub minimum: u64,
    /// Maximum number of elements, if declared.
    pub maximum: Option<u64>,
    /// Indices are `i64` (memory64's 64-bit tables) instead of `i32`.
    pub table64: bool,
}

impl TableType {
    /// The element type.
    pub fn element(&self) -> &WasmType {
        &self.element
    }
    /// The initial (or, of a live table, current) number of elements.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }
    /// The declared maximum number of elements.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }
    /// Whether indices are `i64`.
    pub fn is_64(&self) -> bool {
        self.table64
    }
    /// A table with 32-bit indices, so 32-bit limits (as Wasmtime's). A
    /// reference type spelled either way (`funcref` or `(ref null func)`)
    /// is the same element type.
    pub fn new(element: impl Into<WasmType>, minimum: u32, maximum: Option<u32>) -> TableType {
        TableType {
            table64: false,
            ..TableType::new64(element, minimum.into(), maximum.map(u64::from))
        }
    }
    /// A table with 64-bit indices (memory64).
    pub fn new64(element: impl Into<WasmType>, minimum: u64, maximum: Option<u64>) -> TableType {
        TableType {
            element: element.into().one_spelling(),
            minimum,
            maximum,
            table64: true,
        }
    }
}

/// A linear memory's index type, page size and limits (in pages).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MemoryType {
    /// Initial size in pages.
    pub minimum: u64,
    /// Maximum size in pages, if declared.
    pub maximum: Option<u64>,
    /// Addresses are `i64` (memory64) instead of `i32`.
    pub memory64: bool,
    /// Log2 of the page size: 16 (64 KiB, the default) or 0 (one byte,
    /// custom page sizes).
    pub page_size_log2: u8,
    /// Shared between agents (threads): atomic waits are allowed on it.
    /// Here a shared memory is shared by the instances of one store.
    pub shared: bool,
}

impl MemoryType {
    /// A 32-bit memory with 64 KiB pages; its limits in pages are 32-bit
    /// (as Wasmtime's).
    pub fn new(minimum: u32, maximum: Option<u32>) -> MemoryType {
        MemoryType {
            memory64: false,
            ..MemoryType::new64(minimum.into(), maximum.map(u64::from))
        }
    }

    /// A shared 32-bit memory with 64 KiB pages (threads; a shared memory
    /// must have a maximum).
    pub fn shared(minimum: u32, maximum: u32) -> MemoryType {
        MemoryType {
            shared: true,
            ..MemoryType::new(minimum, Some(maximum))
        }
    }

    /// Whether it is shared (threads).
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// A 64-bit memory (memory64) with 64 KiB pages.
    pub fn new64(minimum: u64, maximum: Option<u64>) -> MemoryType {
        MemoryType {
            minimum,
            maximum,
            memory64: true,
            page_size_log2: 16,
            shared: false,
        }
    }

    /// The initial (or, of a live memory, current) size in pages.
    pub fn minimum(&self) -> u64 {
        self.minimum
    }
    /// The declared maximum size in pages.
    pub fn maximum(&self) -> Option<u64> {
        self.maximum
    }
    /// Whether addresses are `i64` (memory64).
    pub fn is_64(&self) -> bool {
        self.memory64
    }
    /// Bytes per page.
    pub fn page_size(&self) -> u64 {
        1 << self.page_size_log2
    }
    /// Log2 of the page size (16, or 0 for one-byte pages), as Wasmtime's
    /// method gives it (the field of the same name holds it).
    pub fn page_size_log2(&self) -> u8 {
        self.page_size_log2
    }

    /// The most pages the index type allows: 4 GiB for `i32` with 64 KiB
    /// pages, 2^32 - 1 one-byte pages (a size `memory.size` can return),
    /// 2^64 bytes (less one page) for `i64`.
    pub fn max_pages_by_index(&self) -> u64 {
        if self.memory64 {
            u64::MAX >> self.page_size_log2
        } else {
            ((1u64 << 32) >> self.page_size_log2).min(u32::MAX as u64)
        }
    }

    /// Whether accesses can rely on guard pages: a 32-bit index and 64 KiB
    /// pages (whole host pages). Other memories are always checked.
    pub fn guardable(&self) -> bool {
        !self.memory64 && self.page_size_log2 == 16
    }
}

/// Type and mutability of a global.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GlobalType {
    /// Value type.
    pub content: WasmType,
    /// Whether `global.set` may change it.
    pub mutable: bool,
}

/// Whether a global may change (Wasmtime's name for [`GlobalType::mutable`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mutability {
    /// `global.set` may not change it.
    Const,
    /// `global.set` may change it.
    Var,
}

impl GlobalType {
    /// A global of `content` type, constant or variable (a reference type
    /// in either spelling, as [`TableType::new`]).
    pub fn new(content: WasmType, mutability: Mutability) -> GlobalType {
        GlobalType {
            content: content.one_spelling(),
            mutable: mutability == Mutability::Var,
        }
    }
    /// The value type.
    pub fn content(&self) -> &WasmType {
        &self.content
    }
    /// Whether it may change.
    pub fn mutability(&self) -> Mutability {
        if self.mutable {
            Mutability::Var
        } else {
            Mutability::Const
        }
    }
}

/// Size of a Wasm page in bytes.
pub const WASM_PAGE_SIZE: u64 = 65536;
/// The largest number of pages a 32-bit memory can have (4 GiB).
pub const WASM32_MAX_PAGES: u64 = 65536;
