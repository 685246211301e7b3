//! Reading a module: validation with wasmparser and the module description
//! ([`ModuleInfo`]) that the backend and runtime work from.

use std::collections::HashMap;

use wasmparser::{
    ElementItems, ElementKind, FuncToValidate, FunctionBody, KnownCustom, Name, Parser, Payload,
    TableInit, ValidPayload, Validator, ValidatorResources, WasmFeatures,
};

use crate::error::{FrontendError, UnsupportedNotes, unsupported};
use crate::index::{DefinedFuncIndex, FuncIndex, GlobalIndex, TypeIndex};
use crate::types::{FuncType, GcShape, GlobalType, MemoryType, TableType, WasmType};

/// One operation of a constant expression (global initialisers, segment
/// offsets, element items), evaluated by a small stack machine at instantiation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConstOp {
    /// `i32.const`
    I32(i32),
    /// `i64.const`
    I64(i64),
    /// `f32.const`, as bits.
    F32(u32),
    /// `f64.const`, as bits.
    F64(u64),
    /// `v128.const`, little-endian.
    V128(u128),
    /// `ref.null` of a reference type.
    RefNull(WasmType),
    /// `ref.func` of a function.
    RefFunc(FuncIndex),
    /// `global.get` of a global.
    GlobalGet(GlobalIndex),
    /// `i32.add` (extended constant expressions)
    I32Add,
    /// `i32.sub`
    I32Sub,
    /// `i32.mul`
    I32Mul,
    /// `i64.add`
    I64Add,
    /// `i64.sub`
    I64Sub,
    /// `i64.mul`
    I64Mul,
    /// `ref.i31`
    RefI31,
    /// `struct.new` of a struct type (its fields on the stack).
    StructNew(u32),
    /// `struct.new_default`
    StructNewDefault(u32),
    /// `struct.new_desc` (custom descriptors): the fields, then the
    /// descriptor.
    StructNewDesc(u32),
    /// `struct.new_default_desc`: the descriptor.
    StructNewDefaultDesc(u32),
    /// `array.new` of an array type (value, length).
    ArrayNew(u32),
    /// `array.new_default` (length).
    ArrayNewDefault(u32),
    /// `array.new_fixed` of this many elements.
    ArrayNewFixed(u32, u32),
    /// `any.convert_extern` and `extern.convert_any`: the same word.
    ConvertRef,
}

/// A constant expression.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ConstExpr(pub Vec<ConstOp>);

impl ConstExpr {
    fn parse(expr: &wasmparser::ConstExpr<'_>) -> Result<Self, FrontendError> {
        use wasmparser::Operator as O;
        let mut ops = Vec::new();
        let mut reader = expr.get_operators_reader();
        while !reader.eof() {
            let op = reader.read()?;
            ops.push(match op {
                O::I32Const { value } => ConstOp::I32(value),
                O::I64Const { value } => ConstOp::I64(value),
                O::F32Const { value } => ConstOp::F32(value.bits()),
                O::F64Const { value } => ConstOp::F64(value.bits()),
                O::RefNull { hty } => ConstOp::RefNull(WasmType::from_ref_type(
                    wasmparser::RefType::new(true, hty).ok_or_else(|| {
                        unsupported("typed function references (ref.null of a concrete type)")
                    })?,
                )?),
                O::RefFunc { function_index } => ConstOp::RefFunc(FuncIndex(function_index)),
                O::GlobalGet { global_index } => ConstOp::GlobalGet(GlobalIndex(global_index)),
                O::I32Add => ConstOp::I32Add,
                O::I32Sub => ConstOp::I32Sub,
                O::I32Mul => ConstOp::I32Mul,
                O::I64Add => ConstOp::I64Add,
                O::I64Sub => ConstOp::I64Sub,
                O::I64Mul => ConstOp::I64Mul,
                O::RefI31 => ConstOp::RefI31,
                O::StructNew { struct_type_index } => ConstOp::StructNew(struct_type_index),
                O::StructNewDefault { struct_type_index } => {
                    ConstOp::StructNewDefault(struct_type_index)
                }
                O::StructNewDesc { struct_type_index } => ConstOp::StructNewDesc(struct_type_index),
                O::StructNewDefaultDesc { struct_type_index } => {
                    ConstOp::StructNewDefaultDesc(struct_type_index)
                }
                O::ArrayNew { array_type_index } => ConstOp::ArrayNew(array_type_index),
                O::ArrayNewDefault { array_type_index } => {
                    ConstOp::ArrayNewDefault(array_type_index)
                }
                O::ArrayNewFixed {
                    array_type_index,
                    array_size,
                } => ConstOp::ArrayNewFixed(array_type_index, array_size),
                O::AnyConvertExtern | O::ExternConvertAny => ConstOp::ConvertRef,
                O::End => break,
                O::V128Const { value } => ConstOp::V128(u128::from_le_bytes(*value.bytes())),
                other => {
                    let feature = crate::proposal::proposal_of(&other)
                        .unsupported_feature()
                        .unwrap_or("constant expression");
                    let name = crate::proposal::operator_name(&other);
                    return Err(unsupported(format!(
                        "{feature} ({name} in a constant expression)"
                    )));
                }
            });
        }
        Ok(ConstExpr(ops))
    }

    /// The single `ref.func` index of an expression, if it is just that.
    pub fn as_ref_func(&self) -> Option<FuncIndex> {
        match self.0.as_slice() {
            [ConstOp::RefFunc(f)] => Some(*f),
            _ => None,
        }
    }
}

/// What an import brings in.
#[derive(Clone, Debug, PartialEq)]
pub enum ImportKind {
    /// A function of the given type (or, GC, one of its subtypes).
    Func(TypeIndex),
    /// A function of exactly the given type (custom descriptors' exact
    /// import).
    ExactFunc(TypeIndex),
    /// A table.
    Table(TableType),
    /// A linear memory.
    Memory(MemoryType),
    /// A global.
    Global(GlobalType),
    /// An exception tag whose payload is the parameters of this type.
    Tag(TypeIndex),
}

/// One import of a module.
#[derive(Clone, Debug, PartialEq)]
pub struct Import {
    /// Module name.
    pub module: String,
    /// Field name.
    pub name: String,
    /// What is imported.
    pub kind: ImportKind,
}

/// The kind of an exported item.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExternKind {
    /// A function.
    Func,
    /// A table.
    Table,
    /// A memory.
    Memory,
    /// A global.
    Global,
    /// An exception tag.
    Tag,
}

/// One export.
#[derive(Clone, Debug, PartialEq)]
pub struct Export {
    /// Export name.
    pub name: String,
    /// Kind of item.
    pub kind: ExternKind,
    /// Index in the module's index space of that kind.
    pub index: u32,
}

/// How an element segment is used.
#[derive(Clone, Debug, PartialEq)]
pub enum SegmentMode {
    /// Available to `table.init` / `memory.init`.
    Passive,
    /// Copied into a table or memory at instantiation, then dropped.
    Active {
        /// Table or memory index.
        index: u32,
        /// Offset expression.
        offset: ConstExpr,
    },
    /// Only declares functions for `ref.func`; dropped at instantiation.
    Declared,
}

/// An element segment.
#[derive(Clone, Debug, PartialEq)]
pub struct ElemSegment {
    /// Mode.
    pub mode: SegmentMode,
    /// Element type.
    pub ty: WasmType,
    /// One expression per element.
    pub items: Vec<ConstExpr>,
}

/// A data segment.
#[derive(Clone, Debug, PartialEq)]
pub struct DataSegment {
    /// Mode (`Declared` never occurs).
    pub mode: SegmentMode,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Everything about a module except its function bodies.
#[derive(Clone, Debug, Default)]
pub struct ModuleInfo {
    /// Function types by type index.
    pub types: Vec<FuncType>,
    /// The type of every exception tag (its parameters are the payload),
    /// imported ones first.
    pub tags: Vec<TypeIndex>,
    /// How many of `tags` are imported.
    pub num_imported_tags: u32,
    /// Whether each type is final (`sub final`, the default): a final and
    /// a non-final type of the same shape are different types.
    pub type_final: Vec<bool>,
    /// The declared supertype of each type (`sub $super ...`), if any.
    pub type_supers: Vec<Option<u32>>,
    /// Custom descriptors: the descriptor type of each struct type that has
    /// one (`(descriptor $d)`) and the type each descriptor type describes
    /// (`(describes $t)`), as type indices. Part of a type's identity.
    pub type_descriptors: Vec<(Option<u32>, Option<u32>)>,
    /// The shape of each struct or array type (`None` for function types,
    /// whose signature is in `types`).
    pub gc_shapes: Vec<Option<GcShape>>,
    /// Recursion groups, as (first type index, number of types); a type
    /// outside an explicit `rec` is a group of one.
    pub rec_groups: Vec<(u32, u32)>,
    /// Type of every function, imported ones first.
    pub funcs: Vec<TypeIndex>,
    /// Every table, imported ones first.
    pub tables: Vec<TableType>,
    /// Initialiser of each defined table (`None`: null).
    pub table_inits: Vec<Option<ConstExpr>>,
    /// Every memory, imported ones first.
    pub memories: Vec<MemoryType>,
    /// Every global, imported ones first.
    pub globals: Vec<GlobalType>,
    /// Initialiser of each defined global.
    pub global_inits: Vec<ConstExpr>,
    /// Imports in declaration order.
    pub imports: Vec<Import>,
    /// Exports in declaration order.
    pub exports: Vec<Export>,
    /// Start function.
    pub start: Option<FuncIndex>,
    /// Element segments.
    pub elems: Vec<ElemSegment>,
    /// Data segments.
    pub datas: Vec<DataSegment>,
    /// Function names from the name section, by function index.
    pub func_names: HashMap<u32, String>,
    /// The module's name from the name section (`(module $name ...)`).
    pub name: Option<String>,
    /// Number of imported functions.
    pub num_imported_funcs: u32,
    /// Number of imported tables.
    pub num_imported_tables: u32,
    /// Number of imported memories.
    pub num_imported_memories: u32,
    /// Number of imported globals.
    pub num_imported_globals: u32,
    /// Byte offset of each function body in the module (for backtraces).
    pub body_offsets: Vec<u32>,
}

impl ModuleInfo {
    /// Whether `exnref`s of this module live only in function frames (its
    /// locals and operand stacks): no global, table, struct or array field,
    /// or tag payload has an exception reference type. Only then may an
    /// instance look for them on the stack alone to reclaim its exceptions.
    pub fn exnrefs_stay_in_frames(&self) -> bool {
        let exn = |t: &WasmType| matches!(t, WasmType::Ref(r) if r.heap.is_exn());
        let tag_types_ok = self
            .tags
            .iter()
            .all(|t| !self.types[t.index()].params().iter().any(exn));
        let fields_ok = self.gc_shapes.iter().flatten().all(|shape| {
            let field = |f: &crate::types::Field| matches!(f.storage, crate::types::Storage::Val(t) if exn(&t));
            match shape {
                crate::types::GcShape::Struct(fs) => !fs.iter().any(field),
                crate::types::GcShape::Array(f) => !field(f),
            }
        });
        tag_types_ok
            && fields_ok
            && !self.globals.iter().any(|g| exn(&g.content))
            && !self.tables.iter().any(|t| exn(&t.element))
    }

    /// The type of function `index`.
    pub fn func_type(&self, index: FuncIndex) -> &FuncType {
        &self.types[self.funcs[index.index()].index()]
    }

    /// The type index of function `index`.
    pub fn func_type_index(&self, index: FuncIndex) -> TypeIndex {
        self.funcs[index.index()]
    }

    /// The function index of defined function `index`.
    pub fn func_of_defined(&self, index: DefinedFuncIndex) -> FuncIndex {
        FuncIndex(index.0 + self.num_imported_funcs)
    }

    /// Number of functions defined (not imported) by the module.
    pub fn num_defined_funcs(&self) -> u32 {
        self.funcs.len() as u32 - self.num_imported_funcs
    }

    /// Whether function `index` is imported.
    pub fn is_imported_func(&self, index: FuncIndex) -> bool {
        index.0 < self.num_imported_funcs
    }

    /// The defined-function index of function `index`, which must not be
    /// imported.
    pub fn defined_func_index(&self, index: FuncIndex) -> DefinedFuncIndex {
        debug_assert!(!self.is_imported_func(index));
        DefinedFuncIndex(index.0 - self.num_imported_funcs)
    }

    /// A function's name for messages: the name section's, or `<index>`.
    pub fn func_display_name(&self, index: FuncIndex) -> String {
        match self.func_names.get(&index.0) {
            Some(n) => n.clone(),
            None => format!("<wasm function {index}>"),
        }
    }
}

/// A function body that still has to be validated and translated.
pub struct FunctionInput<'a> {
    /// The function.
    pub index: FuncIndex,
    /// The body's bytes.
    pub body: FunctionBody<'a>,
    /// The validator for this body.
    pub validator: FuncToValidate<ValidatorResources>,
}

/// The result of reading a module: its description plus the bodies left to
/// validate and translate (done per function, in parallel, by the backend).
pub struct ParsedModule<'a> {
    /// The description.
    pub info: ModuleInfo,
    /// Function bodies in order.
    pub functions: Vec<FunctionInput<'a>>,
    /// Features outside the function bodies that the module uses and the
    /// engine lacks. When there are any, the bodies are only validated (an
    /// invalid body still makes the module invalid), then loading fails
    /// with these and whatever the bodies add.
    pub unsupported: UnsupportedNotes,
}

/// Reads and validates the module-level structure of `bytes` with the
/// given feature set.
pub fn parse(bytes: &[u8], features: WasmFeatures) -> Result<ParsedModule<'_>, FrontendError> {
    let mut validator = Validator::new_with_features(features);
    let mut info = ModuleInfo::default();
    let mut functions = Vec::new();
    // Unsupported features are remembered and reported only once the whole
    // module, bodies included, validated: an invalid module must say it is
    // invalid.
    let mut notes = UnsupportedNotes::default();
    let mut note = |e: FrontendError| notes.add_error(e);

    // The parser must know the features too: some encodings (such as
    // 64-bit memory limits) are only well-formed with a feature enabled.
    let mut parser = Parser::new(0);
    parser.set_features(features);
    for payload in parser.parse_all(bytes) {
        let payload = payload?;
        // Before the validator, which would call a component invalid
        // (pointing at a feature nothing can turn on).
        if let Payload::Version {
            encoding: wasmparser::Encoding::Component,
            ..
        } = payload
        {
            return Err(unsupported(
                "components (component model): this engine runs core modules",
            ));
        }
        match validator.payload(&payload)? {
            ValidPayload::Func(validator, body) => {
                let index = FuncIndex(info.num_imported_funcs + functions.len() as u32);
                info.body_offsets.push(body.range().start as u32);
                functions.push(FunctionInput {
                    index,
                    body,
                    validator,
                });
                continue;
            }
            ValidPayload::Parser(_) => return Err(unsupported("components (component model)")),
            ValidPayload::Ok | ValidPayload::End(_) => {}
        }
        match payload {
            Payload::TypeSection(reader) => {
                for group in reader {
                    let group = group?;
                    let start = info.types.len() as u32;
                    for sub in group.into_types() {
                        info.type_supers
                            .push(sub.supertype_idxs.first().and_then(|t| t.as_module_index()));
                        info.type_final.push(sub.is_final);
                        let composite = &sub.composite_type;
                        if composite.shared {
                            note(unsupported("shared-everything threads (shared types)"));
                        }
                        info.type_descriptors.push((
                            composite.descriptor_idx.and_then(|t| t.as_module_index()),
                            composite.describes_idx.and_then(|t| t.as_module_index()),
                        ));
                        match &composite.inner {
                            wasmparser::CompositeInnerType::Func(f) => {
                                match FuncType::from_wasmparser(f) {
                                    Ok(t) => info.types.push(t),
                                    Err(e) => {
                                        note(e);
                                        info.types.push(FuncType::new([], []));
                                    }
                                }
                                info.gc_shapes.push(None);
                            }
                            other => {
                                // A struct or array type (GC): its shape.
                                info.types.push(FuncType::new([], []));
                                info.gc_shapes.push(
                                    GcShape::from_wasmparser(other).unwrap_or_else(|e| {
                                        note(e);
                                        None
                                    }),
                                );
                            }
                        }
                    }
                    let len = info.types.len() as u32 - start;
                    info.rec_groups.push((start, len));
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader.into_imports() {
                    let import = import?;
                    let kind = match import.ty {
                        wasmparser::TypeRef::Func(t) | wasmparser::TypeRef::FuncExact(t) => {
                            info.funcs.push(TypeIndex(t));
                            info.num_imported_funcs += 1;
                            if matches!(import.ty, wasmparser::TypeRef::FuncExact(_)) {
                                ImportKind::ExactFunc(TypeIndex(t))
                            } else {
                                ImportKind::Func(TypeIndex(t))
                            }
                        }
                        wasmparser::TypeRef::Table(t) => {
                            let t = table_type(&t).unwrap_or_else(|e| {
                                note(e);
                                dummy_table()
                            });
                            info.tables.push(t);
                            info.num_imported_tables += 1;
                            ImportKind::Table(t)
                        }
                        wasmparser::TypeRef::Memory(m) => {
                            let m = memory_type(&m).unwrap_or_else(|e| {
                                note(e);
                                MemoryType::new(0, None)
                            });
                            info.memories.push(m);
                            info.num_imported_memories += 1;
                            ImportKind::Memory(m)
                        }
                        wasmparser::TypeRef::Global(g) => {
                            let g = global_type(&g).unwrap_or_else(|e| {
                                note(e);
                                dummy_global()
                            });
                            info.globals.push(g);
                            info.num_imported_globals += 1;
                            ImportKind::Global(g)
                        }
                        wasmparser::TypeRef::Tag(t) => {
                            let ty = TypeIndex(t.func_type_idx);
                            info.tags.push(ty);
                            info.num_imported_tags += 1;
                            ImportKind::Tag(ty)
                        }
                    };
                    info.imports.push(Import {
                        module: import.module.to_string(),
                        name: import.name.to_string(),
                        kind,
                    });
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader {
                    info.funcs.push(TypeIndex(ty?));
                }
            }
            Payload::TableSection(reader) => {
                for table in reader {
                    let table = table?;
                    info.tables.push(table_type(&table.ty).unwrap_or_else(|e| {
                        note(e);
                        dummy_table()
                    }));
                    info.table_inits.push(match table.init {
                        TableInit::RefNull => None,
                        TableInit::Expr(e) => Some(ConstExpr::parse(&e).unwrap_or_else(|e| {
                            note(e);
                            ConstExpr::default()
                        })),
                    });
                }
            }
            Payload::MemorySection(reader) => {
                for mem in reader {
                    let m = memory_type(&mem?).unwrap_or_else(|e| {
                        note(e);
                        MemoryType::new(0, None)
                    });
                    info.memories.push(m);
                }
            }
            Payload::TagSection(reader) => {
                for tag in reader {
                    info.tags.push(TypeIndex(tag?.func_type_idx));
                }
            }
            Payload::GlobalSection(reader) => {
                for global in reader {
                    let global = global?;
                    info.globals
                        .push(global_type(&global.ty).unwrap_or_else(|e| {
                            note(e);
                            dummy_global()
                        }));
                    info.global_inits
                        .push(ConstExpr::parse(&global.init_expr).unwrap_or_else(|e| {
                            note(e);
                            ConstExpr::default()
                        }));
                }
            }
            Payload::ExportSection(reader) => {
                for export in reader {
                    let export = export?;
                    let kind = match export.kind {
                        wasmparser::ExternalKind::Func | wasmparser::ExternalKind::FuncExact => {
                            ExternKind::Func
                        }
                        wasmparser::ExternalKind::Table => ExternKind::Table,
                        wasmparser::ExternalKind::Memory => ExternKind::Memory,
                        wasmparser::ExternalKind::Global => ExternKind::Global,
                        wasmparser::ExternalKind::Tag => ExternKind::Tag,
                    };
                    info.exports.push(Export {
                        name: export.name.to_string(),
                        kind,
                        index: export.index,
                    });
                }
            }
            Payload::StartSection { func, .. } => info.start = Some(FuncIndex(func)),
            Payload::ElementSection(reader) => {
                for elem in reader {
                    match elem_segment(elem?) {
                        Ok(seg) => info.elems.push(seg),
                        Err(e) => {
                            note(e);
                            info.elems.push(ElemSegment {
                                mode: SegmentMode::Passive,
                                ty: WasmType::FuncRef,
                                items: Vec::new(),
                            });
                        }
                    }
                }
            }
            Payload::DataSection(reader) => {
                for data in reader {
                    let data = data?;
                    let mode = match data.kind {
                        wasmparser::DataKind::Passive => SegmentMode::Passive,
                        wasmparser::DataKind::Active {
                            memory_index,
                            offset_expr,
                        } => SegmentMode::Active {
                            index: memory_index,
                            offset: ConstExpr::parse(&offset_expr).unwrap_or_else(|e| {
                                note(e);
                                ConstExpr::default()
                            }),
                        },
                    };
                    info.datas.push(DataSegment {
                        mode,
                        data: data.data.to_vec(),
                    });
                }
            }
            Payload::CustomSection(c) => {
                // Malformed custom sections are ignored, as the spec requires.
                if let KnownCustom::Name(reader) = c.as_known() {
                    for name in reader.into_iter().flatten() {
                        match name {
                            Name::Function(map) => {
                                for naming in map.into_iter().flatten() {
                                    info.func_names
                                        .insert(naming.index, naming.name.to_string());
                                }
                            }
                            Name::Module { name, .. } => info.name = Some(name.to_string()),
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(ParsedModule {
        info,
        functions,
        unsupported: notes,
    })
}

fn dummy_table() -> TableType {
    TableType::new(WasmType::FuncRef, 0, None)
}

fn dummy_global() -> GlobalType {
    GlobalType {
        content: WasmType::I32,
        mutable: false,
    }
}

fn table_type(t: &wasmparser::TableType) -> Result<TableType, FrontendError> {
    if t.shared {
        return Err(unsupported("threads (shared tables)"));
    }
    Ok(TableType {
        element: WasmType::from_ref_type(t.element_type)?,
        minimum: t.initial,
        maximum: t.maximum,
        table64: t.table64,
    })
}

fn memory_type(m: &wasmparser::MemoryType) -> Result<MemoryType, FrontendError> {
    let page_size_log2 = match m.page_size_log2 {
        None => 16,
        // The validator allows only 0 and 16.
        Some(p) => u8::try_from(p).map_err(|_| unsupported("custom page sizes (page size)"))?,
    };
    Ok(MemoryType {
        minimum: m.initial,
        maximum: m.maximum,
        memory64: m.memory64,
        page_size_log2,
        shared: m.shared,
    })
}

fn global_type(g: &wasmparser::GlobalType) -> Result<GlobalType, FrontendError> {
    if g.shared {
        return Err(unsupported("threads (shared globals)"));
    }
    Ok(GlobalType {
        content: WasmType::from_wasmparser(g.content_type)?,
        mutable: g.mutable,
    })
}

fn elem_segment(elem: wasmparser::Element<'_>) -> Result<ElemSegment, FrontendError> {
    let mode = match elem.kind {
        ElementKind::Passive => SegmentMode::Passive,
        ElementKind::Declared => SegmentMode::Declared,
        ElementKind::Active {
            table_index,
            offset_expr,
        } => SegmentMode::Active {
            index: table_index.unwrap_or(0),
            offset: ConstExpr::parse(&offset_expr)?,
        },
    };
    let (ty, items) = match elem.items {
        ElementItems::Functions(reader) => {
            let mut items = Vec::new();
            for f in reader {
                items.push(ConstExpr(vec![ConstOp::RefFunc(FuncIndex(f?))]));
            }
            (WasmType::FuncRef, items)
        }
        ElementItems::Expressions(ty, reader) => {
            let ty = WasmType::from_ref_type(ty)?;
            let mut items = Vec::new();
            for e in reader {
                items.push(ConstExpr::parse(&e?)?);
            }
            (ty, items)
        }
    };
    Ok(ElemSegment { mode, ty, items })
}
