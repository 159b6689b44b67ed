//! CPU time of the process and the one-line JSON report every floor program prints.

#[repr(C)]
struct Timeval {
    sec: i64,
    usec: i64,
}
#[repr(C)]
struct Rusage {
    utime: Timeval,
    stime: Timeval,
    rest: [i64; 14],
}
extern "C" {
    fn getrusage(who: i32, usage: *mut Rusage) -> i32;
}

pub fn cpu() -> f64 {
    let mut r = Rusage { utime: Timeval { sec: 0, usec: 0 }, stime: Timeval { sec: 0, usec: 0 }, rest: [0; 14] };
    unsafe { getrusage(0, &mut r) };
    r.utime.sec as f64 + r.utime.usec as f64 / 1e6 + r.stime.sec as f64 + r.stime.usec as f64 / 1e6
}

pub fn report(ops: u64, wall: f64, cpu_s: f64, extra: &str) {
    let sep = if extra.is_empty() { "" } else { ", " };
    println!("{{\"ops\": {ops}, \"wall\": {wall:.6}, \"cpu\": {cpu_s:.6}{sep}{extra}}}");
}
