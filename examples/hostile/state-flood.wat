;; Writes ever new keys until a limit stops it (the write limit or gas).
(module (import "tessera" "state_write" (func $w (param i32 i32 i32 i32))) (memory (export "memory") 1)
  (func (export "handle") (local $i i32)
    (loop
      (i32.store (i32.const 0) (local.get $i))
      (call $w (i32.const 0) (i32.const 4) (i32.const 0) (i32.const 4))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br 0))))
