;; Grows memory until growth fails, then replies the page count it reached: the memory limit
;; (1024 pages by default) stops it, and every page was paid for in gas.
(module (import "tessera" "reply" (func $reply (param i32 i32))) (memory (export "memory") 1)
  (func (export "handle")
    (loop (br_if 0 (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
    (i32.store (i32.const 0) (memory.size))
    (call $reply (i32.const 0) (i32.const 4))))
