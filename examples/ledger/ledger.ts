// ledger: accounts with balances and a fixed total supply.
// init payload: "alice=100,bob=50" mints those balances (the supply is their sum).
// handle payload: "transfer <from> <to> <amount>", "balance <account>" or "supply".
// A transfer with an unknown amount or insufficient funds panics, so it changes nothing.
import { inputString, panic, replyString, state } from '../../sdk/assemblyscript/index';

function balanceOf(account: string): u64 {
  return state.getU64('b:' + account);
}

export function init(): void {
  const spec = inputString();
  let supply: u64 = 0;
  if (spec.length > 0) {
    const parts = spec.split(',');
    for (let i = 0; i < parts.length; i++) {
      const eq = parts[i].indexOf('=');
      if (eq < 0) panic('init: expected name=amount');
      const amount = U64.parseInt(parts[i].substring(eq + 1));
      state.setU64('b:' + parts[i].substring(0, eq), amount);
      supply += amount;
    }
  }
  state.setU64('supply', supply);
  replyString(supply.toString());
}

export function handle(): void {
  const words = inputString().split(' ');
  const op = words[0];
  if (op == 'balance' && words.length == 2) {
    replyString(balanceOf(words[1]).toString());
  } else if (op == 'supply') {
    replyString(state.getU64('supply').toString());
  } else if (op == 'transfer' && words.length == 4) {
    const from = words[1];
    const to = words[2];
    const amount = U64.parseInt(words[3]);
    if (amount == 0) panic('amount must be positive');
    const have = balanceOf(from);
    if (have < amount) panic('insufficient funds');
    state.setU64('b:' + from, have - amount);
    state.setU64('b:' + to, balanceOf(to) + amount);
    replyString('ok');
  } else {
    panic('usage: transfer <from> <to> <amount> | balance <account> | supply');
  }
}
