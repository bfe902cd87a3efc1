/** The middle value (the upper middle of an even count): robust to one noisy round. */
export const median = (values: number[]): number => {
  if (values.length === 0) throw new Error("median of no values");
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
};

/** A ratio's median over paired rounds, with its range, to two decimals. */
export const spread = (values: number[]): { median: number; min: number; max: number } => ({
  median: Number(median(values).toFixed(2)),
  min: Number(Math.min(...values).toFixed(2)),
  max: Number(Math.max(...values).toFixed(2)),
});

/**
 * Paired rounds: every variant once per round, the order rotated by one each round so that
 * drift on a shared machine favours none; each round's rates by variant.
 */
export async function pairedRounds<Name extends string>(
  variants: Record<Name, () => Promise<number>>,
  rounds: number,
  beforeRound?: () => void,
): Promise<Record<Name, number>[]> {
  const names = Object.keys(variants) as Name[];
  const results: Record<Name, number>[] = [];
  for (let round = 0; round < rounds; round++) {
    beforeRound?.();
    const result = {} as Record<Name, number>;
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      result[name] = await variants[name]();
    }
    results.push(result);
  }
  return results;
}
