;; Hands the host a pointer range past the end of memory: MemoryOutOfBounds, the host is unharmed.
(module (import "tessera" "reply" (func $reply (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "handle") (call $reply (i32.const 65500) (i32.const 100))))
