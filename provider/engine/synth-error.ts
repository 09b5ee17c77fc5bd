/**
 * A synth that failed, told the way the operator needs it: the app's own error message first
 * (a ConstructError names the construct path: `[stack/host/dataset] ...`), and the stack trace
 * and the rest of the app's output only when asked for (BACKPLANE_LOG=debug). Pure: the
 * app's output is parsed for the error it died of — Node's report of an uncaught error (a
 * `Name: message` line, the message's further lines, then `    at ...` frames) or Python's
 * traceback (its last line and what follows it). Anything else is shown whole, as it came.
 */

export interface AppError {
  /** the error's name as the app printed it: ConstructError, TypeError, Error [ERR_X], ValueError */
  name: string;
  /** its message, all of its lines */
  message: string;
}

/** Node: `ConstructError: msg`, `Error [ERR_MODULE_NOT_FOUND]: msg`; a name that says it is an error. */
const NODE_HEADER = /^((?:[A-Za-z_$][\w$]*)?(?:Error|Exception)(?: \[[A-Z0-9_]+\])?): (.*)$/;
const FRAME = /^\s+at \S/;
/** Python: `ValueError: msg`, `jsii.errors.JSIIError: msg` */
const PYTHON_HEADER = /^([A-Za-z_][\w.]*): (.*)$/;

/** The error the app's output reports it died of, or null when the output says no such thing. */
export function appError(output: string): AppError | null {
  const lines = output.replace(/\r\n/g, "\n").split("\n");
  const firstFrame = lines.findIndex((l) => FRAME.test(l));
  if (firstFrame > 0) {
    // the nearest error line before the first frame: a message may span lines, the output before it is the app's
    for (let i = firstFrame - 1; i >= 0; i--) {
      const m = NODE_HEADER.exec(lines[i]!);
      if (m) return { name: m[1]!, message: [m[2]!, ...lines.slice(i + 1, firstFrame)].join("\n").trimEnd() };
    }
  }
  const traceback = lines.lastIndexOf("Traceback (most recent call last):");
  if (traceback >= 0) {
    const at = lines.findIndex((l, i) => i > traceback && l !== "" && !/^\s/.test(l));
    const m = at >= 0 ? PYTHON_HEADER.exec(lines[at]!) : null;
    if (m) return { name: m[1]!, message: [m[2]!, ...lines.slice(at + 1)].join("\n").trimEnd() };
  }
  return null;
}

/** The app of cdktf.json failed. `message`: the app's error first; `output`: all it printed. */
export class SynthError extends Error {
  readonly appError: AppError | null;
  constructor(readonly app: string, readonly exitCode: number | undefined, readonly output: string, verbose: boolean) {
    const found = appError(output);
    const exited = exitCode === undefined ? "was killed" : `exited ${exitCode}`;
    const all = `The app's output (\`${app}\`, ${exited}):\n${output.trimEnd()}`;
    super(
      !found
        ? `synth failed: the app (\`${app}\`) ${exited}:\n${output.trimEnd()}`
        : [
          `synth failed: ${found.message}`,
          verbose ? all : `(${found.name === "Error" ? "" : `${found.name}, `}thrown by the app \`${app}\`; BACKPLANE_LOG=debug shows its stack trace and the app's whole output)`,
        ].join("\n"),
    );
    this.name = "SynthError";
    this.appError = found;
  }
}
