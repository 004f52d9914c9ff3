;; Panics with a message: UserPanic("hostile guest says no").
(module (import "tessera" "panic" (func $panic (param i32 i32))) (memory (export "memory") 1)
  (data (i32.const 0) "hostile guest says no")
  (func (export "handle") (call $panic (i32.const 0) (i32.const 21))))
