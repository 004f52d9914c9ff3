// Tessera's guest ABI v1 for C guests (see README, "Guest ABI"): the `tessera.*` imports, as the
// host provides them. Pointers are offsets into the guest's own memory; lengths are bytes.
#ifndef TESSERA_H
#define TESSERA_H

#define TESSERA_IMPORT(name) __attribute__((import_module("tessera"), import_name(name)))

/** Length of the current message's payload (or the init payload). */
TESSERA_IMPORT("input_size") int tessera_input_size(void);
/** Copies the payload to `ptr`. */
TESSERA_IMPORT("input_read") void tessera_input_read(void *ptr);
/** The sender's id, UTF-8: its length, and a copy. */
TESSERA_IMPORT("source_size") int tessera_source_size(void);
TESSERA_IMPORT("source_read") void tessera_source_read(void *ptr);
/** This actor's id, UTF-8: its length, and a copy. */
TESSERA_IMPORT("self_size") int tessera_self_size(void);
TESSERA_IMPORT("self_read") void tessera_self_read(void *ptr);
/** Sets the reply; at most once per message (a second call traps). */
TESSERA_IMPORT("reply") void tessera_reply(const void *ptr, int len);
/** Sends a message to actor `to`, with `gas` of this message's gas; delivered after the batch commits. */
TESSERA_IMPORT("send") void tessera_send(const void *to, int to_len, const void *ptr, int len, long long gas);
/** Copies up to `cap` bytes of the value of `key` to `out`; returns its length, or -1 if absent. */
TESSERA_IMPORT("state_read") int tessera_state_read(const void *key, int key_len, void *out, int cap);
/** Sets `key`; kept only if the message succeeds. */
TESSERA_IMPORT("state_write") void tessera_state_write(const void *key, int key_len, const void *val, int val_len);
TESSERA_IMPORT("state_delete") void tessera_state_delete(const void *key, int key_len);
/** A log line: level 0 debug, 1 info, 2 warn, 3 error. */
TESSERA_IMPORT("log") void tessera_log(int level, const void *ptr, int len);
TESSERA_IMPORT("gas_left") long long tessera_gas_left(void);
/** The batch's timestamp (ms since the epoch) and height: the same on every run. */
TESSERA_IMPORT("block_time") long long tessera_block_time(void);
TESSERA_IMPORT("block_height") long long tessera_block_height(void);
/** Deterministic bytes from the batch seed, the message id and the call's index. */
TESSERA_IMPORT("random") void tessera_random(void *ptr, int len);
/** Aborts the message with a UTF-8 message (status UserPanic); its state writes are dropped. */
TESSERA_IMPORT("panic") __attribute__((noreturn)) void tessera_panic(const void *ptr, int len);

#endif
