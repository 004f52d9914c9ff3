;; Spins forever: ends in OutOfGas.
(module (memory (export "memory") 1) (func (export "handle") (loop (br 0))))
