;; Replies 4 MiB, more than the reply limit: InvalidHostCall.
(module (import "tessera" "reply" (func $reply (param i32 i32))) (memory (export "memory") 80)
  (func (export "handle") (call $reply (i32.const 0) (i32.const 4194304))))
