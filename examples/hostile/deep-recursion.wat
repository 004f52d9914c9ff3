;; Recurses without end: ends in StackOverflow, at the same depth on every machine.
(module (memory (export "memory") 1) (func $r (export "handle") (call $r)))
