// reminder: a timer that re-arms itself. Payload (text):
//   "every <ms> <times>"  arms a reminder every <ms> ms, <times> times; replies "armed"
//   "schedule <ms> <n>"   schedules <n> one-off timers, each <ms> ms away (tests and limits); replies "ok"
//   "stop"                 later ticks do nothing; replies "stopped"
//   "count"                replies how many ticks ran
//   "touch"                what a tick does, sent from outside: counts and logs (bench/timers.ts compares the two)
// A tick is the message the actor sends itself ("tick"); it counts, logs its batch time, and
// re-arms while reminders remain. A timer's gas is paid by the message that schedules it, so a
// chain of ticks runs on the gas of the message that armed it: each tick hands on what it has
// left but a reserve for finishing itself (the gas limit of "every" is the chain's fuel).
import { blockTime, bytesOf, gasLeft, inputString, log, panic, replyString, scheduleSelf, self, source, state } from '../../sdk/assemblyscript/index';

/** Gas each one-off timer of "schedule" carries. */
const TICK_GAS: u64 = 10_000_000;
/** What a tick keeps for itself when it re-arms: the schedule call and the rest of the tick. */
const RESERVE: u64 = 1_000_000;

function arm(ms: i64): void {
  const left = gasLeft();
  if (left < RESERVE + TICK_GAS) panic('out of fuel: arm again with more gas');
  scheduleSelf(ms, bytesOf('tick'), left - RESERVE);
}

export function handle(): void {
  const cmd = inputString();
  if (cmd == 'tick') {
    // Only the actor's own timers tick it.
    if (source() != self()) panic('tick is sent by the actor itself');
    const ticks = state.getU64('ticks') + 1;
    state.setU64('ticks', ticks);
    log.info('tick ' + ticks.toString() + ' at ' + blockTime().toString());
    const left = state.getU64('left');
    if (left > 0 && !state.has('stopped')) {
      state.setU64('left', left - 1);
      arm(state.getI64('every'));
    }
    replyString(ticks.toString());
    return;
  }
  const parts = cmd.split(' ');
  const op = parts[0];
  if (op == 'every' && parts.length == 3) {
    const every = I64.parseInt(parts[1]);
    const times = U64.parseInt(parts[2]);
    if (times == 0) panic('times must be at least 1');
    state.setI64('every', every);
    state.setU64('left', times - 1);
    state.remove('stopped');
    arm(every);
    replyString('armed');
  } else if (op == 'schedule' && parts.length == 3) {
    const ms = I64.parseInt(parts[1]);
    const n = I32.parseInt(parts[2]);
    for (let i = 0; i < n; i++) scheduleSelf(ms, bytesOf('tick'), TICK_GAS);
    replyString('ok');
  } else if (op == 'stop') {
    state.setString('stopped', '1');
    replyString('stopped');
  } else if (op == 'touch') {
    const touches = state.getU64('touches') + 1;
    state.setU64('touches', touches);
    log.info('touch ' + touches.toString() + ' at ' + blockTime().toString());
    replyString(touches.toString());
  } else if (op == 'count') {
    replyString(state.getU64('ticks').toString());
  } else {
    panic('usage: every <ms> <times> | schedule <ms> <n> | stop | touch | count');
  }
}
