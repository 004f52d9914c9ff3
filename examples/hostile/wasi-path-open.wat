;; Imports a WASI function outside the deterministic subset: rejected at upload, by name.
(module
  (import "wasi_snapshot_preview1" "path_open"
    (func (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (memory (export "memory") 1) (func (export "handle")))
