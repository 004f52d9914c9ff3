/** Phantom key carrying a workflow's input and output types; never set at run time. */
declare const types: unique symbol;

/**
 * A registered workflow, typed: `Tessera.workflow(name, fn)` returns one and
 * `Tessera.startWorkflow(ref, input)` takes it, so the input is checked against the function's and
 * `handle.result()` resolves with the function's output type. At run time it is only the name.
 */
export interface WorkflowRef<I, O> {
  readonly name: string;
  /** Types only, absent at run time: the input is contravariant (a function's parameter), the output covariant. */
  readonly [types]?: { input: (input: I) => void; output: O };
}

/** The reference of the workflow registered under `name`. */
export const workflowRef = <I, O>(name: string): WorkflowRef<I, O> => Object.freeze({ name });
