//! Statically typed calls: [`TypedFunc`] for calling Wasm, and
//! [`IntoFunc`] for host functions written as ordinary Rust closures.

use std::marker::PhantomData;
use std::sync::Arc;

use anyhow::{Result, bail};
use wasm_jit_backend::{ArrayTrampoline, ValRaw};

use crate::func::{Func, HostFn, call_raw};
use crate::store::{AsContext, AsContextMut, Caller, StoreOpaque};
use crate::types::{FuncType, ValType};
use crate::values::{AnyRef, ExternRef, V128, Val};

/// A Rust type that is one Wasm value type.
pub trait WasmTy: Copy + Send + Sync + 'static {
    /// The Wasm type.
    fn valtype() -> ValType;
    /// As a dynamically typed value.
    fn into_val(self) -> Val;
    /// From a dynamically typed value of type [`WasmTy::valtype`].
    fn from_val(v: Val) -> Self;
}

macro_rules! wasm_ty {
    ($t:ty, $vt:ident, $to:expr, $from:pat => $back:expr) => {
        impl WasmTy for $t {
            fn valtype() -> ValType {
                ValType::$vt
            }
            #[allow(clippy::redundant_closure_call)]
            fn into_val(self) -> Val {
                ($to)(self)
            }
            fn from_val(v: Val) -> Self {
                match v {
                    $from => $back,
                    other => unreachable!("checked by the function type: {other:?}"),
                }
            }
        }
    };
}

wasm_ty!(i32, I32, Val::I32, Val::I32(x) => x);
wasm_ty!(u32, I32, |x: u32| Val::I32(x as i32), Val::I32(x) => x as u32);
wasm_ty!(i64, I64, Val::I64, Val::I64(x) => x);
wasm_ty!(u64, I64, |x: u64| Val::I64(x as i64), Val::I64(x) => x as u64);
wasm_ty!(f32, F32, |x: f32| Val::F32(x.to_bits()), Val::F32(b) => f32::from_bits(b));
wasm_ty!(f64, F64, |x: f64| Val::F64(x.to_bits()), Val::F64(b) => f64::from_bits(b));
wasm_ty!(u128, V128, Val::V128, Val::V128(x) => x);
wasm_ty!(V128, V128, |x: V128| Val::V128(x.as_u128()), Val::V128(x) => V128::from(x));
wasm_ty!(Option<Func>, FuncRef, Val::FuncRef, Val::FuncRef(f) => f);
wasm_ty!(Option<ExternRef>, ExternRef, Val::ExternRef, Val::ExternRef(e) => e);

/// A non-null function reference, `(ref func)`, as in Wasmtime.
impl WasmTy for Func {
    fn valtype() -> ValType {
        ValType::reference(false, wasm_jit_frontend::HeapType::Func)
    }
    fn into_val(self) -> Val {
        Val::FuncRef(Some(self))
    }
    fn from_val(v: Val) -> Self {
        match v {
            Val::FuncRef(Some(f)) => f,
            other => unreachable!("checked by the function type: {other:?}"),
        }
    }
}

impl WasmTy for Option<AnyRef> {
    fn valtype() -> ValType {
        ValType::reference(true, wasm_jit_frontend::HeapType::Any)
    }
    fn into_val(self) -> Val {
        Val::AnyRef(self)
    }
    fn from_val(v: Val) -> Self {
        match v {
            Val::AnyRef(a) => a,
            other => unreachable!("checked by the function type: {other:?}"),
        }
    }
}

/// A list of Wasm values with static types: `()`, one [`WasmTy`], or a
/// tuple of up to [`MAX_TYPED`] of them. Used for parameters and results.
pub trait WasmList: Send + Sync + Sized + 'static {
    /// Number of values.
    const LEN: usize;
    /// The Wasm types, in order.
    fn types() -> Vec<ValType>;
    /// Writes the values into `out[..LEN]`.
    fn into_vals(self, out: &mut [Val]);
    /// Reads the values from `vals[..LEN]`.
    fn from_vals(vals: &[Val]) -> Self;
}

/// Most values in a [`WasmList`]: typed calls and closures marshal through a
/// stack array of this many values, never the heap.
pub const MAX_TYPED: usize = 17;

impl<T: WasmTy> WasmList for T {
    const LEN: usize = 1;
    fn types() -> Vec<ValType> {
        vec![T::valtype()]
    }
    fn into_vals(self, out: &mut [Val]) {
        out[0] = self.into_val();
    }
    fn from_vals(vals: &[Val]) -> Self {
        T::from_val(vals[0])
    }
}

/// Invokes `$mac` for tuples of 0 to [`MAX_TYPED`] type parameters.
macro_rules! for_each_arity {
    ($mac:ident) => {
        $mac!();
        $mac!(A);
        $mac!(A, B);
        $mac!(A, B, C);
        $mac!(A, B, C, D);
        $mac!(A, B, C, D, E);
        $mac!(A, B, C, D, E, F);
        $mac!(A, B, C, D, E, F, G);
        $mac!(A, B, C, D, E, F, G, H);
        $mac!(A, B, C, D, E, F, G, H, I);
        $mac!(A, B, C, D, E, F, G, H, I, J);
        $mac!(A, B, C, D, E, F, G, H, I, J, K);
        $mac!(A, B, C, D, E, F, G, H, I, J, K, L);
        $mac!(A, B, C, D, E, F, G, H, I, J, K, L, M);
        $mac!(A, B, C, D, E, F, G, H, I, J, K, L, M, N);
        $mac!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O);
        $mac!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P);
        $mac!(A, B, C, D, E, F, G, H, I, J, K, L, M, N, O, P, Q);
    };
}

macro_rules! wasm_list_tuple {
    ($($t:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments, clippy::unused_unit)]
        impl<$($t: WasmTy),*> WasmList for ($($t,)*) {
            const LEN: usize = <[&str]>::len(&[$(stringify!($t)),*]);
            fn types() -> Vec<ValType> {
                vec![$($t::valtype()),*]
            }
            fn into_vals(self, out: &mut [Val]) {
                let ($($t,)*) = self;
                let mut i = 0;
                $(out[i] = $t.into_val(); i += 1;)*
            }
            fn from_vals(vals: &[Val]) -> Self {
                let mut i = 0;
                $(let $t = $t::from_val(vals[i]); i += 1;)*
                ($($t,)*)
            }
        }
    };
}

for_each_arity!(wasm_list_tuple);

/// What a host closure may return: results, or `Result` of them (an `Err`
/// stops the calling Wasm and reaches the embedder, with a backtrace as
/// context).
pub trait HostReturn: Send + Sync + 'static {
    /// The results' list type.
    type Results: WasmList;
    /// The results, or the error.
    fn into_result(self) -> Result<Self::Results>;
}

impl<R: WasmList> HostReturn for R {
    type Results = R;
    fn into_result(self) -> Result<R> {
        Ok(self)
    }
}

impl<R: WasmList> HostReturn for Result<R> {
    type Results = R;
    fn into_result(self) -> Result<R> {
        self
    }
}

/// Marks host closures that take a [`Caller`] first.
pub struct WithCaller<T>(PhantomData<fn(T)>);

/// A Rust closure usable as a host function: `Fn(A, B, ...) -> R` or
/// `Fn(Caller<'_, T>, A, B, ...) -> R`, where the arguments are [`WasmTy`]s
/// and `R` is a [`HostReturn`]. See [`Func::wrap`] and
/// [`Linker::func_wrap`](crate::Linker::func_wrap).
pub trait IntoFunc<T, Params, Results>: Send + Sync + 'static {
    /// The function type and its dynamically typed implementation.
    #[doc(hidden)]
    fn into_host_fn(self) -> (FuncType, Arc<HostFn<T>>);
}

macro_rules! into_func {
    ($($a:ident),*) => {
        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        impl<T: 'static, Fun, R, $($a: WasmTy),*> IntoFunc<T, ($($a,)*), R> for Fun
        where
            Fun: Fn($($a),*) -> R + Send + Sync + 'static,
            R: HostReturn,
        {
            fn into_host_fn(self) -> (FuncType, Arc<HostFn<T>>) {
                let ty = FuncType::of([$($a::valtype()),*], R::Results::types());
                let f = move |_caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| -> Result<()> {
                    let mut i = 0;
                    $(let $a = $a::from_val(params[i]); i += 1;)*
                    let r = self($($a),*).into_result()?;
                    store_results(r, results);
                    Ok(())
                };
                (ty, Arc::new(f))
            }
        }

        #[allow(non_snake_case, unused_mut, unused_variables, unused_assignments)]
        impl<T: 'static, Fun, R, $($a: WasmTy),*> IntoFunc<T, (WithCaller<T>, $($a,)*), R> for Fun
        where
            Fun: Fn(Caller<'_, T>, $($a),*) -> R + Send + Sync + 'static,
            R: HostReturn,
        {
            fn into_host_fn(self) -> (FuncType, Arc<HostFn<T>>) {
                let ty = FuncType::of([$($a::valtype()),*], R::Results::types());
                let f = move |caller: Caller<'_, T>, params: &[Val], results: &mut [Val]| -> Result<()> {
                    let mut i = 0;
                    $(let $a = $a::from_val(params[i]); i += 1;)*
                    let r = self(caller, $($a),*).into_result()?;
                    store_results(r, results);
                    Ok(())
                };
                (ty, Arc::new(f))
            }
        }
    };
}

fn store_results<R: WasmList>(r: R, results: &mut [Val]) {
    r.into_vals(results);
}

for_each_arity!(into_func);

impl Func {
    /// A host function from a Rust closure whose parameter and result types
    /// give the function type.
    pub fn wrap<T: 'static, Params, Results>(
        mut store: impl AsContextMut<Data = T>,
        f: impl IntoFunc<T, Params, Results>,
    ) -> Func {
        let (ty, f) = f.into_host_fn();
        Func::from_arc(store.as_context_mut().0, ty, f)
            .expect("cannot create a trampoline for a host function")
    }

    /// This function with static types, checked against its Wasm type once.
    pub fn typed<P: WasmList, R: WasmList>(
        &self,
        store: impl AsContext,
    ) -> Result<TypedFunc<P, R>> {
        let ty = self.ty(&store);
        let expected = FuncType::of(P::types(), R::types());
        // As in Wasmtime, a function of a subtype will do (its results may
        // be narrower references than asked for, its parameters wider).
        if !self.matches_ty(&store, &expected) {
            bail!("type mismatch: the function has type {ty}, not {expected}");
        }
        let ctx = store.as_context();
        let trampoline = ctx.0.opaque.engine.array_trampoline(ty.raw())?;
        Ok(TypedFunc {
            func: *self,
            ty,
            trampoline,
            _marker: PhantomData,
        })
    }
}

/// A function with static parameter and result types, from [`Func::typed`].
pub struct TypedFunc<Params, Results> {
    func: Func,
    ty: FuncType,
    trampoline: ArrayTrampoline,
    _marker: PhantomData<fn(Params) -> Results>,
}

impl<P, R> Clone for TypedFunc<P, R> {
    fn clone(&self) -> Self {
        TypedFunc {
            func: self.func,
            ty: self.ty.clone(),
            trampoline: self.trampoline,
            _marker: PhantomData,
        }
    }
}

impl<P, R> std::fmt::Debug for TypedFunc<P, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TypedFunc({})", self.ty)
    }
}

impl<P: WasmList, R: WasmList> TypedFunc<P, R> {
    /// The untyped function.
    pub fn func(&self) -> &Func {
        &self.func
    }

    /// Calls the function. Traps and host errors come back as `Err`.
    /// Nothing is allocated: values go through arrays on the stack.
    pub fn call(&self, mut store: impl AsContextMut, params: P) -> Result<R> {
        let ctx = store.as_context_mut();
        let s: &mut StoreOpaque = &mut ctx.0.opaque;
        let index = s.check(self.func.0);
        let funcref = s.funcs[index].funcref;
        let mut vals = [Val::I32(0); MAX_TYPED];
        params.into_vals(&mut vals[..P::LEN]);
        let mut raw = [ValRaw::default(); MAX_TYPED];
        for v in &vals[..P::LEN] {
            v.check_store(s, "an argument")?;
        }
        for (slot, v) in raw.iter_mut().zip(&vals[..P::LEN]) {
            *slot = v.to_raw(s);
        }
        let trampoline = self.trampoline;
        ctx.0.enter(|store| {
            // SAFETY: `store` comes from `enter`; nothing borrows it here.
            unsafe { call_raw(&raw mut (*store).opaque, funcref, trampoline, &mut raw, &[]) }
        })?;
        let s = &mut ctx.0.opaque;
        for ((v, t), r) in vals.iter_mut().zip(self.ty.result_types()).zip(&raw) {
            *v = Val::from_raw(s, *r, *t);
        }
        Ok(R::from_vals(&vals[..R::LEN]))
    }
}
