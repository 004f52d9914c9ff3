// A test guest that exercises every SDK function; the payload names the one to run.
import {
  blockHeight, blockTime, bytesOf, gasLeft, input, inputString, log, panic, randomBytes, reply, replyString, self, send, source, state, stringOf,
} from '../../sdk/assemblyscript/index';

export function handle(): void {
  const cmd = inputString();
  if (cmd == 'echo') {
    reply(input());
  } else if (cmd == 'ids') {
    replyString(self() + '|' + source());
  } else if (cmd == 'gas') {
    replyString(gasLeft() > 0 ? 'yes' : 'no');
  } else if (cmd == 'block') {
    replyString(blockTime().toString() + ' ' + blockHeight().toString());
  } else if (cmd == 'random') {
    reply(randomBytes(16));
  } else if (cmd == 'log') {
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    replyString('logged');
  } else if (cmd == 'state-write') {
    state.setString('s', 'text');
    state.set('b', bytesOf('bytes'));
    state.setU64('u', 18446744073709551615);
    state.setI64('i', -42);
    state.setBytes(bytesOf('raw'), bytesOf('r'));
    state.setString('gone', 'x');
    state.remove('gone');
    replyString('written');
  } else if (cmd == 'state-read') {
    const b = state.get('b');
    replyString(
      state.getString('s') + ',' + (b === null ? 'null' : stringOf(b)) + ',' + state.getU64('u').toString() + ',' +
        state.getI64('i').toString() + ',' + (state.has('gone') ? 'has' : 'hasnt') + ',' + stringOf(state.getBytes(bytesOf('raw'))!) + ',' +
        state.getString('missing', 'fallback'),
    );
  } else if (cmd.startsWith('keys-put ')) {
    const ks = cmd.substring(9).split(' ');
    for (let i = 0; i < ks.length; i++) state.setString(ks[i], 'v');
    replyString('put');
  } else if (cmd.startsWith('keys-del ')) {
    const ks = cmd.substring(9).split(' ');
    for (let i = 0; i < ks.length; i++) state.remove(ks[i]);
    replyString(state.keys(cmd.substring(9, 10)).join(','));
  } else if (cmd == 'keys-mix') {
    state.remove('user:b');
    state.setString('user:d', 'v');
    state.setString('user:aa', 'v');
    replyString(state.keys('user:').join(',') + '|' + state.keysAfter('user:', 'user:a', 2).join(','));
  } else if (cmd.startsWith('keys ')) {
    replyString(state.keys(cmd.substring(5)).join(','));
  } else if (cmd == 'send') {
    send('peer', bytesOf('hi'), 100_000);
    replyString('sent');
  } else if (cmd == 'panic') {
    panic('nope');
  } else if (cmd == 'assert') {
    assert(false, 'bad assert');
  } else {
    replyString('unknown');
  }
}
