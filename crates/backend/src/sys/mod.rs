//! Platform-specific code. Only Unix-like systems are supported today; another
//! OS is a new module here with the same interface.

#[cfg(unix)]
pub mod signals;
#[cfg(unix)]
pub mod stack;
