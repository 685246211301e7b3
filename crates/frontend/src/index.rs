//! Typed indices: a function index cannot be passed where a type, table,
//! memory or global index (or the index of a defined function) is meant.

macro_rules! index_type {
    ($($(#[$doc:meta])* $name:ident;)*) => {
        $(
            $(#[$doc])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
            pub struct $name(pub u32);

            impl $name {
                /// As a `usize`, for indexing vectors.
                pub fn index(self) -> usize {
                    self.0 as usize
                }
            }

            impl std::fmt::Display for $name {
                fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    self.0.fmt(f)
                }
            }
        )*
    };
}

index_type! {
    /// A function in the module's function index space (imports first).
    FuncIndex;
    /// A function the module defines (its body is in the code section):
    /// function index minus the number of imported functions.
    DefinedFuncIndex;
    /// A type in the module's type section.
    TypeIndex;
    /// A table in the module's table index space (imports first).
    TableIndex;
    /// A memory in the module's memory index space (imports first).
    MemoryIndex;
    /// A global in the module's global index space (imports first).
    GlobalIndex;
}
