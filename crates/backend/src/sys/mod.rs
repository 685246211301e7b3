//! Platform-specific code. Only Unix-like systems are supported today; another
//! OS is a new module here with the same interface.

pub mod address_space;
#[cfg(unix)]
pub mod signals;
#[cfg(unix)]
pub mod stack;
