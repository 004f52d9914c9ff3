;; A doubling self-send storm: every message sends two messages to its own actor, each with half
;; the gas left less what sending costs, until that is below the minimum a message carries: the
;; storm stops growing once its gas runs out. Counts its executions under the key "n" (u64 LE).
(module
  (import "tessera" "self_size" (func $self_size (result i32)))
  (import "tessera" "self_read" (func $self_read (param i32)))
  (import "tessera" "send" (func $send (param i32 i32 i32 i32 i64)))
  (import "tessera" "gas_left" (func $gas_left (result i64)))
  (import "tessera" "state_read" (func $state_read (param i32 i32 i32 i32) (result i32)))
  (import "tessera" "state_write" (func $state_write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  ;; 0: the key "n"; 8: the count; 32: this actor's id.
  (data (i32.const 0) "n")
  (func $count
    (i64.store (i32.const 8) (i64.const 0))
    (drop (call $state_read (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8)))
    (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.const 1)))
    (call $state_write (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8)))
  (func (export "handle") (local $gas i64) (local $len i32)
    (call $count)
    ;; Each send costs 100,000 gas and a little per byte besides the gas it carries.
    (local.set $gas (i64.sub (i64.div_u (call $gas_left) (i64.const 2)) (i64.const 200000)))
    (if (i64.ge_s (local.get $gas) (i64.const 100000))
      (then
        (local.set $len (call $self_size))
        (call $self_read (i32.const 32))
        (call $send (i32.const 32) (local.get $len) (i32.const 16) (i32.const 0) (local.get $gas))
        (call $send (i32.const 32) (local.get $len) (i32.const 16) (i32.const 0) (local.get $gas))))))
