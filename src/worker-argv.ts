/**
 * The Node options a worker of ours starts with: the parent's, as Node passes them by default, less those that a
 * worker refuses. `node --input-type=module -e '...'` is the case met: a worker given `--input-type` fails to start
 * ("--input-type can only be used with string input via --eval, --print, or STDIN"), though its code is a file.
 */
export function workerExecArgv(): string[] {
  const argv = process.execArgv;
  const kept: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++; // and its value
    else if (!argv[i]!.startsWith('--input-type=')) kept.push(argv[i]!);
  }
  return kept;
}
