// greeter (version 2): remembers every name, in a new state layout: "v2:names" holds them as a
// comma-separated list, "v2:greeting" the greeting word. Payload (text): "add <name>" (appends;
// replies "added", where version 1 replies "ok"), "greet" (replies "<greeting> <names>").
//
// `migrate` runs once, when an actor moves to this code from version 1 (the upgrade's payload is
// the greeting word): it moves version 1's "name" into the list and removes the old key. It
// refuses (a panic: nothing changes) when the state is already in the new layout, or when the
// payload is "fail" (what the tests use to see a failed migration leave everything as it was).
import { input, panic, replyString, state, stringOf } from '../../sdk/assemblyscript/index';

export function handle(): void {
  const cmd = stringOf(input());
  if (cmd.startsWith('add ')) {
    const names = state.getString('v2:names');
    state.setString('v2:names', names.length == 0 ? cmd.substring(4) : names + ',' + cmd.substring(4));
    replyString('added');
  } else if (cmd == 'greet') {
    replyString(state.getString('v2:greeting', 'hello') + ' ' + state.getString('v2:names'));
  } else {
    panic('usage: add <name> | greet');
  }
}

export function migrate(): void {
  const greeting = stringOf(input());
  if (greeting == 'fail') panic('migration refused');
  if (state.has('v2:names')) panic('already migrated');
  state.setString('v2:names', state.getString('name'));
  state.remove('name');
  state.setString('v2:greeting', greeting.length == 0 ? 'hello' : greeting);
  replyString('migrated');
}
