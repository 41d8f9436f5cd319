/**
 * The error an exercise throws when what it computed is wrong. It lives in a module of its own, which imports
 * nothing, because every rank worker loads the exercise's file: importing it from src/exercises.ts would make each
 * worker load the command line's parser too.
 */

/**
 * An exercise found a wrong result: it has printed what was wrong (a WRONG or NO line), so the command line prints
 * only this one-line message, without a stack, and exits 1.
 */
export class WrongResultError extends Error {
  override name = 'WrongResultError';
}
