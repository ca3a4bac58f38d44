import { statSync } from "node:fs";
import { InputError } from "../errors.js";
import { loadProblemFile as loadFile } from "../io/problem-file.js";
import type { Problem } from "../problem.js";

/**
 * A problem FILE is a regular file or a pipe (`/dev/stdin`): a device such as /dev/zero or
 * /dev/urandom would be read forever. Errors of the read itself are the loader's.
 */
export function loadProblemFile(file: string, options: { intercept?: boolean } = {}): Problem {
  let kind: string | null = null;
  try {
    const st = statSync(file);
    if (st.isCharacterDevice()) kind = "a character device";
    else if (st.isBlockDevice()) kind = "a block device";
    else if (st.isSocket()) kind = "a socket";
  } catch {
    // missing or unreadable: the loader names the reason
  }
  if (kind) throw new InputError(file, `expected a problem file (a regular file or a pipe), got ${kind}`);
  return loadFile(file, options);
}

