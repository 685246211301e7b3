//! Running a benchmark process and measuring it: wall time, CPU time and
//! peak resident memory of that one child (from `wait4`).

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Instant;

use anyhow::{Result, bail};

/// One run.
#[derive(Clone, Copy, Debug)]
pub struct Sample {
    /// Wall-clock seconds.
    pub wall: f64,
    /// User plus system CPU seconds.
    pub cpu: f64,
    /// Peak resident set, KiB.
    pub max_rss_kib: i64,
}

/// Runs `cmd`, returning its measurements and its standard output.
pub fn run_measured(cmd: &[String]) -> Result<(Sample, Vec<u8>)> {
    let start = Instant::now();
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out)?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our child, not yet reaped (std's `Child` is never
    // waited on after this), and both out-pointers are valid.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = start.elapsed().as_secs_f64();
    if rc != pid {
        bail!("wait4 failed for `{}`", cmd.join(" "));
    }
    if libc::WIFSIGNALED(status) {
        bail!("died of signal {}", libc::WTERMSIG(status));
    }
    if !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        bail!("exited with status {}", libc::WEXITSTATUS(status));
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((
        Sample {
            wall,
            cpu: secs(usage.ru_utime) + secs(usage.ru_stime),
            max_rss_kib: usage.ru_maxrss,
        },
        out,
    ))
}
