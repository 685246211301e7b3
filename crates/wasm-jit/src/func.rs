//! Functions: calling Wasm from the host, and host functions Wasm can call.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use anyhow::{Result, bail};
use wasm_jit_backend::{
    ArrayTrampoline, TrapReason, VMFuncRef, VMLimits, ValRaw, call_wasm, set_pending,
};

use crate::store::{AsContext, AsContextMut, CallHook, Caller, StoreInner, StoreOpaque, Stored};
use crate::trap::{HostPanic, into_error};
use crate::typed::MAX_TYPED;
use crate::types::FuncType;
use crate::values::Val;

/// The closure behind a host function.
pub(crate) type HostFn<T> =
    dyn Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static;

/// A Wasm or host function in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Func(pub(crate) Stored);

/// The context of a host function, reached by compiled code through a
/// `VMFuncRef` whose `vmctx` points here. `entry` must stay the first field:
/// the Wasm-to-host trampoline loads it from offset 0.
#[repr(C)]
pub(crate) struct HostFuncCtx<T: 'static> {
    entry: unsafe extern "C" fn(*mut HostFuncCtx<T>, *mut u8, *mut ValRaw, usize) -> u32,
    funcref: VMFuncRef,
    /// The store's limits, where the store calling in is handed down.
    limits: *mut VMLimits,
    ty: FuncType,
    func: Arc<HostFn<T>>,
}

/// Runs a host function for compiled code: reads the arguments from
/// `values`, calls the closure, writes the results back. Returns 0, or 1
/// after recording the error (or panic) for the trap path. A host function
/// that fails with an [`Exception`](crate::Exception) of this store throws
/// it into its Wasm caller instead: unwinding starts at `fp`, the frame
/// pointer of the host trampoline, and this function does not return.
unsafe extern "C" fn host_entry<T: 'static>(
    ctx: *mut HostFuncCtx<T>,
    caller_vmctx: *mut u8,
    values: *mut ValRaw,
    fp: usize,
) -> u32 {
    // SAFETY: `ctx` is the context this trampoline was created with; it
    // lives in its store, which is alive while its Wasm code runs.
    let ctx = unsafe { &*ctx };
    // SAFETY: `limits` is the store's, as long-lived as `ctx`.
    let store = unsafe { (*ctx.limits).store }.cast::<StoreInner<T>>();
    if store.is_null() {
        set_pending(TrapReason::Host(Box::new(anyhow::anyhow!(
            "host function called with no store calling in"
        ))));
        return 1;
    }
    // SAFETY: `store` was handed down by `StoreInner::enter` of the call that
    // entered Wasm, derived from its exclusive borrow, and that caller uses
    // no reference into the store until Wasm returns to it. This is the
    // only borrow of the store while the host function runs.
    let store = unsafe { &mut *store };
    let nparams = ctx.ty.param_types().len();
    let nresults = ctx.ty.result_types().len();
    // SAFETY: the trampoline's value array has max(params, results) slots.
    let raw = unsafe { std::slice::from_raw_parts_mut(values, nparams.max(nresults).max(1)) };
    // Values go through stack arrays unless there are many.
    let mut small = [Val::I32(0); 2 * MAX_TYPED];
    let mut large = Vec::new();
    let vals: &mut [Val] = if nparams + nresults <= small.len() {
        &mut small[..nparams + nresults]
    } else {
        large.resize(nparams + nresults, Val::I32(0));
        &mut large
    };
    let (params, results) = vals.split_at_mut(nparams);
    for ((p, t), r) in params.iter_mut().zip(ctx.ty.param_types()).zip(raw.iter()) {
        *p = Val::from_raw(&mut store.opaque, *r, *t);
    }
    for (r, t) in results.iter_mut().zip(ctx.ty.result_types()) {
        *r = Val::default_in(&store.opaque.engine, *t);
    }
    let caller = if caller_vmctx.is_null() {
        None
    } else {
        store
            .opaque
            .instance_by_vmctx
            .get(&(caller_vmctx as usize))
            .copied()
    };
    let func = ctx.func.clone();
    // Without a call hook (the common case) nothing but the function runs.
    let hooked = store.call_hook.is_some();
    // Where `WasmBacktrace::capture` starts, while the function runs, and
    // where it goes on from for the host functions of nested calls.
    let depth = store.opaque.host_fps.len();
    store.opaque.host_fps.push(fp);
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(|| {
        if hooked {
            store.run_call_hook(CallHook::CallingHost)?;
        }
        let r = func(
            Caller {
                store: &mut *store,
                caller,
            },
            params,
            results,
        );
        if hooked {
            // After a failure too; the hook's error wins, as in Wasmtime.
            store.run_call_hook(CallHook::ReturningFromHost)?;
        }
        r
    }));
    store.opaque.host_fps.truncate(depth);
    let outcome = match outcome {
        Ok(Ok(())) => check_results(&ctx.ty, results, &store.opaque),
        Ok(Err(e)) => Err(e),
        Err(panic) => {
            set_pending(TrapReason::Host(Box::new(HostPanic(panic))));
            return 1;
        }
    };
    match outcome {
        Ok(()) => {
            for (i, r) in results.iter().enumerate() {
                raw[i] = r.to_raw(&store.opaque);
            }
            0
        }
        Err(e) => {
            let exn = e
                .downcast_ref::<crate::Exception>()
                .filter(|x| x.tag.0.store_id == store.opaque.id)
                .map(|x| x.raw);
            if let Some(exn) = exn {
                // Nothing of this frame may need dropping once we leave it.
                drop(e);
                drop(large);
                drop(func);
                // SAFETY: `exn` is a live exception of this store (its own,
                // or one an earlier call returned; the store keeps both),
                // `fp` is the trampoline's frame pointer, and this frame
                // owns nothing left to drop.
                unsafe {
                    wasm_jit_backend::exceptions::throw_from_host(
                        exn as *const wasm_jit_backend::exceptions::VMException,
                        fp,
                    )
                }
            }
            set_pending(TrapReason::Host(Box::new(e)));
            1
        }
    }
}

/// Checks what a host function returned before it reaches compiled code:
/// types, and that references belong to this store (never a panic here,
/// where unwinding would cross into Wasm frames).
fn check_results(ty: &FuncType, results: &[Val], store: &StoreOpaque) -> Result<()> {
    for (r, t) in results.iter().zip(ty.result_types()) {
        r.check_type(store, *t, "host function result")?;
        r.check_store(store, "a host function result")?;
    }
    Ok(())
}

impl Func {
    /// A host function of type `ty` that runs `f`. Returning an error from
    /// `f` stops the Wasm code that called it; the error reaches the
    /// embedder's call with a [`WasmBacktrace`](crate::WasmBacktrace) of
    /// the Wasm frames as context (`downcast_ref` still finds it).
    pub fn new<T: 'static>(
        mut store: impl AsContextMut<Data = T>,
        ty: FuncType,
        f: impl Fn(Caller<'_, T>, &[Val], &mut [Val]) -> Result<()> + Send + Sync + 'static,
    ) -> Func {
        Func::from_arc(store.as_context_mut().0, ty, Arc::new(f))
            .expect("cannot create a trampoline for a host function")
    }

    pub(crate) fn from_arc<T: 'static>(
        store: &mut StoreInner<T>,
        ty: FuncType,
        f: Arc<HostFn<T>>,
    ) -> Result<Func> {
        let engine = store.opaque.engine.clone();
        let trampoline = engine.host_trampoline(ty.raw())?;
        let type_id = engine.inner().types.intern(ty.raw());
        let mut ctx = Box::new(HostFuncCtx {
            entry: host_entry::<T>,
            funcref: VMFuncRef {
                func_ptr: trampoline,
                type_id,
                def_index: u32::MAX,
                vmctx: std::ptr::null_mut(),
            },
            limits: store.opaque.limits.as_ptr(),
            ty: ty.clone(),
            func: f,
        });
        ctx.funcref.vmctx = &mut *ctx as *mut HostFuncCtx<T> as *mut u8;
        let funcref = &ctx.funcref as *const VMFuncRef;
        let s = &mut store.opaque;
        s.host_funcs.push(ctx);
        Ok(Func(s.add_func(funcref, ty, type_id)))
    }

    /// The function's type.
    pub fn ty(&self, store: impl AsContext) -> FuncType {
        let s = &store.as_context().0.opaque;
        s.funcs[s.check(self.0)].ty.clone()
    }

    /// Whether the function is of type `ty` or of one of its subtypes: the
    /// same number of parameters and results, each parameter of `ty` a
    /// subtype of the function's, each result of the function a subtype of
    /// `ty`'s (so it can be called as a function of type `ty`).
    pub fn matches_ty(&self, store: impl AsContext, ty: &FuncType) -> bool {
        let ctx = store.as_context();
        let s = &ctx.0.opaque;
        let mine = &s.funcs[s.check(self.0)].ty;
        func_type_matches(&s.engine, mine, ty)
    }

    /// Calls the function with `params`, writing `results`. Traps and host
    /// errors come back as `Err`; the store stays usable.
    pub fn call(
        &self,
        mut store: impl AsContextMut,
        params: &[Val],
        results: &mut [Val],
    ) -> Result<()> {
        let ctx = store.as_context_mut();
        let s = &mut ctx.0.opaque;
        let index = s.check(self.0);
        let ty = s.funcs[index].ty.clone();
        if params.len() != ty.param_types().len() {
            bail!(
                "function of type {ty} expects {} arguments, got {}",
                ty.param_types().len(),
                params.len()
            );
        }
        if results.len() != ty.result_types().len() {
            bail!(
                "function of type {ty} has {} results, but {} were expected",
                ty.result_types().len(),
                results.len()
            );
        }
        let mut raw = vec![ValRaw::default(); params.len().max(results.len()).max(1)];
        for (i, (p, t)) in params.iter().zip(ty.param_types()).enumerate() {
            p.check_type(s, *t, "argument")?;
            p.check_store(s, "an argument")?;
            raw[i] = p.to_raw(s);
        }
        let funcref = s.funcs[index].funcref;
        let trampoline = s.trampoline(index)?;
        ctx.0.enter(|store| {
            // SAFETY: `store` comes from `enter`; nothing borrows it here.
            unsafe {
                call_raw(
                    &raw mut (*store).opaque,
                    funcref,
                    trampoline,
                    &mut raw,
                    ty.result_types(),
                )
            }
        })?;
        let s = &mut ctx.0.opaque;
        for (i, t) in ty.result_types().iter().enumerate() {
            results[i] = Val::from_raw(s, raw[i], *t);
        }
        Ok(())
    }
}

/// Calls `funcref` through `trampoline` (made for its type) with arguments
/// and results in `raw`. Results of an exnref type among `results` are
/// pinned (never reclaimed) as soon as the call returns, before the call
/// hook runs Wasm again; callers whose results can be no exnref pass none.
///
/// # Safety
/// `store` must be the `opaque` part of the store pointer handed down by
/// [`StoreInner::enter`](crate::store::StoreInner::enter), with no reference
/// into the store live during the call (host functions borrow it then);
/// `funcref` must belong to that store and `trampoline` match its type.
pub(crate) unsafe fn call_raw(
    store: *mut StoreOpaque,
    funcref: *const VMFuncRef,
    trampoline: ArrayTrampoline,
    raw: &mut [ValRaw],
    results: &[crate::types::ValType],
) -> Result<()> {
    // SAFETY: short-lived borrows of the store before and after the call,
    // while nothing else uses it (caller's contract).
    let (max_stack, limits, hook) = unsafe {
        (
            wasm_jit_backend::traps::StackBudget {
                max_wasm_stack: (*store).engine.config().max_wasm_stack,
                stack_scale: (*store).stack_scale,
            },
            (*store).limits.as_ptr(),
            (*store).call_hook,
        )
    };
    // The store's call hook, given the store calling in (as `enter` handed
    // it down); nothing else borrows the store while it runs.
    let call_hook = move |kind: CallHook| -> Result<()> {
        // SAFETY: `limits` is the store's.
        let inner = unsafe { (*limits).store };
        match hook {
            // SAFETY: `inner` is the store, handed down for this call, and
            // only raw pointers to it are held here.
            Some(hook) if !inner.is_null() => unsafe { hook(inner, kind) },
            _ => Ok(()),
        }
    };
    if hook.is_some() {
        call_hook(CallHook::CallingWasm)?;
    }
    // SAFETY: `funcref` belongs to this store, which runs on this thread
    // only, and no reference to it is live.
    let code = unsafe { wasm_jit_backend::instance::resolve_funcref(funcref.cast_mut()) }
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    // SAFETY: `funcref` belongs to this store and is live; the trampoline
    // matches its type; `raw` has room for parameters and results; `limits`
    // is the store's. No reference into the store is live during the call:
    // host functions borrow it through the pointer `enter` handed down.
    let result = unsafe {
        let f = &*funcref;
        call_wasm(
            trampoline,
            f.vmctx,
            std::ptr::null_mut(),
            code,
            raw.as_mut_ptr(),
            limits,
            max_stack,
        )
    };
    if let Err(trap) = &result
        && matches!(
            trap.reason,
            TrapReason::Wasm(wasm_jit_frontend::TrapKind::OutOfFuel)
        )
    {
        // The trapping code could not write its fuel back: it is all used.
        // SAFETY: as above.
        unsafe { (*limits).fuel = 0 };
    }
    if result.is_ok() {
        let exnrefs = results
            .iter()
            .zip(raw.iter())
            .filter(|(t, _)| matches!(t, crate::types::ValType::Ref(r) if r.heap.is_exn()));
        for (_, v) in exnrefs {
            let exn = v.get_ref();
            if exn != 0 {
                // SAFETY: a non-null exnref this store's Wasm returned: a
                // live exception.
                unsafe { wasm_jit_backend::exceptions::pin(exn as *const _) };
            }
        }
    }
    if hook.is_some() {
        // After a trap too; the hook's error wins, as in Wasmtime.
        call_hook(CallHook::ReturningFromWasm)?;
    }
    result.map_err(|mut trap| {
        // A nested call's trap: its backtrace goes on through the Wasm
        // that called the host functions running, as in Wasmtime (also
        // when the call itself had no Wasm frames: a host function).
        // SAFETY: the call is over; nothing else borrows the store.
        let s = unsafe { &*store };
        if !s.engine.config().wasm_backtrace {
            trap.frames.clear();
        } else {
            trap.frames.extend(crate::trap::host_callers(s));
            trap.frames.truncate(s.engine.config().backtrace_max_frames);
        }
        match trap.reason {
            TrapReason::Exception(e) => {
                // SAFETY: the call is over; nothing else borrows the store.
                crate::trap::uncaught_error(unsafe { &mut *store }, e, trap.frames)
            }
            _ => into_error(trap),
        }
    })
}

/// Whether a function of type `actual` can be used as one of type
/// `expected` (types of `engine`): parameters contravariant, results
/// covariant.
pub(crate) fn func_type_matches(
    engine: &crate::Engine,
    actual: &FuncType,
    expected: &FuncType,
) -> bool {
    let types = &engine.inner().types;
    let (ap, ar) = (actual.param_types(), actual.result_types());
    let (ep, er) = (expected.param_types(), expected.result_types());
    ap.len() == ep.len()
        && ar.len() == er.len()
        && ep.iter().zip(ap).all(|(e, a)| types.value_subtype(*e, *a))
        && ar.iter().zip(er).all(|(a, e)| types.value_subtype(*a, *e))
}
