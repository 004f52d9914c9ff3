;; A 1,024 x 1,024 fan-out: a message with an empty payload sends 1,024 messages to its own actor,
;; each of which sends 1,024 more, each message carrying a 2,048th of the gas left (at least the
;; minimum a message carries). Counts its successful executions under the key "n" (u64 LE).
;; Bounded by gas: from the default gas limit, the second level runs out of gas and sends nothing.
(module
  (import "tessera" "input_size" (func $input_size (result i32)))
  (import "tessera" "input_read" (func $input_read (param i32)))
  (import "tessera" "self_size" (func $self_size (result i32)))
  (import "tessera" "self_read" (func $self_read (param i32)))
  (import "tessera" "send" (func $send (param i32 i32 i32 i32 i64)))
  (import "tessera" "gas_left" (func $gas_left (result i64)))
  (import "tessera" "state_read" (func $state_read (param i32 i32 i32 i32) (result i32)))
  (import "tessera" "state_write" (func $state_write (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  ;; 0: the key "n"; 8: the count; 16: the payload (depth); 32: this actor's id.
  (data (i32.const 0) "n")
  (func $count
    (i64.store (i32.const 8) (i64.const 0))
    (drop (call $state_read (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8)))
    (i64.store (i32.const 8) (i64.add (i64.load (i32.const 8)) (i64.const 1)))
    (call $state_write (i32.const 0) (i32.const 1) (i32.const 8) (i32.const 8)))
  (func (export "handle") (local $depth i32) (local $i i32) (local $gas i64) (local $len i32)
    (if (call $input_size)
      (then (call $input_read (i32.const 16)) (local.set $depth (i32.load8_u (i32.const 16)))))
    (if (i32.lt_u (local.get $depth) (i32.const 2))
      (then
        (i32.store8 (i32.const 16) (i32.add (local.get $depth) (i32.const 1)))
        (local.set $len (call $self_size))
        (call $self_read (i32.const 32))
        (local.set $gas (i64.div_u (call $gas_left) (i64.const 2048)))
        (if (i64.lt_u (local.get $gas) (i64.const 100000)) (then (local.set $gas (i64.const 100000))))
        (loop $sends
          (call $send (i32.const 32) (local.get $len) (i32.const 16) (i32.const 1) (local.get $gas))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $sends (i32.lt_u (local.get $i) (i32.const 1024))))))
    (call $count)))
