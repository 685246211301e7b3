//! Traps as errors.

use std::fmt;

use wasm_jit_backend::{FrameInfo, Trap as RawTrap, TrapReason};

pub use wasm_jit_frontend::TrapKind as Trap;

/// The Wasm frames active when a trap happened, innermost first. Attached
/// as context to trap errors: `err.downcast_ref::<WasmBacktrace>()`.
#[derive(Clone, Debug)]
pub struct WasmBacktrace {
    frames: Vec<FrameInfo>,
}

impl WasmBacktrace {
    /// The frames, innermost first.
    pub fn frames(&self) -> &[FrameInfo] {
        &self.frames
    }
}

impl fmt::Display for WasmBacktrace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error while executing at wasm backtrace:")?;
        for (i, frame) in self.frames.iter().enumerate() {
            let name = match &frame.func_name {
                Some(n) => n.clone(),
                None => format!("<wasm function {}>", frame.func_index),
            };
            let module = frame.module_name.as_deref().unwrap_or("<unknown>");
            match frame.module_offset {
                Some(off) => write!(f, "{i:>4}: {off:#8x} - {module}!{name}")?,
                None => write!(f, "{i:>4}: {:>8} - {module}!{name}", "")?,
            }
            if i + 1 < self.frames.len() {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

/// A host function panicked; the panic resumes in the embedder's call.
pub(crate) struct HostPanic(pub(crate) Box<dyn std::any::Any + Send>);

/// Converts what the backend caught into the error the embedder sees:
/// a [`Trap`] (with a [`WasmBacktrace`] as context), or the host function's
/// own error unchanged. A host panic resumes unwinding here.
pub(crate) fn into_error(trap: RawTrap) -> anyhow::Error {
    match trap.reason {
        TrapReason::Wasm(kind) => {
            let err = anyhow::Error::new(kind);
            if trap.frames.is_empty() {
                err
            } else {
                err.context(WasmBacktrace {
                    frames: trap.frames,
                })
            }
        }
        TrapReason::Host(payload) => {
            let payload = match payload.downcast::<HostPanic>() {
                Ok(panic) => std::panic::resume_unwind(panic.0),
                Err(p) => p,
            };
            match payload.downcast::<anyhow::Error>() {
                Ok(e) => *e,
                Err(p) => match p.downcast::<String>() {
                    Ok(msg) => anyhow::anyhow!("{msg}"),
                    Err(_) => anyhow::anyhow!("host function failed"),
                },
            }
        }
    }
}
