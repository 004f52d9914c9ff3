// greeter (version 1): remembers one name. Payload (text): "add <name>" (replaces the name),
// "greet" (replies "hello <name>"). Upgraded to greeter-v2 with a migration (examples/greeter-v2).
// `final` runs when the actor is deleted: it says goodbye in the log.
import { inputString, log, panic, replyString, state } from '../../sdk/assemblyscript/index';

export function handle(): void {
  const cmd = inputString();
  if (cmd.startsWith('add ')) {
    state.setString('name', cmd.substring(4));
    replyString('ok');
  } else if (cmd == 'greet') {
    replyString('hello ' + state.getString('name', 'nobody'));
  } else {
    panic('usage: add <name> | greet');
  }
}

export function final(): void {
  log.info('goodbye ' + state.getString('name', 'nobody'));
}
