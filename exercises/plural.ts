/**
 * The exercises' one helper for their printouts: a count with its noun, "1 rank" but "0 ranks", "4 ranks".
 * `nouns` is for plurals that are not the noun plus "s" ("batch", "batches").
 */
export function plural(count: number, noun: string, nouns = `${noun}s`): string {
  return `${count.toLocaleString('en')} ${count === 1 ? noun : nouns}`;
}
