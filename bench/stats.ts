/** The middle value (the upper middle of an even count): robust to one noisy round. */
export const median = (values: number[]): number => {
  if (values.length === 0) throw new Error("median of no values");
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
};
