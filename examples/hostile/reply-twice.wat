;; Calls reply twice: the second call traps (InvalidHostCall).
(module (import "tessera" "reply" (func $reply (param i32 i32))) (memory (export "memory") 1)
  (func (export "handle") (call $reply (i32.const 0) (i32.const 1)) (call $reply (i32.const 0) (i32.const 1))))
