/**
 * The store `Tessera.open` uses when given none and `TESSERA_STORE` is not set, and the `tessera`
 * command's default: `tessera.db` in the working directory. In a module of its own so that the
 * command can name it without loading the facade.
 */
export const DEFAULT_STORE = 'sqlite:./tessera.db';
