// A Tessera actor in Rust (wasm32-wasi, built with plain rustc as a cdylib): println! goes to the
// logs through the deterministic WASI subset; input and reply go through the tessera ABI; state
// keeps a greeting count.
use std::time::SystemTime;

#[link(wasm_import_module = "tessera")]
extern "C" {
    fn input_size() -> i32;
    fn input_read(ptr: *mut u8);
    fn reply(ptr: *const u8, len: i32);
    fn state_read(key_ptr: *const u8, key_len: i32, out_ptr: *mut u8, out_cap: i32) -> i32;
    fn state_write(key_ptr: *const u8, key_len: i32, val_ptr: *const u8, val_len: i32);
}

fn input() -> Vec<u8> {
    unsafe {
        let mut buf = vec![0u8; input_size() as usize];
        input_read(buf.as_mut_ptr());
        buf
    }
}

fn greeted() -> u64 {
    let key = b"greeted";
    let mut out = [0u8; 8];
    let n = unsafe { state_read(key.as_ptr(), key.len() as i32, out.as_mut_ptr(), 8) };
    if n == 8 { u64::from_le_bytes(out) } else { 0 }
}

#[no_mangle]
pub extern "C" fn handle() {
    let name = String::from_utf8_lossy(&input()).into_owned();
    let count = greeted() + 1;
    let key = b"greeted";
    let value = count.to_le_bytes();
    unsafe { state_write(key.as_ptr(), key.len() as i32, value.as_ptr(), 8) };
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    println!("hello from Rust, input={} time={}", name, now);
    let text = format!("Rust greets {} (#{})", name, count);
    unsafe { reply(text.as_ptr(), text.len() as i32) };
}
